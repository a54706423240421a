package check

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netlab/netlab/trace"
)

// decoded returns a step's JSON result as the grader holds it.
func decoded(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDelivered(t *testing.T) {
	corrupt := func(ev *Evidence) {
		ev.Steps["sink"].(map[string]any)["sha256"] = strings.Repeat("0", 64)
	}
	runKindCases(t, "delivered", []kindCase{
		{name: "sha256 and bytes", run: "clean", args: Args{"sent": "send", "received": "sink", "bytes": "30000"},
			pass: true, expected: "the sha256 of the data step sink received equals that of the data step send sent, and 30000 bytes delivered",
			actual: "on both sides, 30000 bytes delivered"},
		{name: "after a loss", run: "loss", args: Args{"sent": "send", "received": "sink"}, pass: true},
		{name: "corrupted", run: "clean", args: Args{"sent": "send", "received": "sink"}, edit: corrupt,
			actual: "sent, 000000000000… received (30000 bytes)"},
		{name: "bytes on the receiver's trace", run: "clean", args: Args{"node": "b", "bytes": "30000"},
			pass: true, actual: "30000 bytes delivered"},
		{name: "bytes on the receiver's trace, after a loss", run: "loss", args: Args{"node": "b", "bytes": "30KB"}, pass: true},
		{name: "bytes missing", run: "zerowin", args: Args{"node": "b", "bytes": "60000"},
			edit: func(ev *Evidence) {
				evs := ev.Traces["b"]
				for i := range evs {
					if evs[i].TimeUS-evs[0].TimeUS >= 1_000_000 {
						ev.Traces["b"] = evs[:i]
						break
					}
				}
			},
			expected: "60000 bytes delivered", actual: "16440 bytes delivered"},
		{name: "no such step", run: "clean", args: Args{"sent": "send", "received": "recv"},
			actual: "no result of step recv (steps with results: nstat-a, nstat-b, send, sink)"},
		{name: "a step without sha256", run: "clean", args: Args{"sent": "nstat-a", "received": "sink"},
			actual: "the result of step nstat-a has no sha256"},
		{name: "the sink's count", run: "clean", args: Args{"received": "sink", "bytes": "30001"},
			actual: "30000 bytes delivered"},
	})
}

func TestCounter(t *testing.T) {
	runKindCases(t, "counter", []kindCase{
		{name: "one retransmission", run: "loss", args: Args{"step": "nstat-a", "name": "TcpRetransSegs", "min": "1", "max": "1"},
			pass: true, expected: "TcpRetransSegs exactly 1 (step nstat-a)", actual: "TcpRetransSegs = 1"},
		{name: "too many", run: "outage", args: Args{"step": "nstat-a", "name": "TcpRetransSegs", "max": "0"},
			expected: "TcpRetransSegs exactly 0 (step nstat-a)", actual: "TcpRetransSegs = 82"},
		{name: "since a step", run: "outage", args: Args{"step": "nstat-a", "since": "before", "name": "TcpRetransSegs", "min": "80"},
			edit: func(ev *Evidence) {
				ev.Steps["before"] = map[string]any{"counters": map[string]any{"TcpRetransSegs": 2.0}}
			},
			expected: "TcpRetransSegs to grow by at least 80 from step before to step nstat-a", actual: "TcpRetransSegs grew by 80 (2 -> 82)", pass: true},
		{name: "a field of the result", run: "clean", args: Args{"step": "send", "name": "bytes", "min": "30000"},
			pass: true, actual: "bytes = 30000"},
		{name: "no such counter", run: "clean", args: Args{"step": "nstat-a", "name": "TcpNope", "min": "1"},
			actual: `step nstat-a: counter TcpNope: no field "TcpNope" (fields: counters)`},
		{name: "not a number", run: "clean", args: Args{"step": "send", "name": "sha256", "min": "1"},
			actual: "counter sha256 is "},
	})
}

func TestStep(t *testing.T) {
	ev := &Evidence{Steps: map[string]any{
		"cmd":    decoded(t, `{"stdout": "PING 10.0.0.2: 3 packets transmitted, 3 received\n", "exit": 0}`),
		"failed": decoded(t, `{"stdout": "", "exit_status": 2}`),
		"script": decoded(t, `{"results": [{"op": "connect", "error": "ECONNREFUSED"}, {"op": "write", "n": 1448}]}`),
		"text":   "hello",
	}}
	k, _ := kindByName("step")
	for _, tc := range []struct {
		name   string
		args   Args
		pass   bool
		actual string
	}{
		{"exit 0", Args{"step": "cmd", "exit": "0"}, true, "step cmd exited with status 0"},
		{"exit_status", Args{"step": "failed", "exit": "0"}, false, "step failed exited with status 2"},
		{"regex", Args{"step": "cmd", "field": "stdout", "regex": `3 received`}, true, "PING 10.0.0.2"},
		{"regex fails", Args{"step": "cmd", "field": "stdout", "regex": `\b0 received`}, false, "which does not match"},
		{"equals in a list", Args{"step": "script", "field": "results.0.error", "equals": "ECONNREFUSED"}, true, `results.0.error = "ECONNREFUSED"`},
		{"a number", Args{"step": "script", "field": "results.1.n", "equals": "1448"}, true, `= "1448"`},
		{"equals fails", Args{"step": "script", "field": "results.1.n", "equals": "1460"}, false, `step script's results.1.n = "1448"`},
		{"past the list", Args{"step": "script", "field": "results.2.n", "equals": "1"}, false, `no item "2" in results: a list of 2`},
		{"no such field", Args{"step": "cmd", "field": "stderr", "equals": ""}, false, `no field "stderr" (fields: exit, stdout)`},
		{"a scalar result", Args{"step": "text", "equals": " hello "}, true, `"hello"`},
		{"no exit status", Args{"step": "script", "exit": "0"}, false, "the result of step script has no exit status"},
		{"no such step", Args{"step": "nope", "exit": "0"}, false, "no result of step nope (steps with results: cmd, failed, script, text)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := k.New(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			o := c.Eval(ev)
			if o.Pass != tc.pass || !strings.Contains(o.Actual, tc.actual) {
				t.Errorf("Eval(%v) = pass %v, %q (expected %q); want %v, %q in it", tc.args, o.Pass, o.Actual, o.Expected, tc.pass, tc.actual)
			}
			checkOutcomeShape(t, o)
		})
	}
}

func TestAnswer(t *testing.T) {
	ev := &Evidence{
		Answers: map[string]string{"isn": " 2008874150\n", "rtt": "10.4", "opts": "mss,sackOK", "empty": "  ", "word": "Reno"},
		Truth:   map[string]string{"isn": "2008874150", "rtt": "10", "opts": "mss,sackOK,TS,wscale", "empty": "1", "word": "reno"},
	}
	k, _ := kindByName("answer")
	for _, tc := range []struct {
		name             string
		args             Args
		pass             bool
		expected, actual string
	}{
		{"exact number", Args{"name": "isn"}, true, "2008874150", "2008874150"},
		{"within an absolute tolerance", Args{"name": "rtt", "tolerance": "0.5"}, true, "10 ± 0.5", "10.4"},
		{"within a percentage", Args{"name": "rtt", "tolerance": "5%"}, true, "10 ± 5%", "10.4"},
		{"outside", Args{"name": "rtt", "tolerance": "1%"}, false, "10 ± 1%", "10.4"},
		{"no tolerance", Args{"name": "rtt"}, false, "10", "10.4"},
		{"strings exactly", Args{"name": "opts"}, false, "mss,sackOK,TS,wscale", "mss,sackOK"},
		{"case counts", Args{"name": "word"}, false, "reno", "Reno"},
		{"another truth", Args{"name": "isn", "truth": "rtt"}, false, "10", "2008874150"},
		{"empty", Args{"name": "empty"}, false, "1", "answer empty is empty"},
		{"not answered", Args{"name": "mss", "truth": "isn"}, false, "2008874150", "no answer mss"},
		{"not measured", Args{"name": "mss"}, false, "the measured value mss", "no measured value mss: the run did not show it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := k.New(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			o := c.Eval(ev)
			if o.Pass != tc.pass || o.Expected != tc.expected || o.Actual != tc.actual {
				t.Errorf("Eval(%v) = %v, %q, %q; want %v, %q, %q", tc.args, o.Pass, o.Expected, o.Actual, tc.pass, tc.expected, tc.actual)
			}
		})
	}
}

// TestMeasures measures the simulated runs, and grades an answer with the
// truth measured, as the grader does.
func TestMeasures(t *testing.T) {
	evs := evidence(t)
	ms := map[string]Measure{}
	for _, m := range Measures() {
		ms[m.Name] = m
	}
	synSeq := func(run, node, flags string) string {
		for _, e := range evs[run].Traces[node] {
			if e.Flags == flags {
				return strconv.FormatUint(uint64(e.Seq), 10)
			}
		}
		t.Fatalf("no %s in %s/%s", flags, run, node)
		return ""
	}
	for _, tc := range []struct {
		measure, run string
		args         Args
		want         string // "" with err
		err          string
	}{
		{"isn", "clean", Args{"node": "a"}, synSeq("clean", "a", "S"), ""},
		{"isn", "clean", Args{"node": "a", "side": "remote"}, synSeq("clean", "a", "S."), ""},
		{"isn", "clean", Args{"node": "b"}, synSeq("clean", "b", "S."), ""},
		{"isn", "clean", Args{"node": "b", "side": "remote"}, "", "the trace holds no SYN from the peer"},
		{"mss", "clamped", Args{"node": "a", "side": "remote"}, "1000", ""},
		{"mss", "clamped", Args{"node": "a"}, "1460", ""},
		{"wscale", "clean", Args{"node": "a"}, "7", ""},
		{"wscale", "clamped", Args{"node": "a"}, "", "the S at 0.000s carries no wscale option (options: mss 1460,sackOK,TS val 2008874150 ecr 0)"},
		{"syn-options", "clean", Args{"node": "a"}, "mss,sackOK,TS,wscale", ""},
		{"syn-options", "clamped", Args{"node": "b"}, "mss,sackOK", ""},
		{"retransmits", "loss", Args{"node": "a", "kind": "fast"}, "1", ""},
		{"retransmits", "outage", Args{"node": "a"}, "82", ""},
		{"rto", "outage", Args{"node": "a"}, "200", ""},
		{"rto", "outage", Args{"node": "a", "backoffs": "2"}, "800", ""},
		{"rto", "outage", Args{"node": "a", "backoffs": "4"}, "", "no segment timed out 5 times (at most 4)"},
		{"rto", "clean", Args{"node": "a"}, "", "no retransmission timeout"},
		{"srtt", "clean", Args{"node": "a", "at": "max"}, "15", ""}, // the handshake's sample: 10 ms and ARP's
		{"srtt", "clean", Args{"node": "a", "at": "min"}, "13.828", ""},
		{"segments", "clean", Args{"node": "a"}, "21", ""}, // 30000 bytes in segments of 1448
		{"segments", "loss", Args{"node": "a"}, "21", ""},  // the retransmission is not one more
		{"segments", "clean", Args{"node": "b"}, "0", ""},
		{"bytes", "clean", Args{"node": "b"}, "30000", ""},
		{"bytes", "zerowin", Args{"node": "b"}, "60000", ""},
		{"bytes", "clean", Args{"node": "c"}, "", "no trace of node c"},
		// 30000 bytes, the last acknowledged 20 ms after the first left.
		{"goodput", "clean", Args{"node": "a"}, "12.000", ""},
		{"goodput", "lossy", Args{"node": "a"}, "17.778", ""}, // 400000 bytes in 180 ms
		{"goodput", "clean", Args{"node": "b"}, "", "the node sent no data"},
		// Reno: ssthresh 11380 from a flight of 22761 (cwnd 21720).
		{"reduction", "loss", Args{"node": "a", "of": "flight"}, "0.50", ""},
		{"reduction", "loss", Args{"node": "a"}, "0.52", ""},
		{"reduction", "outage", Args{"node": "a", "of": "flight"}, "0.50", ""}, // an RTO
		// CUBIC: ssthresh 85142 from a cwnd of 121632 (flight 124528), then
		// an RTO: 59599 from 85142.
		{"reduction", "cubic", Args{"node": "a"}, "0.70", ""},
		{"reduction", "cubic", Args{"node": "a", "of": "flight"}, "0.68", ""},
		{"reduction", "cubic", Args{"node": "a", "at": "2"}, "0.70", ""},
		{"reduction", "lossy", Args{"node": "a", "at": "3"}, "", "no loss 3: only 2 losses"},
		{"reduction", "clean", Args{"node": "a"}, "", "no loss: the connection never entered fast recovery nor had an RTO"},
		{"loss-events", "clean", Args{"node": "a"}, "0", ""},
		{"loss-events", "loss", Args{"node": "a"}, "1", ""},
		{"loss-events", "outage", Args{"node": "a"}, "1", ""}, // 82 retransmissions, 4 RTOs: one event
		{"loss-events", "lossy", Args{"node": "a"}, "2", ""},
		{"loss-events", "cubic", Args{"node": "a"}, "2", ""}, // a fast recovery, then an RTO
		// 1448 bytes × 8 / 14.375 ms × sqrt(3/2 × 21/1)
		{"mathis", "loss", Args{"node": "a"}, "4.523", ""},
		// 1448 bytes × 8 / 24.487 ms × sqrt(3/2 × 277/2)
		{"mathis", "lossy", Args{"node": "a"}, "6.819", ""},
		{"mathis", "clean", Args{"node": "a"}, "", "no loss event in 21 data segments: the formula needs a loss rate above 0"},
		{"mathis", "clean", Args{"node": "b"}, "", "the node sent no data"},
	} {
		t.Run(tc.measure+"/"+tc.run, func(t *testing.T) {
			f, err := ms[tc.measure].New(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f(evs[tc.run])
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v on %s = %q, %v; want %q, %q", tc.measure, tc.args, tc.run, got, err, tc.want, tc.err)
			}
		})
	}
	// A SYN without options: "none", an answer, not an empty string.
	bare := slices.Clone(evs["clean"].Traces["a"])
	for i := range bare {
		if bare[i].Flags == "S" {
			bare[i].Options = ""
		}
	}
	f0, _ := ms["syn-options"].New(Args{"node": "a"})
	if got, err := f0(&Evidence{Traces: map[string][]trace.Event{"a": bare}}); got != "none" || err != nil {
		t.Errorf("syn-options of a SYN without options = %q, %v; want none", got, err)
	}
	// The grader's path: the truth measured, the student's answer graded.
	f, _ := ms["rto"].New(Args{"node": "a", "backoffs": "1"})
	truth, err := f(evs["outage"])
	if err != nil {
		t.Fatal(err)
	}
	ev := &Evidence{Truth: map[string]string{"rto2": truth}, Answers: map[string]string{"rto2": "0.4s"}}
	k, _ := kindByName("answer")
	c, _ := k.New(Args{"name": "rto2"})
	if o := c.Eval(ev); o.Pass || o.Expected != "400" {
		t.Errorf("answer 0.4s for an RTO of %s ms: %+v, want a fail expecting 400", truth, o)
	}
	ev.Answers["rto2"] = "400"
	if o := c.Eval(ev); !o.Pass {
		t.Errorf("answer 400 for an RTO of %s ms: %+v, want a pass", truth, o)
	}

	// Mathis's prediction without the square root (MSS/RTT × sqrt(3/2)
	// / p) is far from the truth; with it, and the MSS rounded to 1460,
	// it is within 5%.
	f, _ = ms["mathis"].New(Args{"node": "a"})
	truth, err = f(evs["lossy"])
	if err != nil {
		t.Fatal(err)
	}
	ev = &Evidence{Truth: map[string]string{"mathis": truth}, Answers: map[string]string{}}
	c, _ = k.New(Args{"name": "mathis", "tolerance": "5%"})
	const mss, rtt, p = 1448 * 8, 0.024487, 2.0 / 277
	for _, tc := range []struct {
		answer float64
		pass   bool
	}{
		{mss / rtt * math.Sqrt(1.5) / p / 1e6, false},
		{1460 * 8 / rtt * math.Sqrt(1.5/p) / 1e6, true},
	} {
		ev.Answers["mathis"] = strconv.FormatFloat(tc.answer, 'f', 3, 64)
		if o := c.Eval(ev); o.Pass != tc.pass {
			t.Errorf("answer %s for a Mathis prediction of %s: pass %v, want %v", ev.Answers["mathis"], truth, o.Pass, tc.pass)
		}
	}
}

// TestGoodputPartial: a trace that ends before the last byte is
// acknowledged counts what was: on "clean", the ACK of 14480 bytes came
// 10 ms after the first data segment left.
func TestGoodputPartial(t *testing.T) {
	evs := evidence(t)
	var m Measure
	for _, x := range Measures() {
		if x.Name == "goodput" {
			m = x
		}
	}
	f, err := m.New(Args{"node": "a"})
	if err != nil {
		t.Fatal(err)
	}
	full := evs["clean"].Traces["a"]
	for _, tc := range []struct {
		events int
		want   string
	}{
		{37, "11.584"}, // up to "< . ack 14481", a duplicate of it included
		{16, ""},       // ten segments sent, none acknowledged
	} {
		got, err := f(&Evidence{Traces: map[string][]trace.Event{"a": full[:tc.events]}})
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("goodput of the first %d events = %q, %v; want %q", tc.events, got, err, tc.want)
		}
	}
	// 1000 bytes and a FIN, both acknowledged 1 ms later: 8 Mbit/s, the
	// FIN's sequence number no payload.
	syn, fin := full[1], full[0]
	fin.Kind, fin.Flags, fin.Seq, fin.Len, fin.TimeUS = trace.KindOut, "FP.", syn.Seq+1, 1000, syn.TimeUS+5000
	ack := fin
	ack.Kind, ack.Flags, ack.Seq, ack.Len, ack.Ack, ack.TimeUS = trace.KindIn, ".", 0, 0, syn.Seq+1002, fin.TimeUS+1000
	if got, err := f(&Evidence{Traces: map[string][]trace.Event{"a": {syn, fin, ack}}}); got != "8.000" {
		t.Errorf("goodput of 1000 bytes and a FIN acknowledged in 1 ms = %q, %v; want 8.000", got, err)
	}
}
