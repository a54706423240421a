package plot

import (
	"slices"
	"time"

	"github.com/netlab/netlab/trace"
)

// Point is one sample of a line: T in seconds since the connection's first
// event, V in the unit the series states. Lines are steps: V holds until the
// next point; a line has at most one point per instant and none that
// repeats the value before it, and it ends with a point at its last event.
type Point struct {
	T, V float64
}

// Interval is a span of time, in seconds since the connection's first
// event, with what happened during it.
type Interval struct {
	Start, End float64
	Label      string
}

// Mark is one event drawn as a marker: at time T, at height V (in the
// series' unit), with a count N whose meaning the field holding it states.
type Mark struct {
	T, V float64
	N    int
}

// Direction chooses which half of a connection a time–sequence or goodput
// series follows.
type Direction uint8

// Directions. DirAuto picks the half that carried more payload.
const (
	DirAuto     Direction = iota
	DirSent               // data the local end sent, ACKs from the peer
	DirReceived           // data the local end received, ACKs it sent
)

// String returns "auto", "sent" or "received".
func (d Direction) String() string {
	switch d {
	case DirSent:
		return "sent"
	case DirReceived:
		return "received"
	}
	return "auto"
}

// Congestion phases, as in Interval.Label of CwndSeries.Phases.
const (
	PhaseSlowStart  = "slow start"           // cwnd < ssthresh, ca_state open or disorder
	PhaseCongAvoid  = "congestion avoidance" // cwnd >= ssthresh, ca_state open or disorder
	PhaseRecovery   = "recovery"             // ca_state recovery: fast retransmit / fast recovery
	PhaseLoss       = "loss"                 // ca_state loss: after an RTO
	LabelZeroWindow = "zero window"          // Interval.Label of SeqSeries.ZeroWindows
)

// ssthreshUnset is the smallest ssthresh taken to mean "not set yet" (the
// stack starts it at 2^31-1, as Linux does).
const ssthreshUnset = 1 << 30

// conn holds one connection's events and what every series needs from them.
type conn struct {
	evs  []trace.Event
	t0   int64   // TimeUS of the first event
	tEnd float64 // seconds: the last segment event, or the last event if none
}

func newConn(events []trace.Event, c trace.Conn) conn {
	// Drop events (the impairment layer's) are not the stack's: no plot
	// draws them, nor starts its time axis at one.
	cn := conn{evs: slices.DeleteFunc(trace.Filter(events, c), func(e trace.Event) bool { return e.Kind == trace.KindDrop })}
	if len(cn.evs) == 0 {
		return cn
	}
	cn.t0 = cn.evs[0].TimeUS
	for i := range cn.evs {
		cn.t0 = min(cn.t0, cn.evs[i].TimeUS)
	}
	last, lastSeg := cn.evs[0].TimeUS, int64(-1)
	for i := range cn.evs {
		e := &cn.evs[i]
		last = max(last, e.TimeUS)
		if e.Kind == trace.KindIn || e.Kind == trace.KindOut {
			lastSeg = max(lastSeg, e.TimeUS)
		}
	}
	if lastSeg < 0 {
		lastSeg = last
	}
	cn.tEnd = cn.sec(lastSeg)
	return cn
}

func (cn *conn) sec(us int64) float64 { return float64(us-cn.t0) / 1e6 }

func usec(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// resolve turns DirAuto into the half with more payload (DirSent on a tie).
func (cn *conn) resolve(d Direction) Direction {
	if d != DirAuto {
		return d
	}
	var out, in int64
	for i := range cn.evs {
		switch cn.evs[i].Kind {
		case trace.KindOut:
			out += int64(cn.evs[i].Len)
		case trace.KindIn:
			in += int64(cn.evs[i].Len)
		}
	}
	if in > out {
		return DirReceived
	}
	return DirSent
}

// dataKind and ackKind are the event kinds carrying the data and the ACKs
// of direction d.
func dataKind(d Direction) string {
	if d == DirReceived {
		return trace.KindIn
	}
	return trace.KindOut
}

func ackKind(d Direction) string {
	if d == DirReceived {
		return trace.KindOut
	}
	return trace.KindIn
}

// The stack's flag letters (wire.TCPFlags.String, tcpdump style).
const (
	flagSYN = 'S'
	flagFIN = 'F'
	flagRST = 'R'
	flagACK = '.'
)

// isn finds the initial sequence number of direction d: the sequence number
// of its SYN, else (the trace began after the handshake) the first
// snd_una (sent) or rcv_nxt (received) of a synchronized state. synSeen
// says whether the SYN was in the trace.
func (cn *conn) isn(d Direction) (isn uint32, synSeen bool) {
	dk := dataKind(d)
	for i := range cn.evs {
		e := &cn.evs[i]
		if e.Kind == dk && e.HasFlag(flagSYN) {
			return e.Seq, true
		}
	}
	for i := range cn.evs {
		e := &cn.evs[i]
		if d == DirReceived && rcvValid(e.State) {
			return e.RcvNxt, false
		}
		if d != DirReceived && sndValid(e.State) {
			return e.SndUna, false
		}
	}
	return 0, false
}

// sndValid reports a state in which snd_una/snd_nxt hold sequence numbers.
func sndValid(state string) bool {
	switch state {
	case "", "CLOSED", "LISTEN":
		return false
	}
	return true
}

// rcvValid reports a state in which rcv_nxt holds a sequence number.
func rcvValid(state string) bool { return sndValid(state) && state != "SYN-SENT" }

// unwrapper maps 32-bit sequence numbers to int64 offsets from the ISN,
// following the wrap at 2^32 (values met are within 2^31 of the last one).
type unwrapper struct {
	ref uint32
	rel int64
}

func (u *unwrapper) at(v uint32) int64 {
	r := u.rel + int64(int32(v-u.ref))
	u.ref, u.rel = v, r
	return r
}

// peek maps v without moving the reference (for values that may be bogus).
func (u *unwrapper) peek(v uint32) int64 { return u.rel + int64(int32(v-u.ref)) }

// Segment is one segment of a time–sequence graph: its payload spans the
// relative sequence numbers [Start, End).
// SACKBlock is one SACK block an ACK carried, at the ACK's time.
type SACKBlock struct {
	T          float64
	Start, End int64
}

// Segment is one segment of a time–sequence graph.
type Segment struct {
	T          float64
	Start, End int64
	Flags      string // tcpdump-style flags, "S", "F.", "P."…
	Retrans    bool
}

// SeqSeries is the data of a tcptrace-style time–sequence graph of one
// direction of a connection. Sequence numbers are relative to ISN (the SYN
// is 0, the first data byte 1) and unwrapped.
type SeqSeries struct {
	// Dir is the direction shown (never DirAuto).
	Dir Direction
	// T0 is the time of the connection's first event (trace.Event.TimeUS), from
	// which all T are counted.
	T0 time.Duration
	// End is the time of the connection's last segment, in seconds.
	End float64
	// ISN is the sequence number shown as 0.
	ISN uint32
	// Segments are the data segments (and SYN and FIN) of the direction.
	// For DirSent Retrans is the stack's flag; for DirReceived it is
	// inferred (the segment starts below the highest sequence number
	// already seen).
	Segments []Segment
	// ACKs is the ACK line: the cumulative ACK of each ACK in the other
	// direction, relative.
	ACKs []Point
	// Window is the receive-window line: ACK + advertised window.
	Window []Point
	// SACKs marks the ACKs that carried SACK blocks: V is the ACK, N the
	// number of blocks.
	SACKs []Mark
	// SACKBlocks are the blocks those ACKs carried, relative like the
	// segments (traces from before the blocks were recorded have none).
	SACKBlocks []SACKBlock
	// ZeroWindows are the periods during which the advertised window was 0.
	ZeroWindows []Interval
}

// TimeSequence computes the time–sequence graph of connection c in
// direction dir.
func TimeSequence(events []trace.Event, c trace.Conn, dir Direction) SeqSeries {
	cn := newConn(events, c)
	dir = cn.resolve(dir)
	s := SeqSeries{Dir: dir, T0: usec(cn.t0), End: cn.tEnd}
	if len(cn.evs) == 0 {
		return s
	}
	dk, ak := dataKind(dir), ackKind(dir)
	s.ISN, _ = cn.isn(dir)
	u := unwrapper{ref: s.ISN}
	var hiEnd int64 // highest sequence number seen + 1 (DirReceived)
	sawSYN, sawFIN := false, false
	zeroOpen := -1.0
	for i := range cn.evs {
		e := &cn.evs[i]
		t := cn.sec(e.TimeUS)
		switch e.Kind {
		case dk:
			syn, fin := e.HasFlag(flagSYN), e.HasFlag(flagFIN)
			if e.Len == 0 && !syn && !fin || e.HasFlag(flagRST) {
				continue // a pure ACK or window probe: no sequence space
			}
			start := u.at(e.Seq)
			end := start + int64(e.Len)
			used := end
			if syn {
				used++
			}
			if fin {
				used++
			}
			rt := e.Retrans
			if dir == DirReceived {
				rt = e.Len > 0 && start < hiEnd || syn && sawSYN || fin && sawFIN
			}
			sawSYN, sawFIN = sawSYN || syn, sawFIN || fin
			hiEnd = max(hiEnd, used)
			s.Segments = append(s.Segments, Segment{T: t, Start: start, End: end, Flags: e.Flags, Retrans: rt})
		case ak:
			if !e.HasFlag(flagACK) || e.HasFlag(flagRST) {
				continue
			}
			ack := u.at(e.Ack)
			s.ACKs = append(s.ACKs, Point{T: t, V: float64(ack)})
			s.Window = append(s.Window, Point{T: t, V: float64(ack + int64(e.Window))})
			if e.SACK > 0 {
				s.SACKs = append(s.SACKs, Mark{T: t, V: float64(ack), N: e.SACK})
			}
			for _, r := range e.SACKRanges {
				s.SACKBlocks = append(s.SACKBlocks, SACKBlock{T: t, Start: u.at(r[0]), End: u.at(r[1])})
			}
			switch {
			case e.Window == 0 && zeroOpen < 0:
				zeroOpen = t
			case e.Window > 0 && zeroOpen >= 0:
				s.ZeroWindows = append(s.ZeroWindows, Interval{Start: zeroOpen, End: t, Label: LabelZeroWindow})
				zeroOpen = -1
			}
		}
	}
	if zeroOpen >= 0 {
		s.ZeroWindows = append(s.ZeroWindows, Interval{Start: zeroOpen, End: cn.tEnd, Label: LabelZeroWindow})
	}
	return s
}

// CwndSeries is the data of the congestion-window plot of a connection's
// sending half. Every line is in bytes.
type CwndSeries struct {
	// T0 is the time of the connection's first event.
	T0 time.Duration
	// End is the time of the connection's last segment, in seconds.
	End float64
	// Cwnd is snd_cwnd.
	Cwnd []Point
	// Ssthresh is the slow-start threshold, from when it is first set.
	Ssthresh []Point
	// InFlight is the data sent and not yet acknowledged, after each event
	// (see after).
	InFlight []Point
	// SndWnd is the peer's receive window as the sender knows it, after
	// each event.
	SndWnd []Point
	// Phases are the congestion-control phases (PhaseSlowStart,
	// PhaseCongAvoid, PhaseRecovery, PhaseLoss), while the connection was
	// synchronized; empty when the local end sent no data.
	Phases []Interval
}

// stepBuilder collects the points of a step line, dropping repeats.
type stepBuilder struct {
	pts  []Point
	last float64
}

// add sets the line to v from time t on. Several values at one instant
// keep only the last, so that an ACK and the segments it clocks out, traced
// at the same microsecond, do not draw a comb.
func (b *stepBuilder) add(t, v float64) {
	b.last = v
	if n := len(b.pts); n > 0 && b.pts[n-1].T == t {
		b.pts = b.pts[:n-1]
	}
	if n := len(b.pts); n > 0 && b.pts[n-1].V == v {
		return
	}
	b.pts = append(b.pts, Point{T: t, V: v})
}

// finish extends the line to time end with its last value.
func (b *stepBuilder) finish(end float64) []Point {
	if n := len(b.pts); n > 0 && b.pts[n-1].T < end {
		b.pts = append(b.pts, Point{T: end, V: b.last})
	}
	return b.pts
}

// ccValid reports the states whose events describe the congestion control
// of a live sender: from ESTABLISHED until the last ACK, not TIME-WAIT,
// where nothing more is sent.
func ccValid(state string) bool {
	switch state {
	case "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK":
		return true
	}
	return false
}

func phaseOf(e *trace.Event) string {
	switch e.CAState {
	case "recovery":
		return PhaseRecovery
	case "loss":
		return PhaseLoss
	}
	if e.Ssthresh < ssthreshUnset && e.Cwnd >= e.Ssthresh {
		return PhaseCongAvoid
	}
	return PhaseSlowStart
}

// after returns the bytes in flight and the peer's window once event e is
// done with. A segment event reports the state before the segment counts
// (as Linux's tcp_probe does); both values follow from the segment itself:
// a segment sent may raise the highest sequence number sent, an ACK
// received lowers what is in flight to what lies above it and brings the
// peer's window.
func after(e *trace.Event) (inflight, sndWnd uint32) {
	una, sndMax := e.SndUna, e.SndUna+e.InFlight
	inflight, sndWnd = e.InFlight, e.SndWnd
	switch e.Kind {
	case trace.KindOut:
		if e.HasFlag(flagRST) {
			break
		}
		end := e.Seq + uint32(e.Len)
		if e.HasFlag(flagSYN) {
			end++
		}
		if e.HasFlag(flagFIN) {
			end++
		}
		if int32(end-sndMax) > 0 && int32(e.Seq-una) >= 0 {
			inflight = end - una
		}
	case trace.KindIn:
		if !e.HasFlag(flagACK) || e.HasFlag(flagRST) || int32(e.Ack-una) < 0 || int32(e.Ack-sndMax) > 0 {
			break
		}
		inflight, sndWnd = sndMax-e.Ack, e.Window
	}
	return inflight, sndWnd
}

// Congestion computes cwnd, ssthresh, bytes in flight and the peer's
// window over time for connection c, with the congestion phases. Only
// events of synchronized states before TIME-WAIT count.
func Congestion(events []trace.Event, c trace.Conn) CwndSeries {
	cn := newConn(events, c)
	s := CwndSeries{T0: usec(cn.t0), End: cn.tEnd}
	var cw, ss, fl, wn stepBuilder
	sent := false
	for i := range cn.evs {
		sent = sent || cn.evs[i].Kind == trace.KindOut && cn.evs[i].Len > 0
	}
	var cur *Interval
	last := -1.0
	for i := range cn.evs {
		e := &cn.evs[i]
		if !ccValid(e.State) || e.Kind == trace.KindLost {
			continue
		}
		t := cn.sec(e.TimeUS)
		last = t
		cw.add(t, float64(e.Cwnd))
		if e.Ssthresh < ssthreshUnset {
			ss.add(t, float64(e.Ssthresh))
		}
		inflight, sndWnd := after(e)
		fl.add(t, float64(inflight))
		wn.add(t, float64(sndWnd))
		if !sent {
			continue
		}
		ph := phaseOf(e)
		if cur != nil && cur.Label == ph {
			continue
		}
		if cur != nil {
			cur.End = t
		}
		s.Phases = append(s.Phases, Interval{Start: t, End: t, Label: ph})
		cur = &s.Phases[len(s.Phases)-1]
	}
	if cur != nil {
		cur.End = last
	}
	s.Phases = mergeIntervals(slices.DeleteFunc(s.Phases, func(iv Interval) bool { return iv.End <= iv.Start }))
	if last >= 0 {
		s.Cwnd, s.Ssthresh, s.InFlight, s.SndWnd = cw.finish(last), ss.finish(last), fl.finish(last), wn.finish(last)
	}
	return s
}

// mergeIntervals joins intervals that touch and have the same label.
func mergeIntervals(ivs []Interval) []Interval {
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && out[n-1].Label == iv.Label && out[n-1].End >= iv.Start {
			out[n-1].End = max(out[n-1].End, iv.End)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// RTTSeries is the data of the RTT/RTO plot of a connection. Every value
// is in milliseconds. The trace carries no RTTVAR, so there is none here.
type RTTSeries struct {
	// T0 is the time of the connection's first event.
	T0 time.Duration
	// End is the time of the connection's last segment, in seconds.
	End float64
	// SRTT is the smoothed RTT, from the first RTT sample on.
	SRTT []Point
	// RTO is the retransmission timeout, backoff included.
	RTO []Point
	// Samples are RTTs measured from the trace itself, as tcptrace does:
	// from sending a segment to the ACK that ends exactly at its end, and
	// none from an ACK covering data that was sent twice (Karn's rule).
	Samples []Point
	// Firings are the RTO expiries: V is the RTO that expired, N the
	// backoff after it (1 for the first expiry since the last ACK that
	// advanced snd_una, 2 for the next…).
	Firings []Mark
}

// RTT computes SRTT, RTO, the measured RTT samples and the RTO expiries of
// connection c.
func RTT(events []trace.Event, c trace.Conn) RTTSeries {
	cn := newConn(events, c)
	s := RTTSeries{T0: usec(cn.t0), End: cn.tEnd}
	if len(cn.evs) == 0 {
		return s
	}
	var srtt, rto stepBuilder
	isn, _ := cn.isn(DirSent)
	u := unwrapper{ref: isn}
	type pending struct {
		end   int64
		sent  float64
		start int64
		valid bool
	}
	var q []pending  // first transmissions not yet acked, by end
	var hiSent int64 // highest sequence number sent + 1
	backoff := 0
	var unaAtFire uint32
	last := -1.0
	for i := range cn.evs {
		e := &cn.evs[i]
		t := cn.sec(e.TimeUS)
		if backoff > 0 && sndValid(e.State) && int32(e.SndUna-unaAtFire) > 0 {
			backoff = 0
		}
		if sndValid(e.State) && e.State != "TIME-WAIT" {
			last = t
			if e.SRTTUS > 0 {
				srtt.add(t, float64(e.SRTTUS)/1e3)
			}
			if e.RTOMS > 0 {
				rto.add(t, float64(e.RTOMS))
			}
		}
		switch e.Kind {
		case trace.KindTimer:
			if e.Timer == "rto" {
				backoff++
				unaAtFire = e.SndUna
				s.Firings = append(s.Firings, Mark{T: t, V: float64(e.RTOMS), N: backoff})
			}
		case trace.KindOut:
			syn, fin := e.HasFlag(flagSYN), e.HasFlag(flagFIN)
			if e.Len == 0 && !syn && !fin || e.HasFlag(flagRST) {
				continue
			}
			start := u.at(e.Seq)
			end := start + int64(e.Len)
			if syn {
				end++
			}
			if fin {
				end++
			}
			if e.Retrans || start < hiSent {
				for j := range q {
					if q[j].start < end && start < q[j].end {
						q[j].valid = false
					}
				}
			} else {
				q = append(q, pending{end: end, sent: t, start: start, valid: true})
			}
			hiSent = max(hiSent, end)
		case trace.KindIn:
			if !e.HasFlag(flagACK) || e.HasFlag(flagRST) {
				continue
			}
			ack := u.peek(e.Ack)
			n, valid := 0, true
			for n < len(q) && q[n].end <= ack {
				valid = valid && q[n].valid
				n++
			}
			if n > 0 && valid && q[n-1].end == ack {
				s.Samples = append(s.Samples, Point{T: t, V: (t - q[n-1].sent) * 1e3})
			}
			q = q[n:]
		}
	}
	if last >= 0 {
		s.SRTT, s.RTO = srtt.finish(last), rto.finish(last)
	}
	return s
}

// Bin is one interval of a goodput series.
type Bin struct {
	// Start and End bound the interval, in seconds.
	Start, End float64
	// Bytes is the payload delivered during the interval.
	Bytes int64
	// BitsPerSecond is Bytes*8 over the interval's length.
	BitsPerSecond float64
}

// GoodputSeries is the data of a goodput-over-time plot: payload delivered
// in order, retransmissions counted once.
type GoodputSeries struct {
	// Dir is the direction measured (never DirAuto): for DirSent the bytes
	// acknowledged (snd_una advancing), for DirReceived the bytes received
	// in order (rcv_nxt advancing). SYN and FIN are not counted.
	Dir Direction
	// T0 is the time of the connection's first event.
	T0 time.Duration
	// Interval is the length of a bin.
	Interval time.Duration
	// Bins cover the connection from its first event to its last segment.
	Bins []Bin
	// Bytes is the payload delivered in all.
	Bytes int64
	// First and Last are the times (s) of the first data segment and of
	// the last delivery.
	First, Last float64
	// Mean is Bytes*8 over Last-First, in bit/s (0 if nothing was delivered).
	Mean float64
}

// Goodput computes the goodput of connection c in direction dir, in bins of
// interval (0 picks about 50 bins of a round 1-2-5 length).
func Goodput(events []trace.Event, c trace.Conn, dir Direction, interval time.Duration) GoodputSeries {
	cn := newConn(events, c)
	dir = cn.resolve(dir)
	s := GoodputSeries{Dir: dir, T0: usec(cn.t0)}
	if interval <= 0 {
		interval = niceInterval(cn.tEnd / 50)
	}
	s.Interval = interval
	if len(cn.evs) == 0 {
		return s
	}
	w := interval.Seconds()
	nb := max(1, int(cn.tEnd/w)+1)
	if float64(nb-1)*w >= cn.tEnd && nb > 1 {
		nb--
	}
	s.Bins = make([]Bin, nb)
	for i := range s.Bins {
		s.Bins[i].Start, s.Bins[i].End = float64(i)*w, float64(i+1)*w
	}

	isn, synSeen := cn.isn(dir)
	u := unwrapper{ref: isn}
	hi := int64(0)
	if synSeen {
		hi = 1
	}
	finRel := int64(-1) // relative sequence number of the FIN, once seen
	dk := dataKind(dir)
	first := -1.0
	for i := range cn.evs {
		e := &cn.evs[i]
		t := cn.sec(e.TimeUS)
		if e.Kind == dk && e.Len > 0 && first < 0 {
			first = t
		}
		if e.Kind == dk && e.HasFlag(flagFIN) {
			finRel = u.peek(e.Seq) + int64(e.Len)
		}
		cand := int64(-1)
		switch dir {
		case DirSent:
			if sndValid(e.State) {
				cand = u.peek(e.SndUna)
				if e.Kind == trace.KindIn && e.HasFlag(flagACK) && !e.HasFlag(flagRST) {
					if a := u.peek(e.Ack); a <= cand+int64(e.InFlight) {
						cand = max(cand, a)
					}
				}
			}
		case DirReceived:
			if rcvValid(e.State) {
				cand = u.peek(e.RcvNxt)
				if e.Kind == trace.KindIn && e.Len > 0 && !e.HasFlag(flagRST) {
					if st := u.peek(e.Seq); st <= max(cand, hi) {
						cand = max(cand, st+int64(e.Len))
					}
				}
			}
		}
		if finRel >= 0 {
			cand = min(cand, finRel)
		}
		if d := cand - hi; d > 0 && d < 1<<30 {
			hi = cand
			u.ref, u.rel = isn+uint32(cand), cand
			b := min(int(t/w), nb-1)
			s.Bins[b].Bytes += d
			s.Bytes += d
			s.Last = t
		}
	}
	for i := range s.Bins {
		s.Bins[i].BitsPerSecond = float64(s.Bins[i].Bytes) * 8 / w
	}
	if first >= 0 {
		s.First = first
	}
	if s.Bytes > 0 && s.Last > s.First {
		s.Mean = float64(s.Bytes) * 8 / (s.Last - s.First)
	}
	return s
}

// niceInterval rounds d seconds up to 1, 2 or 5 times a power of ten, at
// least a millisecond.
func niceInterval(d float64) time.Duration {
	for m := time.Millisecond; ; m *= 10 {
		for _, k := range []time.Duration{1, 2, 5} {
			if (k * m).Seconds() >= d {
				return k * m
			}
		}
		if m > time.Hour {
			return m
		}
	}
}
