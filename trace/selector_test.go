package trace

import (
	"net/netip"
	"testing"
)

func TestSelector(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:5001")
	c := netip.MustParseAddrPort("10.0.0.0:40001")
	for _, tc := range []struct {
		conn, kinds string
		e           Event
		want        bool
	}{
		{"", "", Event{Kind: KindIn, Local: a, Remote: b}, true},
		{"10.0.0.0:40000->10.0.0.1:5001", "", Event{Kind: KindOut, Local: a, Remote: b}, true},
		{"10.0.0.0:40000->10.0.0.1:5001", "", Event{Kind: KindOut, Local: c, Remote: b}, false},
		{"10.0.0.0:40000->10.0.0.1:5001", "", Event{Kind: KindOut, Local: b, Remote: a}, false},
		{"", "state", Event{Kind: KindState, Local: c, Remote: b}, true},
		{"", "state", Event{Kind: KindOut, Local: c, Remote: b}, false},
		{"", "state,drop", Event{Kind: KindDrop, Local: c, Remote: b}, true},
		{"10.0.0.0:40000->10.0.0.1:5001", "state", Event{Kind: KindLost, Len: 3}, true},
	} {
		s, err := ParseSelector(tc.conn, tc.kinds)
		if err != nil {
			t.Fatalf("%q %q: %v", tc.conn, tc.kinds, err)
		}
		if got := s.Selects(&tc.e); got != tc.want {
			t.Errorf("%q %q selects %+v: %v, want %v", tc.conn, tc.kinds, tc.e, got, tc.want)
		}
		if s.Conn() != tc.conn {
			t.Errorf("Conn() = %q, want %q", s.Conn(), tc.conn)
		}
	}
	for _, bad := range [][2]string{{"10.0.0.0:1", ""}, {"x->y", ""}, {"", "segments"}, {"", "in,"}} {
		if _, err := ParseSelector(bad[0], bad[1]); err == nil {
			t.Errorf("ParseSelector(%q, %q): no error", bad[0], bad[1])
		}
	}
}
