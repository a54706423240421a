package nodeagent

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link/sniff"
	"github.com/netlab/netlab/topology"
)

// CaptureFile is the k-th file of a node's continuous capture ring in dir
// (the run's captures folder).
func CaptureFile(dir, node string, k int) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%d.pcapng", node, k))
}

// captureRing records a node's chosen interfaces continuously into a ring
// of pcapng files (the topology's `capture:`): once a file reaches the size
// cap the next one starts, and the oldest is overwritten. It is the taps'
// sink itself, so a rotation happens in line, before the frame that would
// pass the cap, and interface ids stay the same from file to file.
type captureRing struct {
	dir, node string
	spec      topology.Capture
	taps      []*tap

	mu   sync.Mutex
	k    int
	f    *os.File
	cw   *countWriter
	w    *sniff.Writer
	size int64 // bytes the current file holds, buffered ones included
	done bool
}

var _ frameSink = (*captureRing)(nil)

// countWriter counts the bytes that reach a file.
type countWriter struct {
	f *os.File
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

func startCaptureRing(dir, node string, spec topology.Capture, all []*tap) (*captureRing, error) {
	r := &captureRing{dir: dir, node: node, spec: spec, k: -1}
	want := map[string]bool{}
	for _, i := range spec.Interfaces {
		want[i] = true
	}
	for _, t := range all {
		if len(want) == 0 || want[t.name] {
			r.taps = append(r.taps, t)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("capture directory: %w", err)
	}
	r.mu.Lock()
	err := r.nextLocked()
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for i, t := range r.taps {
		t.add(tapSink{w: r, id: i})
	}
	return r, nil
}

// nextLocked closes the current file and starts the next one of the ring,
// with the same interfaces in the same order.
func (r *captureRing) nextLocked() error {
	if r.w != nil {
		r.w.Flush()
		r.f.Close()
	}
	r.k = (r.k + 1) % max(r.spec.Files, 1)
	f, err := os.Create(CaptureFile(r.dir, r.node, r.k))
	if err != nil {
		return fmt.Errorf("capture file: %w", err)
	}
	r.f, r.cw = f, &countWriter{f: f}
	r.w = sniff.NewWriter(r.cw, clock.Real{}, 0)
	for _, t := range r.taps {
		if _, err := r.w.AddInterface(r.node + ":" + t.name); err != nil {
			return err
		}
	}
	if err := r.w.Flush(); err != nil { // the header, counted
		return err
	}
	r.size = r.cw.n
	return nil
}

// rotateLocked makes room for a block of next bytes: it starts the next
// file when this one would pass the cap with it, and counts it.
func (r *captureRing) rotateLocked(next int) bool {
	if r.done {
		return false
	}
	if r.spec.FileSize > 0 && r.size+int64(next) > r.spec.FileSize {
		if err := r.nextLocked(); err != nil {
			r.done = true
			return false
		}
	}
	r.size += int64(next)
	return true
}

// Record implements frameSink.
func (r *captureRing) Record(id int, frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rotateLocked(epbSize(len(frame), "")) {
		r.w.Record(id, frame)
	}
}

// epbSize is the size of the pcapng Enhanced Packet Block of a frame of n
// bytes with comment: 28 bytes of header, the frame padded to 32 bits,
// the comment option and the end of options if there is a comment, and
// the trailing length.
func epbSize(n int, comment string) int {
	pad := func(x int) int { return (x + 3) &^ 3 }
	size := 28 + pad(n) + 4
	if comment != "" {
		size += 4 + pad(len(comment)) + 4
	}
	return size
}

// RecordComment implements frameSink.
func (r *captureRing) RecordComment(id int, frame []byte, comment string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rotateLocked(epbSize(len(frame), comment)) {
		r.w.RecordComment(id, frame, comment)
	}
}

// flush writes out what is buffered (the agent calls it every second).
func (r *captureRing) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		r.w.Flush()
	}
}

func (r *captureRing) stop() {
	for _, t := range r.taps {
		t.remove(r)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done && r.f == nil {
		return
	}
	r.done = true
	r.w.Flush()
	r.f.Close()
	r.f = nil
}

// startCapture starts the node's continuous capture ring in dir.
func (n *node) startCapture(dir string) error {
	spec := *n.plan.Capture
	taps := n.taps
	if n.stack == nil {
		var want map[string]bool
		if len(spec.Interfaces) > 0 {
			want = map[string]bool{}
			for _, i := range spec.Interfaces {
				want[i] = true
			}
		}
		kt, err := n.kernelTaps(want)
		if err != nil {
			return err
		}
		n.ktaps, taps = kt, kt
	}
	r, err := startCaptureRing(dir, n.plan.Name, spec, taps)
	if err != nil {
		for _, t := range n.ktaps {
			t.Endpoint.Close()
		}
		return err
	}
	n.ring = r
	n.reapplyImpairments(r.taps) // mark impairment drops in the ring too
	return nil
}
