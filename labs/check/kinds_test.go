package check

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/netlab/netlab/trace"
)

// TestKindsShape: every kind has a name, a doc, documented keys, required
// keys among them, and a constructor that refuses unknown and missing keys
// with an *ArgError naming the key.
func TestKindsShape(t *testing.T) {
	ks := Kinds()
	if !sort.SliceIsSorted(ks, func(i, j int) bool { return ks[i].Name < ks[j].Name }) {
		t.Error("Kinds is not sorted by name")
	}
	want := []string{"answer", "counter", "delivered", "fast-retransmit", "goodput", "handshake", "inflight-bounded", "max-segment",
		"retransmits", "rto-backoff", "sequence", "ssthresh-halved", "step", "time-wait", "window", "zero-window"}
	var got []string
	for _, k := range ks {
		got = append(got, k.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Kinds = %v, want %v", got, want)
	}
	for _, k := range ks {
		if k.Doc == "" || len(k.Keys) == 0 || k.New == nil {
			t.Errorf("kind %s: empty Doc, Keys or New", k.Name)
		}
		for key, doc := range k.Keys {
			if doc == "" || strings.Contains(doc, "\n") {
				t.Errorf("kind %s: key %s: want a one-line doc, have %q", k.Name, key, doc)
			}
		}
		for _, r := range k.Required {
			if _, ok := k.Keys[r]; !ok {
				t.Errorf("kind %s: required key %s is not among its keys", k.Name, r)
			}
		}
		_, err := k.New(Args{"bogus": "1"})
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Key != "bogus" || !strings.Contains(ae.Msg, "unknown key") {
			t.Errorf("kind %s: New(bogus) = %v, want an unknown-key ArgError naming bogus", k.Name, err)
		}
		if len(k.Required) > 0 {
			_, err := k.New(Args{})
			if !errors.As(err, &ae) || ae.Key != k.Required[0] {
				t.Errorf("kind %s: New() = %v, want an ArgError naming %s", k.Name, err, k.Required[0])
			}
		}
	}
}

// TestArgErrors: each kind's constructor refuses bad values, naming the
// key (and the item of a list).
func TestArgErrors(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		args  Args
		key   string
		index int
		msg   string
	}{
		{"handshake", Args{"node": ""}, "node", 0, "name the node"},
		{"handshake", Args{"node": "a", "options": []string{"mss", "wsacle"}}, "options", 2, "did you mean wscale?"},
		{"handshake", Args{"node": "a", "mss": "-1"}, "mss", 0, "want a whole number"},
		{"handshake", Args{"node": []string{"a"}}, "node", 0, "want a single value, not a list"},
		{"max-segment", Args{"node": "a", "mss": "0"}, "mss", 0, "positive"},
		{"retransmits", Args{"node": "a"}, "min", 0, "give min, max or both"},
		{"retransmits", Args{"node": "a", "min": "3", "max": "2"}, "max", 0, "max 2 is below min 3"},
		{"retransmits", Args{"node": "a", "min": "1", "kind": "fats"}, "kind", 0, `"fats" is not one of any, fast, rto (did you mean fast?)`},
		{"ssthresh-halved", Args{"node": "a", "factor": "2"}, "factor", 0, "between 0 and 1"},
		{"ssthresh-halved", Args{"node": "a", "tolerance": "lots"}, "tolerance", 0, "want bytes"},
		{"rto-backoff", Args{"node": "a", "tolerance": "fast"}, "tolerance", 0, "want a duration"},
		{"rto-backoff", Args{"node": "a", "max-rto": "120"}, "max-rto", 0, "add a unit"},
		{"time-wait", Args{"node": "a", "held": "1 minute"}, "held", 0, "bad duration"},
		{"sequence", Args{"node": "a", "expect": []string{}}, "expect", 0, "at least one pattern line"},
		{"sequence", Args{"node": "a", "expect": []string{"> S", "< X"}}, "expect", 2, `'X' is not a flag`},
		{"sequence", Args{"node": "a", "expect": []any{"> S", 3}}, "expect", 2, "a pattern starts with >"},
		{"sequence", Args{"node": "a", "expect": []any{"> S", []string{"x"}}}, "expect", 2, "want a single value, not a list"},
		{"delivered", Args{"sent": "send"}, "received", 0, "give the step that received"},
		{"delivered", Args{"bytes": "10"}, "node", 0, "give the node"},
		{"delivered", Args{}, "sent", 0, "give sent and received"},
		{"delivered", Args{"bytes": "ten", "node": "b"}, "bytes", 0, "bad size"},
		{"delivered", Args{"sent": "s", "received": "r", "conn": "#0"}, "conn", 0, "conn needs node"},
		{"delivered", Args{"sent": "s", "received": "r", "node": "b"}, "node", 0, "give one or the other"},
		{"counter", Args{"step": "s", "name": "X"}, "min", 0, "give min, max or both"},
		{"answer", Args{"name": "x", "tolerance": "-1"}, "tolerance", 0, "bad tolerance"},
		{"step", Args{"step": "s"}, "equals", 0, "give equals, regex or exit"},
		{"step", Args{"step": "s", "regex": "("}, "regex", 0, "bad regular expression"},
		{"window", Args{"node": "a"}, "min", 0, "give min, max or both"},
		{"goodput", Args{"node": "a"}, "min", 0, "give min, max or both"},
		{"goodput", Args{"node": "a", "min": "fast"}, "min", 0, "rate"},
		{"goodput", Args{"node": "a", "min": "10mbit", "max": "1mbit"}, "max", 0, "below min"},
		{"window", Args{"node": "a", "min": "lots"}, "min", 0, "bad size"},
		{"window", Args{"node": "a", "min": "64KB", "max": "1KB"}, "max", 0, "below min"},
	} {
		t.Run(tc.kind+"/"+tc.key, func(t *testing.T) {
			k, _ := kindByName(tc.kind)
			_, err := k.New(tc.args)
			var ae *ArgError
			if !errors.As(err, &ae) || ae.Key != tc.key || ae.Index != tc.index || !strings.Contains(ae.Msg, tc.msg) {
				t.Errorf("New(%v) = %#v, want ArgError{Key: %q, Index: %d} with %q", tc.args, err, tc.key, tc.index, tc.msg)
			}
		})
	}
	e := &ArgError{Key: "expect", Index: 2, Msg: "bad"}
	if e.Error() != "expect item 2: bad" {
		t.Errorf("ArgError.Error() = %q", e.Error())
	}
}

func TestMeasuresShape(t *testing.T) {
	ms := Measures()
	if !sort.SliceIsSorted(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name }) {
		t.Error("Measures is not sorted by name")
	}
	for _, m := range ms {
		if m.Doc == "" || m.New == nil || len(m.Required) == 0 {
			t.Errorf("measure %s: empty Doc, New or Required", m.Name)
		}
		_, err := m.New(Args{"node": "a", "bogus": "1"})
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Key != "bogus" {
			t.Errorf("measure %s: New(bogus) = %v, want an ArgError naming bogus", m.Name, err)
		}
	}
}

// TestMeasureArgErrors: the measures' constructors refuse bad values,
// naming the key.
func TestMeasureArgErrors(t *testing.T) {
	ms := map[string]Measure{}
	for _, m := range Measures() {
		ms[m.Name] = m
	}
	for _, tc := range []struct {
		measure string
		args    Args
		key     string
		msg     string
	}{
		{"reduction", Args{"node": "a", "at": "0"}, "at", "want 1 (the first loss) or more"},
		{"reduction", Args{"node": "a", "at": "first"}, "at", "want a whole number"},
		{"reduction", Args{"node": "a", "of": "flights"}, "of", `"flights" is not one of cwnd, flight (did you mean flight?)`},
		{"reduction", Args{"node": "a", "of": []string{"cwnd"}}, "of", "want a single value, not a list"},
		{"goodput", Args{"node": ""}, "node", "name the node"},
		{"mathis", Args{}, "node", "required"},
		{"loss-events", Args{"node": "a", "conn": []string{":5001"}}, "conn", "want a single value"},
	} {
		t.Run(tc.measure+"/"+tc.key, func(t *testing.T) {
			_, err := ms[tc.measure].New(tc.args)
			var ae *ArgError
			if !errors.As(err, &ae) || ae.Key != tc.key || !strings.Contains(ae.Msg, tc.msg) {
				t.Errorf("New(%v) = %#v, want ArgError{Key: %q} with %q", tc.args, err, tc.key, tc.msg)
			}
		})
	}
}

// TestMeasuresNeverPanic measures every measure on every prefix of real
// traces (cut before the SYN-ACK, in recovery, before the last ACK...) and
// on odd evidence: a value or an error, never both (nor neither, but for an
// empty list of SYN options).
func TestMeasuresNeverPanic(t *testing.T) {
	evs := evidence(t)
	odd := []*Evidence{
		{},
		{Traces: map[string][]trace.Event{"a": {{Kind: trace.KindLost, Len: 2}}, "b": nil}},
		{Traces: map[string][]trace.Event{"a": {
			{Kind: trace.KindOut, Flags: "S", Len: -5, Local: evs["clean"].Traces["a"][1].Local, Remote: evs["clean"].Traces["a"][1].Remote},
			{Kind: trace.KindIn, Flags: ".", Ack: 1 << 31, SRTTUS: -1, CAState: "loss", Local: evs["clean"].Traces["a"][1].Local, Remote: evs["clean"].Traces["a"][1].Remote},
			{Kind: trace.KindOut, Flags: "P.", Len: 10, CAState: "loss", Ssthresh: infinite, Local: evs["clean"].Traces["a"][1].Local, Remote: evs["clean"].Traces["a"][1].Remote},
		}}},
	}
	for _, run := range []string{"clean", "loss", "outage", "zerowin", "clamped", "refused", "lossy", "cubic"} {
		for _, node := range []string{"a", "b"} {
			full := evs[run].Traces[node]
			step := max(1, len(full)/25)
			for n := 0; n <= len(full); n += step {
				odd = append(odd, &Evidence{Traces: map[string][]trace.Event{node: full[:n]}})
			}
		}
	}
	for _, m := range Measures() {
		for _, node := range []string{"a", "b"} {
			args := []Args{{"node": node}}
			if m.Name == "reduction" {
				args = append(args, Args{"node": node, "of": "flight", "at": "2"})
			}
			for _, a := range args {
				f, err := m.New(a)
				if err != nil {
					t.Fatalf("%s: New(%v) = %v", m.Name, a, err)
				}
				for _, ev := range odd {
					got, err := f(ev)
					// A SYN without options has an empty list of them.
					if got != "" && err != nil || got == "" && err == nil {
						t.Errorf("%s %v = %q, %v: want a value or an error", m.Name, a, got, err)
					}
				}
			}
		}
	}
}

// TestEvalNeverPanics evaluates every kind, with arguments that reach its
// evaluation, on every prefix of real traces (connections cut anywhere:
// before the SYN-ACK, in recovery, in TIME-WAIT...) and on odd evidence,
// and checks the outcome's shape.
func TestEvalNeverPanics(t *testing.T) {
	evs := evidence(t)
	args := map[string]Args{
		"answer":    {"name": "isn"},
		"counter":   {"step": "nstat-a", "name": "TcpRetransSegs", "min": "1"},
		"delivered": {"node": "b", "bytes": "30000"},
		"sequence":  {"expect": []string{"> S", "< S.", "...", "> . retrans", "< . ack=+1448 {2,}"}},
		"step":      {"step": "send", "field": "sha256", "regex": "^[0-9a-f]{64}$"},
		"window":    {"min": "64KiB"},
		"goodput":   {"min": "1mbit"},
	}
	var checks []Check
	for _, k := range Kinds() {
		for _, node := range []string{"a", "b"} {
			a := Args{}
			if _, ok := k.Keys["node"]; ok {
				a["node"] = node
			}
			for key, v := range args[k.Name] {
				a[key] = v
			}
			if k.Name == "retransmits" {
				a["min"] = "1"
			}
			c, err := k.New(a)
			if err != nil {
				t.Fatalf("%s: New(%v) = %v", k.Name, a, err)
			}
			checks = append(checks, c)
		}
	}
	odd := []*Evidence{
		{},
		{Traces: map[string][]trace.Event{"a": {{Kind: trace.KindLost, Len: 2}}, "b": nil}},
		{Traces: map[string][]trace.Event{"a": {{Kind: trace.KindOut, Flags: "S", Len: -5, Local: evs["clean"].Traces["a"][1].Local, Remote: evs["clean"].Traces["a"][1].Remote}}},
			Steps: map[string]any{"send": nil, "nstat-a": []any{1.0}}, Answers: map[string]string{"isn": ""}, Truth: map[string]string{"isn": "x"}},
	}
	for _, run := range []string{"clean", "loss", "outage", "zerowin", "clamped", "refused", "lossy", "cubic"} {
		for _, node := range []string{"a", "b"} {
			full := evs[run].Traces[node]
			step := max(1, len(full)/25) // some 25 cuts a trace
			for n := 0; n <= len(full); n += step {
				ev := *evs[run]
				ev.Traces = map[string][]trace.Event{"a": evs[run].Traces["a"], "b": evs[run].Traces["b"]}
				ev.Traces[node] = full[:n]
				odd = append(odd, &ev)
			}
		}
	}
	for _, ev := range odd {
		for _, c := range checks {
			checkOutcomeShape(t, c.Eval(ev))
		}
	}
}
