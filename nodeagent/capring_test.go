package nodeagent

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// TestCaptureRingRotatesWithinCap: 1 MB of frames of every size, some
// with comments, through a ring of three 64 KiB files leaves three files,
// none past the cap, each near it.
func TestCaptureRingRotatesWithinCap(t *testing.T) {
	a, _ := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	tp := &tap{Endpoint: a, name: "eth1"}
	dir := t.TempDir()
	r, err := startCaptureRing(dir, "h1", topology.Capture{FileSize: 64 << 10, Files: 3}, []*tap{tp})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := 0, 0; n < 1<<20; i++ {
		frame := make([]byte, 60+i%1455)
		if i%7 == 0 {
			tp.recordAs(frame, strings.Repeat("dropped by the impairment layer ", 1+i%3))
		} else {
			tp.WritePacket(frame)
		}
		n += len(frame)
		if i%50 == 0 {
			r.flush()
			checkRing(t, dir, 64<<10)
		}
	}
	r.stop()
	checkRing(t, dir, 64<<10)
	for k := 0; k < 3; k++ {
		fi, err := os.Stat(CaptureFile(dir, "h1", k))
		if err != nil {
			t.Fatal(err)
		}
		if k != r.k && fi.Size() < 60<<10 {
			t.Errorf("file %d (not the one being written) holds %d bytes; want it nearly full", k, fi.Size())
		}
	}
	if _, err := os.Stat(CaptureFile(dir, "h1", 3)); err == nil {
		t.Error("a fourth file in a ring of three")
	}
}

// checkRing fails if a file of the ring in dir holds more than max bytes.
func checkRing(t *testing.T, dir string, max int64) {
	t.Helper()
	for k := 0; k < 3; k++ {
		if fi, err := os.Stat(CaptureFile(dir, "h1", k)); err == nil && fi.Size() > max {
			t.Fatalf("file %d holds %d bytes, cap %d", k, fi.Size(), max)
		}
	}
}
