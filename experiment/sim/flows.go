package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
)

// Flow timings the agent uses (nodeagent runFlow).
const (
	// connectTimeout bounds a flow's handshake.
	connectTimeout = 30 * time.Second
	// defaultDrain bounds the wait for the sink's FIN when the flow has
	// no Drain of its own.
	defaultDrain = 5 * time.Minute
	// cwndEvery is how often a flow's cwnd is read when the batch keeps
	// no samples (its largest is reported).
	cwndEvery = 10 * time.Millisecond
	// chunkSize is the size of the writes, as the agent's buffer.
	chunkSize = 64 << 10
)

// stopped is the suffix of the error of a flow the batch's Limit ended, as
// the agent words it.
var stopped = fmt.Sprintf(" (stopped: %v)", context.DeadlineExceeded)

// batch is one FlowBatch given to Flows.
type batch struct {
	b     nodeagent.FlowBatch
	flows []*flow
	limit clock.Timer
}

// flowState is where a flow is in its life.
type flowState int

const (
	flowWaiting    flowState = iota // for its start
	flowConnecting                  // the handshake is under way
	flowSending                     // writing the pattern
	flowDraining                    // half-closed, reading until the sink's FIN
	flowGroup                       // requests: waiting for the group to connect
	flowQuerying                    // requests: asking and reading answers
	flowClosing                     // requests: half-closed, reading until the server's FIN
	flowDone                        // reported
)

// flow is one bulk flow: the agent's runFlow as a state machine that
// never waits. Its timers only set flags (or take samples); poll acts.
type flow struct {
	n      *node
	b      *batch
	spec   nodeagent.FlowSpec
	at     time.Time // the batch's At
	sample time.Duration
	keep   bool // keep samples (the batch's Sample > 0)
	ap     netip.AddrPort

	state flowState
	done  bool
	rep   nodeagent.FlowReport
	fd    int

	due, limited, connExpired, drainExpired bool

	end     time.Time // when a flow of a Duration stops writing
	h       hash.Hash
	src     pattern
	buf     []byte // the chunk being written
	pend    []byte // the part of buf not written yet
	maxCwnd uint32
	samples []nodeagent.FlowSample
	timers  []clock.Timer // to stop when the flow ends
	sampler clock.Timer   // re-armed at every sample

	query // a flow of requests' state
}

// Flows schedules a node's batch of bulk flows, as the agent's flows API
// does: each flow connects at b.At+Start on the virtual clock (at once if
// that has passed), sends the pattern for Bytes or Duration, half-closes
// and waits for the sink to close (a flow of a Duration at most Drain,
// then resets and reports Cut); b.Sample > 0 keeps a sample of its cwnd,
// srtt and acknowledged bytes that often; b.Limit ends every flow still
// running at b.At+Limit. A zero b.At means Now. Flows of requests
// (Requests, Response, Every, Group) ask an rr app as the agent's do, and
// report their Queries. The batch is checked as the agent checks it.
// Drive the lab (Run, RunFlows) and read the reports with Reports.
func (l *Lab) Flows(node string, b nodeagent.FlowBatch) error {
	if l.closed {
		return ErrClosed
	}
	n, err := l.node(node)
	if err != nil {
		return err
	}
	if err := checkBatch(b); err != nil {
		return fmt.Errorf("sim: flows on %s: %w", node, err)
	}
	now := l.clk.Now()
	if b.At.IsZero() {
		b.At = now
	}
	bt := &batch{b: b}
	groups := map[string]*queryGroup{} // lookups only
	for _, fs := range b.Flows {
		f := &flow{n: n, b: bt, spec: fs, at: b.At, sample: b.Sample, keep: b.Sample > 0, fd: -1,
			rep: nodeagent.FlowReport{ID: fs.ID, To: fs.To}}
		f.ap, _ = netip.ParseAddrPort(fs.To) // checked
		if f.sample <= 0 {
			f.sample = cwndEvery
		}
		if fs.Group != "" {
			if groups[fs.Group] == nil {
				groups[fs.Group] = &queryGroup{}
			}
			f.g = groups[fs.Group]
			f.g.members++
		}
		f.timers = append(f.timers, l.clk.AfterFunc(max(b.At.Add(fs.Start).Sub(now), 0), func() { f.due = true }))
		bt.flows = append(bt.flows, f)
	}
	if b.Limit > 0 {
		bt.limit = l.clk.AfterFunc(max(b.At.Add(b.Limit).Sub(now), 0), func() {
			for _, f := range bt.flows {
				f.limited = true
			}
		})
	}
	n.batches = append(n.batches, bt)
	return nil
}

// checkBatch checks a batch as the agent's runBatch does.
func checkBatch(b nodeagent.FlowBatch) error {
	for _, f := range b.Flows {
		switch {
		case f.Requests > 0:
			if f.Response <= 0 || f.Response > maxResponse {
				return fmt.Errorf("flow %d: a flow of requests needs a response size from 1 byte to 1 TiB", f.ID)
			}
			if f.Bytes > 0 || f.Duration > 0 {
				return fmt.Errorf("flow %d: a flow of requests has no bytes or duration of its own", f.ID)
			}
		case f.Group != "":
			return fmt.Errorf("flow %d: only flows of requests have a group", f.ID)
		case f.Bytes <= 0 && f.Duration <= 0:
			return fmt.Errorf("flow %d: say how much to send: bytes or duration", f.ID)
		}
		if ap, err := netip.ParseAddrPort(f.To); err != nil || !ap.Addr().Is4() {
			return fmt.Errorf("flow %d: bad address %q: want IP:PORT", f.ID, f.To)
		}
	}
	return nil
}

// Reports returns the reports of a node's flows: every batch's, in the
// order of the calls to Flows, each in FlowSpec order. A flow not finished
// yet shows what is known of it so far (no End, no counters).
func (l *Lab) Reports(node string) ([]nodeagent.FlowReport, error) {
	n, err := l.node(node)
	if err != nil {
		return nil, err
	}
	var out []nodeagent.FlowReport
	for _, b := range n.batches {
		for _, f := range b.flows {
			r := f.rep
			r.Samples = slices.Clone(f.rep.Samples)
			r.Queries = slices.Clone(f.rep.Queries)
			if !f.done && f.keep {
				r.Samples = slices.Clone(f.samples)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// poll moves the flow on as far as it goes without waiting; it reports
// whether it did anything.
func (f *flow) poll(l *Lab) bool {
	switch f.state {
	case flowWaiting:
		switch {
		case f.limited:
			f.rep.Error = "not started: " + context.DeadlineExceeded.Error()
			f.finish(l, false)
			return true
		case f.due:
			f.begin(l)
			return true
		}
		return false
	case flowConnecting:
		return f.connecting(l)
	case flowSending:
		return f.sending(l)
	case flowDraining:
		return f.draining(l)
	case flowGroup, flowQuerying, flowClosing:
		return f.querying(l)
	}
	return false
}

// begin connects, as the agent's Dial does.
func (f *flow) begin(l *Lab) {
	s := f.n.st
	now := l.clk.Now()
	f.rep.Start = now
	f.rep.Skew = now.Sub(f.at.Add(f.spec.Start))
	fd, err := s.Socket(stack.SockStream)
	if err != nil {
		f.fail(l, dialErr(f.ap, err), false)
		return
	}
	f.fd = fd
	err = s.SetNonblock(fd, true)
	if err == nil && f.spec.CC != "" {
		err = s.SetOption(fd, stack.OptCongestion, f.spec.CC)
	}
	if err == nil {
		err = setBuffers(s, fd, f.spec.SndBuf, f.spec.RcvBuf)
	}
	if err == nil {
		err = s.Connect(fd, f.ap.Addr(), f.ap.Port())
	}
	if err != nil && !errors.Is(err, stack.EINPROGRESS) {
		f.fail(l, dialErr(f.ap, err), false)
		return
	}
	f.state = flowConnecting
	f.timers = append(f.timers, l.clk.AfterFunc(connectTimeout, func() { f.connExpired = true }))
	f.connecting(l)
}

// dialErr words a failed connect as the agent's report does.
func dialErr(ap netip.AddrPort, err error) string {
	return fmt.Sprintf("connect to %v: %v", ap, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err})
}

// connecting checks whether the handshake is over.
func (f *flow) connecting(l *Lab) bool {
	s := f.n.st
	err := s.Connect(f.fd, f.ap.Addr(), f.ap.Port())
	switch {
	case errors.Is(err, stack.EISCONN) || err == nil:
	case errors.Is(err, stack.EALREADY):
		if f.limited || f.connExpired {
			f.fail(l, dialErr(f.ap, context.DeadlineExceeded), false)
			return true
		}
		return false
	default:
		f.fail(l, dialErr(f.ap, err), false)
		return true
	}
	now := l.clk.Now()
	f.rep.Connected = now
	if la, err := s.LocalAddr(f.fd); err == nil {
		f.rep.From = la.String()
	}
	if f.spec.Requests > 0 {
		f.startQueries(l)
		return true
	}
	if f.spec.NoDelay {
		s.SetOption(f.fd, stack.OptNoDelay, true)
	}
	f.h = sha256.New()
	f.src = newPattern()
	f.buf = make([]byte, chunkSize)
	if f.spec.Duration > 0 {
		f.end = f.rep.Start.Add(f.spec.Duration)
		f.timers = append(f.timers, l.clk.AfterFunc(max(f.end.Sub(now), 0), func() {}))
	}
	f.takeSample(l)
	f.state = flowSending
	f.sending(l)
	return true
}

// takeSample reads the connection's state, as the agent's sampler does,
// and arms the next reading.
func (f *flow) takeSample(l *Lab) {
	if f.state == flowDone {
		return
	}
	if info, err := f.n.st.Info(f.fd); err == nil {
		f.maxCwnd = max(f.maxCwnd, info.CwndSegs)
		if f.keep {
			f.samples = append(f.samples, nodeagent.FlowSample{At: l.clk.Now().Sub(f.at), CwndSegs: info.CwndSegs,
				SRTT: info.SRTT, BytesAcked: info.BytesAcked, Retrans: info.Retrans})
		}
	}
	if f.sampler == nil {
		f.sampler = l.clk.AfterFunc(f.sample, func() { f.takeSample(l) })
		f.timers = append(f.timers, f.sampler)
		return
	}
	f.sampler.Reset(f.sample)
}

// sending writes the pattern until the socket's buffer is full, the flow
// has sent its Bytes or its Duration is over.
func (f *flow) sending(l *Lab) bool {
	s := f.n.st
	if f.limited {
		f.fail(l, "send: "+context.DeadlineExceeded.Error(), true)
		return true
	}
	did := false
	for {
		if f.spec.Bytes > 0 && f.rep.Bytes >= f.spec.Bytes {
			break
		}
		if !f.end.IsZero() && !l.clk.Now().Before(f.end) {
			break
		}
		if len(f.pend) == 0 {
			chunk := int64(chunkSize)
			if f.spec.Bytes > 0 {
				chunk = min(chunk, f.spec.Bytes-f.rep.Bytes)
			}
			f.src.Read(f.buf[:chunk])
			f.pend = f.buf[:chunk]
		}
		w, err := s.Write(f.fd, f.pend)
		if w > 0 {
			did = true
			f.h.Write(f.pend[:w])
			f.rep.Bytes += int64(w)
			f.pend = f.pend[w:]
		}
		if err != nil {
			if errors.Is(err, stack.EAGAIN) {
				return did
			}
			f.fail(l, "send: "+err.Error(), false)
			return true
		}
	}
	s.Shutdown(f.fd, stack.ShutWR)
	drain := defaultDrain
	if f.spec.Duration > 0 && f.spec.Drain > 0 {
		drain = f.spec.Drain
	}
	f.timers = append(f.timers, l.clk.AfterFunc(drain, func() { f.drainExpired = true }))
	f.state = flowDraining
	f.draining(l)
	return true
}

// draining reads until the sink's FIN; past the drain time a flow of a
// Duration with a Drain is reset and Cut.
func (f *flow) draining(l *Lab) bool {
	s := f.n.st
	did := false
	for {
		k, err := s.Read(f.fd, l.buf)
		switch {
		case k > 0:
			did = true
			continue
		case err == nil:
			f.rep.End = l.clk.Now()
			f.finish(l, true)
			return true
		case !errors.Is(err, stack.EAGAIN):
			f.fail(l, "waiting for the receiver to close: "+err.Error(), f.limited)
			return true
		}
		break
	}
	switch {
	case f.limited:
		f.fail(l, "waiting for the receiver to close: read: "+os.ErrDeadlineExceeded.Error(), true)
		return true
	case f.drainExpired && f.spec.Duration > 0 && f.spec.Drain > 0:
		// What the buffers still hold is not part of the cell: reset.
		s.SetOption(f.fd, stack.OptLinger, 0)
		f.rep.Cut, f.rep.End = true, l.clk.Now()
		f.finish(l, true)
		return true
	case f.drainExpired:
		f.fail(l, "waiting for the receiver to close: read: "+os.ErrDeadlineExceeded.Error(), false)
		return true
	}
	return did
}

// fail ends the flow with an error; limited adds the agent's note that
// the batch's Limit stopped it. A flow that never connected has no
// digest nor counters.
func (f *flow) fail(l *Lab, msg string, limited bool) {
	if limited {
		msg += stopped
	}
	f.rep.Error = msg
	f.finish(l, !f.rep.Connected.IsZero())
}

// finish fills the report's digest and counters (when connected), closes
// the socket and stops the flow's timers.
func (f *flow) finish(l *Lab, connected bool) {
	s := f.n.st
	for _, t := range f.timers {
		t.Stop()
	}
	f.timers = nil
	query := f.spec.Requests > 0
	if f.g != nil && !f.left {
		f.left = true
		f.g.leave(f.arrived)
	}
	if connected {
		if !query {
			f.rep.SHA256 = hex.EncodeToString(f.h.Sum(nil))
		}
		if info, err := s.Info(f.fd); err == nil {
			r := &f.rep
			r.MSS, r.CC = info.MSS, info.Congestion
			r.DataSegsOut, r.BytesSent = info.DataSegsOut, info.BytesSent
			r.Retrans, r.RTOs, r.FastRetrans, r.BytesRetrans = info.Retrans, info.Timeouts, info.FastRetrans, info.BytesRetrans
			r.Spurious = info.SpuriousRetrans
			r.SRTT, r.MinRTT = info.SRTT, info.MinRTT
			f.maxCwnd = max(f.maxCwnd, info.CwndSegs)
			if query {
				f.rep.MaxCwndSegs = info.CwndSegs // the agent's runQueries: the last
			}
		}
		if !query {
			f.rep.MaxCwndSegs = f.maxCwnd
			f.rep.Samples = f.samples
		}
	}
	if f.fd >= 0 {
		s.Close(f.fd)
	}
	f.samples, f.buf, f.pend, f.h = nil, nil, nil, nil
	f.state, f.done = flowDone, true
	if f.b.limit != nil && !slices.ContainsFunc(f.b.flows, func(g *flow) bool { return !g.done }) {
		f.b.limit.Stop()
	}
}
