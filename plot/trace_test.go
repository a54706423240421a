package plot

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadTraceRoundTrip(t *testing.T) {
	evA, evB := storyTrace()
	want := append(append([]Event{}, evA...), evB...)
	want = append(want, Event{Kind: EventLost, Len: 7})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, e := range want {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			buf.WriteString("\n  \n") // blank lines are skipped
		}
	}
	got, err := ReadTrace(&buf)
	if err != nil {
		t.Fatalf("ReadTrace = %v", err)
	}
	if d := cmp.Diff(want, got, cmpAddr); d != "" {
		t.Errorf("ReadTrace mismatch (-want +got):\n%s", d)
	}
	if n := LostEvents(got); n != 7 {
		t.Errorf("LostEvents = %d, want 7", n)
	}
}

func TestReadTraceErrors(t *testing.T) {
	in := `{"t_us":1,"kind":"in","local":"10.0.0.1:1","remote":"10.0.0.2:2","state":"ESTABLISHED"}
{"t_us":2,"kind":"out","local":"10.0.0.1:1","remote":"10.0.0.2:2","state":"ESTABLISHED"}
{"t_us":3,"kind":
`
	evs, err := ReadTrace(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ReadTrace(bad line 3) = %v, want an error naming line 3", err)
	}
	if len(evs) != 2 {
		t.Errorf("ReadTrace(bad line 3) kept %d events, want the 2 before it", len(evs))
	}
	// No trailing newline is fine.
	evs, err = ReadTrace(strings.NewReader(`{"t_us":5,"kind":"timer","timer":"rto","state":"ESTABLISHED"}`))
	if err != nil || len(evs) != 1 || evs[0].Timer != "rto" || evs[0].TimeUS != 5 {
		t.Errorf("ReadTrace(one line, no newline) = %+v, %v", evs, err)
	}
}

var cmpAddr = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

var (
	h1 = netip.MustParseAddrPort("192.0.2.1:1000")
	h2 = netip.MustParseAddrPort("192.0.2.2:80")
	h3 = netip.MustParseAddrPort("[2001:db8::3]:443")
)

func TestConnectionsAndFilter(t *testing.T) {
	evs := []Event{
		{TimeUS: 500, Kind: EventOut, Local: h1, Remote: h3, Len: 10, Retrans: true},
		{TimeUS: 100, Kind: EventOut, Local: h1, Remote: h2, Len: 100},
		{Kind: EventLost, Len: 3},
		{TimeUS: 200, Kind: EventIn, Local: h1, Remote: h2, Len: 50},
		{TimeUS: 900, Kind: EventTimer, Local: h1, Remote: h2, Timer: "rto"},
		{TimeUS: 600, Kind: EventIn, Local: h1, Remote: h3, Len: 5},
	}
	want := []ConnID{
		{Local: h1, Remote: h2, First: 100_000, Last: 900_000, BytesSent: 100, BytesReceived: 50, Events: 3},
		{Local: h1, Remote: h3, First: 500_000, Last: 600_000, BytesSent: 10, BytesReceived: 5, Retransmits: 1, Events: 2},
	}
	got := Connections(evs)
	if d := cmp.Diff(want, got, cmpAddr); d != "" {
		t.Fatalf("Connections mismatch (-want +got):\n%s", d)
	}
	if f := Filter(evs, ConnID{Local: h1, Remote: h3}); len(f) != 2 || f[0].TimeUS != 500 || f[1].TimeUS != 600 {
		t.Errorf("Filter(h1->h3) = %+v, want the events at 500 and 600 µs", f)
	}
	if f := Filter(evs, ConnID{Local: h2, Remote: h1}); len(f) != 0 {
		t.Errorf("Filter(reversed) = %d events, want 0", len(f))
	}
	if s := got[1].String(); s != "192.0.2.1:1000->[2001:db8::3]:443" {
		t.Errorf("String() = %q", s)
	}
	if s := got[0].Title(); s != "192.0.2.1:1000 → 192.0.2.2:80" {
		t.Errorf("Title() = %q", s)
	}
}

func TestSelectConn(t *testing.T) {
	conns := []ConnID{{Local: h1, Remote: h2}, {Local: h1, Remote: h3}}
	for _, tc := range []struct {
		spec string
		want int // index into conns, -1 for an error
	}{
		{"", -1},
		{"#0", 0},
		{"#1", 1},
		{"#2", -1},
		{"#x", -1},
		{"#01", -1},
		{"192.0.2.1:1000->192.0.2.2:80", 0},
		{":443", 1},
		{"192.0.2.2", 0},
		{"192.0.2.1:1000", -1}, // both
		{"10.9.9.9", -1},
	} {
		got, err := SelectConn(conns, tc.spec)
		switch {
		case tc.want < 0 && err == nil:
			t.Errorf("SelectConn(%q) = %v, want an error", tc.spec, got)
		case tc.want >= 0 && (err != nil || got != conns[tc.want]):
			t.Errorf("SelectConn(%q) = %v, %v, want %v", tc.spec, got, err, conns[tc.want])
		}
	}
	if got, err := SelectConn(conns[:1], ""); err != nil || got != conns[0] {
		t.Errorf(`SelectConn(one conn, "") = %v, %v, want it`, got, err)
	}
	if _, err := SelectConn(nil, ""); !errors.Is(err, ErrNoEvents) {
		t.Errorf(`SelectConn(none, "") = %v, want ErrNoEvents`, err)
	}
}
