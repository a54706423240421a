package units

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
			got, err := ParseDuration(tc.in)
			checkParse(t, "ParseDuration", tc.in, got, err, tc.want, tc.wantErr)
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
			got, err := ParsePercent(tc.in)
			checkParse(t, "ParsePercent", tc.in, got, err, tc.want, tc.wantErr)
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
			got, err := ParseRate(tc.in)
			checkParse(t, "ParseRate", tc.in, got, err, tc.want, tc.wantErr)
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
			got, err := ParseSize(tc.in)
			checkParse(t, "ParseSize", tc.in, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestFormatRate(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{{10e6, "10mbit"}, {1e9, "1gbit"}, {1500, "1500bit"}, {2e12, "2tbit"}, {123456, "123456bit"}, {64e3, "64kbit"}} {
		if got := FormatRate(tc.in); got != tc.want {
			t.Errorf("FormatRate(%d) = %q, want %q", tc.in, got, tc.want)
		}
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
