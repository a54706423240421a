package check

import (
	"fmt"
	"strings"

	"github.com/netlab/netlab/trace"
)

// origin is what a connection's lines are relative to: its first event's
// time and the two initial sequence numbers.
type origin struct {
	t0       int64
	iss, irs uint32 // ISN sent, ISN received
}

// originOf finds the origin of a connection's events: the first event's
// time, and the sequence numbers of the SYNs sent and received. When a SYN
// is missing (the trace began later) the ISN is taken as one before the
// first event's snd_una (sent) or rcv_nxt (received), so that the first
// byte still unacknowledged numbers 1.
func originOf(events []trace.Event) origin {
	var o origin
	var hasISS, hasIRS bool
	first := true
	for i := range events {
		e := &events[i]
		if e.Kind == trace.KindLost {
			continue
		}
		if first {
			o.t0 = e.TimeUS
			o.iss, o.irs = e.SndUna-1, e.RcvNxt-1
			first = false
		}
		if !e.HasFlag('S') {
			continue
		}
		switch {
		case e.Kind == trace.KindOut && !hasISS:
			o.iss, hasISS = e.Seq, true
		case e.Kind == trace.KindIn && !hasIRS:
			o.irs, hasIRS = e.Seq, true
		}
	}
	return o
}

// Lines formats events as packetdrill-like lines, times and sequence
// numbers relative to the first event and the ISNs the events hold (see
// LinesFrom to format part of a connection):
//
//	0.100 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,wscale 7>
//	0.120 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 9 ecr 1,wscale 7>
//	0.120 > . 1:1(0) ack 1 win 64256
//	0.121 > P. 1:1449(1448) ack 1 win 64256
//	0.150 < . 1:1(0) ack 1 win 64256 <sack 2897:4345>
//	0.400 > . 1449:2897(1448) ack 1 win 64256 (retrans)
//	0.400 timer rto (rto 200ms, cwnd 1448, ssthresh 7240, inflight 14480, snd_wnd 64256)
//	0.500 state ESTABLISHED -> FIN-WAIT-1
//
// ">" is a segment the node sent, "<" one it received; windows are in
// bytes (scaled); SACK blocks are relative to the ISN of the side whose
// data they cover; "(retrans)" marks a retransmission. A lost-events
// marker prints as "lost N events".
func Lines(events []trace.Event) []string { return LinesFrom(events, events) }

// LinesFrom formats events, part of the connection conn (all its events,
// in trace order), relative to conn's first event and ISNs: the lines of
// an Outcome's Context are numbered as in the whole connection's Lines.
func LinesFrom(conn, events []trace.Event) []string {
	o := originOf(conn)
	out := make([]string, len(events))
	for i := range events {
		out[i] = o.line(&events[i])
	}
	return out
}

func (o origin) line(e *trace.Event) string {
	if e.Kind == trace.KindLost {
		return fmt.Sprintf("lost %d events", e.Len)
	}
	t := fmt.Sprintf("%.3f", float64(e.TimeUS-o.t0)/1e6)
	switch e.Kind {
	case trace.KindState:
		return fmt.Sprintf("%s state %s -> %s", t, e.OldState, e.State)
	case trace.KindTimer:
		return fmt.Sprintf("%s timer %s (rto %dms, cwnd %d, ssthresh %s, inflight %d, snd_wnd %d)",
			t, e.Timer, e.RTOMS, e.Cwnd, ssthreshText(e.Ssthresh), e.InFlight, e.SndWnd)
	case trace.KindIn, trace.KindOut:
	default:
		return fmt.Sprintf("%s %s", t, e.Kind)
	}
	dir, seqBase, ackBase := ">", o.iss, o.irs
	if e.Kind == trace.KindIn {
		dir, seqBase, ackBase = "<", o.irs, o.iss
	}
	var b strings.Builder
	s := e.Seq - seqBase
	fmt.Fprintf(&b, "%s %s %s %d:%d(%d)", t, dir, e.Flags, s, s+uint32(e.Len), e.Len)
	if e.HasFlag('.') {
		fmt.Fprintf(&b, " ack %d", e.Ack-ackBase)
	}
	fmt.Fprintf(&b, " win %d", e.Window)
	if e.Options != "" {
		fmt.Fprintf(&b, " <%s>", e.Options)
	}
	if len(e.SACKRanges) > 0 {
		b.WriteString(" <sack")
		for _, r := range e.SACKRanges {
			fmt.Fprintf(&b, " %d:%d", r[0]-ackBase, r[1]-ackBase)
		}
		b.WriteString(">")
	}
	if e.Retrans {
		b.WriteString(" (retrans)")
	}
	return b.String()
}

// infinite is the ssthresh of a connection that never lost anything.
const infinite = 1<<31 - 1

func ssthreshText(v uint32) string {
	if v >= infinite {
		return "inf"
	}
	return fmt.Sprint(v)
}
