package topology

import (
	"strings"
	"testing"
)

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
