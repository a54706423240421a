package units

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The value parsers of topology files and the CLI, each fuzzed on its own:
// they must not panic, must quote the input in their errors (users see
// which value is wrong), and what they accept must be in range.

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
		d, err := ParseDuration(s)
		if err != nil {
			quotes(t, "ParseDuration", s, err)
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		if s != "0" {
			if want, err := time.ParseDuration(s); err != nil || want != d {
				t.Fatalf("ParseDuration(%q) = %v, time.ParseDuration says %v, %v", s, d, want, err)
			}
		}
	})
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"0", "2%", "0.5", "100%", "100.0001", "-0", "-1%", "NaN", "Inf%", " 2%", "%", "1e2", "0x1p-2%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePercent(s)
		if err != nil {
			quotes(t, "ParsePercent", s, err)
			return
		}
		if !(v >= 0 && v <= 1) {
			t.Fatalf("ParsePercent(%q) = %v, want a fraction in [0, 1]", s, v)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "10mbit", "1gbit", "100kbit", "1mbps", "2kibit", "5", "10MBIT", "1e30tbit", "-1bit", "bit", "nanbit", "18446744073709551615bit"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s)
		if err != nil {
			quotes(t, "ParseRate", s, err)
			return
		}
		if s == "0" {
			if v != 0 {
				t.Fatalf("ParseRate(0) = %d", v)
			}
			return
		}
		// Units are case-insensitive, as in tc.
		if up, err := ParseRate(strings.ToUpper(s)); err != nil || up != v {
			t.Fatalf("ParseRate(%q) = %d, but in upper case %d, %v", s, v, up, err)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "256KiB", "16MiB", "1GB", "1.5KB", "0.3B", "-1", "1e19", "9223372036854775807", "8EiB", "1e30GiB", "KB", "nanb", "2b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			quotes(t, "ParseSize", s, err)
			return
		}
		if v < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, v)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n != v {
			t.Fatalf("ParseSize(%q) = %d, want %d", s, v, n)
		}
	})
}
