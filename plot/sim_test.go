package plot

import (
	"net/netip"
	"sort"

	"github.com/netlab/netlab/trace"
)

// A small deterministic TCP exchange that writes the probe events both
// nodes would trace, so that the series and the plots can be checked on a
// trace whose story is known: A (the sender) connects to B, sends
// simCfg.total bytes through a bottleneck and closes; the configuration
// places a loss (fast retransmit), a receiver that stops reading (zero
// window) and a link outage (RTO with backoff). It is a model for tests,
// not a TCP: Reno with NewReno partial ACKs, one RTT sample in flight,
// RFC 6298 timers, an ACK for every segment.

var (
	simA = netip.MustParseAddrPort("10.0.0.1:40000")
	simB = netip.MustParseAddrPort("10.0.0.2:5001")
)

type simCfg struct {
	issA, issB uint32
	mss        int
	total      int   // bytes A sends
	rcvBuf     int   // B's receive buffer
	initCwnd   int   // segments
	oneWay     int64 // µs, each direction
	rate       int64 // bytes per second, A→B bottleneck
	dropFirst  int64 // relative sequence number of a segment lost on its first transmission (0: none)
	outage     [2]int64
	pause      [2]int64 // B's application reads nothing in [pause[0], pause[1]) µs
	offB       int64    // B's stack clock runs this much ahead
}

type simPkt struct {
	flags    string
	seq, ack uint32
	len      int
	wnd      uint32
	sack     int
}

type simArrival struct {
	at, n int64
	toB   bool
	pkt   simPkt
}

type sim struct {
	cfg      simCfg
	now, n   int64
	queue    []simArrival
	linkFree int64
	a        simSender
	b        simReceiver
	evA, evB []trace.Event
}

// simSender is A. Sequence numbers are kept relative to issA (SYN = 0).
type simSender struct {
	state, ca              string
	una, nxt, max          int64
	rcvNxt                 uint32
	cwnd, ssthresh         int64
	sndWnd                 int64
	dupacks                int
	recover                int64
	srtt, rttvar, rto      int64 // µs
	backoff                int
	rtoAt, persistAt, twAt int64
	persistN               int
	timing                 bool
	rttEnd, rttAt          int64
	finSent                bool
	hasRTT                 bool
	dataEnd                int64 // relative sequence number after the last data byte
}

// simReceiver is B. Sequence numbers of A's data are relative to issA.
type simReceiver struct {
	state     string
	rcvNxt    int64 // relative to issA
	unread    int64
	ooo       [][2]int64
	una, nxt  uint32 // B's own send sequence space
	srtt, rto int64
	synackAt  int64
	resumed   bool
	finRcvd   bool
	peerWnd   uint32
}

const simInfSsthresh = 1<<31 - 1

func runSim(cfg simCfg) (a, b []trace.Event) {
	s := &sim{cfg: cfg}
	s.a = simSender{state: "CLOSED", ca: "open", ssthresh: simInfSsthresh, rto: 1_000_000,
		cwnd: int64(cfg.initCwnd * cfg.mss), dataEnd: int64(cfg.total) + 1}
	s.b = simReceiver{state: "LISTEN", una: cfg.issB, nxt: cfg.issB, rto: 1_000_000}
	s.connect()
	for steps := 0; steps < 1_000_000; steps++ {
		next := int64(-1)
		pick := func(t int64) {
			if t > 0 && (next < 0 || t < next) {
				next = t
			}
		}
		if len(s.queue) > 0 {
			pick(s.queue[0].at)
		}
		pick(s.a.rtoAt)
		pick(s.a.persistAt)
		pick(s.a.twAt)
		if !s.b.resumed && cfg.pause[1] > 0 {
			pick(cfg.pause[1])
		}
		if next < 0 {
			break
		}
		s.now = next
		switch {
		case len(s.queue) > 0 && s.queue[0].at == next:
			p := s.queue[0]
			s.queue = s.queue[1:]
			if p.toB {
				s.bInput(p.pkt)
			} else {
				s.aInput(p.pkt)
			}
		case s.a.rtoAt == next:
			s.aRTO()
		case s.a.persistAt == next:
			s.aPersist()
		case s.a.twAt == next:
			s.a.twAt = 0
			s.evA = append(s.evA, s.aSnap(trace.KindTimer, func(e *trace.Event) { e.Timer = "timewait" }))
			s.aState("CLOSED")
		default:
			s.b.resumed = true
			s.b.unread = 0
			s.bSend(simPkt{flags: "."}) // window update
		}
	}
	return s.evA, s.evB
}

func (s *sim) absA(rel int64) uint32 { return s.cfg.issA + uint32(rel) }

func (s *sim) aSnap(kind string, f func(*trace.Event)) trace.Event {
	a := &s.a
	e := trace.Event{TimeUS: s.now, Kind: kind, Local: simA, Remote: simB, State: a.state,
		SndUna: s.absA(a.una), SndNxt: s.absA(a.nxt), RcvNxt: a.rcvNxt, SndWnd: uint32(a.sndWnd), RcvWnd: 65535,
		Cwnd: uint32(a.cwnd), Ssthresh: uint32(a.ssthresh), InFlight: uint32(a.max - a.una),
		SRTTUS: a.srtt, RTOMS: a.rto / 1000, CAState: a.ca}
	if f != nil {
		f(&e)
	}
	return e
}

func (s *sim) aState(st string) {
	old := s.a.state
	s.a.state = st
	s.evA = append(s.evA, s.aSnap(trace.KindState, func(e *trace.Event) { e.OldState = old }))
}

func (s *sim) connect() {
	s.aState("SYN-SENT")
	s.a.nxt, s.a.max = 1, 1
	s.aSend(simPkt{flags: "S", seq: s.cfg.issA, wnd: 65535}, false)
	s.a.rtoAt = s.now + s.a.rto
	s.a.timing, s.a.rttEnd, s.a.rttAt = true, 1, s.now
}

// aSend traces a segment A sends and puts it on the link.
func (s *sim) aSend(p simPkt, retrans bool) {
	s.evA = append(s.evA, s.aSnap(trace.KindOut, func(e *trace.Event) {
		e.Flags, e.Seq, e.Ack, e.Len, e.Window, e.Retrans = p.flags, p.seq, p.ack, p.len, p.wnd, retrans
	}))
	rel := int64(p.seq - s.cfg.issA)
	if s.inOutage() || !retrans && p.len > 0 && rel == s.cfg.dropFirst {
		return
	}
	tx := int64(p.len+40) * 1_000_000 / s.cfg.rate
	start := max(s.now, s.linkFree)
	s.linkFree = start + tx
	s.enqueue(simArrival{at: s.linkFree + s.cfg.oneWay, toB: true, pkt: p})
}

func (s *sim) inOutage() bool { return s.now >= s.cfg.outage[0] && s.now < s.cfg.outage[1] }

func (s *sim) enqueue(p simArrival) {
	s.n++
	p.n = s.n
	s.queue = append(s.queue, p)
	sort.SliceStable(s.queue, func(i, j int) bool {
		if s.queue[i].at != s.queue[j].at {
			return s.queue[i].at < s.queue[j].at
		}
		return s.queue[i].n < s.queue[j].n
	})
}

// aOutput sends what the windows allow, then the FIN.
func (s *sim) aOutput() {
	a := &s.a
	if a.state != "ESTABLISHED" && a.state != "FIN-WAIT-1" {
		return
	}
	for a.nxt < a.dataEnd {
		wnd := min(a.cwnd, a.sndWnd)
		room := a.una + wnd - a.nxt
		n := min(int64(s.cfg.mss), a.dataEnd-a.nxt, room)
		if n <= 0 || n < int64(s.cfg.mss) && n < a.dataEnd-a.nxt && a.nxt != a.una {
			break
		}
		retrans := a.nxt < a.max
		flags := "."
		if a.nxt+n == a.dataEnd {
			flags = "P."
		}
		s.aSend(simPkt{flags: flags, seq: s.absA(a.nxt), ack: a.rcvNxt, len: int(n), wnd: 65535}, retrans)
		if retrans {
			a.timing = false
		} else if !a.timing {
			a.timing, a.rttEnd, a.rttAt = true, a.nxt+n, s.now
		}
		a.nxt += n
		a.max = max(a.max, a.nxt)
		if a.rtoAt == 0 {
			a.rtoAt = s.now + a.rto
		}
	}
	if a.nxt == a.dataEnd && (!a.finSent || a.max > a.dataEnd) {
		retrans := a.finSent
		s.aSend(simPkt{flags: "F.", seq: s.absA(a.nxt), ack: a.rcvNxt, wnd: 65535}, retrans)
		a.nxt++
		a.max = max(a.max, a.nxt)
		if !a.finSent {
			a.finSent = true
			s.aState("FIN-WAIT-1")
		}
		if a.rtoAt == 0 {
			a.rtoAt = s.now + a.rto
		}
	}
	if a.sndWnd == 0 && a.una == a.nxt && a.nxt < a.dataEnd && a.persistAt == 0 {
		a.persistAt = s.now + a.rto
	}
}

func (s *sim) aSample(r int64) {
	a := &s.a
	if !a.hasRTT {
		a.srtt, a.rttvar, a.hasRTT = r, r/2, true
	} else {
		d := a.srtt - r
		if d < 0 {
			d = -d
		}
		a.rttvar = (3*a.rttvar + d) / 4
		a.srtt = (7*a.srtt + r) / 8
	}
	a.backoff = 0
	s.aRTOCompute()
}

func (s *sim) aRTOCompute() {
	a := &s.a
	base := int64(1_000_000)
	if a.hasRTT {
		base = max(a.srtt+max(1000, 4*a.rttvar), 200_000)
	}
	a.rto = min(base<<a.backoff, 60_000_000)
}

func (s *sim) aInput(p simPkt) {
	a := &s.a
	s.evA = append(s.evA, s.aSnap(trace.KindIn, func(e *trace.Event) {
		e.Flags, e.Seq, e.Ack, e.Len, e.Window, e.SACK = p.flags, p.seq, p.ack, p.len, p.wnd, p.sack
	}))
	ack := int64(p.ack - s.cfg.issA)
	switch a.state {
	case "SYN-SENT":
		a.rcvNxt = p.seq + 1
		a.una, a.sndWnd = 1, int64(p.wnd)
		s.aSample(s.now - a.rttAt)
		a.timing, a.rtoAt = false, 0
		s.aState("ESTABLISHED")
		s.aSend(simPkt{flags: ".", seq: s.absA(a.nxt), ack: a.rcvNxt, wnd: 65535}, false)
		s.aOutput()
		return
	case "TIME-WAIT", "CLOSED":
		return
	}
	if len(p.flags) > 0 && p.flags[0] == 'F' {
		a.rcvNxt = p.seq + 1
		defer func() {
			s.aSend(simPkt{flags: ".", seq: s.absA(a.nxt), ack: a.rcvNxt, wnd: 65535}, false)
			s.aState("TIME-WAIT")
			a.twAt = s.now + 60_000_000
		}()
	}
	prior := a.max - a.una
	switch {
	case ack > a.una && ack <= a.max:
		acked := ack - a.una
		if a.timing && ack >= a.rttEnd {
			a.timing = false
			s.aSample(s.now - a.rttAt)
		}
		a.backoff = 0
		s.aRTOCompute()
		a.una = ack
		a.nxt = max(a.nxt, a.una)
		a.dupacks = 0
		mss := int64(s.cfg.mss)
		switch {
		case a.ca == "recovery" && ack >= a.recover:
			a.cwnd, a.ca = a.ssthresh, "open"
		case a.ca == "recovery":
			// NewReno partial ACK: retransmit the next hole, deflate.
			s.aSend(simPkt{flags: ".", seq: s.absA(a.una), ack: a.rcvNxt, len: int(min(mss, a.dataEnd-a.una)), wnd: 65535}, true)
			a.cwnd = max(a.cwnd-acked+mss, mss)
		default:
			if a.ca == "loss" && ack >= a.recover {
				a.ca = "open"
			}
			if a.ca == "disorder" {
				a.ca = "open"
			}
			if a.cwnd < a.ssthresh {
				if 2*prior > a.cwnd {
					a.cwnd += min(acked, mss)
				}
			} else if prior >= a.cwnd-mss {
				a.cwnd += max(1, mss*mss/a.cwnd)
			}
		}
		a.rtoAt = 0
		if a.una < a.max {
			a.rtoAt = s.now + a.rto
		}
		if a.finSent && a.una == a.dataEnd+1 && a.state == "FIN-WAIT-1" {
			s.aState("FIN-WAIT-2")
		}
	case ack == a.una && p.len == 0 && a.max > a.una && int64(p.wnd) == a.sndWnd && p.flags == ".":
		a.dupacks++
		mss := int64(s.cfg.mss)
		switch a.ca {
		case "open", "disorder":
			if a.dupacks < 3 {
				a.ca = "disorder"
				break
			}
			a.ssthresh = max(prior/2, 2*mss)
			a.cwnd = a.ssthresh + 3*mss
			a.ca, a.recover = "recovery", a.max
			a.timing = false
			s.aSend(simPkt{flags: ".", seq: s.absA(a.una), ack: a.rcvNxt, len: int(min(mss, a.dataEnd-a.una)), wnd: 65535}, true)
		case "recovery":
			a.cwnd += mss
		}
	}
	a.sndWnd = int64(p.wnd)
	if a.sndWnd > 0 {
		a.persistAt, a.persistN = 0, 0
	}
	s.aOutput()
}

func (s *sim) aRTO() {
	a := &s.a
	a.rtoAt = 0
	if a.una == a.max {
		return
	}
	s.evA = append(s.evA, s.aSnap(trace.KindTimer, func(e *trace.Event) { e.Timer = "rto" }))
	a.backoff++
	s.aRTOCompute()
	if a.ca != "loss" {
		a.ssthresh = max((a.max-a.una)/2, 2*int64(s.cfg.mss))
	}
	a.cwnd, a.ca, a.recover, a.dupacks = int64(s.cfg.mss), "loss", a.max, 0
	a.nxt, a.timing = a.una, false
	a.rtoAt = s.now + a.rto
	s.aOutput()
}

func (s *sim) aPersist() {
	a := &s.a
	s.evA = append(s.evA, s.aSnap(trace.KindTimer, func(e *trace.Event) { e.Timer = "persist" }))
	s.aSend(simPkt{flags: ".", seq: s.absA(a.una - 1), ack: a.rcvNxt, wnd: 65535}, false)
	a.persistN++
	a.persistAt = s.now + min(a.rto<<a.persistN, 60_000_000)
}

// B, the receiver.

func (s *sim) bWnd() int64 { return max(int64(s.cfg.rcvBuf)-s.b.unread, 0) }

func (s *sim) bPaused() bool {
	return s.now >= s.cfg.pause[0] && s.now < s.cfg.pause[1] && !s.b.resumed
}

func (s *sim) bSnap(kind string, f func(*trace.Event)) trace.Event {
	b := &s.b
	rcvNxt := uint32(0)
	if b.state != "LISTEN" {
		rcvNxt = s.absA(b.rcvNxt)
	}
	e := trace.Event{TimeUS: s.now + s.cfg.offB, Kind: kind, Local: simB, Remote: simA, State: b.state,
		SndUna: b.una, SndNxt: b.nxt, RcvNxt: rcvNxt, SndWnd: b.peerWnd, RcvWnd: uint32(s.bWnd()),
		Cwnd: uint32(10 * s.cfg.mss), Ssthresh: simInfSsthresh, InFlight: b.nxt - b.una,
		SRTTUS: b.srtt, RTOMS: b.rto / 1000, CAState: "open"}
	if f != nil {
		f(&e)
	}
	return e
}

func (s *sim) bState(st string) {
	old := s.b.state
	s.b.state = st
	s.evB = append(s.evB, s.bSnap(trace.KindState, func(e *trace.Event) { e.OldState = old }))
}

func (s *sim) bSend(p simPkt) {
	b := &s.b
	p.seq, p.wnd = b.nxt, uint32(s.bWnd())
	if b.state != "LISTEN" && b.state != "SYN-RECEIVED" || p.flags != "S." {
		p.ack = s.absA(b.rcvNxt)
	}
	p.sack = min(len(b.ooo), 3)
	s.evB = append(s.evB, s.bSnap(trace.KindOut, func(e *trace.Event) {
		e.Flags, e.Seq, e.Ack, e.Len, e.Window, e.SACK = p.flags, p.seq, p.ack, p.len, p.wnd, p.sack
	}))
	if p.flags == "S." || p.flags == "F." {
		b.nxt++
	}
	if s.inOutage() {
		return
	}
	s.enqueue(simArrival{at: s.now + s.cfg.oneWay, pkt: p})
}

func (s *sim) bInput(p simPkt) {
	b := &s.b
	s.evB = append(s.evB, s.bSnap(trace.KindIn, func(e *trace.Event) {
		e.Flags, e.Seq, e.Ack, e.Len, e.Window = p.flags, p.seq, p.ack, p.len, p.wnd
	}))
	b.peerWnd = p.wnd
	switch b.state {
	case "LISTEN":
		b.rcvNxt = 1
		s.bState("SYN-RECEIVED")
		b.synackAt = s.now
		s.bSend(simPkt{flags: "S.", ack: p.seq + 1})
		return
	case "SYN-RECEIVED":
		b.una = p.ack
		b.srtt = s.now - b.synackAt
		b.rto = max(b.srtt*3, 200_000)
		s.bState("ESTABLISHED")
	case "LAST-ACK":
		if p.ack == b.nxt {
			b.una = p.ack
			s.bState("CLOSED")
		}
		return
	}
	seq := int64(p.seq - s.cfg.issA)
	if p.len > 0 {
		switch {
		case seq == b.rcvNxt && s.bWnd() > 0:
			n := min(int64(p.len), s.bWnd())
			b.rcvNxt += n
			b.unread += n
			for len(b.ooo) > 0 && b.ooo[0][0] <= b.rcvNxt {
				if e := b.ooo[0][1]; e > b.rcvNxt {
					b.unread += e - b.rcvNxt
					b.rcvNxt = e
				}
				b.ooo = b.ooo[1:]
			}
		case seq > b.rcvNxt && seq < b.rcvNxt+s.bWnd():
			b.ooo = append(b.ooo, [2]int64{seq, seq + int64(p.len)})
			sort.Slice(b.ooo, func(i, j int) bool { return b.ooo[i][0] < b.ooo[j][0] })
			merged := b.ooo[:1]
			for _, r := range b.ooo[1:] {
				if l := &merged[len(merged)-1]; r[0] <= l[1] {
					l[1] = max(l[1], r[1])
				} else {
					merged = append(merged, r)
				}
			}
			b.ooo = merged
		}
		if !s.bPaused() {
			b.unread = 0
		}
	}
	if len(p.flags) > 0 && p.flags[0] == 'F' && seq+int64(p.len) == b.rcvNxt && !b.finRcvd {
		b.finRcvd = true
		b.rcvNxt++
		s.bSend(simPkt{flags: "."})
		s.bState("CLOSE-WAIT")
		s.bSend(simPkt{flags: "F."})
		s.bState("LAST-ACK")
		return
	}
	if p.len > 0 || p.flags == "." && seq == b.rcvNxt-1 {
		s.bSend(simPkt{flags: "."})
	}
}
