package impair

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netlab/netlab/stack/wire"
)

// Values for the tests, without positions.
func str(s string) Value { return Value{Kind: KindScalar, Text: s} }
func num(n int) Value    { return Value{Kind: KindScalar, Text: strconv.Itoa(n), Tag: TagInt} }
func list(vs ...Value) Value {
	return Value{Kind: KindList, Items: vs}
}

// block builds a mapping from key, value pairs.
func block(kv ...any) Value {
	v := Value{Kind: KindMap}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Fields = append(v.Fields, Field{Key: kv[i].(string), Value: kv[i+1].(Value)})
	}
	return v
}

// at gives v a position.
func at(v Value, line, col int) Value {
	v.Pos = Pos{line, col}
	return v
}

func TestParse(t *testing.T) {
	small := DistTable{1, 2, 3}
	load := func(name string) (DistTable, string, error) {
		if name == "small.dist" {
			return small, "/tables/small.dist", nil
		}
		return nil, "", errors.New("open " + name + ": no such file or directory")
	}
	tests := []struct {
		name string
		v    Value
		want Config
	}{
		{"empty: netem's queue limit", block(), Config{Limit: DefaultLimit}},
		{"delay and jitter: uniform", block("delay", str("10ms"), "jitter", str("1ms"), "correlation", str("25")),
			Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DelayCorrelation: 0.25, DistributionName: "uniform", Limit: DefaultLimit}},
		{"built-in table", block("delay", str("10ms"), "jitter", str("1ms"), "distribution", str("normal")),
			Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DistributionName: "normal", Distribution: NormalTable(), Limit: DefaultLimit}},
		{"table from a file", block("delay", str("10ms"), "jitter", str("1ms"), "distribution", str("small.dist")),
			Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DistributionName: "/tables/small.dist", Distribution: small, Limit: DefaultLimit}},
		{"random loss", block("loss", str("2%"), "limit", num(10)), Config{Loss: RandomLoss(0.02, 0), Limit: 10}},
		{"state defaults", block("loss-model", block("model", str("state"), "p13", str("5%"), "p23", str("50%"))),
			Config{Loss: Loss{Model: LossState, P13: 0.05, P31: 0.95, P23: 0.5}, Limit: DefaultLimit}},
		{"gemodel defaults", block("loss-model", block("model", str("gemodel"), "p", str("1%")), "limit-bytes", str("64KiB")),
			Config{Loss: GELoss(0.01), LimitBytes: 64 << 10}},
		{"reorder: gap 1", block("delay", str("5ms"), "reorder", str("10%")),
			Config{Delay: 5 * time.Millisecond, Reorder: 0.1, Gap: 1, Limit: DefaultLimit}},
		{"schedules", block("order", str("keep"), "drop-every", num(3), "drop-packets", list(num(2), num(9)),
			"drop-match", list(str("syn first")), "outage", block("every", str("10s"), "for", str("1s")), "seed", str("42")),
			Config{Order: KeepOrder, DropEveryNth: 3, DropPackets: []uint64{2, 9}, DropMatch: []Match{{Flags: wire.TCPFlagSYN, Count: 1}},
				Outage: Outage{Every: 10 * time.Second, For: time.Second}, Seed: 42, Limit: DefaultLimit}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.v, ParseOptions{Name: "netem", LoadTable: load})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Config{}, "Trace")); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseErrors checks the messages, paths and positions of problems.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		opts ParseOptions
		want []Error
	}{
		{"unknown key", block("lost", str("2%")), ParseOptions{Name: "netem"},
			[]Error{{Path: "lost", Msg: `unknown key "lost" in netem; did you mean "loss"? (allowed: codel, correlation, corrupt, delay, distribution, drop-every, drop-match, drop-packets, duplicate, ecn, gap, jitter, limit, limit-bytes, loss, loss-model, order, outage, rate, rate-overhead, reorder, seed)`}}},
		{"value at its position", block("delay", at(str("fast"), 3, 9)), ParseOptions{Name: "netem"},
			[]Error{{Path: "delay", Pos: Pos{3, 9}, Msg: `delay: bad duration "fast" (allowed: a number with a unit ns, us, ms, s, m or h, e.g. 50ms)`}}},
		{"too long", block("delay", str("2h")), ParseOptions{Name: "netem"},
			[]Error{{Path: "delay", Msg: "delay: 2h0m0s is too long (allowed: up to 1h0m0s)"}}},
		{"a list item", block("drop-packets", list(num(3), num(0))), ParseOptions{Name: "netem"},
			[]Error{{Path: "drop-packets[1]", Msg: "drop-packets 0: must be at least 1 (frames are numbered from 1, the first frame sent)"}}},
		{"twice, no positions", block("drop-packets", list(num(3), num(3))), ParseOptions{Name: "netem"},
			[]Error{{Path: "drop-packets[1]", Msg: "drop-packets: frame 3 is listed twice (first at item 1)"}}},
		{"twice, positions", block("drop-packets", list(at(num(3), 2, 17), at(num(3), 2, 20))), ParseOptions{Name: "netem"},
			[]Error{{Path: "drop-packets[1]", Pos: Pos{2, 20}, Msg: "drop-packets: frame 3 is listed twice (first at 2:17)"}}},
		{"a nested key", block("loss-model", block("model", str("gemodel"), "p", str("1%"), "p13", str("5%"))), ParseOptions{Name: "netem.a-to-b"},
			[]Error{{Path: "loss-model.p13", Msg: "netem.a-to-b.loss-model: p13 is not a parameter of model gemodel (allowed: p, r, 1-h, 1-k)"}}},
		{"state sums", block("loss-model", block("model", str("state"), "p13", str("10%"), "p32", str("50%"))), ParseOptions{Name: "netem"},
			[]Error{{Path: "loss-model", Msg: "netem.loss-model: p31 + p32 = 140% exceeds 100% (state 3 moves to 1 or 2, or stays; p31 is 100% - p13 unless given)"}}},
		{"combination", block("jitter", str("1ms")), ParseOptions{Name: "netem"},
			[]Error{{Path: "jitter", Msg: "netem: jitter needs delay (jitter spreads the delay around its value)"}}},
		{"a file table without a loader", block("delay", str("1ms"), "jitter", str("1ms"), "distribution", str("wifi.dist")), ParseOptions{Name: "netem"},
			[]Error{{Path: "distribution", Msg: `distribution: "wifi.dist": only the built-in distributions can be used here (uniform, normal, pareto, paretonormal)`}}},
		{"not a mapping", list(), ParseOptions{Name: "netem"},
			[]Error{{Msg: "netem: want a mapping, got a list"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.v, tc.opts)
			var el ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("Parse error = %v (%T), want an ErrorList", err, err)
			}
			var got []Error
			for _, e := range el {
				got = append(got, *e)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigString(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"netem's default limit", Config{Limit: DefaultLimit}, ""},
		{"netem", Config{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, DelayCorrelation: 0.25, DistributionName: "pareto",
			Loss: StateLoss(0.01), Duplicate: 0.01, Corrupt: 0.001, Reorder: 0.25, Gap: 5, Rate: 1500, Overhead: 14, ECN: true,
			Limit: 50, LimitBytes: 1024},
			"delay 100ms 10ms 25% distribution pareto loss state 1% 99% 0% 100% 0% duplicate 1% corrupt 0.1% reorder 25% gap 5 rate 1500bit 14 ecn limit 50 limit-bytes 1024"},
		{"uniform is not said", Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DistributionName: "uniform"}, "delay 10ms 1ms"},
		{"gemodel and correlations", Config{Loss: GELoss(0.01), Duplicate: 0.1, DuplicateCorrelation: 0.5},
			"loss gemodel 1% 99% 100% 0% duplicate 10% 50%"},
		{"order keep", Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DistributionName: "uniform", Order: KeepOrder}, "delay 10ms 1ms order keep"},
		{"drop every", Config{DropEveryNth: 10}, "drop every 10"},
		{"drop packets", Config{DropPackets: []uint64{3, 7}}, "drop packets 3,7"},
		{"drop-match", Config{DropMatch: []Match{{Flags: wire.TCPFlagSYN, Count: 1}, {Flags: wire.TCPFlagFIN}, {Data: true, Skip: 2, Count: 1}}},
			"drop-match syn first drop-match fin drop-match data nth=3"},
		{"outage", Config{Outage: Outage{Every: 10 * time.Second, For: 2 * time.Second}}, "outage 2s every 10s"},
		{"outage offset", Config{Outage: Outage{Every: time.Minute, For: time.Second, Offset: 5 * time.Second}}, "outage 1s every 1m0s offset 5s"},
		{"down", Config{Down: true}, "down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	if got := (*Config)(nil).String(); got != "" {
		t.Errorf("nil String() = %q, want empty", got)
	}
}

// TestConfigJSON checks that a Config survives JSON (the agent's API
// carries it), a built-in table by its name only.
func TestConfigJSON(t *testing.T) {
	seq := uint32(1101)
	for _, c := range []Config{
		{},
		{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, DelayCorrelation: 0.2, DistributionName: "pareto", Distribution: ParetoTable(),
			Order: KeepOrder, Loss: StateLoss(0.01, 0.5), Duplicate: 0.01, Corrupt: 0.02, Reorder: 0.1, Gap: 2, Rate: 1e6, Overhead: -4,
			CellSize: 48, CellOverhead: 5, Limit: 7, LimitBytes: 9000, CoDel: true, CoDelTarget: time.Millisecond, ECN: true,
			DropEveryNth: 5, DropPackets: []uint64{1, 4}, DropMatch: []Match{{Seq: &seq, Data: true}, {Proto: 17, DstPort: 53}},
			Outage: Outage{Every: time.Minute, For: time.Second}, Down: true, Seed: 99},
		{Delay: time.Millisecond, Jitter: time.Millisecond, DistributionName: "/x/wifi.dist", Distribution: DistTable{-1, 5, 9}, Loss: GELoss(0.1)},
	} {
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "distribution-table") != (c.DistributionName == "/x/wifi.dist") {
			t.Errorf("JSON %s: want a table only for a distribution that is not built in", b)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if diff := cmp.Diff(c, back, cmpopts.IgnoreFields(Config{}, "Trace"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("JSON %s round trip (-want +got):\n%s", b, diff)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"distribution": "/x/wifi.dist"}`), &c); err == nil {
		t.Error("a file distribution without its table was accepted")
	}
	if err := json.Unmarshal([]byte(`{"loss": {"model": "bursty"}}`), &c); err == nil {
		t.Error("an unknown loss model was accepted")
	}
}
