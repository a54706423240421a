package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netlab/netlab/trace"
)

// connKeys are the keys of every kind that looks at one connection.
func connKeys(more map[string]string) map[string]string {
	keys := map[string]string{
		"node": "the Go-stack node whose trace is read",
		"conn": "which of its connections: \"#N\", part of \"local->remote\" (\":5001\"), \"@latest\" suffix; default: the only one, else the one that carried the most data",
	}
	for k, v := range more {
		keys[k] = v
	}
	return keys
}

// connSel says which connection of which node's trace a check reads.
type connSel struct{ node, spec string }

func readConnSel(a Args) (connSel, error) {
	node, err := text(a, "node", "")
	if err != nil {
		return connSel{}, err
	}
	if strings.TrimSpace(node) == "" {
		return connSel{}, &ArgError{Key: "node", Msg: "name the node whose trace to read"}
	}
	spec, err := text(a, "conn", "")
	return connSel{node: node, spec: spec}, err
}

// view is one connection of a node's trace, as a check reads it.
type view struct {
	node   string
	conn   trace.Conn
	events []trace.Event
}

// pick finds the connection; when it cannot, it says why in o.Actual and
// returns nil. With no conn spec and several connections, it takes the one
// that carried the most payload (sent and received, retransmissions
// included), the latest of those that tie.
func (s connSel) pick(ev *Evidence, o *Outcome) *view {
	o.Node = s.node
	events, ok := ev.Traces[s.node]
	if !ok {
		if len(ev.Traces) == 0 {
			o.Actual = fmt.Sprintf("no trace of node %s: no Go-stack node was traced", s.node)
		} else {
			o.Actual = fmt.Sprintf("no trace of node %s (traced: %s)", s.node, strings.Join(sortedKeys(ev.Traces), ", "))
		}
		return nil
	}
	conns := trace.Conns(events)
	if len(conns) == 0 {
		o.Actual = fmt.Sprintf("node %s traced no TCP connection", s.node)
		return nil
	}
	i := 0
	if s.spec != "" || len(conns) == 1 {
		var err error
		if i, err = trace.Select(conns, s.spec); err != nil {
			o.Actual = fmt.Sprintf("node %s: %v", s.node, err)
			return nil
		}
	} else {
		for j, c := range conns {
			if c.BytesSent+c.BytesReceived >= conns[i].BytesSent+conns[i].BytesReceived {
				i = j
			}
		}
	}
	c := conns[i]
	o.Conn = &c
	// The checks read the stack's events: drop events (the impairment
	// layer's) carry no connection state.
	evs := slices.DeleteFunc(trace.Filter(events, c), func(e trace.Event) bool { return e.Kind == trace.KindDrop })
	return &view{node: s.node, conn: c, events: evs}
}

// name names the connection in messages: "a 10.0.0.1:40000->10.0.0.2:5001".
func (v *view) name() string { return v.node + " " + v.conn.String() }

// at is an event's time, in seconds from the connection's first event,
// as Lines prints it.
func (v *view) at(e *trace.Event) string {
	return fmt.Sprintf("%.3fs", float64(e.TimeUS-v.events[0].TimeUS)/1e6)
}

// line formats one event as Lines does, relative to the connection.
func (v *view) line(e *trace.Event) string { return originOf(v.events).line(e) }

// show sets o's Context to the events [from, to) of the connection (at
// most MaxContext, the last ones kept), and its Mark to the event at mark
// (-1: none).
func (v *view) show(o *Outcome, from, to, mark int) {
	from, to = max(from, 0), min(to, len(v.events))
	if to-from > MaxContext {
		if mark >= 0 && mark < to-MaxContext/2 {
			from = max(mark-MaxContext/2, from)
			to = from + MaxContext
		} else {
			from = to - MaxContext
		}
	}
	if from >= to {
		return
	}
	o.Context = append([]trace.Event(nil), v.events[from:to]...)
	o.Lines = LinesFrom(v.events, o.Context)
	if mark >= from && mark < to {
		o.Mark = &o.Context[mark-from]
	}
}

// around shows the events around index i: some before, a few after.
func (v *view) around(o *Outcome, i int) { v.show(o, i-MaxContext+4, i+4, i) }

// showOnly shows the events at the given indexes (at most MaxContext, the
// first ones), marking mark (-1: none).
func (v *view) showOnly(o *Outcome, idx []int, mark int) {
	if len(idx) > MaxContext {
		idx = idx[:MaxContext]
	}
	o.Context = make([]trace.Event, len(idx))
	for k, i := range idx {
		o.Context[k] = v.events[i]
		if i == mark {
			o.Mark = &o.Context[k]
		}
	}
	o.Lines = LinesFrom(v.events, o.Context)
}

func isSeg(e *trace.Event) bool { return e.Kind == trace.KindIn || e.Kind == trace.KindOut }

// seqLess is a < b in sequence space (RFC 9293 §3.4).
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }
