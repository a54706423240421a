package trace

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	cli = netip.MustParseAddrPort("10.0.0.1:40000")
	srv = netip.MustParseAddrPort("10.0.0.2:80")
	oth = netip.MustParseAddrPort("10.0.0.3:443")
)

// seg is a segment event of cli->srv.
func seg(us int64, kind, flags string, seq uint32, n int, state string) Event {
	return Event{TimeUS: us, Kind: kind, Local: cli, Remote: srv, Flags: flags, Seq: seq, Len: n, State: state, SndUna: seq}
}

// st is a state change of cli->srv.
func st(us int64, from, to string) Event {
	return Event{TimeUS: us, Kind: KindState, Local: cli, Remote: srv, OldState: from, State: to}
}

func lost(n int) Event { return Event{Kind: KindLost, Len: n} }

// activeOpen is a client's connection from time t0 with ISN isn: the
// handshake, 1000 bytes, and the active close up to TIME-WAIT.
func activeOpen(t0 int64, isn uint32) []Event {
	return []Event{
		st(t0, "CLOSED", "SYN-SENT"),
		seg(t0, KindOut, "S", isn, 0, "SYN-SENT"),
		seg(t0+100, KindIn, "S.", 7000, 0, "ESTABLISHED"),
		st(t0+100, "SYN-SENT", "ESTABLISHED"),
		seg(t0+100, KindOut, ".", isn+1, 0, "ESTABLISHED"),
		seg(t0+200, KindOut, "P.", isn+1, 1000, "ESTABLISHED"),
		seg(t0+300, KindIn, ".", 7001, 0, "ESTABLISHED"),
		seg(t0+400, KindOut, "F.", isn+1001, 0, "FIN-WAIT-1"),
		st(t0+400, "ESTABLISHED", "FIN-WAIT-1"),
		seg(t0+500, KindIn, "F.", 7001, 0, "TIME-WAIT"),
		st(t0+500, "FIN-WAIT-1", "TIME-WAIT"),
	}
}

// concat joins event lists and labels every event of list k as instance k
// (lost markers as -1).
func concat(lists ...[]Event) ([]Event, []int) {
	var evs []Event
	var want []int
	for k, l := range lists {
		for _, e := range l {
			evs = append(evs, e)
			if e.Kind == KindLost {
				want = append(want, -1)
			} else {
				want = append(want, k)
			}
		}
	}
	return evs, want
}

// TestConnsSplitsInstances: the events of one 4-tuple are split into
// connection instances, never merged.
func TestConnsSplitsInstances(t *testing.T) {
	type inst struct {
		isn   uint32
		syn   bool
		first int64
		lost  int
	}
	open1, open2 := activeOpen(1000, 111), activeOpen(9000, 222)
	for _, tc := range []struct {
		name  string
		parts [][]Event // each part is one instance, in order
		want  []inst
	}{
		{
			name:  "reused after TIME-WAIT with a new ISN",
			parts: [][]Event{append(open1, Event{TimeUS: 8000, Kind: KindTimer, Local: cli, Remote: srv, Timer: "timewait", State: "TIME-WAIT"}, st(8000, "TIME-WAIT", "CLOSED")), open2},
			want:  []inst{{111, true, 1000, 0}, {222, true, 9000, 0}},
		},
		{
			name:  "seeded rerun appended: same ISN, same times, the first never closed",
			parts: [][]Event{open1[:7], open1},
			want:  []inst{{111, true, 1000, 0}, {111, true, 1000, 0}},
		},
		{
			name:  "a second SYN on the same ISN later in the same run, the first never seen closing",
			parts: [][]Event{open1[:7], activeOpen(5000, 111)},
			want:  []inst{{111, true, 1000, 0}, {111, true, 5000, 0}},
		},
		{
			name: "a capture (no state events): a new SYN after data, same ISN",
			parts: [][]Event{
				{seg(0, KindOut, "S", 5, 0, "SYN-SENT"), seg(10, KindIn, "S.", 9, 0, "SYN-SENT"), seg(10, KindOut, ".", 6, 0, "ESTABLISHED"),
					seg(20, KindIn, "S.", 9, 0, "SYN-SENT"), // its ACK was lost: the SYN-ACK again, no new connection
					seg(30, KindOut, "P.", 6, 100, "ESTABLISHED")},
				{seg(50, KindOut, "S", 5, 0, "SYN-SENT"), seg(60, KindIn, "S.", 9, 0, "SYN-SENT")},
			},
			want: []inst{{5, true, 0, 0}, {5, true, 50, 0}},
		},
		{
			name: "a capture: SYN retransmitted, then refused, then a SYN with another ISN",
			parts: [][]Event{
				{seg(0, KindOut, "S", 5, 0, "SYN-SENT"), seg(1000, KindOut, "S", 5, 0, "SYN-SENT"), seg(1010, KindIn, "R.", 0, 0, "ESTABLISHED")},
				{seg(2000, KindOut, "S", 77, 0, "SYN-SENT")},
			},
			want: []inst{{5, true, 0, 0}, {77, true, 2000, 0}},
		},
		{
			name: "the trace starts mid-connection",
			parts: [][]Event{{
				seg(500, KindIn, ".", 7001, 0, "ESTABLISHED"),
				seg(600, KindOut, "P.", 4242, 100, "ESTABLISHED"),
				seg(700, KindIn, "S.", 7000, 0, "ESTABLISHED"), // a late SYN-ACK is not an ISN
			}},
			want: []inst{{4242, false, 500, 0}}, // the first sequence number it sent
		},
		{
			name:  "lost events inside a connection: one instance, the loss counted",
			parts: [][]Event{append(append(append([]Event{}, open1[:5]...), lost(3), lost(2)), open1[5:]...)},
			want:  []inst{{111, true, 1000, 5}},
		},
		{
			name: "lost events ate the next connection's opening: its ESTABLISHED after TIME-WAIT begins it",
			parts: [][]Event{
				append(append([]Event{}, open1...), lost(4)),
				{seg(9200, KindOut, "P.", 5001, 100, "ESTABLISHED"), seg(9300, KindIn, ".", 8001, 0, "ESTABLISHED")},
			},
			want: []inst{{111, true, 1000, 0}, {5001, false, 9200, 0}},
		},
		{
			name: "server: a SYN in TIME-WAIT opens the next connection through the listener",
			parts: [][]Event{
				{
					st(0, "CLOSED", "SYN-RECEIVED"), seg(0, KindOut, "S.", 300, 0, "SYN-RECEIVED"),
					seg(100, KindIn, ".", 50, 0, "ESTABLISHED"), st(100, "SYN-RECEIVED", "ESTABLISHED"),
					st(200, "ESTABLISHED", "TIME-WAIT"),
					seg(900, KindIn, "S", 9999, 0, "TIME-WAIT"), st(900, "TIME-WAIT", "CLOSED"),
				},
				{st(900, "CLOSED", "SYN-RECEIVED"), seg(900, KindOut, "S.", 400, 0, "SYN-RECEIVED")},
			},
			want: []inst{{300, true, 0, 0}, {400, true, 900, 0}},
		},
		{
			name: "a SYN cookie: CLOSED -> ESTABLISHED after a closed connection",
			parts: [][]Event{
				{st(0, "CLOSED", "SYN-RECEIVED"), seg(0, KindOut, "S.", 300, 0, "SYN-RECEIVED"), st(50, "SYN-RECEIVED", "CLOSED")},
				{st(60, "CLOSED", "ESTABLISHED"), seg(70, KindIn, "P.", 10, 5, "ESTABLISHED")},
			},
			want: []inst{{300, true, 0, 0}, {0, false, 60, 0}},
		},
		{
			name:  "a SYN seen before its state event joins it",
			parts: [][]Event{{seg(0, KindOut, "S", 8, 0, "SYN-SENT"), st(0, "CLOSED", "SYN-SENT"), seg(10, KindIn, "S.", 1, 0, "ESTABLISHED")}},
			want:  []inst{{8, true, 0, 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, wantOf := concat(tc.parts...)
			conns := Conns(evs)
			var got []inst
			for i, c := range conns {
				if c.Local != cli || c.Remote != srv || c.Instance != i {
					t.Errorf("conn %d = %s instance %d, want %s->%s instance %d", i, c, c.Instance, cli, srv, i)
				}
				got = append(got, inst{c.ISN, c.SYN, c.First.Microseconds(), c.Lost})
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(inst{})); d != "" {
				t.Fatalf("Conns mismatch (-want +got):\n%s", d)
			}
			for k, c := range conns {
				var want []Event
				for i, e := range evs {
					if wantOf[i] == k {
						want = append(want, e)
					}
				}
				if d := cmp.Diff(want, Filter(evs, c), cmpAddr); d != "" {
					t.Errorf("Filter(#%d) mismatch (-want +got):\n%s", k, d)
				}
				if c.Events != len(want) {
					t.Errorf("conn #%d Events = %d, want %d", k, c.Events, len(want))
				}
			}
		})
	}
}

var cmpAddr = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestConnsSummaries(t *testing.T) {
	evs := []Event{
		{TimeUS: 500, Kind: KindOut, Local: cli, Remote: oth, Len: 10, Retrans: true},
		{TimeUS: 100, Kind: KindOut, Local: cli, Remote: srv, Len: 100},
		lost(3),
		{TimeUS: 200, Kind: KindIn, Local: cli, Remote: srv, Len: 50},
		{TimeUS: 900, Kind: KindTimer, Local: cli, Remote: srv, Timer: "rto"},
		{TimeUS: 600, Kind: KindIn, Local: cli, Remote: oth, Len: 5},
	}
	want := []Conn{
		{Local: cli, Remote: oth, First: 500 * time.Microsecond, Last: 600 * time.Microsecond, BytesSent: 10, BytesReceived: 5, Retransmits: 1, Events: 2, Lost: 3},
		{Local: cli, Remote: srv, First: 100 * time.Microsecond, Last: 900 * time.Microsecond, BytesSent: 100, BytesReceived: 50, Events: 3, Lost: 3},
	}
	got := Conns(evs)
	if d := cmp.Diff(want, got, cmpAddr); d != "" {
		t.Fatalf("Conns mismatch (-want +got):\n%s", d)
	}
	if f := Filter(evs, Conn{Local: cli, Remote: oth}); len(f) != 2 || f[0].TimeUS != 500 || f[1].TimeUS != 600 {
		t.Errorf("Filter(4-tuple only) = %+v, want the events at 500 and 600 µs", f)
	}
	if f := Filter(evs, Conn{Local: srv, Remote: cli}); len(f) != 0 {
		t.Errorf("Filter(reversed) = %d events, want 0", len(f))
	}
	other := got[1]
	other.First++
	if f := Filter(evs, other); len(f) != 0 {
		t.Errorf("Filter(a Conn of another trace) = %d events, want 0", len(f))
	}
	if s := got[0].String(); s != "10.0.0.1:40000->10.0.0.3:443" {
		t.Errorf("String() = %q", s)
	}
	if s := got[1].Title(); s != "10.0.0.1:40000 → 10.0.0.2:80" {
		t.Errorf("Title() = %q", s)
	}
}

// TestFilterBareTupleTakesTheLatest: a Conn naming only the 4-tuple stands
// for its latest instance, never for all of them.
func TestFilterBareTupleTakesTheLatest(t *testing.T) {
	evs, _ := concat(activeOpen(1000, 111), activeOpen(10, 222))
	f := Filter(evs, Conn{Local: cli, Remote: srv})
	if len(f) != len(activeOpen(0, 0)) || f[1].Seq != 222 {
		t.Fatalf("Filter(bare 4-tuple) = %d events starting %+v, want the second connection's %d", len(f), f[:min(2, len(f))], len(activeOpen(0, 0)))
	}
}

func TestSelect(t *testing.T) {
	// #0 cli->srv, #1 cli->oth, #2 cli->srv again, #3 oth->srv.
	conns := []Conn{
		{Local: cli, Remote: srv, ISN: 1, SYN: true, First: time.Second},
		{Local: cli, Remote: oth, ISN: 2, SYN: true},
		{Local: cli, Remote: srv, Instance: 1, ISN: 1, SYN: true, First: 500 * time.Millisecond},
		{Local: oth, Remote: srv, ISN: 4},
	}
	for _, tc := range []struct {
		spec    string
		want    int    // index into conns, -1 for an error
		errHas  string // for errors: a part of the message
		onlyOne bool   // select among conns[:1]
	}{
		{spec: "", want: -1, errHas: "4 connections"},
		{spec: "", want: 0, onlyOne: true},
		{spec: "#0", want: 0},
		{spec: "#3", want: 3},
		{spec: "#4", want: -1, errHas: "#0 to #3"},
		{spec: "#x", want: -1},
		{spec: "#01", want: -1},
		{spec: "#-1", want: -1},
		{spec: "->10.0.0.3:443", want: 1},
		{spec: ":443", want: -1, errHas: "matches 2 connections"},
		{spec: "10.0.0.3:443->", want: 3},
		{spec: "10.0.0.1:40000->10.0.0.2:80", want: -1, errHas: "occurred 2 times in the trace: #0 10.0.0.1:40000->10.0.0.2:80 from 1.000s, isn 1; #2 10.0.0.1:40000->10.0.0.2:80 from 0.500s, isn 1"},
		{spec: "10.0.0.1:40000->10.0.0.2:80@latest", want: 2},
		{spec: "40000->10.0.0.2@latest", want: 2},
		{spec: ":80", want: -1, errHas: "matches 3 connections"},
		{spec: ":80@latest", want: -1, errHas: "matches 3 connections"},
		{spec: "@latest", want: -1, errHas: "4 connections"},
		{spec: "10.9.9.9", want: -1, errHas: "no connection matches"},
	} {
		cs := conns
		if tc.onlyOne {
			cs = conns[:1]
		}
		got, err := Select(cs, tc.spec)
		switch {
		case tc.want < 0 && err == nil:
			t.Errorf("Select(%q) = %d, want an error", tc.spec, got)
		case tc.want < 0 && !strings.Contains(err.Error(), tc.errHas):
			t.Errorf("Select(%q) = %v, want an error with %q", tc.spec, err, tc.errHas)
		case tc.want >= 0 && (err != nil || got != tc.want):
			t.Errorf("Select(%q) = %d, %v, want %d", tc.spec, got, err, tc.want)
		}
	}
	// Only the two instances of one 4-tuple: "" asks which, "@latest" takes the last.
	two := []Conn{conns[0], conns[2]}
	if _, err := Select(two, ""); err == nil || !strings.Contains(err.Error(), "occurred 2 times") {
		t.Errorf(`Select(two instances, "") = %v, want an error listing them`, err)
	}
	if got, err := Select(two, Latest); err != nil || got != 1 {
		t.Errorf("Select(two instances, %q) = %d, %v, want 1", Latest, got, err)
	}
	if _, err := Select(nil, ""); err != ErrNoEvents {
		t.Errorf(`Select(none, "") = %v, want ErrNoEvents`, err)
	}
	if n := Instances(conns, conns[2]); n != 2 {
		t.Errorf("Instances = %d, want 2", n)
	}
}
