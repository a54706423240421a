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
type Endpoint struct {
	inner link.Endpoint
	clk   clock.Clock

	mu      sync.Mutex // serializes SetConfig and Close
	egress  atomic.Pointer[Direction]
	ingress atomic.Pointer[Direction]
	disp    atomic.Pointer[dispatcherBox]
	closed  atomic.Bool

	writeErrors atomic.Uint64
}

type dispatcherBox struct{ d link.Dispatcher }

// inbound receives the wrapped endpoint's frames.
type inbound struct{ e *Endpoint }

var _ link.Endpoint = (*Endpoint)(nil)

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
	if egress != nil {
		e.egress.Store(New(*egress, clk, e.writeOut))
	}
	if ingress != nil {
		e.ingress.Store(New(*ingress, clk, e.deliverUp))
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
	set := func(p *atomic.Pointer[Direction], cfg *Config, out func([]byte)) {
		d := p.Load()
		switch {
		case d != nil && cfg != nil:
			d.SetConfig(*cfg)
		case d != nil:
			d.SetConfig(Config{})
		case cfg != nil:
			p.Store(New(*cfg, e.clk, out))
		}
	}
	set(&e.egress, egress, e.writeOut)
	set(&e.ingress, ingress, e.deliverUp)
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
	e.disp.Store(&dispatcherBox{d: d})
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
	e.deliverUp(frame)
}

func (e *Endpoint) writeOut(frame []byte) {
	if err := e.inner.WritePacket(frame); err != nil {
		e.writeErrors.Add(1)
	}
}

func (e *Endpoint) deliverUp(frame []byte) {
	if b := e.disp.Load(); b != nil {
		b.d.DeliverFrame(frame)
	}
}
