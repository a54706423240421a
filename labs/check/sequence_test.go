package check

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSeqPattern(t *testing.T) {
	for _, tc := range []struct {
		in, canonical, err string
	}{
		{in: "> S", canonical: "> S"},
		{in: "  <   .S   ack=1 ", canonical: "< S. ack=1"},
		{in: "...", canonical: "..."},
		{in: "* * len=1..1448 win=0 retrans", canonical: "* * len=1..1448 win=0 retrans"},
		{in: "> P. seq=+1448 end=..30000 !retrans {2,}", canonical: "> P. seq=+1448 end=..30000 !retrans {2,}"},
		{in: "< . ack=1449.. {1,3}", canonical: "< . ack=1449.. {1,3}"},
		{in: "> .F mss=*", canonical: "> F. mss=*"},
		{in: "> S. {3}", canonical: "> S. {3}"},
		{in: "", err: "empty pattern"},
		{in: "S", err: "a pattern starts with >"},
		{in: ">", err: "no flags after >"},
		{in: "> SS", err: "S given twice"},
		{in: "> S seq", err: "want field=value"},
		{in: "> S sequence=1", err: `unknown field "sequence"`},
		{in: "> S seq=1 seq=2", err: "seq given twice"},
		{in: "> S seq=-1", err: "not a number"},
		{in: "> S seq=4294967296", err: "not a number"},
		{in: "> S seq=01", err: "not a number"},
		{in: "> S seq=5..4", err: "the range is empty"},
		{in: "> S seq=..", err: "at least one end"},
		{in: "> S {2} seq=1", err: "a repeat comes last"},
		{in: "> S {0}", err: "matches nothing"},
		{in: "> S {3,2}", err: "want {N}"},
		{in: "> S {x}", err: "want {N}"},
		{in: "> S retrans !retrans", err: "retrans given twice"},
	} {
		p, err := parseSeqPattern(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseSeqPattern(%q) = %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.String() != tc.canonical {
			t.Errorf("parseSeqPattern(%q) = %q, %v; want %q", tc.in, p.String(), err, tc.canonical)
		}
	}
}

// TestMatchSequenceReports: where matching stops, on a known trace.
func TestMatchSequenceReports(t *testing.T) {
	v := &view{node: "a", events: evidence(t)["clean"].Traces["a"]}
	segs := v.segments()
	for _, tc := range []struct {
		lines []string
		want  seqResult
	}{
		{[]string{"> S", "< S.", "> ."}, seqResult{ok: true}},
		{[]string{"< S."}, seqResult{line: 0, at: 0}},
		{[]string{"...", "> R"}, seqResult{line: 1, at: 0, any: true}},
		{[]string{"> S", "< S.", "> . len=0 {2}"}, seqResult{line: 2, at: 3, run: 1}},
		{[]string{"> S", "< S.", "> .", "> . {20}"}, seqResult{line: 3, at: 13, run: 10}},
		{[]string{"...", "> FP.", "< ."}, seqResult{ok: true}},
		{[]string{"...", "> F."}, seqResult{line: 1, at: 0, any: true}},
		{[]string{"* * {1,}", "> S"}, seqResult{line: 1, at: 1, any: true}},
	} {
		var pats []seqPattern
		for _, l := range tc.lines {
			p, err := parseSeqPattern(l)
			if err != nil {
				t.Fatal(err)
			}
			pats = append(pats, p)
		}
		got := matchSequence(pats, segs)
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(seqResult{})); d != "" {
			t.Errorf("matchSequence(%q) mismatch (-want +got):\n%s", tc.lines, d)
		}
	}
}

// FuzzSequencePattern: no pattern line makes the parser or the matcher
// panic, and a parsed line writes back to text that parses to the same
// pattern.
func FuzzSequencePattern(f *testing.F) {
	for _, s := range []string{"> S", "< S. ack=1", "...", "* * len=1..1448 {2,}", "> P. seq=+1448 !retrans", "> . win=0..", "< . ack=..5 {1,3}", "> S mss=1460", "> F seq=4294967295"} {
		f.Add(s)
	}
	// A small real trace to match against, built once.
	ev := simulate(f, scenario{bytes: 5000}).ev
	v := &view{node: "a", events: ev.Traces["a"]}
	segs := v.segments()
	f.Fuzz(func(t *testing.T, line string) {
		p, err := parseSeqPattern(line)
		if err != nil {
			return
		}
		again, err := parseSeqPattern(p.String())
		if err != nil {
			t.Fatalf("parseSeqPattern(%q) = %q, which does not parse: %v", line, p.String(), err)
		}
		if d := cmp.Diff(p, again, cmp.AllowUnexported(seqPattern{}, fieldTest{})); d != "" {
			t.Fatalf("%q parses differently once written back as %q (-first +again):\n%s", line, p.String(), d)
		}
		for _, pats := range [][]seqPattern{{p}, {p, p}, {{skip: true, max: -1}, p}} {
			r := matchSequence(pats, segs)
			if !r.ok && (r.line < 0 || r.line >= len(pats) || r.at > len(segs)) {
				t.Fatalf("matchSequence(%q) = %+v: out of range", p.String(), r)
			}
		}
	})
}
