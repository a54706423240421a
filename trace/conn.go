package trace

import (
	"fmt"
	"net/netip"
	"time"
)

// Conn is one connection instance of a trace, as the tracing node sees it:
// its 4-tuple (Local, Remote), its ISN and the time of its first event.
// Two connections on one 4-tuple (the 4-tuple reused after TIME-WAIT, or a
// seeded lab's second run recorded after its first) are two Conns.
type Conn struct {
	// Local is the tracing node's end.
	Local netip.AddrPort
	// Remote is the peer's end.
	Remote netip.AddrPort
	// Instance counts the earlier instances of the same 4-tuple in the
	// trace: 0 for its first connection, 1 for the next...
	Instance int
	// ISN is the sequence number of the connection's first SYN in the trace
	// (sent or received) when SYN is true. A connection whose SYN the trace
	// lacks (the trace began after the handshake) has instead the sequence
	// number of its first segment sent, or else the local end's snd_una at
	// its first event.
	ISN uint32
	// SYN tells whether ISN is a SYN's sequence number.
	SYN bool
	// First and Last are the times of the connection's first and last
	// event, drop events included, on the tracing stack's clock
	// (Event.TimeUS).
	First, Last time.Duration
	// BytesSent and BytesReceived add up the payload of the segments sent
	// and received, retransmissions included (not drop events: a segment
	// sent and then dropped is counted once, as sent).
	BytesSent, BytesReceived int64
	// Retransmits counts the segments sent that were retransmissions.
	Retransmits int
	// Events counts the connection's events, drop events included.
	Events int
	// Drops counts its drop events: segments the impairment layer of the
	// node's interfaces dropped, sent or on their way in.
	Drops int
	// Lost adds up the events the trace lost (KindLost markers) between the
	// connection's first and last event: some of them may have been its own.
	Lost int
}

// String formats the connection's 4-tuple as "local->remote", the form
// Select matches.
func (c Conn) String() string { return c.Local.String() + "->" + c.Remote.String() }

// Title formats the connection's 4-tuple for a plot title, "local → remote".
func (c Conn) Title() string { return c.Local.String() + " → " + c.Remote.String() }

// Label tells the instance apart from others on its 4-tuple:
// "local->remote from 1.250s, isn 12345".
func (c Conn) Label() string {
	isn := fmt.Sprintf("isn %d", c.ISN)
	if !c.SYN {
		isn = fmt.Sprintf("seq %d, no SYN traced", c.ISN)
	}
	return fmt.Sprintf("%s from %.3fs, %s", c, c.First.Seconds(), isn)
}

func (c *Conn) sameTuple(e *Event) bool { return e.Local == c.Local && e.Remote == c.Remote }

// Conns lists the connection instances of a trace in the order they begin
// in the trace. Events with no valid local or remote address (KindLost
// markers) are part of no connection.
//
// The events of one 4-tuple, in trace order, start a new instance at:
//   - a state event out of CLOSED or LISTEN (the stack opening a
//     connection: CLOSED -> SYN-SENT, SYN-RECEIVED or, with a SYN cookie,
//     ESTABLISHED);
//   - a SYN without ACK whose sequence number differs from the SYN the
//     instance already has in that direction (a capture has no state
//     events), or any event whose state lies before one the instance has
//     already reached (SYN-SENT after ESTABLISHED, anything but CLOSED after
//     CLOSED), as when the events of the opening were lost;
//   - an event earlier than the instance's last one: the tracing stack was
//     started anew and its clock with it (a lab deployed again, its trace
//     appended).
//
// A SYN-ACK never starts an instance (it is retransmitted when its ACK is
// lost), and a SYN that a connection in TIME-WAIT receives stays with it:
// the new connection starts at the listener's CLOSED -> SYN-RECEIVED.
//
// A drop event (KindDrop) never starts an instance nor changes what the
// rules above see: it joins the current instance of its 4-tuple, unless it
// cannot be part of it (it is earlier than the instance's last event, or
// it is a SYN without ACK that differs from the instance's SYN in its
// direction or comes after CLOSED), in which case, as when its 4-tuple has
// no instance yet, it joins the next instance of its 4-tuple, the one the
// retransmission of the dropped SYN opens, if its time is not after that
// instance's beginning; otherwise it is part of no connection.
func Conns(events []Event) []Conn {
	conns, _ := split(events, nil)
	return conns
}

// Filter returns the events of connection instance c, in trace order. c is
// a Conn that Conns returned for these events (the same 4-tuple, Instance,
// First and ISN); a Conn with only Local and Remote set (Events 0) stands
// for the latest instance of its 4-tuple. Nothing matches a Conn of another
// trace.
func Filter(events []Event, c Conn) []Event {
	conns, of := split(events, c.sameTuple)
	j := -1
	for k := range conns {
		if c.Events == 0 || conns[k].Instance == c.Instance && conns[k].First == c.First && conns[k].ISN == c.ISN {
			j = k
		}
	}
	if j < 0 {
		return nil
	}
	n := 0
	for i := range events {
		if of[i] == j {
			n++
		}
	}
	// A copy, sized once (callers delete from it in place; a page's plots
	// ask for a connection's thousands of events three times a second).
	if n == 0 {
		return nil
	}
	out := make([]Event, 0, n)
	for i := range events {
		if of[i] == j {
			out = append(out, events[i])
		}
	}
	return out
}

// split assigns the events of a trace that only accepts (all if nil) to
// connection instances: it returns the instances in the order of their
// first event and, for each event, the index of its instance (-1: none).
func split(events []Event, only func(*Event) bool) ([]Conn, []int) {
	type open struct {
		t       tracker
		cur     int   // index of the current instance in conns
		pending []int // drop events waiting for the next instance
	}
	tuples := map[[2]netip.AddrPort]*open{}
	var conns []Conn
	var lostAt []int // the lost events counted when each instance began
	var isns []isnFinder
	of := make([]int, len(events))
	lost := 0
	for i := range events {
		of[i] = -1
		e := &events[i]
		if e.Kind == KindLost {
			lost += e.Len
			continue
		}
		if !e.Local.IsValid() || !e.Remote.IsValid() || only != nil && !only(e) {
			continue
		}
		k := [2]netip.AddrPort{e.Local, e.Remote}
		o := tuples[k]
		if o == nil {
			o = &open{}
			tuples[k] = o
		}
		if e.Kind == KindDrop {
			if o.t.n == 0 || o.t.dropIsNext(e) {
				o.pending = append(o.pending, i)
				continue
			}
			of[i] = o.cur
			c := &conns[o.cur]
			c.Events++
			c.Drops++
			c.Last = max(c.Last, usec(e.TimeUS))
			c.Lost = lost - lostAt[o.cur]
			continue
		}
		before := o.t.maxRank
		if o.t.step(e) {
			before = 0
			o.cur = len(conns)
			t := usec(e.TimeUS)
			conns = append(conns, Conn{Local: e.Local, Remote: e.Remote, Instance: o.t.n - 1, First: t, Last: t})
			lostAt = append(lostAt, lost)
			isns = append(isns, isnFinder{})
			for _, p := range o.pending {
				if events[p].TimeUS <= e.TimeUS {
					of[p] = o.cur
					conns[o.cur].Events++
					conns[o.cur].Drops++
					conns[o.cur].First = min(conns[o.cur].First, usec(events[p].TimeUS))
				}
			}
			o.pending = o.pending[:0]
		}
		of[i] = o.cur
		c := &conns[o.cur]
		c.Events++
		t := usec(e.TimeUS)
		c.First, c.Last = min(c.First, t), max(c.Last, t)
		c.Lost = lost - lostAt[o.cur]
		switch e.Kind {
		case KindOut:
			c.BytesSent += int64(e.Len)
			if e.Retrans {
				c.Retransmits++
			}
		case KindIn:
			c.BytesReceived += int64(e.Len)
		}
		isns[o.cur].see(e, before)
	}
	for j := range conns {
		conns[j].ISN, conns[j].SYN = isns[j].isn()
	}
	return conns, of
}

// Connection states in the order a connection goes through them; a state
// never follows one of a higher rank within one connection.
func rank(state string) int {
	switch state {
	case "SYN-SENT", "SYN-RECEIVED":
		return 1
	case "ESTABLISHED":
		return 2
	case "FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "CLOSE-WAIT", "LAST-ACK":
		return 3
	case "TIME-WAIT":
		return 4
	case "CLOSED":
		return 5
	}
	return 0 // LISTEN, or no state (old or synthetic traces)
}

// tracker follows the current instance of one 4-tuple while the trace is
// read, to see where the next one begins (see Conns).
type tracker struct {
	n       int   // instances begun so far
	lastUS  int64 // time of the instance's last event
	maxRank int   // the furthest state the instance reached
	states  bool  // the instance has had a state event
	syn     [2]struct {
		seq uint32
		ok  bool
	} // the first SYN without ACK of each direction (0: sent, 1: received)
}

// step takes the 4-tuple's next event and reports whether it begins a new
// instance.
func (t *tracker) step(e *Event) bool {
	begins := t.n == 0 || t.opens(e)
	if begins {
		*t = tracker{n: t.n + 1}
	}
	t.lastUS = e.TimeUS
	t.states = t.states || e.Kind == KindState
	t.maxRank = max(t.maxRank, rank(e.State))
	if d := synDir(e); d >= 0 && !t.syn[d].ok {
		t.syn[d].seq, t.syn[d].ok = e.Seq, true
	}
	return begins
}

// dropIsNext reports whether drop event e cannot belong to the current
// instance (see Conns).
func (t *tracker) dropIsNext(e *Event) bool {
	if e.TimeUS < t.lastUS {
		return true
	}
	if !e.HasFlag('S') || e.HasFlag('.') {
		return false
	}
	d := 0
	if e.Dir == DirIngress {
		d = 1
	}
	return t.maxRank == rank("CLOSED") || t.syn[d].ok && t.syn[d].seq != e.Seq
}

// opens reports whether e cannot belong to the current instance.
func (t *tracker) opens(e *Event) bool {
	if e.TimeUS < t.lastUS {
		return true
	}
	r := rank(e.State)
	if e.Kind == KindState && (e.OldState == "CLOSED" || e.OldState == "LISTEN") && r >= 1 && r < 5 {
		// Joins an instance that so far holds only the SYN that opened it.
		return t.states || t.maxRank > 1
	}
	synACK := e.segment() && e.HasFlag('S') && e.HasFlag('.')
	if r >= 1 && r < t.maxRank && r < 5 && !synACK {
		return true
	}
	if d := synDir(e); d >= 0 && t.syn[d].ok && t.syn[d].seq != e.Seq {
		return true
	}
	return false
}

// synDir is 0 for a SYN without ACK sent, 1 for one received, in an
// opening state (or none known); -1 for any other event.
func synDir(e *Event) int {
	if !e.segment() || !e.HasFlag('S') || e.HasFlag('.') || rank(e.State) > 1 {
		return -1
	}
	if e.Kind == KindOut {
		return 0
	}
	return 1
}

// isnFinder picks an instance's ISN from its events (see Conn.ISN).
type isnFinder struct {
	syn, out, una          uint32
	hasSYN, hasOut, hasUna bool
}

// see takes the instance's next event; reached is the furthest state rank
// the instance had reached before it.
func (f *isnFinder) see(e *Event, reached int) {
	switch {
	case e.segment() && e.HasFlag('S') && !f.hasSYN && reached <= 1:
		f.syn, f.hasSYN = e.Seq, true
	case e.Kind == KindOut && !f.hasOut:
		f.out, f.hasOut = e.Seq, true
	}
	if r := rank(e.State); !f.hasUna && r >= 1 && r < 5 {
		f.una, f.hasUna = e.SndUna, true
	}
}

func (f *isnFinder) isn() (uint32, bool) {
	switch {
	case f.hasSYN:
		return f.syn, true
	case f.hasOut:
		return f.out, false
	case f.hasUna:
		return f.una, false
	}
	return 0, false
}

func usec(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
