package runner_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/runner"
	"github.com/netlab/netlab/topogen"
)

// virtualSetup writes a generated dumbbell (every node on stack, "" the
// Go stack) and the experiment body beside it; no root is needed.
func virtualSetup(t *testing.T, stack, body string) (*experiment.Experiment, runner.Options) {
	t.Helper()
	dir := t.TempDir()
	db := topogen.Dumbbell{Pairs: 2, Bottleneck: topogen.LinkSpec{Rate: "20mbit", Delay: "10ms", Queue: "64"}, Common: topogen.Common{Stack: stack}}
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
	return x, runner.Options{Virtual: true, Out: filepath.Join(dir, "results"), Version: "test"}
}

const virtualBody = `
matrix:
  cc: [reno, cubic]
repetitions: 2
duration: 6s
warmup: 2s
links:
  bottleneck: {rate: 20mbit, delay: 10ms, limit: 64, loss: 0.5%}
events:
  - {at: 3s, link: bottleneck, down: true}
  - {at: 3500ms, link: bottleneck, up: true}
  - {at: 4s, node: rcv2, stop: true}
  - {at: 4200ms, node: rcv2, start: true}
workloads:
  - bulk: {from: role=sender, to: role=receiver, cc: "${cc}", stagger: 200ms}
  - poisson: {from: role=sender, to: role=receiver, rate: 4/s, size: {dist: exponential, mean: 50KB}}
  - rr: {from: snd1, to: rcv1, requests: 20, response: 10KB, every: 100ms}
  - probe: {from: snd2, to: rcv1, interval: 100ms}
`

// TestVirtualClockReproducesExactly: on the virtual clock the same
// experiment and seed give the same results, flow for flow and sample for
// sample; another seed gives others.
func TestVirtualClockReproducesExactly(t *testing.T) {
	run := func(seed string) (string, map[string][]byte) {
		x, o := virtualSetup(t, "", "seed: "+seed+"\n"+virtualBody)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := runner.Run(ctx, x, o)
		if err != nil {
			t.Fatal(err)
		}
		if out.Trials != 4 || out.Invalid != 0 {
			t.Fatalf("%d trials, %d invalid; want 4 valid", out.Trials, out.Invalid)
		}
		files := map[string][]byte{}
		for _, f := range []string{runner.ResultsFile, runner.FlowsFile, filepath.Join(runner.SeriesDir, "trial-1.csv"), filepath.Join(runner.SeriesDir, "trial-4.csv")} {
			b, err := os.ReadFile(filepath.Join(o.Out, f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = b
		}
		return o.Out, files
	}
	dirA, a := run("7")
	_, b := run("7")
	_, c := run("8")
	for f := range a {
		if !bytes.Equal(a[f], b[f]) {
			t.Errorf("%s differs between two runs of the same seed", f)
		}
	}
	if bytes.Equal(a[runner.FlowsFile], c[runner.FlowsFile]) || bytes.Equal(a[runner.ResultsFile], c[runner.ResultsFile]) {
		t.Error("seeds 7 and 8 gave the same results")
	}
	// What the trials did: the flows to the stopped receiver were reset
	// once it was back, the others complete; the link's outage shows.
	res := readCSV(t, filepath.Join(dirA, runner.ResultsFile))
	if v := value(t, res, 1, "goodput"); v < 8e6 {
		t.Errorf("goodput %v on a 20 Mbit/s bottleneck", v)
	}
	if v := value(t, res, 1, "agent_cpu"); v != -1 {
		t.Errorf("agent_cpu %v on a virtual clock, want n/a", v)
	}
	if v := value(t, res, 1, "probe_rtt_p50"); v < 0.020 || v > 0.2 {
		t.Errorf("probe RTT p50 %v under load on a 20 ms base RTT", v)
	}
	if v := value(t, res, 1, "timer_late_p99"); v != 0 {
		t.Errorf("timer lateness %v on a virtual clock, want 0", v)
	}
	complete, reset := 0, 0
	for _, f := range readCSV(t, filepath.Join(dirA, runner.FlowsFile)) {
		switch {
		case f["complete"] == "true":
			complete++
		case strings.Contains(f["error"], "reset"):
			reset++
		default:
			t.Errorf("flow %s of trial %s from %s to %s: %q", f["flow"], f["trial"], f["from"], f["to"], f["error"])
		}
	}
	if complete == 0 || reset == 0 {
		t.Errorf("%d flows complete, %d reset by the stopped node; want both", complete, reset)
	}
	md, _ := os.ReadFile(filepath.Join(dirA, runner.MetadataFile))
	if !strings.Contains(string(md), `"clock": "virtual"`) {
		t.Error("metadata.json does not say the clock was virtual")
	}
}

// TestVirtualClockRefuses what it cannot model, before running anything.
func TestVirtualClockRefuses(t *testing.T) {
	for _, tc := range []struct{ name, stack, body, want string }{
		{"linux node", "linux", "workloads:\n  - bulk: {from: snd1, to: rcv1}\n", "runs stack: linux: a virtual clock needs every node on the Go stack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, o := virtualSetup(t, tc.stack, tc.body)
			_, err := runner.Run(context.Background(), x, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(o.Out); err == nil {
				t.Error("the refused run made its results directory")
			}
		})
	}
}

// TestVirtualSocketBuffers: the buffers reach the sockets of the virtual
// lab as they do the agents'.
func TestVirtualSocketBuffers(t *testing.T) {
	x, o := virtualSetup(t, "", `
links:
  bottleneck: {rate: 20mbit, delay: 5ms, limit: 64}
`+socketBuffersBody)
	if _, err := runner.Run(context.Background(), x, o); err != nil {
		t.Fatal(err)
	}
	checkSocketBuffers(t, o.Out)
}
