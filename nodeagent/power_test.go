package nodeagent

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestNodeStopStart: a node stopped during a flow goes silent and loses
// its connection; started again, its server listens again, the sender of
// the lost connection is reset, and a new flow gets through.
func TestNodeStopStart(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	app, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001, Record: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dst := lab.Node("h2").Interfaces[0].Addr.Addr().String()
	b := FlowBatch{At: time.Now().Add(100 * time.Millisecond), Sample: 10 * time.Millisecond,
		Flows: []FlowSpec{{ID: 1, To: dst + ":5001", Duration: 3 * time.Second}}}
	done := make(chan []FlowReport, 1)
	go func() {
		reps, err := h1.Flows(ctx, b)
		if err != nil {
			t.Error(err)
		}
		done <- reps
	}()
	// Stop h2 once the flow's connection is up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := h2.AppConns(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Bytes > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow never reached the sink: %+v", recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := h2.SetPower(ctx, PowerChange{Up: false})
	if err != nil || st.Lost != 1 || st.Apps != 1 {
		t.Fatalf("stop: %+v, %v; want 1 connection lost, 1 server closed", st, err)
	}
	if again, err := h2.SetPower(ctx, PowerChange{Up: false}); err != nil || again.Lost != 0 {
		t.Fatalf("stopping again: %+v, %v; want nothing to do", again, err)
	}
	if imp, err := h2.Impairments(ctx); err != nil || len(imp) != 1 || !imp[0].Stopped {
		t.Fatalf("h2's interface while stopped: %+v, %v", imp, err)
	}
	// The same from the agent's whole-lab answers, one request each.
	all, err := h1.AllImpairments(ctx)
	if err != nil || len(all["h2"]) != 1 || !all["h2"][0].Stopped || len(all["h1"]) != 1 || all["h1"][0].Stopped {
		t.Fatalf("every node's impairments: %+v, %v; want h1's running, h2's stopped", all, err)
	}
	sts, err := h1.AllStatus(ctx)
	if err != nil || len(sts) != 2 || sts["h2"].Name != "h2" || len(sts["h1"].Routes) == 0 {
		t.Fatalf("every node's status: %+v, %v; want h1's and h2's", sts, err)
	}
	var replies []PingReply
	if err := h1.Ping(ctx, PingSpec{To: dst, Count: 2, Interval: 10 * time.Millisecond},
		func(p PingReply) { replies = append(replies, p) }); err != nil {
		t.Fatal(err)
	}
	for _, r := range replies {
		if !r.Lost {
			t.Fatalf("a stopped node answered a ping: %+v", r)
		}
	}
	if st, err := h2.SetPower(ctx, PowerChange{Up: true}); err != nil || st.Apps != 1 {
		t.Fatalf("start: %+v, %v; want 1 server open again", st, err)
	}
	reps := <-done
	if len(reps) != 1 || !strings.Contains(reps[0].Error, "reset") {
		t.Fatalf("the lost connection's sender: %+v, want it reset", reps)
	}
	rep, err := h1.Send(ctx, SendSpec{To: dst + ":5001", Bytes: 100 << 10})
	if err != nil || rep.Bytes != 100<<10 {
		t.Fatalf("a send after the start: %+v, %v", rep, err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		recs, err := h2.AppConns(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 2 && recs[1].EOF && recs[1].SHA256 == rep.SHA256 {
			if recs[0].EOF {
				t.Errorf("the lost connection's record says it ended cleanly: %+v", recs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink's records after the start: %+v", recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
