package topology

import (
	"strconv"
	"strings"
	"testing"
)

// The value parsers of the file, each fuzzed on its own: they must not
// panic, must quote the input in their errors (users see which value is
// wrong), and what they accept must be in range.

// quotes checks that err names s the way the parsers do, with %q.
func quotes(t *testing.T, what, s string, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), strconv.Quote(s)) {
		t.Fatalf("%s(%q) error %q does not quote the input", what, s, err)
	}
}

func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{"10.0.0.1/24", "10.0.0.0/16", "10.0.0.1", "::1/64", "10.0.0.1/32", "10.0.0.1/31", "02:00:00:00:00:01", "01:00:00:00:00:00", "00:00:00:00:00:00", "2:0:0:0:0:1", "zz:00:00:00:00:01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parseIfAddr(s); err != nil {
			quotes(t, "parseIfAddr", s, err)
		} else if !p.Addr().Is4() || p.Bits() > 31 {
			t.Fatalf("parseIfAddr(%q) = %v", s, p)
		}
		if p, err := parseSubnet(s); err != nil {
			quotes(t, "parseSubnet", s, err)
		} else if !p.Addr().Is4() || p.Masked() != p {
			t.Fatalf("parseSubnet(%q) = %v", s, p)
		}
		if m, err := parseMAC(s); err != nil {
			quotes(t, "parseMAC", s, err)
		} else if m[0]&1 != 0 || m == (MAC{}) {
			t.Fatalf("parseMAC(%q) = %v", s, m)
		} else if back, err := parseMAC(m.String()); err != nil || back != m {
			t.Fatalf("parseMAC(%q) = %v; parsing %q again gives %v, %v", s, m, m.String(), back, err)
		}
	})
}

// FuzzNatCompare checks that natCompare is an order (node and interface
// names are sorted with it): equal only for equal strings, antisymmetric,
// transitive.
func FuzzNatCompare(f *testing.F) {
	f.Add("eth2", "eth10", "eth02")
	f.Add("a01", "a1", "a001")
	f.Add("", "0", "00")
	f.Add("r9", "r10", "s1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := natCompare(a, b), natCompare(b, a)
		if ab != -ba {
			t.Fatalf("natCompare(%q, %q) = %d, reversed %d", a, b, ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("natCompare(%q, %q) = %d", a, b, ab)
		}
		bc, ac := natCompare(b, c), natCompare(a, c)
		if ab < 0 && bc < 0 && ac >= 0 || ab > 0 && bc > 0 && ac <= 0 {
			t.Fatalf("not transitive: %q ? %q = %d, %q ? %q = %d, %q ? %q = %d", a, b, ab, b, c, bc, a, c, ac)
		}
	})
}
