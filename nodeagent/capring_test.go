package nodeagent

import (
	"net"
	"os"
	"testing"

	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// TestCaptureRingRotatesWithinCap: 1 MB of frames through a ring of three
// 64 KiB files leaves three files, each near the cap.
func TestCaptureRingRotatesWithinCap(t *testing.T) {
	a, _ := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	tp := &tap{Endpoint: a, name: "eth1"}
	dir := t.TempDir()
	r, err := startCaptureRing(dir, "h1", topology.Capture{FileSize: 64 << 10, Files: 3}, []*tap{tp})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 1514)
	for i := 0; i < 700; i++ {
		tp.WritePacket(frame)
	}
	r.stop()
	for k := 0; k < 3; k++ {
		fi, err := os.Stat(CaptureFile(dir, "h1", k))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 64<<10+16<<10 {
			t.Errorf("file %d holds %d bytes, cap 64 KiB", k, fi.Size())
		}
	}
}
