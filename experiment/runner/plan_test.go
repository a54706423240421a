package runner

import (
	"fmt"
	"testing"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/topology"
)

func TestPickReceiver(t *testing.T) {
	hosts := []string{"h1", "h2", "h3", "h4"}
	pairs := map[string]bool{}
	for j := range 12 {
		src := hosts[j%4]
		dst := pickReceiver(hosts, j, src)
		if dst == src || dst == "" {
			t.Fatalf("flow %d: %s to %q", j, src, dst)
		}
		pairs[src+">"+dst] = true
	}
	if len(pairs) != 12 {
		t.Errorf("12 flows among 4 hosts cover %d pairs, want all 12: %v", len(pairs), pairs)
	}
	if got := pickReceiver([]string{"rcv1", "rcv2"}, 3, "snd2"); got != "rcv2" {
		t.Errorf("disjoint sets: %s, want round-robin rcv2", got)
	}
	if got := pickReceiver([]string{"h1"}, 0, "h1"); got != "" {
		t.Errorf("only the sender: %q", got)
	}
}

// TestPlanIsTheSeeds plans a poisson workload: the same trial plans the
// same flows, another seed others.
func TestPlanIsTheSeeds(t *testing.T) {
	x, err := experiment.Load("../testdata/poisson.yml")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := topology.Load(x.Topology)
	if err != nil {
		t.Fatal(err)
	}
	l := newLabHandle(plan, nil)
	trials := x.Trials()
	show := func(tr experiment.Trial) string {
		p, err := planTrial(x, l, tr)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, f := range p.flows {
			s += fmt.Sprintf("%s>%s %d@%v ", f.from, f.to, f.spec.Bytes, f.spec.Start)
		}
		return s
	}
	a, b, c := show(trials[0]), show(trials[0]), show(trials[1])
	if a != b {
		t.Errorf("one trial planned twice differs:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("two repetitions planned the same flows: their seeds should differ")
	}
	if len(a) < 100 {
		t.Errorf("plan %q: want flows", a)
	}
}
