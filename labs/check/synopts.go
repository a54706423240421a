package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/trace"
)

// synOptionNames are the SYN options, by the names tcpdump prints
// (Event.Options: "mss 1460,sackOK,TS val 1 ecr 0,wscale 7"), in its order.
func synOptionNames() []string { return []string{"mss", "sackOK", "TS", "wscale"} }

// optionName returns the canonical name of a SYN option as a lab file may
// write it (any case; "sack", "timestamps", "ws"... are taken too).
func optionName(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mss":
		return "mss", true
	case "sackok", "sack", "sack-permitted", "sack_perm":
		return "sackOK", true
	case "ts", "timestamp", "timestamps":
		return "TS", true
	case "wscale", "ws", "window-scale", "wscale-option":
		return "wscale", true
	}
	return "", false
}

func badOption(s string) string {
	msg := fmt.Sprintf("unknown SYN option %q; allowed: %s", s, strings.Join(synOptionNames(), ", "))
	if c := suggest.Closest(s, synOptionNames()); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", c)
	}
	return msg
}

// synOptions parses an Event.Options text into option name → value text
// ("mss" → "1460", "sackOK" → "", "TS" → "val 1 ecr 0").
func synOptions(opts string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(opts, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, _ := strings.Cut(part, " ")
		m[name] = val
	}
	return m
}

// optionList names the options of opts in canonical order: "mss,sackOK,TS,wscale".
func optionList(opts string) string {
	m := synOptions(opts)
	var names []string
	for _, n := range synOptionNames() {
		if _, ok := m[n]; ok {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// optionInt returns the numeric value of option name ("mss", "wscale").
func optionInt(opts, name string) (int, bool) {
	v, ok := synOptions(opts)[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// syns finds a connection's first SYN sent and first SYN received (with
// or without ACK): their indexes in v.events, -1 when absent.
func (v *view) syns() (out, in int) {
	out, in = -1, -1
	for i := range v.events {
		e := &v.events[i]
		if !isSeg(e) || !e.HasFlag('S') {
			continue
		}
		if e.Kind == trace.KindOut && out < 0 {
			out = i
		}
		if e.Kind == trace.KindIn && in < 0 {
			in = i
		}
	}
	return out, in
}

// defaultMSS is the MSS a sender assumes when the peer announced none
// (RFC 9293 §3.7.1).
const defaultMSS = 536

// peerMSS is the MSS the peer announced in its SYN, whether it did, and
// whether the trace holds the peer's SYN at all (a listener's trace does
// not: it starts at the SYN-ACK).
func (v *view) peerMSS() (mss int, ok, traced bool) {
	if _, in := v.syns(); in >= 0 {
		mss, ok = optionInt(v.events[in].Options, "mss")
		return mss, ok, true
	}
	return 0, false, false
}

// mss is the connection's sending MSS as the checks count it: the largest
// payload the node sent, else the MSS the peer announced, else 536.
func (v *view) mss() int {
	n := 0
	for i := range v.events {
		if e := &v.events[i]; e.Kind == trace.KindOut {
			n = max(n, e.Len)
		}
	}
	if n > 0 {
		return n
	}
	if m, ok, _ := v.peerMSS(); ok && m > 0 {
		return m
	}
	return defaultMSS
}
