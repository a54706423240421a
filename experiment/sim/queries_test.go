package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
)

// TestRequests runs flows of requests against an rr server: one alone,
// paced by Every, and three in a group that ask together.
func TestRequests(t *testing.T) {
	l, err := New(dumbbell(t, 2, ""), Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id, err := l.StartApp("rcv1", nodeagent.AppSpec{Mode: "rr", Port: 80, Record: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	to := fmt.Sprintf("%v:80", l.Plan().Node("rcv1").Interfaces[0].Addr.Addr())
	at := l.Now()
	if err := l.Flows("snd1", nodeagent.FlowBatch{At: at, Limit: 20 * time.Second, Flows: []nodeagent.FlowSpec{
		{ID: 1, To: to, Requests: 5, Response: 100 << 10, Every: 200 * time.Millisecond},
	}}); err != nil {
		t.Fatal(err)
	}
	group := nodeagent.FlowBatch{At: at, Limit: 20 * time.Second}
	for i := range 3 {
		group.Flows = append(group.Flows, nodeagent.FlowSpec{ID: 10 + i, To: to, Start: time.Duration(i) * 10 * time.Millisecond,
			Requests: 4, Response: 64 << 10, Group: "incast"})
	}
	if err := l.Flows("snd2", group); err != nil {
		t.Fatal(err)
	}
	if done, err := l.RunFlows(at.Add(20 * time.Second)); err != nil || !done {
		t.Fatal(done, err)
	}
	recs, err := l.AppConns("rcv1", id)
	if err != nil {
		t.Fatal(err)
	}
	byFrom := map[string]nodeagent.ConnRecord{}
	for _, r := range recs {
		byFrom[r.Remote] = r
	}
	alone, err := l.Reports("snd1")
	if err != nil {
		t.Fatal(err)
	}
	rep := alone[0]
	if rep.Error != "" || rep.End.IsZero() || len(rep.Queries) != 5 || rep.Bytes != 5*100<<10 {
		t.Fatalf("flow 1: %+v", rep)
	}
	for q, qr := range rep.Queries {
		if !qr.OK || qr.Done <= qr.Sent {
			t.Errorf("flow 1 query %d: %+v", q+1, qr)
		}
		// As the agent: query q is due Every after query q-1 was due,
		// or goes when the answer to q-1 came, if later.
		if want := max(rep.Queries[0].Sent+time.Duration(q)*200*time.Millisecond, rep.Queries[max(q-1, 0)].Done); q > 0 && qr.Sent != want {
			t.Errorf("flow 1 query %d sent at %v, want %v", q+1, qr.Sent, want)
		}
	}
	if r := byFrom[rep.From]; !r.EOF || r.Bytes != rep.Bytes || r.Open {
		t.Errorf("flow 1's record: %+v", r)
	}
	reps, err := l.Reports("snd2")
	if err != nil {
		t.Fatal(err)
	}
	for q := range 4 {
		var sent []time.Duration
		var last time.Duration
		for _, r := range reps {
			if r.Error != "" || len(r.Queries) != 4 || !r.Queries[q].OK {
				t.Fatalf("flow %d: %+v", r.ID, r)
			}
			sent = append(sent, r.Queries[q].Sent)
			last = max(last, r.Queries[q].Done)
		}
		for _, s := range sent[1:] {
			if s != sent[0] {
				t.Errorf("query %d sent at %v: want together", q+1, sent)
			}
		}
		if q < 3 && reps[0].Queries[q+1].Sent != last {
			t.Errorf("query %d went at %v, the last answer to %d came at %v", q+2, reps[0].Queries[q+1].Sent, q+1, last)
		}
	}
	if reps[0].Queries[0].Sent < 20*time.Millisecond {
		t.Errorf("the group asked at %v, before its last member connected", reps[0].Queries[0].Sent)
	}
	t.Logf("flow 1 queries %+v; group's first %+v", rep.Queries, reps[0].Queries)
}
