package nodeagent

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
	"github.com/netlab/netlab/stack/link/sniff"
)

// tap is a link endpoint wrapper on every Go-stack interface: idle it costs
// one atomic load per frame; during a capture it records what the stack
// sends and receives, exactly as it crosses the frame path.
type tap struct {
	link.Endpoint
	name  string
	sinks atomic.Pointer[[]tapSink]
	mu    sync.Mutex // serialises changes to sinks
}

type tapSink struct {
	w  *sniff.Writer
	id int
	n  *atomic.Int64 // frames left for a --count capture; nil: no limit
}

func (t *tap) record(frame []byte) {
	sp := t.sinks.Load()
	if sp == nil {
		return
	}
	for _, s := range *sp {
		if s.n != nil && s.n.Add(-1) < 0 {
			continue
		}
		s.w.Record(s.id, frame)
	}
}

// WritePacket records the outgoing frame, then sends it.
func (t *tap) WritePacket(frame []byte) error {
	t.record(frame)
	return t.Endpoint.WritePacket(frame)
}

// WritePackets keeps the stack's batching when the inner endpoint has it.
func (t *tap) WritePackets(frames [][]byte) (int, error) {
	for _, f := range frames {
		t.record(f)
	}
	if bw, ok := t.Endpoint.(link.BatchWriter); ok {
		return bw.WritePackets(frames)
	}
	for i, f := range frames {
		if err := t.Endpoint.WritePacket(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// Attach records inbound frames before the stack sees them.
func (t *tap) Attach(d link.Dispatcher) {
	if d == nil {
		t.Endpoint.Attach(nil)
		return
	}
	t.Endpoint.Attach(&tapDispatcher{t: t, d: d})
}

type tapDispatcher struct {
	t *tap
	d link.Dispatcher
}

func (td *tapDispatcher) DeliverFrame(f []byte) {
	td.t.record(f)
	td.d.DeliverFrame(f)
}

// BeginBatch and EndBatch pass the batch bounds through.
func (td *tapDispatcher) BeginBatch() {
	if bd, ok := td.d.(link.BatchDispatcher); ok {
		bd.BeginBatch()
	}
}

// EndBatch passes the end of a batch through.
func (td *tapDispatcher) EndBatch() {
	if bd, ok := td.d.(link.BatchDispatcher); ok {
		bd.EndBatch()
	}
}

func (t *tap) add(s tapSink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []tapSink
	if p := t.sinks.Load(); p != nil {
		cur = *p
	}
	next := append(append([]tapSink(nil), cur...), s)
	t.sinks.Store(&next)
}

func (t *tap) remove(w *sniff.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.sinks.Load()
	if p == nil {
		return
	}
	var next []tapSink
	for _, s := range *p {
		if s.w != w {
			next = append(next, s)
		}
	}
	if len(next) == 0 {
		t.sinks.Store(nil)
		return
	}
	t.sinks.Store(&next)
}

// flushWriter sends each write on to the client at once.
type flushWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	f  http.Flusher
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

// serveCapture streams a pcapng capture of the node's interfaces
// (?if=eth1,eth2; all by default) until the client goes, duration passes
// (?duration=10s) or count frames were captured (?count=N).
func (n *node) serveCapture(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var want map[string]bool
	if s := q.Get("if"); s != "" {
		want = map[string]bool{}
		for _, name := range strings.Split(s, ",") {
			want[name] = true
		}
	}
	taps := n.taps
	if n.stack == nil {
		// The kernel's stack serves this node: tap its interfaces with
		// capture sockets opened for this capture only.
		kt, err := n.kernelTaps(want)
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		defer func() {
			for _, t := range kt {
				t.Endpoint.Close()
			}
		}()
		taps = kt
	}
	var chosen []*tap
	for _, t := range taps {
		if want == nil || want[t.name] {
			chosen = append(chosen, t)
			delete(want, t.name)
		}
	}
	taps = chosen
	for name := range want {
		httpError(w, http.StatusBadRequest, fmt.Errorf("node %s has no interface %q", n.plan.Name, name))
		return
	}
	ctx := r.Context()
	if d, err := time.ParseDuration(q.Get("duration")); err == nil && d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var left *atomic.Int64
	if c, err := strconv.ParseInt(q.Get("count"), 10, 64); err == nil && c > 0 {
		left = &atomic.Int64{}
		left.Store(c)
	}
	snap, _ := strconv.Atoi(q.Get("snaplen"))
	w.Header().Set("Content-Type", "application/x-pcapng")
	fl, _ := w.(http.Flusher)
	sw := sniff.NewWriter(&flushWriter{w: w, f: fl}, clock.Real{}, snap)
	for _, t := range taps {
		id, err := sw.AddInterface(n.plan.Name + ":" + t.name)
		if err != nil {
			return
		}
		t.add(tapSink{w: sw, id: id, n: left})
	}
	sw.Flush()
	defer func() {
		for _, t := range taps {
			t.remove(sw)
		}
		sw.Flush()
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := sw.Flush(); err != nil {
				return // the client went away
			}
			if left != nil && left.Load() <= 0 {
				return
			}
		}
	}
}

// kernelTaps opens a capture socket on each chosen interface of a
// `stack: linux` node (all when want is nil), inside its namespace. They see
// what the kernel sends and receives, and send nothing.
func (n *node) kernelTaps(want map[string]bool) ([]*tap, error) {
	var taps []*tap
	fail := func(err error) ([]*tap, error) {
		for _, t := range taps {
			t.Endpoint.Close()
		}
		return nil, err
	}
	for _, ifc := range n.plan.Interfaces {
		if want != nil && !want[ifc.Name] {
			continue
		}
		var ep *afpacket.Endpoint
		open := func() (err error) {
			ep, err = afpacket.New(ifc.Name, afpacket.Options{Outgoing: true, RingBlocks: 8})
			return err
		}
		var err error
		if n.nsPath != "" {
			err = linuxnet.InNamespace(n.nsPath, open)
		} else {
			err = open()
		}
		if err != nil {
			return fail(fmt.Errorf("capture %s:%s: %w", n.plan.Name, ifc.Name, err))
		}
		t := &tap{Endpoint: ep, name: ifc.Name}
		ep.Attach(link.DispatcherFunc(t.record))
		taps = append(taps, t)
	}
	return taps, nil
}
