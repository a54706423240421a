package nodeagent

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlab/netlab/stack"
)

// TestRecorderStaysWithinItsCap: a long stream of events rotates the file
// and the current and rotated parts never hold more than the cap.
func TestRecorderStaysWithinItsCap(t *testing.T) {
	tr := newTracer()
	path := filepath.Join(t.TempDir(), "h1.jsonl")
	const limit = 64 << 10
	rec, err := startRecorder(tr, path, limit)
	if err != nil {
		t.Fatal(err)
	}
	ev := stack.ProbeEvent{Kind: stack.ProbeSegmentOut, Local: netip.MustParseAddrPort("10.0.0.1:40000"),
		Remote: netip.MustParseAddrPort("10.0.0.2:80"), DataLen: 1448}
	for i := 0; i < 20000; i++ { // about 7 MB of JSON, 100 times the cap
		ev.Time = time.Duration(i) * time.Microsecond
		ev.Seq = uint32(i * 1448)
		tr.publish(ev)
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // let the recorder keep up
		}
	}
	rec.stop()
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	cur, old := size(path), size(path+".1")
	if old == 0 {
		t.Fatal("the trace never rotated")
	}
	// Each part stops at the first line past half the cap.
	if cur+old > limit+2048 {
		t.Fatalf("trace files hold %d + %d bytes, cap %d", cur, old, limit)
	}
}
