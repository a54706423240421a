package sim

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// newLab builds a dumbbell of pairs pairs with a recording sink on every
// receiver; it returns the lab and the sinks' app ids.
func newLab(t *testing.T, pairs int, seed uint64) (*Lab, map[string]int) {
	t.Helper()
	l, err := New(dumbbell(t, pairs, ""), Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	apps := map[string]int{}
	for i := 1; i <= pairs; i++ {
		rcv := pairName("rcv", i, pairs)
		id, err := l.StartApp(rcv, nodeagent.AppSpec{Mode: "sink", Port: sinkPort, Record: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		apps[rcv] = id
	}
	return l, apps
}

func sinkAddr(t *testing.T, l *Lab, rcv string) string {
	t.Helper()
	return fmt.Sprintf("%v:%d", l.Plan().Node(rcv).Interfaces[0].Addr.Addr(), sinkPort)
}

// record returns the sink's record of the connection from, or fails.
func record(t *testing.T, l *Lab, node string, id int, from string) nodeagent.ConnRecord {
	t.Helper()
	recs, err := l.AppConns(node, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Remote == from {
			return r
		}
	}
	t.Fatalf("%s has no record of %s: %+v", node, from, recs)
	return nodeagent.ConnRecord{}
}

// TestNoGoroutines checks that the lab runs entirely on the caller's
// goroutine: nothing in the stacks, impairments or pipes starts one.
func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	l, _ := newLab(t, 2, 3)
	if err := l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: sinkAddr(t, l, "rcv1"), Bytes: 1 << 20}}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n != before {
		t.Errorf("%d goroutines while the lab runs, %d before", n, before)
	}
}

// TestLinkDownCut takes the bottleneck down at a scheduled moment, so that
// a flow of a Duration cannot drain: it is cut, and the sink holds a
// prefix of the pattern.
func TestLinkDownCut(t *testing.T) {
	l, apps := newLab(t, 1, 5)
	at := l.Now()
	if err := l.Flows("snd1", nodeagent.FlowBatch{At: at, Sample: 100 * time.Millisecond, Flows: []nodeagent.FlowSpec{
		{ID: 1, To: sinkAddr(t, l, "rcv1"), Duration: 2 * time.Second, Drain: 300 * time.Millisecond},
	}}); err != nil {
		t.Fatal(err)
	}
	var downErr error
	if _, err := l.At(at.Add(1500*time.Millisecond), func() { downErr = l.SetDown("r1", "eth1", true) }); err != nil {
		t.Fatal(err)
	}
	done, err := l.RunFlows(at.Add(5 * time.Second))
	if err != nil || downErr != nil {
		t.Fatal(err, downErr)
	}
	if done {
		t.Error("RunFlows says done while the sink's connection is open")
	}
	reps, err := l.Reports("snd1")
	if err != nil {
		t.Fatal(err)
	}
	rep := reps[0]
	if !rep.Cut || rep.Error != "" || rep.End.Sub(at) != 2300*time.Millisecond {
		t.Errorf("flow: cut %v, error %q, end at %v; want cut at 2.3s", rep.Cut, rep.Error, rep.End.Sub(at))
	}
	rec := record(t, l, "rcv1", apps["rcv1"], rep.From)
	if !rec.Open || rec.EOF || rec.Bytes >= rep.Bytes || rec.SHA256 != nodeagent.PatternDigest(rec.Bytes) {
		t.Errorf("record: open %v, eof %v, %d of %d bytes, digest of a prefix %v", rec.Open, rec.EOF, rec.Bytes, rep.Bytes, rec.SHA256 == nodeagent.PatternDigest(rec.Bytes))
	}
	// Nothing came after the link went down.
	if last := rec.Last.Sub(at); last > 1600*time.Millisecond {
		t.Errorf("the sink read at %v, after the link went down at 1.5s", last)
	}
	st, err := l.Impairments("r1")
	if err != nil {
		t.Fatal(err)
	}
	if !st[0].Down || st[0].Interface != "eth1" || st[0].Stats.Egress.DroppedOutage == 0 && st[0].Stats.Ingress.DroppedOutage == 0 {
		t.Errorf("r1:eth1 state %+v: want down, with outage drops", st[0])
	}
	t.Logf("cut at %v: sent %d bytes, the sink read %d by %v", rep.End.Sub(at), rep.Bytes, rec.Bytes, rec.Last.Sub(at))
	// Back up, the link carries nothing more: the sender's reset was lost
	// while it was down, and the sink, which sends nothing, never learns.
	if err := l.SetDown("r1", "eth1", false); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Impairments("r1"); st[0].Down {
		t.Error("r1:eth1 still down")
	}
}

// TestStartsAndLimit runs two flows of one batch, the second starting
// later, with a Limit that stops a flow too large to finish.
func TestStartsAndLimit(t *testing.T) {
	l, apps := newLab(t, 1, 9)
	at := l.Now().Add(time.Second)
	to := sinkAddr(t, l, "rcv1")
	if err := l.Flows("snd1", nodeagent.FlowBatch{At: at, Limit: 3 * time.Second, Flows: []nodeagent.FlowSpec{
		{ID: 7, To: to, Start: 500 * time.Millisecond, Bytes: 100 << 10},
		{ID: 3, To: to, Bytes: 1 << 30},
		{ID: 9, To: to, Start: 4 * time.Second, Bytes: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	done, err := l.RunFlows(at.Add(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Error("not done")
	}
	reps, err := l.Reports("snd1")
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 3 || reps[0].ID != 7 || reps[1].ID != 3 || reps[2].ID != 9 {
		t.Fatalf("reports %+v: want flows 7, 3, 9 in spec order", reps)
	}
	small, big, late := reps[0], reps[1], reps[2]
	if small.Start.Sub(at) != 500*time.Millisecond || small.Error != "" || small.Bytes != 100<<10 || small.End.IsZero() {
		t.Errorf("flow 7: start %v, error %q, %d bytes, end %v", small.Start.Sub(at), small.Error, small.Bytes, small.End)
	}
	if rec := record(t, l, "rcv1", apps["rcv1"], small.From); rec.SHA256 != small.SHA256 || !rec.EOF {
		t.Errorf("flow 7: record %+v", rec)
	}
	if big.Start != at || !strings.Contains(big.Error, "stopped") || big.Bytes == 0 || big.SHA256 != nodeagent.PatternDigest(big.Bytes) {
		t.Errorf("flow 3: start %v, error %q, %d bytes", big.Start.Sub(at), big.Error, big.Bytes)
	}
	if !strings.HasPrefix(late.Error, "not started") || !late.Start.IsZero() {
		t.Errorf("flow 9: %+v, want not started", late)
	}
	if small.From == big.From {
		t.Errorf("two flows from one address %s", small.From)
	}
}

// TestEcho checks the echo server and a refused connection.
func TestEcho(t *testing.T) {
	l, err := New(dumbbell(t, 1, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id, err := l.StartApp("rcv1", nodeagent.AppSpec{Mode: "echo", Port: 7})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Plan().Node("rcv1").Interfaces[0].Addr.Addr()
	if err := l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{
		{ID: 1, To: fmt.Sprintf("%v:7", addr), Bytes: 3 << 20},
		{ID: 2, To: fmt.Sprintf("%v:8", addr), Bytes: 10},
	}}); err != nil {
		t.Fatal(err)
	}
	if done, err := l.RunFlows(l.Now().Add(30 * time.Second)); err != nil || !done {
		t.Fatal(done, err)
	}
	reps, _ := l.Reports("snd1")
	if reps[0].Error != "" || reps[0].End.IsZero() {
		t.Errorf("echo flow: %+v", reps[0])
	}
	if !strings.Contains(reps[1].Error, "connection refused") {
		t.Errorf("flow to a closed port: error %q", reps[1].Error)
	}
	infos, err := l.Apps("rcv1")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].ID != id || infos[0].Accepted != 1 || infos[0].LastSHA256 != nodeagent.PatternDigest(3<<20) {
		t.Errorf("echo app: %+v", infos)
	}
}

// TestInfinitelyFast checks that a flow of a Duration on a path with
// neither rate nor delay, which never lets time pass, is an error rather
// than a hang, and that the error stays.
func TestInfinitelyFast(t *testing.T) {
	plan, err := topology.Parse("p.yml", []byte(`name: p
topology:
  nodes:
    a: {}
    b: {}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.maxFrames = 1 << 13
	if _, err := l.StartApp("b", nodeagent.AppSpec{Mode: "sink", Port: 1}); err != nil {
		t.Fatal(err)
	}
	to := plan.Node("b").Interfaces[0].Addr.Addr().String() + ":1"
	if err := l.Flows("a", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: to, Duration: time.Second}}}); err != nil {
		t.Fatal(err)
	}
	_, err = l.RunFlows(l.Now().Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "does not settle") {
		t.Fatalf("RunFlows: %v, want a livelock error", err)
	}
	if err2 := l.Run(time.Second); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Run after the error: %v", err2)
	}
}

// TestPower stops a receiver during a flow and starts it again: the flow
// fails (the receiver lost the connection and resets it when the sender's
// retransmission arrives), the sink's record ends without EOF, and a flow
// after the start completes.
func TestPower(t *testing.T) {
	l, apps := newLab(t, 1, 6)
	at := l.Now()
	to := sinkAddr(t, l, "rcv1")
	if err := l.Flows("snd1", nodeagent.FlowBatch{At: at, Flows: []nodeagent.FlowSpec{
		{ID: 1, To: to, Duration: 3 * time.Second},
		{ID: 2, To: to, Start: 4 * time.Second, Bytes: 1 << 20},
	}}); err != nil {
		t.Fatal(err)
	}
	var states []nodeagent.PowerState
	var errs []error
	for _, ev := range []struct {
		at time.Duration
		up bool
	}{{time.Second, false}, {2 * time.Second, true}} {
		if _, err := l.At(at.Add(ev.at), func() {
			st, err := l.SetPower("rcv1", ev.up)
			states, errs = append(states, st), append(errs, err)
			if !ev.up {
				if _, err := l.StartApp("rcv1", nodeagent.AppSpec{Mode: "sink", Port: 9}); err == nil {
					t.Error("StartApp on a stopped node")
				}
				if st, _ := l.Impairments("rcv1"); !st[0].Stopped {
					t.Error("the stopped node's interface is not marked stopped")
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := l.RunFlows(at.Add(time.Minute)); err != nil || !done {
		t.Fatal(done, err)
	}
	if len(states) != 2 || errs[0] != nil || errs[1] != nil || states[0].Lost != 1 || states[0].Apps != 1 || states[1].Apps != 1 {
		t.Fatalf("power states %+v, errors %v", states, errs)
	}
	reps, _ := l.Reports("snd1")
	if reps[0].Error == "" || reps[1].Error != "" || reps[1].SHA256 != nodeagent.PatternDigest(1<<20) {
		t.Errorf("reports: %+v", reps)
	}
	recs, _ := l.AppConns("rcv1", apps["rcv1"])
	if len(recs) != 2 || recs[0].EOF || !recs[1].EOF || recs[1].Bytes != 1<<20 {
		t.Errorf("records: %+v", recs)
	}
	t.Logf("flow 1: %s", reps[0].Error)
}
