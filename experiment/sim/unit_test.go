package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
)

// TestPattern checks that the flows send the agent's pattern.
func TestPattern(t *testing.T) {
	for _, n := range []int64{0, 1, 7, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 17} {
		p := newPattern()
		h := sha256.New()
		b := make([]byte, 1000)
		for left := n; left > 0; {
			k := min(left, int64(len(b)))
			p.Read(b[:k])
			h.Write(b[:k])
			left -= k
		}
		if got, want := hex.EncodeToString(h.Sum(nil)), nodeagent.PatternDigest(n); got != want {
			t.Errorf("%d bytes: digest %s, want %s", n, got, want)
		}
	}
}

// TestSeeds checks how Options.Seed derives the seeds.
func TestSeeds(t *testing.T) {
	plan := dumbbell(t, 1, "")
	planned := plan.Node("r1").Interface("eth1").Egress
	for _, tc := range []struct {
		seed     uint64
		samePlan bool
	}{{0, true}, {1, false}, {2, false}} {
		l, err := New(plan, Options{Seed: tc.seed})
		if err != nil {
			t.Fatal(err)
		}
		st, err := l.Impairments("r1")
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := st[0].Egress.Seed
		if (got == planned.Seed) != tc.samePlan {
			t.Errorf("seed %d: the bottleneck's seed is %d, the plan's %d", tc.seed, got, planned.Seed)
		}
		if tc.seed != 0 && got != mix(tc.seed, planned.Seed, "netem", "r1:eth1", "egress") {
			t.Errorf("seed %d: the bottleneck's seed %d is not derived from it", tc.seed, got)
		}
	}
	if mix(1, 2, "a") == mix(1, 2, "b") || mix(1, 2, "a") == mix(2, 2, "a") {
		t.Error("mix ignores its inputs")
	}
}

// TestSetImpairment drops everything on the bottleneck, then removes the
// impairment.
func TestSetImpairment(t *testing.T) {
	l, _ := newLab(t, 1, 1)
	drop := &impair.Config{Loss: impair.RandomLoss(1, 0)}
	if err := l.SetImpairment("r1", "eth1", drop, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Flows("snd1", nodeagent.FlowBatch{Flows: []nodeagent.FlowSpec{{ID: 1, To: sinkAddr(t, l, "rcv1"), Bytes: 1000}}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := l.Impairments("r1")
	reps, _ := l.Reports("snd1")
	if st[0].Stats.Egress.DroppedLoss == 0 || st[0].Ingress != nil || !reps[0].Connected.IsZero() {
		t.Fatalf("with 100%% loss: state %+v, report %+v", st[0], reps[0])
	}
	if err := l.SetImpairment("r1", "eth1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if done, err := l.RunFlows(l.Now().Add(40 * time.Second)); err != nil || !done {
		t.Fatal(done, err)
	}
	st, _ = l.Impairments("r1")
	reps, _ = l.Reports("snd1")
	if st[0].Egress != nil || reps[0].Error != "" || reps[0].SHA256 != nodeagent.PatternDigest(1000) {
		t.Errorf("without impairment: state %+v, report %+v", st[0], reps[0])
	}
	if err := l.SetImpairment("r1", "eth1", &impair.Config{Loss: impair.RandomLoss(2, 0)}, nil); err == nil {
		t.Error("a loss of 200% is accepted")
	}
}
