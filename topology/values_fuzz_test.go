package topology

import (
	"strconv"
	"strings"
	"testing"
	"time"
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

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "50ms", "1.5s", "100us", "1h2m", "5", "-1s", "", "1e9h", "9223372036854775808ns", ".5s", "1µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			quotes(t, "parseDuration", s, err)
			return
		}
		if d < 0 {
			t.Fatalf("parseDuration(%q) = %v, negative", s, d)
		}
		if s != "0" {
			if want, err := time.ParseDuration(s); err != nil || want != d {
				t.Fatalf("parseDuration(%q) = %v, time.ParseDuration says %v, %v", s, d, want, err)
			}
		}
	})
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"0", "2%", "0.5", "100%", "100.0001", "-0", "-1%", "NaN", "Inf%", " 2%", "%", "1e2", "0x1p-2%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parsePercent(s)
		if err != nil {
			quotes(t, "parsePercent", s, err)
			return
		}
		if !(v >= 0 && v <= 1) {
			t.Fatalf("parsePercent(%q) = %v, want a fraction in [0, 1]", s, v)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "10mbit", "1gbit", "100kbit", "1mbps", "2kibit", "5", "10MBIT", "1e30tbit", "-1bit", "bit", "nanbit", "18446744073709551615bit"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseRate(s)
		if err != nil {
			quotes(t, "parseRate", s, err)
			return
		}
		if s == "0" {
			if v != 0 {
				t.Fatalf("parseRate(0) = %d", v)
			}
			return
		}
		// Units are case-insensitive, as in tc.
		if up, err := parseRate(strings.ToUpper(s)); err != nil || up != v {
			t.Fatalf("parseRate(%q) = %d, but in upper case %d, %v", s, v, up, err)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "256KiB", "16MiB", "1GB", "1.5KB", "0.3B", "-1", "1e19", "9223372036854775807", "8EiB", "1e30GiB", "KB", "nanb", "2b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSize(s)
		if err != nil {
			quotes(t, "parseSize", s, err)
			return
		}
		if v < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, v)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n != v {
			t.Fatalf("parseSize(%q) = %d, want %d", s, v, n)
		}
	})
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
