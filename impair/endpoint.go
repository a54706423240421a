package impair

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
)

// ErrClosed is returned by Endpoint.WritePacket after Close.
var ErrClosed = errors.New("impair: endpoint closed")

// Endpoint is a link.Endpoint that impairs the frames of the endpoint it
// wraps, each direction with its own Direction: egress on what WritePacket
// sends, ingress on what the wrapped endpoint delivers before the
// Dispatcher sees it.
//
// It keeps the batching of the endpoints around it: it is a
// link.BatchWriter, and frames that leave together (a WritePackets that
// passes through, or frames a Direction releases at once) reach the wrapped
// endpoint's WritePackets together when it is a link.BatchWriter. Inbound,
// it passes the wrapped endpoint's BeginBatch and EndBatch on to a
// link.BatchDispatcher, and delivers the frames the ingress Direction
// releases together between BeginBatch and EndBatch.
type Endpoint struct {
	inner link.Endpoint
	batch link.BatchWriter // inner, if it is one
	clk   clock.Clock

	mu      sync.Mutex // serializes SetConfig, SetDropHooks and Close
	egress  atomic.Pointer[Direction]
	ingress atomic.Pointer[Direction]
	disp    atomic.Pointer[dispatcherBox]
	closed  atomic.Bool
	// inBatch is set between the wrapped endpoint's BeginBatch and
	// EndBatch: frames the ingress Direction releases meanwhile join
	// that batch.
	inBatch atomic.Bool
	// The drop hooks, given to the Directions (guarded by mu).
	egressDrop, ingressDrop func(frame []byte, r DropReason)

	writeErrors atomic.Uint64
}

type dispatcherBox struct {
	d  link.Dispatcher
	bd link.BatchDispatcher // d, if it is one
}

// inbound receives the wrapped endpoint's frames.
type inbound struct{ e *Endpoint }

var (
	_ link.Endpoint        = (*Endpoint)(nil)
	_ link.BatchWriter     = (*Endpoint)(nil)
	_ link.BatchDispatcher = inbound{}
)

// EndpointStats are the counters of an Endpoint.
type EndpointStats struct {
	// Egress counts the frames WritePacket sent; zero if never impaired.
	Egress Stats `json:"egress"`
	// Ingress counts the frames received; zero if never impaired.
	Ingress Stats `json:"ingress"`
	// WriteErrors counts impaired egress frames the wrapped endpoint's
	// WritePacket refused when their time came (the error cannot reach the
	// writer any more).
	WriteErrors uint64 `json:"write_errors"`
}

// Wrap returns an Endpoint that impairs ep's frames: egress on those
// written, ingress on those received. A nil Config leaves that direction
// alone: frames pass straight through, with no copy, no lock and no clock
// read. Frames are timed with clk.
func Wrap(ep link.Endpoint, egress, ingress *Config, clk clock.Clock) *Endpoint {
	e := &Endpoint{inner: ep, clk: clk}
	e.batch, _ = ep.(link.BatchWriter)
	if egress != nil {
		e.egress.Store(NewBatch(*egress, clk, e.writeOut))
	}
	if ingress != nil {
		e.ingress.Store(NewBatch(*ingress, clk, e.deliverUp))
	}
	return e
}

// SetConfig changes the impairment of both directions at runtime (see
// Direction.SetConfig for what happens to frames held). A nil Config on a
// direction that was never impaired keeps it a pass-through; a nil Config on
// one that was gives it the zero Config, so that frames it holds still leave
// on time and its counters go on.
func (e *Endpoint) SetConfig(egress, ingress *Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Load() {
		return
	}
	set := func(p *atomic.Pointer[Direction], cfg *Config, out func([][]byte), hook func([]byte, DropReason)) {
		d := p.Load()
		switch {
		case d != nil && cfg != nil:
			d.SetConfig(*cfg)
		case d != nil:
			d.SetConfig(Config{})
		case cfg != nil:
			d = NewBatch(*cfg, e.clk, out)
			if hook != nil {
				d.SetDropHook(hook)
			}
			p.Store(d)
		}
	}
	set(&e.egress, egress, e.writeOut, e.egressDrop)
	set(&e.ingress, ingress, e.deliverUp, e.ingressDrop)
}

// SetDropHooks sets the drop hook (see Direction.SetDropHook) of each
// direction, egress and ingress, including a Direction that SetConfig
// creates later; nil removes it. A direction never impaired drops nothing.
func (e *Endpoint) SetDropHooks(egress, ingress func(frame []byte, r DropReason)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.egressDrop, e.ingressDrop = egress, ingress
	if d := e.egress.Load(); d != nil {
		d.SetDropHook(egress)
	}
	if d := e.ingress.Load(); d != nil {
		d.SetDropHook(ingress)
	}
}

// Egress returns the egress Direction, or nil if egress was never impaired.
func (e *Endpoint) Egress() *Direction { return e.egress.Load() }

// Ingress returns the ingress Direction, or nil if ingress was never
// impaired.
func (e *Endpoint) Ingress() *Direction { return e.ingress.Load() }

// Stats returns the counters of both directions.
func (e *Endpoint) Stats() EndpointStats {
	var s EndpointStats
	if d := e.egress.Load(); d != nil {
		s.Egress = d.Stats()
	}
	if d := e.ingress.Load(); d != nil {
		s.Ingress = d.Stats()
	}
	s.WriteErrors = e.writeErrors.Load()
	return s
}

// MTU implements link.Endpoint.MTU.
func (e *Endpoint) MTU() int { return e.inner.MTU() }

// LinkAddress implements link.Endpoint.LinkAddress.
func (e *Endpoint) LinkAddress() net.HardwareAddr { return e.inner.LinkAddress() }

// Attach implements link.Endpoint.Attach: frames the wrapped endpoint
// receives go through the ingress Direction, if any, then to d.
func (e *Endpoint) Attach(d link.Dispatcher) {
	if d == nil {
		e.disp.Store(nil)
		e.inner.Attach(nil)
		return
	}
	bd, _ := d.(link.BatchDispatcher)
	e.disp.Store(&dispatcherBox{d: d, bd: bd})
	e.inner.Attach(inbound{e})
}

// WritePacket implements link.Endpoint.WritePacket: the frame goes through
// the egress Direction, if any, then to the wrapped endpoint. It fails only
// after Close, or with the wrapped endpoint's error for a frame that is not
// impaired; an impaired frame's later write error is counted in
// EndpointStats.WriteErrors.
func (e *Endpoint) WritePacket(frame []byte) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if d := e.egress.Load(); d != nil {
		d.Send(frame)
		return nil
	}
	return e.inner.WritePacket(frame)
}

// WritePackets implements link.BatchWriter: the frames go through the
// egress Direction together, if there is one, else straight to the
// wrapped endpoint, in one call if it is a link.BatchWriter. It returns
// how many frames were sent or taken by the Direction, and fails as
// WritePacket does.
func (e *Endpoint) WritePackets(frames [][]byte) (int, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	if d := e.egress.Load(); d != nil {
		d.SendBatch(frames)
		return len(frames), nil
	}
	if e.batch != nil {
		return e.batch.WritePackets(frames)
	}
	for i, f := range frames {
		if err := e.inner.WritePacket(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// Close implements link.Endpoint.Close: it closes both Directions, dropping
// what they hold, then the wrapped endpoint.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed.Swap(true) {
		return nil
	}
	if d := e.egress.Load(); d != nil {
		d.Close()
	}
	if d := e.ingress.Load(); d != nil {
		d.Close()
	}
	return e.inner.Close()
}

// DeliverFrame implements link.Dispatcher for the wrapped endpoint.
func (in inbound) DeliverFrame(frame []byte) {
	e := in.e
	if d := e.ingress.Load(); d != nil {
		d.Send(frame)
		return
	}
	if b := e.disp.Load(); b != nil {
		b.d.DeliverFrame(frame)
	}
}

// BeginBatch implements link.BatchDispatcher for the wrapped endpoint: the
// batch begins above too, so that the frames of the batch that pass (at
// once) reach the stack in one batch, and its replies leave together.
func (in inbound) BeginBatch() {
	e := in.e
	e.inBatch.Store(true)
	if b := e.disp.Load(); b != nil && b.bd != nil {
		b.bd.BeginBatch()
	}
}

// EndBatch implements link.BatchDispatcher for the wrapped endpoint.
func (in inbound) EndBatch() {
	e := in.e
	if b := e.disp.Load(); b != nil && b.bd != nil {
		b.bd.EndBatch()
	}
	e.inBatch.Store(false)
}

// writeOut is the egress Direction's out: several frames in one
// WritePackets, one with WritePacket.
func (e *Endpoint) writeOut(frames [][]byte) {
	if e.batch != nil && len(frames) > 1 {
		if n, err := e.batch.WritePackets(frames); err != nil {
			e.writeErrors.Add(uint64(len(frames) - n))
		}
		return
	}
	for _, f := range frames {
		if err := e.inner.WritePacket(f); err != nil {
			e.writeErrors.Add(1)
		}
	}
}

// deliverUp is the ingress Direction's out: frames released together are
// delivered as one batch, unless the wrapped endpoint's batch is under way
// (they then join it: the Direction may be releasing them from its
// DeliverFrame).
func (e *Endpoint) deliverUp(frames [][]byte) {
	b := e.disp.Load()
	if b == nil {
		return
	}
	if b.bd == nil || len(frames) == 1 || e.inBatch.Load() {
		for _, f := range frames {
			b.d.DeliverFrame(f)
		}
		return
	}
	b.bd.BeginBatch()
	for _, f := range frames {
		b.bd.DeliverFrame(f)
	}
	b.bd.EndBatch()
}
