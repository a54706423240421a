package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
)

// pollEvery is how often a ping still waiting past its interval looks for
// its reply.
const pollEvery = time.Millisecond

// Ping sends spec's echo requests from node, the first at at, as the
// agent's ping does (nodeagent.PingSpec): the next request goes out an
// interval after the last was sent, or when its reply came if that is
// later; a request unanswered after spec.Timeout() is lost. Each reply (or
// loss) goes to each, in order, as the lab runs. RTTs are exact on the
// virtual clock (the stack times the reply when it arrives); a reply that
// comes after the interval is seen within a millisecond.
func (l *Lab) Ping(node string, at time.Time, spec nodeagent.PingSpec, each func(nodeagent.PingReply)) error {
	if l.closed {
		return ErrClosed
	}
	n, err := l.node(node)
	if err != nil {
		return err
	}
	dst, err := netip.ParseAddr(spec.To)
	if err != nil {
		return fmt.Errorf("sim: ping from %s: bad address %q", node, spec.To)
	}
	spec = spec.WithDefaults()
	p := &pinger{l: l, st: n.st, dst: dst, spec: spec, each: each}
	_, err = l.At(at, func() { p.send(1) })
	return err
}

// pinger is one ping run on the lab's clock.
type pinger struct {
	l    *Lab
	st   *stack.Stack
	dst  netip.Addr
	spec nodeagent.PingSpec
	each func(nodeagent.PingReply)
}

// send sends request seq now and looks for its reply an interval later.
func (p *pinger) send(seq int) {
	sent := p.l.clk.Now()
	e, err := p.st.SendPing(p.dst, uint16(seq), p.spec.Size)
	if err != nil {
		p.each(nodeagent.PingReply{Seq: seq, Lost: true, Err: err.Error()})
		return
	}
	p.l.clk.AfterFunc(p.spec.Interval, func() { p.check(seq, e, sent) })
}

// check reports request seq's reply or loss, and sends the next one when
// its time has come.
func (p *pinger) check(seq int, e *stack.Echo, sent time.Time) {
	now := p.l.clk.Now()
	r, ok := e.Result()
	switch {
	case ok:
		p.each(nodeagent.PingReply{Seq: seq, RTT: r.RTT, TTL: r.TTL})
	case now.Sub(sent) >= p.spec.Timeout():
		e.Cancel()
		p.each(nodeagent.PingReply{Seq: seq, Lost: true})
	default:
		p.l.clk.AfterFunc(min(pollEvery, p.spec.Timeout()-now.Sub(sent)), func() { p.check(seq, e, sent) })
		return
	}
	if seq < p.spec.Count {
		p.send(seq + 1)
	}
}
