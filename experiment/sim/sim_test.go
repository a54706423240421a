package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topogen"
	"github.com/netlab/netlab/topology"
)

const (
	bottleneckRate = 20e6 // bits/s, as the dumbbell below says
	sinkPort       = 5001
)

// dumbbell returns the plan of a dumbbell of pairs sender-receiver pairs
// behind a 20mbit, 5ms, 50-frame bottleneck; netemExtra adds fields to the
// bottleneck's netem ("loss: 1%").
func dumbbell(t testing.TB, pairs int, netemExtra string) *topology.Lab {
	t.Helper()
	tp, err := topogen.Dumbbell{Pairs: pairs, Bottleneck: topogen.LinkSpec{Rate: "20mbit", Delay: "5ms", Queue: "50"}}.Generate()
	if err != nil {
		t.Fatal(err)
	}
	y := string(tp.YAML())
	if netemExtra != "" {
		const old = "netem: {delay: 5ms, rate: 20mbit, limit: 50}"
		if !strings.Contains(y, old) {
			t.Fatalf("generated dumbbell has no %q:\n%s", old, y)
		}
		y = strings.Replace(y, old, "netem: {delay: 5ms, rate: 20mbit, limit: 50, "+netemExtra+"}", 1)
	}
	plan, err := topology.Parse("dumbbell.yml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// trialSpec is a dumbbell trial: one flow per pair, sndN to rcvN.
type trialSpec struct {
	pairs    int
	seed     uint64
	netem    string
	bytes    int64         // per flow; or
	duration time.Duration // per flow
	run      time.Duration // how long RunFlows may take
	cc       string
}

// trialResult is everything a trial produced, in a form JSON can compare.
type trialResult struct {
	Reports []nodeagent.FlowReport  `json:"reports"`
	Records []nodeagent.ConnRecord  `json:"records"`
	Impair  []nodeagent.ImpairState `json:"impair"` // r1's, at the end
	Marks   map[string]impair.Stats `json:"marks"`  // the bottleneck at 1 s and 5 s
	Done    bool                    `json:"done"`
	wall    time.Duration
	flows   map[int]*nodeagent.ConnRecord
}

func pairName(prefix string, i, pairs int) string {
	if pairs >= 10 && i < 10 {
		return fmt.Sprintf("%s0%d", prefix, i)
	}
	return fmt.Sprintf("%s%d", prefix, i)
}

// runTrial builds the lab, runs the trial to its end and collects the
// results.
func runTrial(t testing.TB, ts trialSpec) *trialResult {
	t.Helper()
	plan := dumbbell(t, ts.pairs, ts.netem)
	wall := time.Now()
	l, err := New(plan, Options{Seed: ts.seed})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := l.Now().Add(100 * time.Millisecond)
	apps := map[string]int{}
	for i := 1; i <= ts.pairs; i++ {
		rcv := pairName("rcv", i, ts.pairs)
		id, err := l.StartApp(rcv, nodeagent.AppSpec{Mode: "sink", Port: sinkPort, Record: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		apps[rcv] = id
		addr := plan.Node(rcv).Interfaces[0].Addr.Addr()
		b := nodeagent.FlowBatch{At: at, Sample: 100 * time.Millisecond, Limit: ts.run, Flows: []nodeagent.FlowSpec{{
			ID: i, To: fmt.Sprintf("%v:%d", addr, sinkPort), Bytes: ts.bytes, Duration: ts.duration,
			Drain: 2 * time.Second, CC: ts.cc,
		}}}
		if err := l.Flows(pairName("snd", i, ts.pairs), b); err != nil {
			t.Fatal(err)
		}
	}
	res := &trialResult{Marks: map[string]impair.Stats{}, flows: map[int]*nodeagent.ConnRecord{}}
	bottleneck := func() impair.Stats {
		st, err := l.Impairments("r1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Interface == "eth1" {
				return s.Stats.Egress
			}
		}
		t.Fatal("r1 has no eth1")
		return impair.Stats{}
	}
	for _, mark := range []time.Duration{time.Second, 5 * time.Second} {
		if err := l.RunUntil(at.Add(mark)); err != nil {
			t.Fatal(err)
		}
		res.Marks[mark.String()] = bottleneck()
	}
	res.Done, err = l.RunFlows(at.Add(ts.run))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ts.pairs; i++ {
		reps, err := l.Reports(pairName("snd", i, ts.pairs))
		if err != nil {
			t.Fatal(err)
		}
		res.Reports = append(res.Reports, reps...)
		rcv := pairName("rcv", i, ts.pairs)
		recs, err := l.AppConns(rcv, apps[rcv])
		if err != nil {
			t.Fatal(err)
		}
		res.Records = append(res.Records, recs...)
	}
	for _, rep := range res.Reports {
		for i := range res.Records {
			if res.Records[i].Remote == rep.From {
				res.flows[rep.ID] = &res.Records[i]
			}
		}
	}
	if res.Impair, err = l.Impairments("r1"); err != nil {
		t.Fatal(err)
	}
	res.wall = time.Since(wall)
	return res
}

// bytesAt is what a record had read by at (since its Accepted + offset),
// interpolated between its samples.
func bytesAt(r *nodeagent.ConnRecord, at time.Time) float64 {
	d := at.Sub(r.Accepted)
	prev := nodeagent.ByteSample{}
	for _, s := range r.Samples {
		if s.At >= d {
			if s.At == prev.At {
				return float64(s.Bytes)
			}
			f := float64(d-prev.At) / float64(s.At-prev.At)
			return float64(prev.Bytes) + f*float64(s.Bytes-prev.Bytes)
		}
		prev = s
	}
	return float64(prev.Bytes)
}

func jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(xs)) * sq)
}

func TestDumbbellCorrectness(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec trialSpec
	}{
		{"duration", trialSpec{pairs: 2, seed: 7, duration: 5 * time.Second, run: 20 * time.Second}},
		{"bytes", trialSpec{pairs: 2, seed: 7, bytes: 7 << 20, run: 20 * time.Second, cc: "cubic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runTrial(t, tc.spec)
			t.Logf("wall time of the trial: %v", res.wall)
			if !res.Done {
				t.Errorf("flows not done by %v", tc.spec.run)
			}
			epoch := res.Reports[0].Start.Add(-res.Reports[0].Skew) // the batch's At (Start offsets are 0)
			var total float64
			var per []float64
			for _, rep := range res.Reports {
				rec := res.flows[rep.ID]
				if rep.Error != "" || rec == nil {
					t.Fatalf("flow %d: error %q, record %v", rep.ID, rep.Error, rec)
				}
				if rep.Skew != 0 {
					t.Errorf("flow %d: skew %v on a virtual clock", rep.ID, rep.Skew)
				}
				if !rec.EOF || rep.Cut || rep.End.IsZero() {
					t.Errorf("flow %d: EOF %v, cut %v, end %v", rep.ID, rec.EOF, rep.Cut, rep.End)
				}
				if tc.spec.bytes > 0 && rep.Bytes != tc.spec.bytes {
					t.Errorf("flow %d: sent %d bytes, want %d", rep.ID, rep.Bytes, tc.spec.bytes)
				}
				if rec.Bytes != rep.Bytes || rec.SHA256 != rep.SHA256 {
					t.Errorf("flow %d: sent %d bytes %s, received %d bytes %s", rep.ID, rep.Bytes, rep.SHA256, rec.Bytes, rec.SHA256)
				}
				if want := nodeagent.PatternDigest(rep.Bytes); rep.SHA256 != want {
					t.Errorf("flow %d: digest %s, want the pattern's %s", rep.ID, rep.SHA256, want)
				}
				if rep.MSS == 0 || rep.MinRTT < 10*time.Millisecond || rep.MaxCwndSegs == 0 || len(rep.Samples) == 0 {
					t.Errorf("flow %d: mss %d, min rtt %v, max cwnd %d, %d samples", rep.ID, rep.MSS, rep.MinRTT, rep.MaxCwndSegs, len(rep.Samples))
				}
				if tc.spec.cc != "" && rep.CC != tc.spec.cc {
					t.Errorf("flow %d: cc %q, want %q", rep.ID, rep.CC, tc.spec.cc)
				}
				b := bytesAt(rec, epoch.Add(5*time.Second)) - bytesAt(rec, epoch.Add(time.Second))
				per = append(per, b)
				total += b
				t.Logf("flow %d: %d bytes in %v, %.2f Mbit/s over [1s, 5s], retrans %d, rtos %d, srtt %v, max cwnd %d",
					rep.ID, rep.Bytes, rep.End.Sub(rep.Start), b*8/4/1e6, rep.Retrans, rep.RTOs, rep.SRTT, rep.MaxCwndSegs)
			}
			goodput := total * 8 / 4
			if goodput < 0.9*bottleneckRate {
				t.Errorf("goodput over [1s, 5s] %.2f Mbit/s, want at least 90%% of %.0f", goodput/1e6, bottleneckRate/1e6)
			}
			if j := jain(per); j < 0.8 {
				t.Errorf("Jain's index %.3f, want at least 0.8", j)
			} else {
				t.Logf("goodput %.2f Mbit/s, Jain's index %.3f", goodput/1e6, j)
			}
			// The bottleneck passed what the receivers read, plus headers:
			// at its rate, and no less than the goodput.
			m1, m5 := res.Marks["1s"], res.Marks["5s"]
			wire := float64(m5.PassedBytes-m1.PassedBytes) * 8 / (m5.Elapsed - m1.Elapsed).Seconds()
			if wire < goodput || wire > 1.01*bottleneckRate {
				t.Errorf("bottleneck passed %.2f Mbit/s over [1s, 5s]; goodput %.2f, rate %.0f", wire/1e6, goodput/1e6, bottleneckRate/1e6)
			}
			var read int64
			for _, r := range res.Records {
				read += r.Bytes
			}
			var passed uint64
			for _, s := range res.Impair {
				if s.Interface == "eth1" {
					passed = s.Stats.Egress.PassedBytes
				}
			}
			if float64(passed) < float64(read) || float64(passed) > 1.1*float64(read) {
				t.Errorf("bottleneck passed %d bytes in all, receivers read %d", passed, read)
			}
		})
	}
}

// marshal is the JSON of everything a trial produced.
func marshal(t testing.TB, r *trialResult) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeterminism(t *testing.T) {
	spec := trialSpec{pairs: 2, seed: 1, netem: "loss: 1%", duration: 2 * time.Second, run: 15 * time.Second}
	a := marshal(t, runTrial(t, spec))
	b := marshal(t, runTrial(t, spec))
	if !bytes.Equal(a, b) {
		t.Fatalf("two runs of one seed differ:\n%s\n%s", a, b)
	}
	var res trialResult
	json.Unmarshal(a, &res)
	if res.Impair[0].Stats.Egress.DroppedLoss == 0 && res.Impair[1].Stats.Egress.DroppedLoss == 0 {
		t.Errorf("no loss on the bottleneck with loss 1%%: %+v", res.Impair)
	}
	spec.seed = 2
	c := marshal(t, runTrial(t, spec))
	if bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 give the same results: the seed is ignored")
	}
}

func TestErrors(t *testing.T) {
	linux, err := topology.Parse("linux.yml", []byte(`name: mixed
topology:
  nodes:
    h1: {stack: linux}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(linux, Options{}); err == nil || !strings.Contains(err.Error(), "h1") {
		t.Errorf("New with a linux node: %v, want an error naming h1", err)
	}
	l, err := New(dumbbell(t, 1, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"StartApp unknown node", func() error { _, err := l.StartApp("nope", nodeagent.AppSpec{Mode: "sink", Port: 1}); return err }(), "nope"},
		{"Flows unknown node", l.Flows("nope", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: "10.0.0.1:1", Bytes: 1}}}), "nope"},
		{"StartApp http", func() error { _, err := l.StartApp("rcv1", nodeagent.AppSpec{Mode: "http", Port: 1}); return err }(), "http"},
		{"Flows requests without a response", l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: "10.0.0.1:1", Requests: 2}}}), "response size"},
		{"StartApp no port", func() error { _, err := l.StartApp("rcv1", nodeagent.AppSpec{Mode: "sink"}); return err }(), "port"},
		{"Flows bad address", l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: "rcv1", Bytes: 1}}}), "address"},
		{"Flows nothing to send", l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: "10.0.0.1:1"}}}), "bytes or duration"},
		{"SetDown unknown interface", l.SetDown("r1", "eth9", true), "eth9"},
		{"Impairments unknown node", func() error { _, err := l.Impairments("nope"); return err }(), "nope"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestTenSecondTrial times a 10-second trial of the 2-pair dumbbell: the
// virtual clock must be much faster than real time.
func TestTenSecondTrial(t *testing.T) {
	if raceEnabled {
		t.Skip("wall time under the race detector means little")
	}
	res := runTrial(t, trialSpec{pairs: 2, seed: 11, duration: 10 * time.Second, run: 30 * time.Second})
	var read int64
	for _, r := range res.Records {
		read += r.Bytes
	}
	t.Logf("10 s at 20 Mbit/s (%d bytes read): %v of wall time", read, res.wall)
	if res.wall > 10*time.Second {
		t.Errorf("a 10 s trial took %v", res.wall)
	}
}
