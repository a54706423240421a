package plot

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/trace"
)

var cmpAddr = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

var (
	h1 = netip.MustParseAddrPort("192.0.2.1:1000")
	h2 = netip.MustParseAddrPort("192.0.2.2:80")
)

// shifted returns a copy of evs, later by us microseconds.
func shifted(evs []trace.Event, us int64) []trace.Event {
	out := slices.Clone(evs)
	for i := range out {
		out[i].TimeUS += us
	}
	return out
}

// TestTwoRunsOnOneTupleAreTwoConnections is the reproduction: a
// seeded lab run twice into one trace repeats the 4-tuple and the ISN, and
// the plot showed one connection of twice the bytes whose sequence numbers
// jumped back and whose RTO went back to 1 s mid-flow. Each run is now a
// connection of its own, and its series are those of the run alone.
func TestTwoRunsOnOneTupleAreTwoConnections(t *testing.T) {
	run, _ := storyTrace()
	isn := storyConfig().issA
	for _, tc := range []struct {
		name   string
		first  []trace.Event
		second []trace.Event
	}{
		{"a new agent: the clock starts again", run, run},
		{"the same agent, 11 s later", run, shifted(run, 11_000_000)},
		{"the first run's close not in the trace", run[:len(run)/2], shifted(run, 11_000_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := append(slices.Clone(tc.first), tc.second...)
			conns := trace.Conns(evs)
			if len(conns) != 2 {
				t.Fatalf("trace.Conns = %d connections, want 2:\n%s", len(conns), dumpConns(conns))
			}
			for i, part := range [][]trace.Event{tc.first, tc.second} {
				alone := trace.Conns(part)[0]
				c := conns[i]
				if c.ISN != isn || !c.SYN || c.Instance != i || c.First != alone.First || c.BytesSent != alone.BytesSent || c.Retransmits != alone.Retransmits {
					t.Errorf("connection #%d = %s, %d bytes sent, %d retransmits; want isn %d and the run's own %s, %d bytes, %d retransmits",
						i, c.Label(), c.BytesSent, c.Retransmits, isn, alone.Label(), alone.BytesSent, alone.Retransmits)
				}
				for name, series := range map[string]func([]trace.Event, trace.Conn) []byte{
					"seq":  func(e []trace.Event, c trace.Conn) []byte { return dumpSeq(TimeSequence(e, c, DirAuto)) },
					"cwnd": func(e []trace.Event, c trace.Conn) []byte { return dumpCwnd(Congestion(e, c)) },
					"rtt":  func(e []trace.Event, c trace.Conn) []byte { return dumpRTT(RTT(e, c)) },
					"tput": func(e []trace.Event, c trace.Conn) []byte { return dumpGoodput(Goodput(e, c, DirAuto, 0)) },
				} {
					if d := cmp.Diff(string(series(part, alone)), string(series(evs, c))); d != "" {
						t.Errorf("%s of connection #%d differs from the run's alone (-alone +in the joint trace):\n%s", name, i, d)
					}
				}
			}
			// The symptoms of the issue, on the second connection: no
			// sequence number below one already sent but for retransmissions,
			// no RTO back at its initial 1 s once RTT samples came in.
			s := TimeSequence(evs, conns[1], DirSent)
			hi := int64(-1)
			for _, sg := range s.Segments {
				if !sg.Retrans && sg.Start < hi {
					t.Fatalf("sequence numbers jump back at %.3f s: %d after %d", sg.T, sg.Start, hi)
				}
				hi = max(hi, sg.End)
			}
			r := RTT(evs, conns[1])
			if len(r.SRTT) == 0 {
				t.Fatal("no SRTT in the second connection")
			}
			for _, p := range r.RTO {
				if p.T > r.SRTT[0].T && p.V == 1000 {
					t.Fatalf("the RTO goes back to 1 s at %.3f s", p.T)
				}
			}
		})
	}
}

// TestRenderTellsTheInstanceLost: the lost events a plot warns of are those
// lost while its connection was open, not elsewhere in the trace.
func TestRenderTellsTheInstanceLost(t *testing.T) {
	run, _ := storyTrace()
	evs := append(slices.Clone(run), trace.Event{Kind: trace.KindLost, Len: 9})
	evs = append(evs, shifted(run[:len(run)/2], 11_000_000)...)
	evs = append(evs, trace.Event{Kind: trace.KindLost, Len: 4})
	evs = append(evs, shifted(run[len(run)/2:], 11_000_000)...)
	conns := trace.Conns(evs)
	if len(conns) != 2 || conns[0].Lost != 0 || conns[1].Lost != 4 {
		t.Fatalf("trace.Conns = %s, want 2 connections, the second with 4 events lost", dumpConns(conns))
	}
	for i, want := range []string{"", "lost 4 events"} {
		var buf bytes.Buffer
		if err := Render(&buf, KindSeq, evs, conns[i], Options{Format: FormatSVG}); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(buf.Bytes(), []byte("lost")); got != (want != "") || want != "" && !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("plot of connection #%d: note %q expected, found lost=%v", i, want, got)
		}
	}
}
