package nodeagent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
)

func TestFlowBatchAccountsForEveryByte(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	app, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001, Record: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5001"
	b := FlowBatch{At: time.Now().Add(100 * time.Millisecond), Sample: 10 * time.Millisecond, Flows: []FlowSpec{
		{ID: 1, To: to, Bytes: 1 << 20},
		{ID: 2, To: to, Start: 50 * time.Millisecond, Bytes: 200 << 10, CC: "cubic"},
		{ID: 3, To: to, Duration: 300 * time.Millisecond},
	}}
	reps, err := h1.Flows(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 3 {
		t.Fatalf("%d reports, want 3", len(reps))
	}
	for i, r := range reps {
		if r.ID != b.Flows[i].ID || r.Error != "" || r.End.IsZero() || r.SHA256 == "" {
			t.Fatalf("flow %d: %+v", b.Flows[i].ID, r)
		}
		if sched := b.At.Add(b.Flows[i].Start); r.Start.Before(sched) {
			t.Errorf("flow %d started at %v, before its time %v", r.ID, r.Start, sched)
		}
		if len(r.Samples) == 0 || r.MaxCwndSegs == 0 {
			t.Errorf("flow %d: %d samples, max cwnd %d; want samples", r.ID, len(r.Samples), r.MaxCwndSegs)
		}
	}
	if reps[0].Bytes != 1<<20 || reps[1].Bytes != 200<<10 {
		t.Errorf("bytes %d and %d, want %d and %d", reps[0].Bytes, reps[1].Bytes, 1<<20, 200<<10)
	}
	if reps[0].CC != "reno" || reps[1].CC != "cubic" {
		t.Errorf("congestion controls %q and %q, want reno (the node's) and cubic (the flow's)", reps[0].CC, reps[1].CC)
	}
	if d := reps[2].End.Sub(reps[2].Start); d < 300*time.Millisecond || reps[2].Bytes == 0 {
		t.Errorf("the 300 ms flow took %v for %d bytes", d, reps[2].Bytes)
	}

	// The sink has a record of each, with the same bytes and digest; the
	// connections may still be closing there when the senders are done.
	var recs []ConnRecord
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if recs, err = h2.AppConns(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if eofs(recs) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	byFrom := map[string]ConnRecord{}
	for _, r := range recs {
		byFrom[r.Remote] = r
	}
	for _, f := range reps {
		r, ok := byFrom[f.From]
		if !ok || !r.EOF || r.Bytes != f.Bytes || r.SHA256 != f.SHA256 {
			t.Fatalf("flow %d from %s (%d bytes, %s): sink record %+v", f.ID, f.From, f.Bytes, f.SHA256, r)
		}
		last := r.Samples[len(r.Samples)-1]
		if d := last.At - r.Last.Sub(r.Accepted); last.Bytes != r.Bytes || d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("flow %d: last sample %+v, want %d bytes at %v", f.ID, last, r.Bytes, r.Last.Sub(r.Accepted))
		}
		for k := 1; k < len(r.Samples); k++ {
			if r.Samples[k].At < r.Samples[k-1].At || r.Samples[k].Bytes < r.Samples[k-1].Bytes ||
				r.Samples[k].At == r.Samples[k-1].At && r.Samples[k].Bytes == r.Samples[k-1].Bytes {
				t.Fatalf("flow %d: samples not increasing at %d: %+v", f.ID, k, r.Samples[k-1:k+1])
			}
		}
	}
}

func eofs(recs []ConnRecord) int {
	n := 0
	for _, r := range recs {
		if r.EOF {
			n++
		}
	}
	return n
}

func TestFlowBatchErrors(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	to := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5001"
	for _, tc := range []struct {
		name string
		f    FlowSpec
		want string
	}{
		{"no size", FlowSpec{ID: 7, To: to}, "flow 7: say how much to send"},
		{"bad address", FlowSpec{ID: 8, To: "h2", Bytes: 1}, `flow 8: bad address "h2"`},
	} {
		_, err := h1.Flows(ctx, FlowBatch{At: time.Now(), Flows: []FlowSpec{tc.f}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// No sink: the flow reports the refusal; a limit ends a flow that
	// would run on.
	reps, err := h1.Flows(ctx, FlowBatch{At: time.Now(), Flows: []FlowSpec{{ID: 1, To: to, Bytes: 1000}}})
	if err != nil || len(reps) != 1 || !strings.Contains(reps[0].Error, "connect to") {
		t.Fatalf("flow to no sink: %+v, %v", reps, err)
	}
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	reps, err = h1.Flows(ctx, FlowBatch{At: time.Now(), Limit: 200 * time.Millisecond,
		Flows: []FlowSpec{{ID: 1, To: to, Duration: time.Hour}, {ID: 2, To: to, Start: time.Hour, Bytes: 1}}})
	if err != nil || len(reps) != 2 {
		t.Fatalf("limited batch: %+v, %v", reps, err)
	}
	if !strings.Contains(reps[0].Error, "deadline exceeded") || reps[0].Bytes == 0 || !reps[0].End.IsZero() {
		t.Errorf("the hour-long flow cut at 200 ms: %+v", reps[0])
	}
	if !strings.HasPrefix(reps[1].Error, "not started") {
		t.Errorf("the flow due in an hour: %+v", reps[1])
	}
}

func TestIncastQueriesGoOutTogether(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	app, err := h2.StartApp(ctx, AppSpec{Mode: "rr", Port: 5002, Record: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5002"
	b := FlowBatch{At: time.Now().Add(50 * time.Millisecond)}
	for i := range 3 {
		b.Flows = append(b.Flows, FlowSpec{ID: i + 1, To: to, Requests: 4, Response: 50 << 10, Group: "q"})
	}
	b.Flows = append(b.Flows, FlowSpec{ID: 4, To: to, Requests: 2, Response: 1000, Every: 100 * time.Millisecond})
	reps, err := h1.Flows(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.Error != "" || r.End.IsZero() {
			t.Fatalf("flow %d: %+v", r.ID, r)
		}
		for _, q := range r.Queries {
			if !q.OK || q.Done <= q.Sent {
				t.Fatalf("flow %d: query %+v", r.ID, q)
			}
		}
	}
	for k := range 4 {
		var lastDone time.Duration
		for _, r := range reps[:3] {
			if len(r.Queries) != 4 || r.Bytes != 4*50<<10 {
				t.Fatalf("flow %d: %d queries, %d bytes; want 4 of 50 KiB", r.ID, len(r.Queries), r.Bytes)
			}
			lastDone = max(lastDone, r.Queries[k].Done)
		}
		if k == 3 {
			break
		}
		for _, r := range reps[:3] {
			if r.Queries[k+1].Sent < lastDone {
				t.Errorf("flow %d sent query %d at %v, before the group's query %d was answered (%v)", r.ID, k+2, r.Queries[k+1].Sent, k+1, lastDone)
			}
		}
	}
	if q := reps[3].Queries; len(q) != 2 || q[1].Sent-q[0].Sent < 100*time.Millisecond {
		t.Errorf("the paced flow's queries %+v, want two 100 ms apart", q)
	}
	var recs []ConnRecord
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if recs, err = h2.AppConns(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if eofs(recs) == 4 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	byFrom := map[string]ConnRecord{}
	for _, r := range recs {
		byFrom[r.Remote] = r
	}
	for _, r := range reps {
		if rec := byFrom[r.From]; !rec.EOF || rec.Bytes != r.Bytes {
			t.Errorf("flow %d: the server's record %+v, the client read %d bytes", r.ID, rec, r.Bytes)
		}
	}
}

func TestQueryGroupGoesOnWithoutAFailedMember(t *testing.T) {
	g := newQueryGroup(3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan bool, 2)
	for range 2 {
		go func() {
			ok := g.arrive(ctx) && g.answered(ctx) && g.answered(ctx)
			done <- ok
		}()
	}
	g.leave(false) // the third never connected
	for range 2 {
		if !<-done {
			t.Fatal("a member was held by one that left")
		}
	}
}

// TestFlowCutAfterItsDrain: a flow of a duration over a slow link stops
// writing with most of its buffer unsent; after its drain it resets, and
// the receiver holds an intact prefix of the pattern.
func TestFlowCutAfterItsDrain(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h1.ChangeImpairment(ctx, ImpairChange{Interface: "eth1", Dir: "egress", Impairment: &impair.Config{Rate: 2_000_000, Limit: 100}}); err != nil {
		t.Fatal(err)
	}
	app, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5003, Record: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5003"
	reps, err := h1.Flows(ctx, FlowBatch{At: time.Now(), Flows: []FlowSpec{{ID: 1, To: to, Duration: 300 * time.Millisecond, Drain: 200 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if r.Error != "" || !r.Cut || r.End.IsZero() {
		t.Fatalf("report %+v: want cut, no error", r)
	}
	var rec ConnRecord
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		recs, err := h2.AppConns(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].SHA256 != "" {
			rec = recs[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// 2 Mbit/s for half a second is about 125 KB of the ~1 MB written.
	if rec.EOF || rec.Bytes == 0 || rec.Bytes >= r.Bytes || rec.SHA256 != PatternDigest(rec.Bytes) {
		t.Fatalf("receiver %+v (want a reset, a prefix of the %d bytes, digest %s)", rec, r.Bytes, PatternDigest(rec.Bytes))
	}
}
