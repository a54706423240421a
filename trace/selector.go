package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Selector picks the events of a trace stream a reader asks for: those
// of one connection's 4-tuple and of some kinds. The zero Selector picks
// every event. KindLost markers are always picked: a reader must know
// what it missed.
type Selector struct {
	// Local and Remote, when valid, are the 4-tuple (Conn.String's
	// "local->remote").
	Local, Remote netip.AddrPort
	// Kinds, when not empty, are the kinds picked (KindIn, KindState...).
	Kinds []string
}

// kinds are every event kind a Selector may name.
var kinds = []string{KindIn, KindOut, KindState, KindTimer, KindLost, KindDrop}

// ParseSelector reads a Selector from a connection ("local->remote" as
// Conn.String writes it, or empty for all) and a comma-separated list of
// kinds (empty for all).
func ParseSelector(conn, kindList string) (Selector, error) {
	var s Selector
	if conn != "" {
		l, r, ok := strings.Cut(conn, "->")
		var err1, err2 error
		if ok {
			s.Local, err1 = netip.ParseAddrPort(l)
			s.Remote, err2 = netip.ParseAddrPort(r)
		}
		if !ok || err1 != nil || err2 != nil {
			return Selector{}, fmt.Errorf("connection %q: want local->remote, e.g. 10.0.0.0:40000->10.0.0.1:5001", conn)
		}
	}
	if kindList != "" {
		for k := range strings.SplitSeq(kindList, ",") {
			if !slices.Contains(kinds, k) {
				return Selector{}, fmt.Errorf("event kind %q: want one of %s", k, strings.Join(kinds, ", "))
			}
			s.Kinds = append(s.Kinds, k)
		}
	}
	return s, nil
}

// Conn returns the selector's connection as ParseSelector reads it, or "".
func (s Selector) Conn() string {
	if !s.Local.IsValid() {
		return ""
	}
	return s.Local.String() + "->" + s.Remote.String()
}

// Selects reports whether s picks e.
func (s Selector) Selects(e *Event) bool {
	if e.Kind == KindLost {
		return true
	}
	if s.Local.IsValid() && (e.Local != s.Local || e.Remote != s.Remote) {
		return false
	}
	return len(s.Kinds) == 0 || slices.Contains(s.Kinds, e.Kind)
}
