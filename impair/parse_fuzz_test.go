package impair

import (
	"bytes"
	"testing"
)

// FuzzParseMatch: drop-match strings as users type them never panic the
// parser, and what it accepts prints back to a string that parses to the
// same match.
func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{"syn first", "fin", "seq=1101 data", "pure-ack", "syn nth=2", "rst", "ack=1 len=0", "", "seq=", "nth=0", "syn syn", "data first nth=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatch(s)
		if err != nil {
			return
		}
		again, err := ParseMatch(m.String())
		if err != nil {
			t.Fatalf("ParseMatch(%q) = %v, whose String %q does not parse: %v", s, m, m.String(), err)
		}
		if again.String() != m.String() {
			t.Fatalf("ParseMatch(%q): %q, then %q", s, m.String(), again.String())
		}
	})
}

// FuzzParseDistTable: any file given as a distribution table is refused
// or read into a table that is valid and no longer than tc allows.
func FuzzParseDistTable(f *testing.F) {
	for _, s := range []string{"# a table\n1 2 3\n-4 0x10 010\n", "", "32768\n", "-32769", "1 2 x", "\n\n#\n", "0x", "-0x7fff 077777"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := ParseDistTable(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(tbl) > DistMaxLen {
			t.Fatalf("a table of %d values, more than %d", len(tbl), DistMaxLen)
		}
		if len(tbl) > 0 {
			if err := tbl.Validate(); err != nil {
				t.Fatalf("ParseDistTable accepted a table Validate refuses: %v", err)
			}
		}
	})
}
