package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
)

// TestPing: echo requests across the dumbbell come back one base RTT
// later, every interval; while the bottleneck is down they are lost after
// the timeout and the next goes out at once, as the agent's ping does.
func TestPing(t *testing.T) {
	plan := dumbbell(t, 1, "")
	lab, err := New(plan, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	dst := plan.Node("rcv1").Interfaces[0].Addr.Addr().String()
	at := lab.Now().Add(100 * time.Millisecond)
	var replies []nodeagent.PingReply
	var sentAt []time.Duration
	if err := lab.Ping("snd1", at, nodeagent.PingSpec{To: dst, Count: 8, Interval: 200 * time.Millisecond},
		func(r nodeagent.PingReply) {
			replies = append(replies, r)
			sentAt = append(sentAt, lab.Now().Sub(at))
		}); err != nil {
		t.Fatal(err)
	}
	// Down from 0.5 s to 2 s: requests 3 (sent at 0.4 s, answered) and 4
	// (sent at 0.6 s) ... lost.
	if _, err := lab.At(at.Add(500*time.Millisecond), func() { lab.SetDown("r1", "eth1", true) }); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.At(at.Add(2*time.Second), func() { lab.SetDown("r1", "eth1", false) }); err != nil {
		t.Fatal(err)
	}
	if err := lab.RunUntil(at.Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(replies) != 8 {
		t.Fatalf("%d replies, want 8: %+v", len(replies), replies)
	}
	var lost []int
	for _, r := range replies {
		if r.Lost {
			lost = append(lost, r.Seq)
			continue
		}
		// 5 ms each way on the bottleneck; the access links add nothing.
		// The first also waits for ARP across the bottleneck.
		hi := 12 * time.Millisecond
		if r.Seq == 1 {
			hi = 25 * time.Millisecond
		}
		if r.RTT < 10*time.Millisecond || r.RTT > hi || r.TTL != 62 {
			t.Errorf("reply %+v: want an RTT of about 10 ms, TTL 62 (two routers)", r)
		}
	}
	// Request 4 went out at 0.6 s and is lost at 1.6 s (a 1 s timeout);
	// request 5 goes out then and is lost at 2.6 s; 6 is answered.
	if !slices.Equal(lost, []int{4, 5}) {
		t.Errorf("lost %v, want [4 5]", lost)
	}
	if sentAt[3] != 1600*time.Millisecond || sentAt[4] != 2600*time.Millisecond {
		t.Errorf("losses reported at %v and %v, want 1.6s and 2.6s", sentAt[3], sentAt[4])
	}
}
