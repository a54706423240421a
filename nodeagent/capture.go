package nodeagent

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
	"github.com/netlab/netlab/stack/link/sniff"
)

// tap is a link endpoint wrapper on every Go-stack interface: idle it costs
// one atomic load per frame; during a capture it records what the stack
// sends and receives, exactly as it crosses the frame path. It keeps the
// stack's batching both ways (WritePackets, BeginBatch and EndBatch pass
// through), capture or not.
type tap struct {
	link.Endpoint
	name  string
	sinks atomic.Pointer[[]tapSink]
	mu    sync.Mutex // serialises changes to sinks
	ii    *impairIfc // the interface's impairment, nil on kernel taps

	dropMu  sync.Mutex
	dropped string   // why the frame being written was dropped, if it was
	batch   [][]byte // the frames being written by WritePackets, if any
	why     []string // why each of batch was dropped, if it was
}

var (
	_ link.BatchWriter     = (*tap)(nil)
	_ link.BatchDispatcher = (*tapDispatcher)(nil)
)

type tapSink struct {
	w  frameSink
	id int
	n  *atomic.Int64 // frames left for a --count capture; nil: no limit
}

// frameSink is where a tap records: a capture's pcapng writer, or a node's
// continuous capture ring.
type frameSink interface {
	Record(id int, frame []byte)
	RecordComment(id int, frame []byte, comment string)
}

func (t *tap) record(frame []byte) { t.recordAs(frame, "") }

// recordAs records frame, with a pcapng comment if comment is set.
func (t *tap) recordAs(frame []byte, comment string) {
	sp := t.sinks.Load()
	if sp == nil {
		return
	}
	for _, s := range *sp {
		if s.n != nil && s.n.Add(-1) < 0 {
			continue
		}
		if comment != "" {
			s.w.RecordComment(s.id, frame, comment)
		} else {
			s.w.Record(s.id, frame)
		}
	}
}

// WritePacket sends the frame and records it; while a capture runs, a
// frame the impairment layer dropped is recorded with a comment saying why
// (the decision is made inside the inner WritePacket).
func (t *tap) WritePacket(frame []byte) error {
	if t.sinks.Load() == nil {
		return t.Endpoint.WritePacket(frame)
	}
	t.dropMu.Lock()
	t.dropped = ""
	t.dropMu.Unlock()
	err := t.Endpoint.WritePacket(frame)
	t.dropMu.Lock()
	why := t.dropped
	t.dropMu.Unlock()
	t.recordAs(frame, why)
	return err
}

// egressVerdict is the impairment's Trace hook for frames sent, set only
// while a capture runs: drops decided as the frame is offered mark the
// frame being written; CoDel drops (later, at the queue's head) are
// recorded on their own. The drop of a duplicate's copy does not mark the
// frame, which left.
func (t *tap) egressVerdict(frame []byte, v impair.Verdict) {
	if v.Event != impair.EventDrop || v.Copy {
		return
	}
	why := "dropped by the impairment layer: " + v.Reason.String()
	if v.Reason == impair.DropCoDel {
		t.recordAs(frame, why)
		return
	}
	t.dropMu.Lock()
	defer t.dropMu.Unlock()
	if t.batch == nil {
		t.dropped = why
		return
	}
	for i, f := range t.batch {
		if len(f) > 0 && len(frame) > 0 && &f[0] == &frame[0] {
			t.why[i] = why
			return
		}
	}
}

// ingressVerdict is the Trace hook for frames received: a frame dropped on
// arrival never reaches the stack, so it is recorded here, marked.
func (t *tap) ingressVerdict(frame []byte, v impair.Verdict) {
	if v.Event == impair.EventDrop {
		t.recordAs(frame, "dropped on arrival by the impairment layer: "+v.Reason.String())
	}
}

// WritePackets implements link.BatchWriter: the frames go on together, and
// are recorded as WritePacket records them, each marked if the impairment
// dropped it.
func (t *tap) WritePackets(frames [][]byte) (int, error) {
	if t.sinks.Load() == nil {
		return writeFrames(t.Endpoint, frames)
	}
	if t.ii == nil {
		for _, f := range frames {
			t.record(f)
		}
		return writeFrames(t.Endpoint, frames)
	}
	t.dropMu.Lock()
	t.batch, t.why = frames, make([]string, len(frames))
	t.dropMu.Unlock()
	n, err := writeFrames(t.Endpoint, frames)
	t.dropMu.Lock()
	why := t.why
	t.batch, t.why = nil, nil
	t.dropMu.Unlock()
	for i, f := range frames {
		t.recordAs(f, why[i])
	}
	return n, err
}

// writeFrames sends frames on ep, in one call if it is a link.BatchWriter.
func writeFrames(ep link.Endpoint, frames [][]byte) (int, error) {
	if bw, ok := ep.(link.BatchWriter); ok {
		return bw.WritePackets(frames)
	}
	for i, f := range frames {
		if err := ep.WritePacket(f); err != nil {
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

func (t *tap) remove(w frameSink) {
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

// flushWriter sends each write on to the client at once, until end.
type flushWriter struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	f     http.Flusher
	ended bool
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.ended {
		return 0, errCaptureEnded
	}
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

// end stops the writes (a frame recorded as the capture ends must not
// reach a response already finished) and sets the end trailer to why, if
// the capture ended by itself.
func (fw *flushWriter) end(why string) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.ended = true
	if why != "" {
		fw.w.Header().Set(EndTrailer, why)
	}
}

var errCaptureEnded = errors.New("the capture ended")

// serveCapture streams a pcapng capture of the node's interfaces
// (?if=eth1,eth2; all by default) until the client goes, duration passes
// (?duration=10s) or count frames were captured (?count=N); in those two
// cases the stream ends with EndTrailer saying so, which tells the client
// that the stream was not cut.
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
	var timeout <-chan time.Time
	if d, err := time.ParseDuration(q.Get("duration")); err == nil && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	var left *atomic.Int64
	if c, err := strconv.ParseInt(q.Get("count"), 10, 64); err == nil && c > 0 {
		left = &atomic.Int64{}
		left.Store(c)
	}
	snap, _ := strconv.Atoi(q.Get("snaplen"))
	w.Header().Set("Content-Type", "application/x-pcapng")
	w.Header().Set("Trailer", EndTrailer)
	fl, _ := w.(http.Flusher)
	fw := &flushWriter{w: w, f: fl}
	sw := sniff.NewWriter(fw, clock.Real{}, snap)
	var ids []int
	for _, t := range taps {
		id, err := sw.AddInterface(n.plan.Name + ":" + t.name)
		if err != nil {
			httpError(w, http.StatusInternalServerError, fmt.Errorf("capture %s:%s: %w", n.plan.Name, t.name, err))
			return
		}
		ids = append(ids, id)
	}
	for i, t := range taps {
		t.add(tapSink{w: sw, id: ids[i], n: left})
	}
	n.reapplyImpairments(taps)
	sw.Flush()
	why := ""
	defer func() {
		for _, t := range taps {
			t.remove(sw)
		}
		n.reapplyImpairments(taps)
		sw.Flush()
		fw.end(why)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timeout:
			why = "duration"
			return
		case <-tick.C:
			if err := sw.Flush(); err != nil {
				return // the client went away
			}
			if left != nil && left.Load() <= 0 {
				why = "count"
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

// reapplyImpairments sets the impairment of the taps' interfaces again, so
// their drop hooks follow whether a capture is running.
func (n *node) reapplyImpairments(taps []*tap) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range taps {
		if t.ii != nil {
			t.ii.apply()
		}
	}
}
