package plot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netlab/netlab/nodeagent"
)

// Event is one probe event of a trace; it is the agent's schema, so a file
// written by `netlab trace` reads back unchanged.
type Event = nodeagent.TraceEvent

// Event kinds, as in Event.Kind.
const (
	EventIn    = "in"    // a segment arrived
	EventOut   = "out"   // a segment was sent
	EventState = "state" // the connection changed state
	EventTimer = "timer" // a timer fired (Event.Timer names it)
	EventLost  = "lost"  // Event.Len events were dropped by a slow reader
)

// ErrNoEvents is returned when a trace holds no event of the connection asked for.
var ErrNoEvents = errors.New("no trace events for the connection")

// ReadTrace reads a trace written as JSON lines, one Event per line, as
// `netlab trace` prints it. Blank lines are skipped; a line that does not
// parse is an error naming its line number.
func ReadTrace(r io.Reader) ([]Event, error) {
	br := bufio.NewReader(r)
	var evs []Event
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(b))) > 0 {
			var e Event
			if jerr := json.Unmarshal(b, &e); jerr != nil {
				return evs, fmt.Errorf("trace line %d: %w", line, jerr)
			}
			evs = append(evs, e)
		}
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("read trace line %d: %w", line, err)
		}
	}
}

// ConnID names one connection of a trace as the tracing node sees it (its
// local and remote address and port), with a summary of its events. Filter
// and the Series functions look only at Local and Remote, so a ConnID built
// from the two addresses alone selects the same events.
type ConnID struct {
	// Local is the tracing node's end.
	Local netip.AddrPort
	// Remote is the peer's end.
	Remote netip.AddrPort
	// First and Last are the times of the connection's first and last event,
	// on the tracing stack's clock (Event.TimeUS).
	First, Last time.Duration
	// BytesSent and BytesReceived add up the payload of the segments sent
	// and received, retransmissions included.
	BytesSent, BytesReceived int64
	// Retransmits counts the segments sent that were retransmissions.
	Retransmits int
	// Events counts the connection's events.
	Events int
}

// String formats the connection as "local->remote", the form SelectConn
// accepts.
func (c ConnID) String() string { return c.Local.String() + "->" + c.Remote.String() }

// Title formats the connection for a plot title, "local → remote".
func (c ConnID) Title() string { return c.Local.String() + " → " + c.Remote.String() }

func (c ConnID) has(e *Event) bool { return e.Local == c.Local && e.Remote == c.Remote }

// Connections lists the connections of a trace in the order of their first
// event. Events with no valid local or remote address ("lost" markers) are
// not part of any connection.
func Connections(events []Event) []ConnID {
	idx := map[[2]netip.AddrPort]int{}
	var out []ConnID
	for i := range events {
		e := &events[i]
		if e.Kind == EventLost || !e.Local.IsValid() || !e.Remote.IsValid() {
			continue
		}
		key := [2]netip.AddrPort{e.Local, e.Remote}
		j, ok := idx[key]
		if !ok {
			j = len(out)
			idx[key] = j
			out = append(out, ConnID{Local: e.Local, Remote: e.Remote, First: usec(e.TimeUS), Last: usec(e.TimeUS)})
		}
		c := &out[j]
		c.Events++
		t := usec(e.TimeUS)
		c.First, c.Last = min(c.First, t), max(c.Last, t)
		switch e.Kind {
		case EventOut:
			c.BytesSent += int64(e.Len)
			if e.Retrans {
				c.Retransmits++
			}
		case EventIn:
			c.BytesReceived += int64(e.Len)
		}
	}
	slices.SortStableFunc(out, func(a, b ConnID) int {
		if a.First != b.First {
			return int(min(max(a.First-b.First, -1), 1))
		}
		return strings.Compare(a.String(), b.String())
	})
	return out
}

// Filter returns the events of connection c (same Local and Remote), in
// trace order.
func Filter(events []Event, c ConnID) []Event {
	var out []Event
	for i := range events {
		if c.has(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

// LostEvents adds up the events a trace says it lost ("lost" markers): a
// plot of such a trace may miss segments.
func LostEvents(events []Event) int {
	n := 0
	for i := range events {
		if events[i].Kind == EventLost {
			n += events[i].Len
		}
	}
	return n
}

// SelectConn picks one of conns by spec: "" when there is only one
// connection; "#N" for the N-th (from 0, in Connections order); the exact
// "local->remote"; or any part of it ("10.0.0.2:5001", ":5001") that matches
// exactly one connection.
func SelectConn(conns []ConnID, spec string) (ConnID, error) {
	if len(conns) == 0 {
		return ConnID{}, ErrNoEvents
	}
	if spec == "" {
		if len(conns) == 1 {
			return conns[0], nil
		}
		return ConnID{}, fmt.Errorf("trace has %d connections, choose one of: %s", len(conns), listConns(conns))
	}
	if n, ok := strings.CutPrefix(spec, "#"); ok {
		var i int
		if _, err := fmt.Sscanf(n, "%d", &i); err != nil || i < 0 || i >= len(conns) || fmt.Sprint(i) != n {
			return ConnID{}, fmt.Errorf("connection %q: want #0 to #%d", spec, len(conns)-1)
		}
		return conns[i], nil
	}
	var match []ConnID
	for _, c := range conns {
		if c.String() == spec {
			return c, nil
		}
		if strings.Contains(c.String(), spec) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return ConnID{}, fmt.Errorf("no connection matches %q; the trace has: %s", spec, listConns(conns))
	}
	return ConnID{}, fmt.Errorf("%q matches %d connections: %s", spec, len(match), listConns(match))
}

func listConns(conns []ConnID) string {
	s := make([]string, len(conns))
	for i, c := range conns {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

func usec(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
