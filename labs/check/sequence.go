package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/netlab/netlab/trace"
)

// The sequence kind's pattern grammar is in the package doc ("Sequence
// patterns").

// seqPattern is one parsed line.
type seqPattern struct {
	skip     bool   // "...": any segments
	dir      string // ">", "<" or "*"
	flags    string // canonical letters (as the trace writes them), or "*"
	fields   []fieldTest
	retrans  int // 0: any, 1: must be a retransmission, -1: must not
	min, max int // repeat; max -1: no limit
}

// fieldTest is one "field=value" item.
type fieldTest struct {
	field  string
	any    bool
	step   bool // "+N": value is the step from the previous segment
	lo, hi int64
	hasLo  bool
	hasHi  bool
}

// seqFields are the fields a pattern line may test.
func seqFields() []string { return []string{"seq", "ack", "len", "win", "end", "mss"} }

// flagOrder is tcpdump's order of the flag letters (wire.TCPFlags.String).
const flagOrder = "FSRP.UEW"

// parseSeqPattern parses one pattern line.
func parseSeqPattern(line string) (seqPattern, error) {
	p := seqPattern{min: 1, max: 1}
	toks := strings.Fields(line)
	if len(toks) == 0 {
		return p, fmt.Errorf("empty pattern; want e.g. \"> S\", \"< . ack=1449\" or \"...\"")
	}
	if len(toks) == 1 && toks[0] == "..." {
		return seqPattern{skip: true, min: 0, max: -1}, nil
	}
	switch toks[0] {
	case ">", "<", "*":
		p.dir = toks[0]
	default:
		return p, fmt.Errorf("%q: a pattern starts with > (sent), < (received) or * (either), or is \"...\"", toks[0])
	}
	if len(toks) < 2 {
		return p, fmt.Errorf("no flags after %s; want e.g. \"%s S.\", or \"%s *\" for any", p.dir, p.dir, p.dir)
	}
	flags, err := parseFlags(toks[1])
	if err != nil {
		return p, err
	}
	p.flags = flags
	seen := map[string]bool{}
	for k, tok := range toks[2:] {
		switch {
		case tok == "retrans" || tok == "!retrans":
			if p.retrans != 0 {
				return p, fmt.Errorf("retrans given twice")
			}
			p.retrans = 1
			if tok[0] == '!' {
				p.retrans = -1
			}
		case strings.HasPrefix(tok, "{"):
			if k != len(toks)-3 {
				return p, fmt.Errorf("%q: a repeat comes last", tok)
			}
			if p.min, p.max, err = parseRepeat(tok); err != nil {
				return p, err
			}
		default:
			name, val, ok := strings.Cut(tok, "=")
			if !ok {
				return p, fmt.Errorf("%q: want field=value (fields: %s), retrans, !retrans or a repeat {N}", tok, strings.Join(seqFields(), ", "))
			}
			if !isSeqField(name) {
				return p, fmt.Errorf("%q: unknown field %q; fields: %s", tok, name, strings.Join(seqFields(), ", "))
			}
			if seen[name] {
				return p, fmt.Errorf("%s given twice", name)
			}
			seen[name] = true
			ft, err := parseFieldValue(name, val)
			if err != nil {
				return p, err
			}
			p.fields = append(p.fields, ft)
		}
	}
	return p, nil
}

func isSeqField(s string) bool {
	for _, f := range seqFields() {
		if f == s {
			return true
		}
	}
	return false
}

// parseFlags reads a flags word into the letters in tcpdump's order.
func parseFlags(s string) (string, error) {
	if s == "*" {
		return s, nil
	}
	var set [len(flagOrder)]bool
	for _, r := range s {
		i := strings.IndexRune(flagOrder, r)
		if i < 0 {
			return "", fmt.Errorf("flags %q: %q is not a flag; flags are tcpdump's letters S F R P . U E W (\".\" is ACK), or * for any", s, r)
		}
		if set[i] {
			return "", fmt.Errorf("flags %q: %c given twice", s, r)
		}
		set[i] = true
	}
	var b strings.Builder
	for i, ok := range set {
		if ok {
			b.WriteByte(flagOrder[i])
		}
	}
	return b.String(), nil
}

// maxSeqValue bounds the numbers of a pattern: sequence numbers are 32-bit.
const maxSeqValue = 1<<32 - 1

func parseNum(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxSeqValue || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a number from 0 to %d", s, int64(maxSeqValue))
	}
	return n, nil
}

func parseFieldValue(name, val string) (fieldTest, error) {
	ft := fieldTest{field: name}
	bad := func(err error) (fieldTest, error) {
		return ft, fmt.Errorf("%s=%s: %v; want N, N..M, N.., ..M, +N or *", name, val, err)
	}
	switch {
	case val == "*":
		ft.any = true
	case strings.HasPrefix(val, "+"):
		n, err := parseNum(val[1:])
		if err != nil {
			return bad(err)
		}
		ft.step, ft.lo, ft.hi, ft.hasLo, ft.hasHi = true, n, n, true, true
	case strings.Contains(val, ".."):
		a, b, _ := strings.Cut(val, "..")
		if a == "" && b == "" {
			return bad(fmt.Errorf("a range needs at least one end"))
		}
		if a != "" {
			n, err := parseNum(a)
			if err != nil {
				return bad(err)
			}
			ft.lo, ft.hasLo = n, true
		}
		if b != "" {
			n, err := parseNum(b)
			if err != nil {
				return bad(err)
			}
			ft.hi, ft.hasHi = n, true
		}
		if ft.hasLo && ft.hasHi && ft.lo > ft.hi {
			return bad(fmt.Errorf("the range is empty"))
		}
	default:
		n, err := parseNum(val)
		if err != nil {
			return bad(err)
		}
		ft.lo, ft.hi, ft.hasLo, ft.hasHi = n, n, true, true
	}
	return ft, nil
}

func parseRepeat(tok string) (lo, hi int, err error) {
	bad := fmt.Errorf("repeat %q: want {N}, {N,M} or {N,} with 0 <= N <= M <= 100000", tok)
	body, ok := strings.CutPrefix(tok, "{")
	if body, ok = strings.CutSuffix(body, "}"); !ok || body == "" {
		return 0, 0, bad
	}
	const limit = 100000
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0 && n <= limit && strconv.Itoa(n) == s
	}
	a, b, comma := strings.Cut(body, ",")
	if lo, ok = num(a); !ok {
		return 0, 0, bad
	}
	switch {
	case !comma:
		hi = lo
	case b == "":
		hi = -1
	default:
		if hi, ok = num(b); !ok || hi < lo {
			return 0, 0, bad
		}
	}
	if hi == 0 {
		return 0, 0, fmt.Errorf("repeat %q matches nothing; drop the line instead", tok)
	}
	return lo, hi, nil
}

// String writes the pattern back in its canonical form, which parses to
// the same pattern.
func (p seqPattern) String() string {
	if p.skip {
		return "..."
	}
	parts := []string{p.dir, p.flags}
	for _, f := range p.fields {
		parts = append(parts, f.String())
	}
	switch p.retrans {
	case 1:
		parts = append(parts, "retrans")
	case -1:
		parts = append(parts, "!retrans")
	}
	switch {
	case p.min == 1 && p.max == 1:
	case p.max < 0:
		parts = append(parts, fmt.Sprintf("{%d,}", p.min))
	case p.min == p.max:
		parts = append(parts, fmt.Sprintf("{%d}", p.min))
	default:
		parts = append(parts, fmt.Sprintf("{%d,%d}", p.min, p.max))
	}
	return strings.Join(parts, " ")
}

func (f fieldTest) String() string {
	switch {
	case f.any:
		return f.field + "=*"
	case f.step:
		return fmt.Sprintf("%s=+%d", f.field, f.lo)
	case f.hasLo && f.hasHi && f.lo == f.hi:
		return fmt.Sprintf("%s=%d", f.field, f.lo)
	}
	s := f.field + "="
	if f.hasLo {
		s += strconv.FormatInt(f.lo, 10)
	}
	s += ".."
	if f.hasHi {
		s += strconv.FormatInt(f.hi, 10)
	}
	return s
}

// segment is one segment of the connection, with the values a pattern
// tests, relative as Lines prints them.
type segment struct {
	i      int // index in the connection's events
	e      *trace.Event
	flags  string // canonical letters
	values map[string]int64
	prev   map[string]int64 // the previous segment of the same direction's values (nil: none)
	hasMSS bool
}

func (v *view) segments() []segment {
	org := originOf(v.events)
	var segs []segment
	last := map[string]map[string]int64{}
	for i := range v.events {
		e := &v.events[i]
		if !isSeg(e) {
			continue
		}
		seqBase, ackBase := org.iss, org.irs
		if e.Kind == trace.KindIn {
			seqBase, ackBase = org.irs, org.iss
		}
		s := segment{i: i, e: e, flags: canonicalFlags(e.Flags), values: map[string]int64{
			"seq": int64(e.Seq - seqBase), "ack": int64(e.Ack - ackBase), "len": int64(e.Len),
			"win": int64(e.Window), "end": int64(e.Seq - seqBase + uint32(e.Len)),
		}}
		if m, ok := optionInt(e.Options, "mss"); ok {
			s.values["mss"], s.hasMSS = int64(m), true
		}
		s.prev = last[e.Kind]
		last[e.Kind] = s.values
		segs = append(segs, s)
	}
	return segs
}

// canonicalFlags puts a trace's flag letters in tcpdump's order.
func canonicalFlags(f string) string {
	if c, err := parseFlags(f); err == nil {
		return c
	}
	return f
}

// match tests one segment against p; when it does not match, why says
// what differs.
func (p *seqPattern) match(s *segment) (ok bool, why string) {
	if p.skip {
		return true, ""
	}
	switch {
	case p.dir == ">" && s.e.Kind != trace.KindOut:
		return false, "it was received, not sent"
	case p.dir == "<" && s.e.Kind != trace.KindIn:
		return false, "it was sent, not received"
	case p.flags != "*" && p.flags != s.flags:
		return false, fmt.Sprintf("flags %s, not %s", s.e.Flags, p.flags)
	case p.retrans == 1 && !s.e.Retrans:
		return false, "not a retransmission"
	case p.retrans == -1 && s.e.Retrans:
		return false, "a retransmission"
	}
	for _, f := range p.fields {
		if f.any {
			continue
		}
		if f.field == "mss" && !s.hasMSS {
			return false, "no MSS option"
		}
		got := s.values[f.field]
		if f.step {
			var base int64
			if s.prev != nil {
				base = s.prev[f.field]
			}
			want := (base + f.lo) & maxSeqValue
			if f.field == "len" || f.field == "win" || f.field == "mss" {
				want = base + f.lo
			}
			if got != want {
				return false, fmt.Sprintf("%s %d, not %d (+%d from %d)", f.field, got, want, f.lo, base)
			}
			continue
		}
		if f.hasLo && got < f.lo || f.hasHi && got > f.hi {
			return false, fmt.Sprintf("%s %d, not %s", f.field, got, strings.TrimPrefix(f.String(), f.field+"="))
		}
	}
	return true, ""
}

// seqResult is where matching got to.
type seqResult struct {
	ok   bool
	line int  // the first line that could not be matched (when !ok)
	at   int  // the first segment it was tried on (len(segs): none left)
	any  bool // the line was tried on every segment from at on (after "...")
	run  int  // how many segments in a row matched the line before at
}

// matchSequence matches the patterns against segs, anchored at the first
// segment. It runs in O(len(pats) × len(segs)): whether a segment matches a
// line never depends on how earlier lines matched.
func matchSequence(pats []seqPattern, segs []segment) seqResult {
	n := len(segs)
	reach := make([]bool, n+1) // reach[j]: lines so far can consume exactly segs[:j]
	reach[0] = true
	for li := range pats {
		p := &pats[li]
		// run[j]: how many segments from j on match p, in a row.
		run := make([]int, n+1)
		for j := n - 1; j >= 0; j-- {
			if ok, _ := p.match(&segs[j]); ok {
				run[j] = run[j+1] + 1
			}
		}
		diff := make([]int, n+2)
		first := -1
		for j := 0; j <= n; j++ {
			if !reach[j] {
				continue
			}
			if first < 0 {
				first = j
			}
			hi := run[j]
			if p.max >= 0 {
				hi = min(hi, p.max)
			}
			if hi < p.min {
				continue
			}
			diff[j+p.min]++
			diff[j+hi+1]--
		}
		next := make([]bool, n+1)
		any := false
		for j, c := 0, 0; j <= n; j++ {
			c += diff[j]
			next[j] = c > 0
			any = any || next[j]
		}
		if !any {
			res := seqResult{line: li, at: first}
			// After "..." (or a line that repeats freely) the line was tried
			// from every segment on.
			cnt := 0
			for j := 0; j <= n; j++ {
				if reach[j] {
					cnt++
				}
			}
			res.any = cnt > 1
			if first >= 0 && !res.any && first < n && run[first] > 0 {
				res.at, res.run = first+run[first], run[first] // matched some, then failed
			}
			return res
		}
		reach = next
	}
	return seqResult{ok: true}
}

// sequence: the connection's segments follow patterns.
type sequence struct {
	sel   connSel
	lines []string
	pats  []seqPattern
}

func sequenceKind() Kind {
	return kind("sequence",
		"the connection's segments match the expected lines, in order, from its first segment: packetdrill-like patterns such as \"> S\", \"< S. ack=1\", \"> P. len=1448\", \"...\" (the grammar is under Sequence patterns)",
		connKeys(map[string]string{
			"expect": "the pattern lines, in order (grammar in the package doc)",
		}), []string{"node", "expect"},
		func(a Args) (*sequence, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			lines, err := list(a, "expect")
			if err != nil {
				return nil, err
			}
			if len(lines) == 0 {
				return nil, &ArgError{Key: "expect", Msg: "give at least one pattern line"}
			}
			c := &sequence{sel: sel, lines: lines}
			for i, l := range lines {
				p, err := parseSeqPattern(l)
				if err != nil {
					return nil, &ArgError{Key: "expect", Index: i + 1, Msg: err.Error()}
				}
				c.pats = append(c.pats, p)
			}
			return c, nil
		})
}

func (c *sequence) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "segments matching: " + strings.Join(c.lines, " | ")}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	segs := v.segments()
	r := matchSequence(c.pats, segs)
	if r.ok {
		o.Pass = true
		o.Actual = fmt.Sprintf("all %d lines matched", len(c.pats))
		v.show(&o, 0, v.segIndex(segs, min(len(segs), MaxContext)), -1)
		return o
	}
	p := &c.pats[r.line]
	o.Expected = fmt.Sprintf("line %d %q (after lines 1-%d matched)", r.line+1, c.lines[r.line], r.line)
	if r.line == 0 {
		o.Expected = fmt.Sprintf("line 1 %q first", c.lines[0])
	}
	switch {
	case r.at < 0:
		o.Actual = "no segment to match"
	case r.any && r.at < len(segs):
		o.Actual = fmt.Sprintf("no segment matches it from %s on", v.at(segs[r.at].e))
		if p.min > 1 {
			o.Actual = fmt.Sprintf("no %d segments in a row match it from %s on", p.min, v.at(segs[r.at].e))
		}
	case r.at >= len(segs):
		o.Actual = "the connection had no more segments"
		if r.run > 0 {
			o.Actual += fmt.Sprintf(" after %d matching in a row (%d wanted)", r.run, p.min)
		}
		if len(segs) > 0 {
			o.Actual += fmt.Sprintf(" (its last at %s)", v.at(segs[len(segs)-1].e))
		}
	default:
		s := &segs[r.at]
		_, why := p.match(s)
		o.Actual = fmt.Sprintf("segment %d was %q: %s", r.at+1, v.line(s.e), why)
		if r.run > 0 {
			o.Actual += fmt.Sprintf(" (after %d matching in a row, %d wanted)", r.run, p.min)
		}
	}
	if r.at >= 0 && r.at < len(segs) {
		i := segs[r.at].i
		v.show(&o, v.segIndex(segs, r.at-6), v.segIndex(segs, r.at+5), i)
	} else if len(segs) > 0 {
		v.show(&o, v.segIndex(segs, len(segs)-MaxContext), len(v.events), -1)
	}
	return o
}

// segIndex maps a segment number (clamped) to its event index; past the
// end it is the number of events.
func (v *view) segIndex(segs []segment, k int) int {
	switch {
	case k < 0:
		k = 0
	case k >= len(segs):
		return len(v.events)
	}
	return segs[k].i
}
