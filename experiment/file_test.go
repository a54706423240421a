package experiment

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadExample(t *testing.T) {
	x, err := Load("testdata/cc.yml")
	if err != nil {
		t.Fatal(err)
	}
	if x.Name != "cc" || x.Repetitions != 3 || x.Order != OrderRandom || x.Duration != 4*time.Second ||
		x.Warmup != time.Second || x.Seed != 7 || x.Sample != DefaultSample || x.Bottleneck != DefaultBottleneck {
		t.Fatalf("experiment %+v", x)
	}
	if abs, _ := filepath.Abs("testdata/db.yml"); x.Topology != abs {
		t.Errorf("topology %s, want %s (relative to the experiment file)", x.Topology, abs)
	}
	// 2×2×2 cells less the two of reno with queue 20; indexes keep the
	// matrix's numbering.
	var keys []string
	var idx []int
	for _, c := range x.Cells {
		keys = append(keys, c.Key(x.Params))
		idx = append(idx, c.Index)
	}
	want := []string{"cc=reno,delay=5ms,queue=100", "cc=reno,delay=25ms,queue=100", "cc=cubic,delay=5ms,queue=20",
		"cc=cubic,delay=5ms,queue=100", "cc=cubic,delay=25ms,queue=20", "cc=cubic,delay=25ms,queue=100"}
	if !slices.Equal(keys, want) || !slices.Equal(idx, []int{1, 3, 4, 5, 6, 7}) {
		t.Fatalf("cells %v %v, want %v [1 3 4 5 6 7]", keys, idx, want)
	}
	c := x.Cells[4] // cubic, 25ms, 20
	l := c.Links[0]
	if l.Link != "bottleneck" || l.Fields["delay"] != "25ms" || l.Fields["limit"] != "20" || l.Fields["rate"] != "20mbit" || l.Fields["loss"] != "0.1%" {
		t.Errorf("link setting %+v", l)
	}
	if len(c.Workloads) != 2 {
		t.Fatalf("workloads %+v", c.Workloads)
	}
	b, p := c.Workloads[0], c.Workloads[1]
	if b.Kind != KindBulk || b.From != "group=left" || b.To != "rcv*" || b.CC != "cubic" || b.Stagger != 100*time.Millisecond || b.Flows != 0 {
		t.Errorf("bulk %+v", b)
	}
	if p.Kind != KindProbe || p.Interval != 50*time.Millisecond {
		t.Errorf("probe %+v", p)
	}
	// Events sorted by time.
	var evs []string
	for _, e := range c.Events {
		evs = append(evs, e.At.String()+" "+e.Action)
	}
	// The flap is its outages.
	if !slices.Equal(evs, []string{"500ms down", "700ms up", "1s down", "1.2s up", "2s down", "2.5s up", "3s set"}) ||
		c.Events[6].Fields["delay"] != "25ms" || c.Events[0].Link != "r1:eth1" {
		t.Errorf("events %v %+v", evs, c.Events)
	}
	if len(x.Asserts) != 3 || x.Asserts[1].Value != 0.2 || x.Asserts[2].Value != 15e6 || x.Asserts[0].Op != ">=" {
		t.Errorf("asserts %+v", x.Asserts)
	}
}

func TestTrialsAndSeeds(t *testing.T) {
	x, err := Load("testdata/cc.yml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := x.Trials(), x.Trials()
	if len(a) != 18 {
		t.Fatalf("%d trials, want 6 cells × 3", len(a))
	}
	seen := map[uint64]bool{}
	for i := range a {
		if a[i].Cell != b[i].Cell || a[i].Rep != b[i].Rep || a[i].Seed != b[i].Seed {
			t.Fatalf("trial %d differs between two calls: the order and seeds must come from the seed alone", i)
		}
		if seen[a[i].Seed] {
			t.Fatalf("seed %d twice", a[i].Seed)
		}
		seen[a[i].Seed] = true
	}
	// Sequential: repetition by repetition, the file's cell order; the
	// seeds do not depend on the order, nor on other cells.
	x.Order = OrderSequential
	s := x.Trials()
	for i, tr := range s {
		if tr.Rep != i/6+1 || tr.Cell != x.Cells[i%6] {
			t.Fatalf("sequential trial %d is cell %d rep %d", i, tr.Cell.Index, tr.Rep)
		}
	}
	bySeed := map[uint64]bool{}
	for _, tr := range a {
		bySeed[tr.Seed] = true
	}
	for _, tr := range s {
		if !bySeed[tr.Seed] {
			t.Fatalf("cell %d rep %d has another seed in sequential order", tr.Cell.Index, tr.Rep)
		}
	}
	x.Cells = x.Cells[1:]
	if got := x.Trials(); got[0].Seed != s[1].Seed {
		t.Errorf("dropping a cell changed another cell's seed")
	}
	x.Seed = 8
	if got := x.Trials(); got[0].Seed == s[1].Seed {
		t.Errorf("another experiment seed kept the trial's seed")
	}
}

func TestSelect(t *testing.T) {
	names := []string{"r1", "r2", "rcv1", "rcv2", "snd1", "snd2"}
	labels := map[string]map[string]string{"snd1": {"group": "left"}, "snd2": {"group": "left"}, "r1": {"group": "left"}, "rcv1": {"group": "right"}}
	lf := func(n string) map[string]string { return labels[n] }
	for _, tc := range []struct {
		sel  string
		want []string
		err  string
	}{
		{"snd1", []string{"snd1"}, ""},
		{"snd*", []string{"snd1", "snd2"}, ""},
		{"group=left", []string{"r1", "snd1", "snd2"}, ""},
		{"rcv2, snd1", []string{"rcv2", "snd1"}, ""},
		{"snd1,snd*", []string{"snd1", "snd2"}, ""},
		{"h*", nil, `"h*" picks no node`},
		{"group=middle", nil, `"group=middle" picks no node`},
	} {
		got, err := Select(tc.sel, names, lf)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.sel, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.sel, got, err, tc.want)
		}
	}
}

func TestErrorsArePositioned(t *testing.T) {
	base := "topology: db.yml\nworkloads:\n  - bulk: {from: snd1, to: rcv1}\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown key", base + "repetition: 3\n", `x.yml:4:1: unknown key "repetition"; did you mean "repetitions"?`},
		{"no topology", "workloads:\n  - bulk: {from: a, to: b}\n", "x.yml:1:1: no topology"},
		{"missing topology", "topology: nope.yml\nworkloads:\n  - bulk: {from: a, to: b}\n", "x.yml:1:11: topology nope.yml"},
		{"no workloads", "topology: db.yml\n", "x.yml:1:1: no workloads"},
		{"bad duration", base + "duration: 10\n", `x.yml:4:11: bad duration "10": add a unit`},
		{"warmup too long", base + "duration: 2s\nwarmup: 2s\n", "x.yml:5:1: warmup 2s must be shorter than duration 2s"},
		{"bad order", base + "order: shuffled\n", `x.yml:4:8: bad value "shuffled" (allowed: sequential, random)`},
		{"bad repetitions", base + "repetitions: 0\n", `x.yml:4:14: bad number "0"`},
		{"unknown param", "topology: db.yml\nworkloads:\n  - bulk: {from: snd1, to: rcv1, cc: \"${ccc}\"}\nmatrix: {cc: [reno]}\n",
			"x.yml:3:38: ${ccc} is not a matrix parameter (cc)"},
		{"bad value in one cell", "topology: db.yml\nmatrix: {cc: [reno, bbr]}\nworkloads:\n  - bulk: {from: snd1, to: rcv1, cc: \"${cc}\"}\n",
			`x.yml:4:38: bad value "bbr" (allowed: reno, cubic)`},
		{"exclude unknown", base + "matrix: {cc: [reno]}\nexclude: [{flows: 2}]\n", `x.yml:5:12: exclude names "flows", not a matrix parameter (cc)`},
		{"exclude value", base + "matrix: {cc: [reno]}\nexclude: [{cc: bbr}]\n", `x.yml:5:16: exclude: cc has no value "bbr" (its values: reno)`},
		{"excludes all", base + "matrix: {cc: [reno]}\nexclude: [{cc: reno}]\n", "x.yml: exclude: leaves no cell to run"},
		{"duplicate value", base + "matrix: {cc: [reno, reno]}\n", `x.yml:4:21: parameter cc: value "reno" twice`},
		{"unknown workload", "topology: db.yml\nworkloads:\n  - pipe: {from: a, to: b}\n", `x.yml:3:5: unknown workload "pipe" (allowed: bulk, rr, incast, poisson, probe)`},
		{"rr without response", "topology: db.yml\nworkloads:\n  - rr: {from: a, to: b}\n", "x.yml:3:5: rr needs response:"},
		{"incast without block", "topology: db.yml\nworkloads:\n  - incast: {from: a, to: b, queries: 3}\n", "x.yml:3:5: incast needs block:"},
		{"poisson bad rate", "topology: db.yml\nworkloads:\n  - poisson: {from: a, to: b, rate: fast, size: 1KB}\n", `x.yml:3:37: bad rate "fast"`},
		{"poisson no shape", "topology: db.yml\nworkloads:\n  - poisson: {from: a, to: b, rate: 5/s, size: {dist: pareto, mean: 1KB}}\n", "x.yml:3:48: a pareto size needs shape:"},
		{"poisson no cdf file", "topology: db.yml\nworkloads:\n  - poisson: {from: a, to: b, rate: 5/s, size: {dist: cdf, file: web.cdf}}\n", "x.yml:3:66: open web.cdf"},
		{"poisson size key", "topology: db.yml\nworkloads:\n  - poisson: {from: a, to: b, rate: 5/s, size: {dist: fixed, avg: 1KB}}\n", `x.yml:3:62: size has no key "avg"`},
		{"workload key", "topology: db.yml\nworkloads:\n  - bulk: {from: a, to: b, flow: 2}\n", `x.yml:3:28: bulk has no key "flow"`},
		{"workload no to", "topology: db.yml\nworkloads:\n  - bulk: {from: a}\n", "x.yml:3:5: bulk needs from: and to:"},
		{"event without at", base + "events: [{link: bottleneck, down: true}]\n", "x.yml:4:10: the event needs at:"},
		{"event two things", base + "events: [{at: 1s, link: bottleneck, down: true, up: true}]\n", "x.yml:4:49: one event does one thing: down and up"},
		{"event late", base + "duration: 2s\nevents: [{at: 2s, link: b, down: true}]\n", "x.yml:5:10: the event at 2s is not before the cell ends"},
		{"node event on a link", base + "events: [{at: 1s, link: b, stop: true}]\n", "x.yml:4:10: stop is a node's event: give node:"},
		{"link event on a node", base + "events: [{at: 1s, node: r1, down: true}]\n", "x.yml:4:10: down is a link's event: give link:"},
		{"flap without count", base + "events: [{at: 1s, link: b, flap: {down: 1s, up: 1s}}]\n", "x.yml:4:34: flap needs count:"},
		{"flap too long", base + "duration: 4s\nevents: [{at: 1s, link: b, flap: {down: 1s, up: 1s, count: 2}}]\n", "x.yml:5:10: the flap's outage 2 ends at 4s, not before the cell ends"},
		{"stop false", base + "events: [{at: 1s, node: r1, stop: false}]\n", "x.yml:4:35: stop: true is the only value (write start: true to undo it)"},
		{"assert metric", base + "assert: [jian >= 0.9]\n", `x.yml:4:10: "jian >= 0.9": no metric "jian"; did you mean "jain"?`},
		{"assert op", base + "assert: [jain 0.9]\n", `x.yml:4:10: "jain 0.9": want METRIC OP VALUE`},
		{"assert unit", base + "assert: [rtt_p99 < 200]\n", ""},
		{"assert bad unit", base + "assert: [rtt_p99 < 200mbit]\n", `x.yml:4:10: "rtt_p99 < 200mbit": bad duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "db.yml"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "x.yml")
			_, err := Parse(path, []byte(tc.file))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			got := strings.ReplaceAll(err.Error(), dir+"/", "")
			if !strings.Contains(got, tc.want) {
				t.Fatalf("error\n%s\nwant it to hold\n%s", got, tc.want)
			}
		})
	}
}

func TestAssertHolds(t *testing.T) {
	for _, tc := range []struct {
		text string
		v    float64
		want bool
	}{
		{"jain >= 0.9", 0.9, true}, {"jain >= 0.9", 0.89, false}, {"jain > 0.9", 0.9, false},
		{"loss < 1%", 0.009, true}, {"loss <= 0.01", 0.011, false}, {"rtos == 0", 0, true}, {"rtos != 0", 0, false},
		{"goodput > 15mbit", 15.1e6, true}, {"jain >= 0.9", nan(), false},
	} {
		a, err := ParseAssert(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Holds(tc.v); got != tc.want {
			t.Errorf("%s with %v: %v, want %v", tc.text, tc.v, got, tc.want)
		}
	}
}

func nan() float64 { var z float64; return z / z }
