package runner_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/runner"
	"github.com/netlab/netlab/runtime/netns"
	"github.com/netlab/netlab/topogen"
)

// netlabBin is the netlab binary the agents run.
var netlabBin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		os.Exit(m.Run()) // the tests skip
	}
	dir, err := os.MkdirTemp("", "netlab-experiment-bin")
	if err != nil {
		panic(err)
	}
	netlabBin = filepath.Join(dir, "netlab")
	build := exec.Command("go", "build", "-o", netlabBin, "../../cmd/netlab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build netlab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup writes a generated dumbbell of pairs pairs and the experiment
// file body beside it, and loads the experiment.
func setup(t *testing.T, pairs int, body string) (*experiment.Experiment, runner.Options) {
	return setupStack(t, pairs, "", body)
}

// setupStack is setup with every node on stack ("" is the Go stack).
func setupStack(t *testing.T, pairs int, stack, body string) (*experiment.Experiment, runner.Options) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("experiments deploy labs: needs root, as CI runs")
	}
	dir := t.TempDir()
	db := topogen.Dumbbell{Pairs: pairs, Bottleneck: topogen.LinkSpec{Rate: "20mbit", Delay: "5ms", Queue: "50"}, Common: topogen.Common{Stack: stack}}
	topo, err := db.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "db.yml"), topo.YAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.yml")
	if err := os.WriteFile(path, []byte("topology: db.yml\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := experiment.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return x, runner.Options{Runtime: netns.New(netns.Options{StateDir: filepath.Join(t.TempDir(), "netns")}), Exe: netlabBin,
		RunDir: t.TempDir(), Out: filepath.Join(dir, "results"), Version: "test", Progress: func(m string) { t.Log(m) }}
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// goodputCeiling is the most a cell's measured goodput may show through a
// bottleneck of rate bit/s: the rate, plus what out-of-order data held at
// the receivers when the window opened can add to a 2 s window (see
// TestEveryFlowAccountedFor).
func goodputCeiling(rate float64) float64 { return rate * 1.05 }

// value returns a trial's metric from results.csv rows.
func value(t *testing.T, rows []map[string]string, trial int, metric string) float64 {
	t.Helper()
	for _, r := range rows {
		if r["trial"] == strconv.Itoa(trial) && r["metric"] == metric {
			if r["value"] == "NA" {
				return -1
			}
			v, err := strconv.ParseFloat(r["value"], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s for trial %d", metric, trial)
	return 0
}

// TestEveryFlowAccountedFor runs bulk flows for the cell's duration, flows
// of a size and a probe on a 20-node dumbbell, Reno and CUBIC: every flow
// delivers what it sent, intact, and the metrics agree with the link. (The
// incast's three queries of nine senders meet a full bottleneck queue and
// wait out RTOs: 4 s leaves them 2.5 s, which CI's load needed; with 3 s
// they were once cut at the trial's end.)
func TestEveryFlowAccountedFor(t *testing.T) {
	x, o := setup(t, 9, `
matrix: {cc: [reno, cubic]}
duration: 4s
warmup: 1s
seed: 3
links:
  bottleneck: {rate: 20mbit, delay: 5ms, limit: 50}
workloads:
  - bulk: {from: role=sender, to: role=receiver, cc: "${cc}"}
  - bulk: {from: "snd*", to: "rcv*", flows: 9, bytes: 100KB, start: 500ms, stagger: 100ms, cc: "${cc}"}
  - probe: {from: snd1, to: rcv9, interval: 50ms}
  - rr: {from: "rcv[1-3]", to: "snd[1-3]", requests: 5, response: 20KB, every: 100ms, start: 500ms}
  - incast: {from: "snd*", to: rcv9, block: 32KB, queries: 3, start: 1500ms}
  - poisson: {from: "snd*", to: "rcv*", rate: 20/s, size: {dist: exponential, mean: 30KB}, start: 200ms}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := runner.Run(ctx, x, o)
	if err != nil {
		t.Fatal(err)
	}
	if out.Trials != 2 || out.Interrupted {
		t.Fatalf("outcome %+v", out)
	}
	flows := readCSV(t, filepath.Join(o.Out, runner.FlowsFile))
	res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
	perTrial := map[string]int{}
	kinds := map[string]int{}
	for _, f := range flows {
		perTrial[f["trial"]]++
		kinds[f["workload"]]++
	}
	for trial := 1; trial <= 2; trial++ {
		n := perTrial[strconv.Itoa(trial)]
		if want := value(t, res, trial, "flows"); float64(n) != want || n < 9+9+3+9+20 {
			t.Errorf("trial %d: %d flows in flows.csv, %v in results.csv; want the same, at least 50", trial, n, want)
		}
	}
	// Workloads 1-2 bulk (9 each), 4 rr (3), 5 incast (9), 6 poisson.
	if kinds["1"] != 18 || kinds["2"] != 18 || kinds["4"] != 6 || kinds["5"] != 18 || kinds["6"] < 40 {
		t.Errorf("flows by workload %v", kinds)
	}
	for _, f := range flows {
		if f["complete"] != "true" || f["error"] != "" {
			t.Errorf("flow %s of trial %s (%s→%s): complete %s, error %q", f["flow"], f["trial"], f["from"], f["to"], f["complete"], f["error"])
		}
		if f["size"] != "" && f["bytes"] != f["size"] {
			t.Errorf("flow %s sent %s bytes of %s", f["flow"], f["bytes"], f["size"])
		}
		if want := map[string]string{"0": "reno", "1": "cubic"}[f["cell"]]; f["workload"] <= "2" && f["cc"] != want {
			t.Errorf("flow %s of cell %s ran %s, want %s", f["flow"], f["cell"], f["cc"], want)
		}
	}
	if len(res) != 2*len(experiment.Metrics) {
		t.Fatalf("%d rows in results.csv, want %d", len(res), 2*len(experiment.Metrics))
	}
	for trial := 1; trial <= 2; trial++ {
		// Goodput is in-order delivery at the receivers over the 2 s
		// window: data that crossed the bottleneck before the window but
		// waited out of order for a retransmission (17 % of segments are
		// retransmitted here) reaches the application inside it, so a
		// window may exceed the link's rate by a few percent of it.
		g := value(t, res, trial, "goodput")
		if g < 10e6 || g > goodputCeiling(20e6) {
			t.Errorf("trial %d: goodput %.2f Mbit/s through a 20 Mbit/s bottleneck", trial, g/1e6)
		}
		if u := value(t, res, trial, "utilisation"); u < 0.5 || u > 1.02 {
			t.Errorf("trial %d: utilisation %.2f", trial, u)
		}
		if base := value(t, res, trial, "rtt_base"); base < 0.010 || base > 0.030 {
			t.Errorf("trial %d: base RTT %.1f ms over two 5 ms hops", trial, base*1e3)
		}
		if p := value(t, res, trial, "probe_rtt_p50"); p < 0.010 {
			t.Errorf("trial %d: probe RTT p50 %.1f ms, want at least the 10 ms path", trial, p*1e3)
		}
		if q := value(t, res, trial, "queue_len_max"); q < 1 || q > 50 {
			t.Errorf("trial %d: queue_len_max %v with a 50-frame limit", trial, q)
		}
		if j := value(t, res, trial, "jain"); j <= 0 || j > 1 {
			t.Errorf("trial %d: jain %v", trial, j)
		}
		if v := value(t, res, trial, "flows_failed"); v != 0 {
			t.Errorf("trial %d: %v flows failed", trial, v)
		}
		for _, m := range []string{"rct_p50", "qct_p50", "incast_goodput", "fct_p50", "slowdown_p50"} {
			if v := value(t, res, trial, m); v <= 0 {
				t.Errorf("trial %d: %s is %v", trial, m, v)
			}
		}
		if q := value(t, res, trial, "qct_p50"); q < 9*32e3*8/20e6 {
			t.Errorf("trial %d: an incast query of 9 × 32 KB took %.1f ms, less than the bottleneck allows", trial, q*1e3)
		}
	}
	var meta runner.Metadata
	data, err := os.ReadFile(filepath.Join(o.Out, runner.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Seed != 3 || len(meta.Trials) != 2 || meta.Trials[0].Seed == 0 || meta.FileSHA256 == "" || meta.Ended.IsZero() {
		t.Errorf("metadata %+v", meta)
	}
	rep, err := os.ReadFile(filepath.Join(o.Out, runner.ReportFile))
	if err != nil || !strings.Contains(string(rep), "| cc=reno | 1 |") || !strings.Contains(string(rep), "## Emulation health") {
		t.Errorf("report.md:\n%s", rep)
	}
	for trial := 1; trial <= 2; trial++ {
		if _, err := os.Stat(filepath.Join(o.Out, runner.SeriesDir, fmt.Sprintf("trial-%d.csv", trial))); err != nil {
			t.Error(err)
		}
	}
}

// TestScheduledLinkFailure takes the bottleneck down for a second: nothing
// crosses it meanwhile, the flows time out and recover once it is back.
func TestScheduledLinkFailure(t *testing.T) {
	x, o := setup(t, 2, `
duration: 4s
events:
  - {at: 1s, link: bottleneck, down: true}
  - {at: 2s, link: bottleneck, up: true}
workloads:
  - bulk: {from: role=sender, to: role=receiver}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := runner.Run(ctx, x, o); err != nil {
		t.Fatal(err)
	}
	res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
	if v := value(t, res, 1, "rtos"); v < 1 {
		t.Errorf("%v RTOs across a 1 s outage", v)
	}
	if v := value(t, res, 1, "flows_failed"); v != 0 {
		t.Errorf("%v flows failed: they should recover once the link is back", v)
	}
	// The receivers' goodput: none while the link is down (give the
	// queue and the samples 200 ms either side), some after.
	series := readCSV(t, filepath.Join(o.Out, runner.SeriesDir, "trial-1.csv"))
	var during, after float64
	for _, r := range series {
		if r["metric"] != "goodput_bps" {
			continue
		}
		ts, _ := strconv.ParseFloat(r["t_s"], 64)
		v, _ := strconv.ParseFloat(r["value"], 64)
		switch {
		case ts > 1.3 && ts <= 2.0:
			during += v
		case ts > 3.0:
			after += v
		}
	}
	if during != 0 || after == 0 {
		t.Errorf("goodput while down %.0f (want 0), after %.0f (want > 0)", during, after)
	}
	var meta runner.Metadata
	data, _ := os.ReadFile(filepath.Join(o.Out, runner.MetadataFile))
	json.Unmarshal(data, &meta)
	if len(meta.Trials) != 1 || len(meta.Trials[0].Events) != 2 {
		t.Errorf("metadata's events: %+v", meta.Trials)
	}
}

// TestOverloadedTrialIsInvalid holds the agents to almost no CPU: every
// trial is then the machine's limit, marked invalid in every output and
// left out of the means, so a threshold on them fails.
func TestOverloadedTrialIsInvalid(t *testing.T) {
	x, o := setup(t, 1, `
duration: 2s
workloads:
  - bulk: {from: snd1, to: rcv1}
assert:
  - goodput > 1mbit
`)
	o.Limits = runner.DefaultLimits
	o.Limits.MaxCPU = 0.0001
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := runner.Run(ctx, x, o)
	if err != nil {
		t.Fatal(err)
	}
	if out.Invalid != 1 || len(out.Failed) != 1 || !strings.Contains(out.Failed[0], "all: goodput > 1mbit not met: goodput is n/a (mean of 0 valid trials)") {
		t.Fatalf("outcome %+v", out)
	}
	res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
	for _, r := range res {
		if r["valid"] != "0" {
			t.Fatalf("a row of the invalid trial says valid: %v", r)
		}
	}
	rep, _ := os.ReadFile(filepath.Join(o.Out, runner.ReportFile))
	if !strings.Contains(string(rep), "**no**: the agents used") || !strings.Contains(string(rep), "| all | 0 |") {
		t.Errorf("report.md does not mark the trial invalid:\n%s", rep)
	}
}

// TestLinuxStack runs the same workloads over the kernel's TCP (stack:
// linux nodes): each flow's congestion control is set, every byte
// accounted for, the relay's impairment measured.
func TestLinuxStack(t *testing.T) {
	x, o := setupStack(t, 2, "linux", `
matrix: {cc: [reno, cubic]}
duration: 3s
warmup: 1s
workloads:
  - bulk: {from: role=sender, to: role=receiver, cc: "${cc}"}
  - rr: {from: rcv1, to: snd1, requests: 3, response: 10KB, cc: "${cc}"}
  - probe: {from: rcv2, to: snd2, interval: 100ms}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := runner.Run(ctx, x, o); err != nil {
		t.Fatal(err)
	}
	flows := readCSV(t, filepath.Join(o.Out, runner.FlowsFile))
	if len(flows) != 6 {
		t.Fatalf("%d flows, want 3 a trial", len(flows))
	}
	for _, f := range flows {
		want := map[string]string{"0": "reno", "1": "cubic"}[f["cell"]]
		if f["complete"] != "true" || f["cc"] != want {
			t.Errorf("flow %s of cell %s: complete %s, cc %s (want %s), error %q", f["flow"], f["cell"], f["complete"], f["cc"], want, f["error"])
		}
	}
	res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
	for trial := 1; trial <= 2; trial++ {
		if g := value(t, res, trial, "goodput"); g < 10e6 || g > goodputCeiling(20e6) {
			t.Errorf("trial %d: goodput %.2f Mbit/s through 20 Mbit/s", trial, g/1e6)
		}
		if q := value(t, res, trial, "queue_delay_mean"); q <= 0 {
			t.Errorf("trial %d: the relay's queueing delay %v", trial, q)
		}
		// The kernel's echo requests from a linux node: the base RTT
		// (10 ms) and the queue the flows keep.
		if p := value(t, res, trial, "probe_rtt_p50"); p < 0.010 || p > 0.2 {
			t.Errorf("trial %d: probe RTT p50 %v s from a stack: linux node", trial, p)
		}
	}
}

// TestInterruptKeepsFinishedTrials cancels the run as its second trial
// starts: the first trial's results stay, the lab is gone.
func TestInterruptKeepsFinishedTrials(t *testing.T) {
	x, o := setup(t, 1, `
repetitions: 3
duration: 1s
workloads:
  - bulk: {from: snd1, to: rcv1}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := o.Progress
	o.Progress = func(m string) {
		progress(m)
		if strings.HasPrefix(m, "trial 2/") {
			cancel()
		}
	}
	out, err := runner.Run(ctx, x, o)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Interrupted || out.Trials != 1 {
		t.Fatalf("outcome %+v: want interrupted after 1 trial", out)
	}
	res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
	if len(res) != len(experiment.Metrics) || value(t, res, 1, "goodput") <= 0 {
		t.Errorf("results.csv has %d rows, want trial 1's %d", len(res), len(experiment.Metrics))
	}
	var meta runner.Metadata
	data, _ := os.ReadFile(filepath.Join(o.Out, runner.MetadataFile))
	if json.Unmarshal(data, &meta) != nil || !meta.Interrupted || len(meta.Trials) != 1 {
		t.Errorf("metadata: interrupted %v, %d trials", meta.Interrupted, len(meta.Trials))
	}
	if rep, _ := os.ReadFile(filepath.Join(o.Out, runner.ReportFile)); !strings.Contains(string(rep), "**Interrupted** after 1 trials") {
		t.Errorf("report.md:\n%s", rep)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), "dumbbell-1-x") {
		t.Errorf("namespaces left: %s", out)
	}
}

// TestSpuriousRetransmissions: the bottleneck's delay jumps from 5 ms to
// 600 ms each way; the senders' RTO fires before the ACKs of data already
// in flight come back, so the retransmissions were unnecessary — counted
// by Eifel detection on the Go stack, and by the receiver's D-SACKs on
// the kernel's.
func TestSpuriousRetransmissions(t *testing.T) {
	for _, stack := range []string{"", "linux"} {
		name := stack
		if name == "" {
			name = "go"
		}
		t.Run(name, func(t *testing.T) {
			x, o := setupStack(t, 1, stack, `
duration: 5s
events:
  - {at: 1500ms, link: bottleneck, set: {rate: 20mbit, delay: 600ms, limit: 50}}
workloads:
  - bulk: {from: role=sender, to: role=receiver}
`)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := runner.Run(ctx, x, o); err != nil {
				t.Fatal(err)
			}
			res := readCSV(t, filepath.Join(o.Out, runner.ResultsFile))
			spurious := value(t, res, 1, "spurious_retrans")
			if spurious < 1 {
				t.Errorf("%v spurious retransmissions after the delay jump", spurious)
			}
			var sum, retrans float64
			for _, f := range readCSV(t, filepath.Join(o.Out, runner.FlowsFile)) {
				v, err1 := strconv.ParseFloat(f["spurious_retrans"], 64)
				r, err2 := strconv.ParseFloat(f["retrans"], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("flows.csv spurious_retrans %q, retrans %q", f["spurious_retrans"], f["retrans"])
				}
				sum, retrans = sum+v, retrans+r
			}
			if sum < 1 || sum > retrans {
				t.Errorf("flows.csv: %v spurious of %v retransmissions at the senders", sum, retrans)
			}
		})
	}
}

// TestNodeStopStart: a receiver stopped for a second loses its flow (the
// sender is reset once the node is back), the other flow goes on, and the
// events are in metadata.json as they happened.
func TestNodeStopStart(t *testing.T) {
	x, o := setup(t, 2, `
duration: 4s
events:
  - {at: 1s, node: rcv1, stop: true}
  - {at: 2s, node: rcv1, start: true}
workloads:
  - bulk: {from: role=sender, to: role=receiver}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := runner.Run(ctx, x, o); err != nil {
		t.Fatal(err)
	}
	flows := readCSV(t, filepath.Join(o.Out, runner.FlowsFile))
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2", len(flows))
	}
	for _, f := range flows {
		switch f["to"] {
		case "rcv1":
			if f["complete"] != "false" || !strings.Contains(f["error"], "reset") {
				t.Errorf("the flow to the stopped node: complete %s, error %q; want it reset", f["complete"], f["error"])
			}
		default:
			if f["complete"] != "true" {
				t.Errorf("the flow to %s: complete %s, error %q", f["to"], f["complete"], f["error"])
			}
		}
	}
	var meta runner.Metadata
	data, _ := os.ReadFile(filepath.Join(o.Out, runner.MetadataFile))
	json.Unmarshal(data, &meta)
	if len(meta.Trials) != 1 || len(meta.Trials[0].Events) != 2 || meta.Trials[0].Events[0].Label() != "rcv1 stop" {
		t.Errorf("metadata's events: %+v", meta.Trials)
	}
}

// socketBuffersBody is a bulk flow whose receiver's buffer is 8 KB or
// 1 MB: on a 10 ms RTT the small one holds the window to about 6.5
// Mbit/s, the large one lets the flow fill the 20 Mbit/s bottleneck.
const socketBuffersBody = `
matrix: {rcvbuf: [8KB, 1MB]}
duration: 3s
warmup: 1s
workloads:
  - bulk: {from: snd1, to: rcv1, rcvbuf: "${rcvbuf}", sndbuf: 1MB}
`

// checkSocketBuffers: the 8 KB receive buffer held the flow back, the
// 1 MB one did not.
func checkSocketBuffers(t *testing.T, out string) {
	t.Helper()
	res := readCSV(t, filepath.Join(out, runner.ResultsFile))
	small, large := value(t, res, 1, "goodput"), value(t, res, 2, "goodput")
	t.Logf("goodput with an 8 KB receive buffer %.2f Mbit/s, with 1 MB %.2f Mbit/s", small/1e6, large/1e6)
	if small <= 0 || small > 0.6*large || small > 10e6 || large < 15e6 {
		t.Errorf("goodput with an 8 KB receive buffer %.2f Mbit/s, with 1 MB %.2f Mbit/s; want about 6.5 and 19",
			small/1e6, large/1e6)
	}
}

// TestSocketBuffers: rcvbuf: and sndbuf: reach the sockets, on the Go
// stack and on the kernel's.
func TestSocketBuffers(t *testing.T) {
	for _, stack := range []string{"", "linux"} {
		name := map[string]string{"": "go", "linux": "linux"}[stack]
		t.Run(name, func(t *testing.T) {
			x, o := setupStack(t, 1, stack, socketBuffersBody)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := runner.Run(ctx, x, o); err != nil {
				t.Fatal(err)
			}
			checkSocketBuffers(t, o.Out)
		})
	}
}
