package topology

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "50ms", want: 50 * time.Millisecond},
		{in: "1.5s", want: 1500 * time.Millisecond},
		{in: "100us", want: 100 * time.Microsecond},
		{in: "100µs", want: 100 * time.Microsecond},
		{in: "1m30s", want: 90 * time.Second},
		{in: "0", want: 0},
		{in: "50", wantErr: "add a unit"},
		{in: "0.5", wantErr: "add a unit"},
		{in: "-5ms", wantErr: "must not be negative"},
		{in: "5 ms", wantErr: "allowed: a number with a unit"},
		{in: "", wantErr: "allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			checkParse(t, "parseDuration", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "2%", want: 0.02},
		{in: "2", want: 0.02},
		{in: "0.5%", want: 0.005},
		{in: "0.5", want: 0.005},
		{in: "100%", want: 1},
		{in: "0", want: 0},
		{in: "100.1%", wantErr: "out of range"},
		{in: "-1", wantErr: "out of range"},
		{in: "2 %", wantErr: "allowed: 0 to 100"},
		{in: "2%%", wantErr: "allowed: 0 to 100"},
		{in: "NaN", wantErr: "allowed: 0 to 100"},
		{in: "two", wantErr: "allowed: 0 to 100"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parsePercent(tc.in)
			checkParse(t, "parsePercent", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{in: "10mbit", want: 10_000_000},
		{in: "1gbit", want: 1_000_000_000},
		{in: "100kbit", want: 100_000},
		{in: "1.5Mbit", want: 1_500_000},
		{in: "64bit", want: 64},
		{in: "1kibit", want: 1024},
		{in: "2mibit", want: 2 << 20},
		{in: "1mbps", want: 8_000_000},
		{in: "100bps", want: 800},
		{in: "1kibps", want: 8192},
		{in: "1tbit", want: 1_000_000_000_000},
		{in: "0", want: 0},
		{in: "10", wantErr: "add a unit"},
		{in: "10mbits", wantErr: "unknown unit"},
		{in: "fast", wantErr: "unknown unit"},
		{in: "mbit", wantErr: "bad rate"},
		{in: "-1mbit", wantErr: "bad rate"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRate(tc.in)
			checkParse(t, "parseRate", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "1460", want: 1460},
		{in: "256KiB", want: 256 << 10},
		{in: "4MB", want: 4_000_000},
		{in: "4mb", want: 4_000_000},
		{in: "1GiB", want: 1 << 30},
		{in: "1.5KiB", want: 1536},
		{in: "10B", want: 10},
		{in: "2KB", want: 2000},
		{in: "-1", wantErr: "must not be negative"},
		{in: "1.5B", wantErr: "whole number"},
		{in: "4 MB", wantErr: "allowed"},
		{in: "4M", wantErr: "allowed"},
		{in: "big", wantErr: "allowed"},
		{in: "KiB", wantErr: "allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			checkParse(t, "parseSize", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in      string
		want    MAC
		wantErr string
	}{
		{in: "02:00:00:00:00:01", want: MAC{2, 0, 0, 0, 0, 1}},
		{in: "AA:bb:cc:dd:ee:ff", want: MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
		{in: "01:00:5e:00:00:01", wantErr: "multicast"},
		{in: "00:00:00:00:00:00", wantErr: "all zeros"},
		{in: "02:00:00:00:01", wantErr: "six hex octets"},
		{in: "02-00-00-00-00-01", wantErr: "six hex octets"},
		{in: "2:0:0:0:0:1", wantErr: "six hex octets"},
		{in: "zz:00:00:00:00:01", wantErr: "six hex octets"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseMAC(tc.in)
			checkParse(t, "parseMAC", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestCheckIfName(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: "eth1"},
		{in: "e1-1.100"},
		{in: "a_b"},
		{in: "abcdefghijklmno"},
		{in: "abcdefghijklmnop", wantErr: "at most 15"},
		{in: "", wantErr: "empty"},
		{in: "lo", wantErr: "loopback"},
		{in: "..", wantErr: "not allowed"},
		{in: "eth/1", wantErr: "not allowed: '/'"},
		{in: "eth 1", wantErr: "not allowed: ' '"},
		{in: "eth:1", wantErr: "not allowed: ':'"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			checkParse(t, "checkIfName", tc.in, 0, checkIfName(tc.in), 0, tc.wantErr)
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: "h1"},
		{in: "core-1.a_b"},
		{in: "1abc"},
		{in: "", wantErr: "must not be empty"},
		{in: "-x", wantErr: "must start with a letter or digit"},
		{in: "a b", wantErr: "not allowed: ' '"},
		{in: "a:b", wantErr: "not allowed: ':'"},
		{in: strings.Repeat("a", 65), wantErr: "at most 64"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			checkParse(t, "checkName", tc.in, 0, checkName("node name", tc.in), 0, tc.wantErr)
		})
	}
}

func TestNatCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"eth2", "eth10", -1},
		{"eth10", "eth2", 1},
		{"eth1", "eth1", 0},
		{"eth01", "eth1", 1},
		{"e1-2", "e1-10", -1},
		{"a", "b", -1},
		{"eth", "eth0", -1},
		{"h9", "h10", -1},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_"+tc.b, func(t *testing.T) {
			if got := natCompare(tc.a, tc.b); got != tc.want {
				t.Errorf("natCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"endpoints", "mtu", "name", "netem", "type", "kind", "auto-routes"}
	tests := []struct {
		word, want string
	}{
		{"endpoint", "endpoints"},
		{"mut", "mtu"},
		{"nmae", "name"},
		{"kinde", "kind"},
		{"auto_routes", "auto-routes"},
		{"Kind", "kind"},
		{"colour", ""},
		{"x", ""},
		{"netemm", "netem"},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if got := suggest(tc.word, keys); got != tc.want {
				t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"mtu", "mut", 1},
		{"ab", "ba", 1},
		{"flaw", "lawn", 2},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_"+tc.b, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// checkParse checks the result of a parse function against a value or a
// substring of the expected error.
func checkParse[T comparable](t *testing.T, fn, in string, got T, err error, want T, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%s(%q) error = %v, want %v", fn, in, err, want)
	case wantErr == "" && got != want:
		t.Errorf("%s(%q) = %v, want %v", fn, in, got, want)
	case wantErr != "" && err == nil:
		t.Errorf("%s(%q) = %v, nil; want an error with %q", fn, in, got, wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("%s(%q) error = %q, want it to contain %q", fn, in, err, wantErr)
	}
}
