package trace

import (
	"fmt"
	"strconv"
	"strings"
)

// Latest, at the end of a Select spec, picks the latest instance of the
// 4-tuple the spec names when it occurred more than once.
const Latest = "@latest"

// Select picks one of conns (as Conns returned them) by spec and returns
// its index:
//   - "" when there is only one connection;
//   - "#N" for the N-th (from 0, in Conns order);
//   - the exact "local->remote", or any part of it ("10.0.0.2:5001",
//     ":5001"), that names exactly one 4-tuple.
//
// A 4-tuple that occurred more than once in the trace is an error that
// lists its instances (with their start and ISN), unless the spec ends in
// Latest ("@latest", ":5001@latest"): then the latest of them, the last
// in the trace, is taken.
func Select(conns []Conn, spec string) (int, error) {
	if len(conns) == 0 {
		return -1, ErrNoEvents
	}
	if n, ok := strings.CutPrefix(spec, "#"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(conns) || strconv.Itoa(i) != n {
			return -1, fmt.Errorf("connection %q: want #0 to #%d", spec, len(conns)-1)
		}
		return i, nil
	}
	text, latest := strings.CutSuffix(spec, Latest)
	var match []int
	for i, c := range conns {
		if c.String() == text {
			match = match[:0]
			for j, d := range conns {
				if d.Local == c.Local && d.Remote == c.Remote {
					match = append(match, j)
				}
			}
			break
		}
		if strings.Contains(c.String(), text) {
			match = append(match, i)
		}
	}
	if len(match) == 0 {
		return -1, fmt.Errorf("no connection matches %q; the trace has: %s", spec, List(conns, nil))
	}
	tuples := map[string]bool{}
	for _, i := range match {
		tuples[conns[i].String()] = true
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(tuples) > 1 && text == "":
		return -1, fmt.Errorf("the trace has %d connections, choose one of: %s", len(match), List(conns, match))
	case len(tuples) > 1:
		return -1, fmt.Errorf("%q matches %d connections: %s", text, len(match), List(conns, match))
	case latest:
		return match[len(match)-1], nil
	}
	return -1, fmt.Errorf("%s occurred %d times in the trace: %s; choose one with #N, or add %s for the latest",
		conns[match[0]], len(match), List(conns, match), Latest)
}

// List formats the connections of conns at the indexes idx (all if nil) as
// "#N label" items, for messages.
func List(conns []Conn, idx []int) string {
	if idx == nil {
		idx = make([]int, len(conns))
		for i := range idx {
			idx[i] = i
		}
	}
	s := make([]string, len(idx))
	for k, i := range idx {
		s[k] = fmt.Sprintf("#%d %s", i, conns[i].Label())
	}
	return strings.Join(s, "; ")
}

// Instances counts the instances of c's 4-tuple among conns.
func Instances(conns []Conn, c Conn) int {
	n := 0
	for _, d := range conns {
		if d.Local == c.Local && d.Remote == c.Remote {
			n++
		}
	}
	return n
}
