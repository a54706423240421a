package plot

import "testing"

// FuzzParseKind: a --kind of any spelling is refused or names a kind that
// prints back as itself.
func FuzzParseKind(f *testing.F) {
	for _, s := range []string{"seq", "cwnd", "rtt", "tput", "", "SEQ", "sequence"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKind(s)
		if err != nil {
			return
		}
		if again, err := ParseKind(string(k)); err != nil || again != k {
			t.Fatalf("ParseKind(%q) = %v, which parses back to %v, %v", s, k, again, err)
		}
	})
}
