package check

import (
	"slices"
	"strings"
	"testing"

	"github.com/netlab/netlab/trace"
)

// kindCase is one evaluation of a check on a simulated run.
type kindCase struct {
	name string
	run  string // the scenario (see scenarios)
	args Args
	// edit, if set, changes a copy of the run's evidence first: a way to
	// make a real trace show what the stack never does.
	edit     func(ev *Evidence)
	pass     bool
	expected string // a part of Outcome.Expected
	actual   string // a part of Outcome.Actual
}

// runKindCases evaluates the cases of one kind and checks their outcomes.
func runKindCases(t *testing.T, kindName string, cases []kindCase) {
	t.Helper()
	evs := evidence(t)
	k, ok := kindByName(kindName)
	if !ok {
		t.Fatalf("no kind %q", kindName)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := evs[tc.run]
			if !ok {
				t.Fatalf("no scenario %q", tc.run)
			}
			if tc.edit != nil {
				ev = cloneEvidence(ev)
				tc.edit(ev)
			}
			c, err := k.New(tc.args)
			if err != nil {
				t.Fatalf("New(%v) = %v", tc.args, err)
			}
			o := c.Eval(ev)
			if o.Pass != tc.pass || !strings.Contains(o.Expected, tc.expected) || !strings.Contains(o.Actual, tc.actual) {
				t.Errorf("%s %v on %s:\n pass %v, want %v\n expected %q\n   (want %q in it)\n actual   %q\n   (want %q in it)\n%s",
					kindName, tc.args, tc.run, o.Pass, tc.pass, o.Expected, tc.expected, o.Actual, tc.actual, strings.Join(o.Lines, "\n"))
			}
			checkOutcomeShape(t, o)
		})
	}
}

func kindByName(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// checkOutcomeShape checks what every Outcome promises: a bounded
// Context, one line per event, a Mark inside the Context, the Node named
// with the Conn.
func checkOutcomeShape(t *testing.T, o Outcome) {
	t.Helper()
	if len(o.Context) > MaxContext {
		t.Errorf("Context holds %d events, more than %d", len(o.Context), MaxContext)
	}
	if len(o.Lines) != len(o.Context) {
		t.Errorf("%d Lines for %d Context events", len(o.Lines), len(o.Context))
	}
	if o.Mark != nil {
		in := false
		for i := range o.Context {
			in = in || &o.Context[i] == o.Mark
		}
		if !in {
			t.Errorf("Mark %+v is not one of Context", *o.Mark)
		}
	}
	if o.Conn != nil && o.Node == "" {
		t.Errorf("Conn %s without Node", o.Conn)
	}
	if o.Expected == "" || o.Actual == "" {
		t.Errorf("Expected %q, Actual %q: both must say something", o.Expected, o.Actual)
	}
}

// cloneEvidence copies ev deeply enough to edit its traces and steps.
func cloneEvidence(ev *Evidence) *Evidence {
	c := &Evidence{Traces: map[string][]trace.Event{}, Steps: map[string]any{}, Answers: map[string]string{}, Truth: map[string]string{}}
	for k, v := range ev.Traces {
		c.Traces[k] = slices.Clone(v)
	}
	for k, v := range ev.Steps {
		if m, ok := v.(map[string]any); ok {
			cm := map[string]any{}
			for kk, vv := range m {
				cm[kk] = vv
			}
			v = cm
		}
		c.Steps[k] = v
	}
	for k, v := range ev.Answers {
		c.Answers[k] = v
	}
	for k, v := range ev.Truth {
		c.Truth[k] = v
	}
	return c
}

// editEvents changes the events of node's trace that sel picks (the n-th
// of them, from 0), with set.
func editEvents(node string, sel func(e *trace.Event) bool, n int, set func(e *trace.Event)) func(*Evidence) {
	return func(ev *Evidence) {
		k := 0
		for i := range ev.Traces[node] {
			if e := &ev.Traces[node][i]; sel(e) {
				if k == n {
					set(e)
					return
				}
				k++
			}
		}
		panic("editEvents: no such event")
	}
}

func dataOut(e *trace.Event) bool { return e.Kind == trace.KindOut && e.Len > 0 }

func TestConnSelection(t *testing.T) {
	ev := evidence(t)
	clean := ev["clean"]
	// Two runs' traces appended: two instances of the same 4-tuple, the
	// second carrying more data.
	two := cloneEvidence(clean)
	more := ev["outage"].Traces["a"]
	shift := two.Traces["a"][len(two.Traces["a"])-1].TimeUS
	for _, e := range more {
		e.TimeUS += shift
		two.Traces["a"] = append(two.Traces["a"], e)
	}
	k, _ := kindByName("retransmits")
	for _, tc := range []struct {
		name   string
		ev     *Evidence
		node   string
		conn   string
		pass   bool
		actual string
	}{
		{"no such node", clean, "c", "", false, "no trace of node c (traced: a, b)"},
		{"nothing traced", &Evidence{}, "a", "", false, "no trace of node a: no Go-stack node was traced"},
		{"no connection", &Evidence{Traces: map[string][]trace.Event{"a": {{Kind: trace.KindLost, Len: 3}}}}, "a", "", false, "node a traced no TCP connection"},
		{"no such conn", clean, "a", ":80", false, `node a: no connection matches ":80"`},
		{"several: the one with the most data", two, "a", "", true, "82 retransmissions"},
		{"several: one chosen", two, "a", "#0", false, "0 retransmissions"},
		{"the same 4-tuple twice", two, "a", ":5001", false, "occurred 2 times"},
		{"@latest", two, "a", ":5001@latest", true, "82 retransmissions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := k.New(Args{"node": tc.node, "conn": tc.conn, "min": "1"})
			if err != nil {
				t.Fatal(err)
			}
			o := c.Eval(tc.ev)
			if o.Pass != tc.pass || !strings.Contains(o.Actual, tc.actual) {
				t.Errorf("Eval = pass %v, %q; want %v, %q in it", o.Pass, o.Actual, tc.pass, tc.actual)
			}
			if o.Node != tc.node {
				t.Errorf("Node = %q, want %q", o.Node, tc.node)
			}
			if tc.pass && (o.Conn == nil || o.Conn.Retransmits != 82) {
				t.Errorf("Conn = %+v, want the outage run's connection", o.Conn)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	runKindCases(t, "handshake", []kindCase{
		{name: "client", run: "clean", args: Args{"node": "a", "options": []string{"mss", "sackOK", "wscale", "TS"}, "mss": "1460", "peer-mss": "1460"},
			pass: true, expected: "with mss, sackOK, wscale, TS on both SYNs", actual: "handshake completed in 15ms: ESTABLISHED at 0.015s"},
		{name: "server: the peer's SYN inferred", run: "clean", args: Args{"node": "b", "options": []any{"sack", "timestamps"}},
			pass: true, actual: "the peer's SYN is not in a listener's trace (sackOK, TS inferred from the SYN-ACK"},
		{name: "refused", run: "refused", args: Args{"node": "a"},
			actual: "SYN sent at 0.000s, answered by a reset (R.) at 0.015s: the connection was refused"},
		{name: "the node offers no window scaling", run: "clamped", args: Args{"node": "a", "options": []string{"wscale"}},
			actual: "the node's S at 0.000s lacks wscale (its options: mss 1460,sackOK,TS val 2008874150 ecr 0)"},
		{name: "the peer answers without timestamps", run: "clamped", args: Args{"node": "a", "options": []string{"TS"}},
			actual: "the peer's S. at 0.015s lacks TS (its options: mss 1000,sackOK)"},
		{name: "the peer's MSS", run: "clamped", args: Args{"node": "a", "peer-mss": "1460"},
			expected: "the peer announcing MSS 1460", actual: "the peer's S. at 0.015s announced MSS 1000"},
		{name: "the peer's MSS on a listener", run: "clamped", args: Args{"node": "b", "peer-mss": "1460"},
			actual: "the MSS the peer announced is not in the trace"},
		{name: "no SYN-ACK", run: "clean", args: Args{"node": "a"},
			edit:   editEvents("a", func(e *trace.Event) bool { return e.Flags == "S." }, 0, func(e *trace.Event) { e.Flags = "." }),
			actual: "SYN sent at 0.000s, but no SYN-ACK came back"},
		{name: "no final ACK", run: "clean", args: Args{"node": "b"},
			edit:   func(ev *Evidence) { ev.Traces["b"] = ev.Traces["b"][:2] }, // the trace ends after the SYN-ACK
			actual: "SYN-ACK at 0.000s, but no ACK for it came back"},
	})
}

func TestMaxSegment(t *testing.T) {
	runKindCases(t, "max-segment", []kindCase{
		{name: "the peer's MSS", run: "clean", args: Args{"node": "a"},
			pass: true, expected: "no data segment longer than 1460 bytes (the MSS the peer announced)", actual: "21 data segments, the longest 1448 bytes"},
		{name: "clamped by the peer", run: "clamped", args: Args{"node": "a"},
			pass: true, expected: "longer than 1000 bytes", actual: "the longest 1000 bytes"},
		{name: "a smaller limit", run: "clean", args: Args{"node": "a", "mss": "1000"},
			expected: "no data segment longer than 1000 bytes", actual: "a segment of 1448 bytes at 0.015s: 0.015 > . 1:1449(1448) ack 1 win 1048576"},
		{name: "no data sent", run: "clean", args: Args{"node": "b", "mss": "1460"},
			actual: "b 10.0.0.2:5001->10.0.0.1:37036 sent no data segment"},
		{name: "a listener without mss", run: "clean", args: Args{"node": "b"},
			actual: "the MSS the peer announced is not in the trace (a listener's trace lacks the SYN it answered): give mss"},
	})
}

func TestRetransmits(t *testing.T) {
	runKindCases(t, "retransmits", []kindCase{
		{name: "one fast", run: "loss", args: Args{"node": "a", "min": "1", "max": "1", "kind": "fast"},
			pass: true, expected: "exactly 1 fast retransmission", actual: "1 fast retransmission; in all 1 retransmission (1 fast)"},
		{name: "none after RTO in the loss run", run: "loss", args: Args{"node": "a", "min": 1, "kind": "rto"},
			expected: "at least 1 retransmission after RTO", actual: "0 retransmissions after RTO; in all 1 retransmission (1 fast)"},
		{name: "after an outage", run: "outage", args: Args{"node": "a", "min": "1", "kind": "rto"},
			pass: true, actual: "82 retransmissions after RTO"},
		{name: "too many", run: "outage", args: Args{"node": "a", "max": "10"},
			expected: "at most 10 retransmissions", actual: "82 retransmissions (82 after RTO)"},
		{name: "none wanted, none made", run: "clean", args: Args{"node": "a", "max": "0"},
			pass: true, expected: "no retransmissions", actual: "0 retransmissions"},
	})
}

func TestFastRetransmit(t *testing.T) {
	runKindCases(t, "fast-retransmit", []kindCase{
		{name: "after three duplicate ACKs", run: "loss", args: Args{"node": "a"},
			pass: true, expected: "after at least 3 duplicate ACKs", actual: "fast retransmission of 7241:8689 at 0.025s after 3 duplicate ACKs"},
		{name: "four asked", run: "loss", args: Args{"node": "a", "dupacks": "4"},
			expected: "after at least 4 duplicate ACKs", actual: "fast retransmission of 7241:8689 at 0.025s after only 3 duplicate ACKs"},
		{name: "a duplicate ACK less in the trace", run: "loss", args: Args{"node": "a"},
			// The second duplicate ACK acknowledges something else.
			edit:   editEvents("a", func(e *trace.Event) bool { return e.Kind == trace.KindIn && len(e.SACKRanges) > 0 }, 1, func(e *trace.Event) { e.Ack += 1448 }),
			actual: "after only 1 duplicate ACK"},
		{name: "only RTOs", run: "outage", args: Args{"node": "a"},
			actual: "no fast retransmission; 82 retransmissions (82 after RTO)"},
		{name: "no loss", run: "clean", args: Args{"node": "a"},
			actual: "no retransmission on a 10.0.0.1:37036->10.0.0.2:5001"},
	})
}

func TestSsthreshHalved(t *testing.T) {
	runKindCases(t, "ssthresh-halved", []kindCase{
		{name: "fast recovery", run: "loss", args: Args{"node": "a"},
			pass: true, actual: "1 loss: fast recovery at 0.025s: flight 22761 -> ssthresh 11380"},
		{name: "RTO", run: "outage", args: Args{"node": "a", "tolerance": "100"},
			pass: true, actual: "1 loss: RTO at 0.384s: flight 111761 -> ssthresh 55880"},
		{name: "CUBIC's factor on Reno", run: "loss", args: Args{"node": "a", "factor": "0.7", "tolerance": "0.5mss"},
			expected: "about 0.7 × the flight", actual: "fast recovery at 0.025s: flight 22761, cwnd 21720 before it, so ssthresh about 15933 (or 15204 from cwnd); it became 11380"},
		{name: "no loss", run: "clean", args: Args{"node": "a"},
			actual: "no loss on a 10.0.0.1:37036->10.0.0.2:5001: it never entered fast recovery nor had an RTO"},
	})
}

func TestRTOBackoff(t *testing.T) {
	rto := func(e *trace.Event) bool { return e.Kind == trace.KindTimer && e.Timer == "rto" }
	runKindCases(t, "rto-backoff", []kindCase{
		{name: "three backoffs", run: "outage", args: Args{"node": "a", "min": "3"},
			pass: true, expected: "at least 3 RTO backoffs", actual: "3 backoffs: 4 timeouts of the segment at 188241, RTO 200ms, 400ms, 800ms, 1600ms"},
		{name: "four wanted", run: "outage", args: Args{"node": "a", "min": "4"},
			expected: "at least 4 RTO backoffs", actual: "3 backoffs"},
		{name: "an RTO not doubled", run: "outage", args: Args{"node": "a"},
			edit:   editEvents("a", rto, 2, func(e *trace.Event) { e.RTOMS = 400 }),
			actual: "timeout at 1.584s had RTO 400ms after 400ms at 0.784s: not doubled (want 800ms)"},
		{name: "a timer that did not wait its RTO", run: "outage", args: Args{"node": "a", "tolerance": "50ms"},
			edit:   editEvents("a", rto, 1, func(e *trace.Event) { e.TimeUS -= 100000 }),
			actual: "timeout at 0.684s came 300ms after the one at 0.384s, but its RTO was 400ms"},
		{name: "no timeout", run: "loss", args: Args{"node": "a"},
			actual: "no retransmission timeout on a"},
	})
}

func TestInflightBounded(t *testing.T) {
	runKindCases(t, "inflight-bounded", []kindCase{
		{name: "clean", run: "clean", args: Args{"node": "a"},
			pass: true, actual: "21 data segments checked; the closest came 0 bytes under the bound"},
		{name: "window-limited", run: "zerowin", args: Args{"node": "a"}, pass: true},
		{name: "over cwnd", run: "clean", args: Args{"node": "a"},
			edit:   editEvents("a", dataOut, 9, func(e *trace.Event) { e.Cwnd = 12000 }),
			actual: "at 0.015s the flight reached 14480 bytes with 0.015 > . 13033:14481(1448) ack 1 win 1048576, over cwnd (12000; cwnd 12000, peer's window 65535)"},
		{name: "over cwnd, within tolerance", run: "clean", args: Args{"node": "a", "tolerance": "2mss"},
			edit: editEvents("a", dataOut, 9, func(e *trace.Event) { e.Cwnd = 12000 }),
			pass: true, expected: "+ 2 MSS", actual: "the furthest went 2480 bytes over the bound (within tolerance)"},
		{name: "over the peer's window", run: "zerowin", args: Args{"node": "a"},
			edit:   editEvents("a", dataOut, 2, func(e *trace.Event) { e.SndWnd = 2000 }),
			actual: "over the peer's window (2000; cwnd 14480, peer's window 2000)"},
	})
}

func TestZeroWindow(t *testing.T) {
	runKindCases(t, "zero-window", []kindCase{
		{name: "probes, then data", run: "zerowin", args: Args{"node": "a", "probes": "3"},
			pass: true, expected: "at least 3 persist probes", actual: "zero window at 0.245s, 3 persist probes, new data at 2.005s"},
		{name: "too few probes", run: "zerowin", args: Args{"node": "a", "probes": "4"},
			actual: "zero window at 0.245s, but 3 persist probes before new data at 2.005s"},
		{name: "never resumed", run: "zerowin", args: Args{"node": "a"},
			edit: func(ev *Evidence) {
				evs := ev.Traces["a"]
				for i := range evs {
					if evs[i].TimeUS-evs[0].TimeUS >= 2_000_000 {
						ev.Traces["a"] = evs[:i]
						break
					}
				}
			},
			actual: "zero window at 0.245s and 3 persist probes, but no new data after it (the trace ends at 1.655s)"},
		{name: "never zero", run: "clean", args: Args{"node": "a"},
			actual: "the peer never advertised a zero window (its smallest: 1033088 bytes at 0.035s)"},
	})
}

func TestGoodput(t *testing.T) {
	runKindCases(t, "goodput", []kindCase{
		{name: "fast enough", run: "clean", args: Args{"node": "a", "min": "1mbit"},
			pass: true, expected: "at least 1.000 Mbit/s", actual: "12.000 Mbit/s: 30000 bytes acknowledged in 20ms"},
		{name: "too slow", run: "zerowin", args: Args{"node": "a", "min": "1mbit"},
			actual: "0.238 Mbit/s: 60000 bytes acknowledged in 2.02s"},
		{name: "at most", run: "clean", args: Args{"node": "a", "max": "1kbit"},
			expected: "at most 0.001 Mbit/s"},
		{name: "receiver", run: "clean", args: Args{"node": "b", "min": "1kbit"},
			actual: "the node sent no data"},
	})
}

func TestWindow(t *testing.T) {
	runKindCases(t, "window", []kindCase{
		{name: "wide enough", run: "clean", args: Args{"node": "a", "min": "256KiB"},
			pass: true, expected: "at least 262144 bytes", actual: "the largest window the peer advertised was 1048576 bytes"},
		{name: "too small", run: "zerowin", args: Args{"node": "a", "min": "256KiB"},
			actual: "the largest window the peer advertised was 16384 bytes, at 2.005s"},
		{name: "at most", run: "clean", args: Args{"node": "a", "max": "64KiB"},
			expected: "at most 65536 bytes", actual: "was 1048576 bytes"},
		{name: "refused", run: "refused", args: Args{"node": "a", "min": "1"},
			actual: "received no segment after the handshake's SYNs"},
	})
}

func TestTimeWait(t *testing.T) {
	runKindCases(t, "time-wait", []kindCase{
		{name: "active closer", run: "clean", args: Args{"node": "a", "held": "1s"},
			pass: true, expected: "stays there at least 1s", actual: "entered TIME-WAIT at 0.035s; the timewait timer fired 1s later"},
		{name: "not long enough", run: "clean", args: Args{"node": "a", "held": "60s"},
			actual: "the timewait timer fired 1s later"},
		{name: "the trace ends first", run: "clean", args: Args{"node": "a", "held": "60s"},
			edit:   func(ev *Evidence) { ev.Traces["a"] = ev.Traces["a"][:len(ev.Traces["a"])-2] },
			pass:   true,
			actual: "entered TIME-WAIT at 0.035s; the trace ends 0s later, before it ended"},
		{name: "passive closer", run: "clean", args: Args{"node": "b"},
			actual: "never entered TIME-WAIT (its states: CLOSED -> SYN-RECEIVED -> ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED)"},
		{name: "refused", run: "refused", args: Args{"node": "a"},
			actual: "its states: CLOSED -> SYN-SENT -> CLOSED"},
	})
}

func TestSequence(t *testing.T) {
	runKindCases(t, "sequence", []kindCase{
		{name: "client handshake and first data", run: "clean",
			args: Args{"node": "a", "expect": []string{"> S seq=0 mss=1460", "< S. ack=1", "> . seq=1 ack=1 len=0", "> . len=1448 seq=1 end=1449", "> . seq=+1448 len=1448 {9}", "< . ack=1449"}},
			pass: true, actual: "all 6 lines matched"},
		{name: "server", run: "clean",
			args: Args{"node": "b", "expect": []string{"> S. ack=1", "< . seq=1 ack=1 len=0", "< . len=1448", "> . ack=1449", "< . seq=+1448 len=1448", "...", "> F.", "< . ack=2"}},
			pass: true},
		{name: "fast retransmission", run: "loss",
			args: Args{"node": "a", "expect": []string{"...", "< . ack=7241 {2}", "> . seq=7241 len=1448 retrans", "< . ack=7241 {2,}", "< . ack=30002"}},
			pass: true},
		{name: "wrong flags", run: "refused",
			args:     Args{"node": "a", "expect": []string{"> S", "< S."}},
			expected: `line 2 "< S." (after lines 1-1 matched)`, actual: `segment 2 was "0.015 < R. 1:1(0) ack 1 win 0": flags R., not S.`},
		{name: "wrong length", run: "clamped",
			args:     Args{"node": "a", "expect": []string{"> S", "< S.", "> .", "> . len=1448"}},
			expected: `line 4 "> . len=1448"`, actual: `segment 4 was "0.015 > . 1:1001(1000) ack 1 win 65535": len 1000, not 1448`},
		{name: "a step off", run: "clean",
			args:   Args{"node": "a", "expect": []string{"...", "> . len=1448", "> . seq=+1000"}},
			actual: "no segment matches it from 0.015s on"},
		{name: "a repeat too long", run: "clean",
			args:     Args{"node": "a", "expect": []string{"> S", "< S.", "> .", "> . len=1448 {11}"}},
			expected: `line 4 "> . len=1448 {11}"`, actual: `segment 14 was "0.025 < . 1:1(0) ack 1449 win 1047168": it was received, not sent (after 10 matching in a row, 11 wanted)`},
		{name: "past the end", run: "refused",
			args:   Args{"node": "a", "expect": []string{"> S", "< R.", "> *"}},
			actual: "the connection had no more segments (its last at 0.015s)"},
		{name: "not a retransmission", run: "loss",
			args:   Args{"node": "a", "expect": []string{"> S", "< S.", "> .", "> . retrans"}},
			actual: "not a retransmission"},
	})
}
