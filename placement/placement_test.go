package placement

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/netlab/netlab/topogen"
	"github.com/netlab/netlab/topology"
)

func plan(t *testing.T, gen interface {
	Generate() (*topogen.Topology, error)
}) *topology.Lab {
	t.Helper()
	top, err := gen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	lab, err := topology.Parse("gen.yml", top.YAML())
	if err != nil {
		t.Fatalf("%v\n%s", err, top.YAML())
	}
	return lab
}

func parse(t *testing.T, yml string) *topology.Lab {
	t.Helper()
	lab, err := topology.Parse("lab.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

// check asserts what every placement must be: each node on a worker in
// range, no worker above capacity, none empty while the lab has nodes to
// spare, and Cut exactly the links between workers.
func check(t *testing.T, lab *topology.Lab, p *Placement) {
	t.Helper()
	for i, w := range p.Worker {
		if w < 0 || w >= p.Workers {
			t.Fatalf("node %s on worker %d of %d", lab.Nodes[i].Name, w, p.Workers)
		}
	}
	for w, l := range p.Load() {
		if l > p.Capacity {
			t.Errorf("worker %d holds %d nodes; capacity %d", w, l, p.Capacity)
		}
		if l == 0 && len(lab.Nodes) >= p.Workers {
			t.Errorf("worker %d is empty (%s)", w, p.Summary(len(lab.Links)))
		}
	}
	var cut []int
	for _, l := range lab.Links {
		if p.Worker[l.A.Node.Index] != p.Worker[l.B.Node.Index] {
			cut = append(cut, l.Index)
		}
	}
	if !reflect.DeepEqual(cut, p.Cut) {
		t.Errorf("Cut %v; the links between workers are %v", p.Cut, cut)
	}
}

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lab     func(t *testing.T) *topology.Lab
		workers int
		maxCut  int // the most tunnels a good placement needs
		// together are node names that must share a worker.
		together [][]string
	}{
		{
			// 8 leaves of 25 hosts and 4 spines over 3 workers: each
			// leaf with its hosts; only leaf–spine links are tunnels
			// (a spine is on one worker: at most 4 × 8 − (leaves on
			// its worker) of the 32).
			name: "leaf-spine 212 nodes / 3",
			lab: func(t *testing.T) *topology.Lab {
				return plan(t, topogen.LeafSpine{Common: topogen.Common{Name: "ls"}, Leaves: 8, Spines: 4, HostsPerLeaf: 25})
			},
			workers: 3, maxCut: 32,
			together: [][]string{{"leaf1", "h1-01", "h1-25"}, {"leaf8", "h8-01", "h8-13", "h8-25"}},
		},
		{
			name: "leaf-spine 212 nodes / 4",
			lab: func(t *testing.T) *topology.Lab {
				return plan(t, topogen.LeafSpine{Common: topogen.Common{Name: "ls"}, Leaves: 8, Spines: 4, HostsPerLeaf: 25})
			},
			workers: 4, maxCut: 32,
			together: [][]string{{"leaf1", "h1-01", "h1-25"}, {"leaf5", "h5-01", "h5-25"}},
		},
		{
			// 8 groups of 26 on 6 workers of at most 39 nodes: two
			// groups must be split (13 host links each) besides the
			// leaf–spine links.
			name: "leaf-spine 212 nodes / 6",
			lab: func(t *testing.T) *topology.Lab {
				return plan(t, topogen.LeafSpine{Common: topogen.Common{Name: "ls"}, Leaves: 8, Spines: 4, HostsPerLeaf: 25})
			},
			workers: 6, maxCut: 32 + 2*13,
		},
		{
			// A line cut into 6 pieces: 5 tunnels.
			name: "line 1000 / 6",
			lab: func(t *testing.T) *topology.Lab {
				return plan(t, topogen.Line{Common: topogen.Common{Name: "line"}, Routers: 998, Hosts: 1})
			},
			workers: 6, maxCut: 5,
		},
		{
			name: "line 1000 / 3",
			lab: func(t *testing.T) *topology.Lab {
				return plan(t, topogen.Line{Common: topogen.Common{Name: "line"}, Routers: 998, Hosts: 1})
			},
			workers: 3, maxCut: 2,
		},
		{
			// A LAN of five hosts on a bridge is never split, even
			// when the even share is smaller.
			name: "bridge kept whole",
			lab: func(t *testing.T) *topology.Lab {
				return parse(t, `name: lan
topology:
  nodes:
    br: {kind: bridge}
    a: {kind: host}
    b: {kind: host}
    c: {kind: host}
    d: {kind: host}
    e: {kind: host}
    r: {kind: router}
    x: {kind: host}
  links:
    - endpoints: [a:eth1, br:p1]
    - endpoints: [b:eth1, br:p2]
    - endpoints: [c:eth1, br:p3]
    - endpoints: [d:eth1, br:p4]
    - endpoints: [e:eth1, br:p5]
    - endpoints: [r:eth1, br:p6]
    - endpoints: [r:eth2, x:eth1]
`)
			},
			workers: 2, maxCut: 1,
			together: [][]string{{"a", "b", "c", "d", "e", "r"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := tc.lab(t)
			p, err := Place(lab, Options{Workers: tc.workers})
			if err != nil {
				t.Fatal(err)
			}
			check(t, lab, p)
			t.Log(p.Summary(len(lab.Links)))
			if len(p.Cut) > tc.maxCut {
				t.Errorf("%d tunnels; a good placement needs at most %d (%s)", len(p.Cut), tc.maxCut, p.Summary(len(lab.Links)))
			}
			for _, group := range tc.together {
				w := p.Worker[lab.Node(group[0]).Index]
				for _, name := range group[1:] {
					if got := p.Worker[lab.Node(name).Index]; got != w {
						t.Errorf("%s on worker %d, %s on %d; want them together", group[0], w, name, got)
					}
				}
			}
			// The same lab places the same way.
			again, _ := Place(lab, Options{Workers: tc.workers})
			if !reflect.DeepEqual(p, again) {
				t.Errorf("two placements of the same lab differ")
			}
		})
	}
}

// TestPlaceBalanced: without slack, workers differ by at most one node
// when no group forces more.
func TestPlaceBalanced(t *testing.T) {
	lab := plan(t, topogen.Line{Common: topogen.Common{Name: "line"}, Routers: 96, Hosts: 1})
	for _, k := range []int{1, 2, 3, 7, 100} {
		p, err := Place(lab, Options{Workers: k, Imbalance: -1})
		if err != nil {
			t.Fatal(err)
		}
		check(t, lab, p)
		load := p.Load()
		lo, hi := load[0], load[0]
		for _, l := range load {
			lo, hi = min(lo, l), max(hi, l)
		}
		if hi-lo > 1 {
			t.Errorf("%d workers: loads %v", k, load)
		}
		if k <= len(lab.Nodes) && len(p.Cut) != k-1 {
			t.Errorf("%d workers: %d tunnels on a line; want %d", k, len(p.Cut), k-1)
		}
	}
}

// TestPlaceLinuxNodes: `stack: linux` nodes are placed as any (a tunnel
// may end at the kernel's stack, relayed by its worker): a line of them
// splits over the workers like a line of Go-stack nodes.
func TestPlaceLinuxNodes(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: lx\ntopology:\n  defaults: {stack: linux}\n  nodes:\n")
	for i := range 12 {
		fmt.Fprintf(&b, "    r%d: {kind: router}\n", i)
	}
	b.WriteString("  links:\n")
	for i := range 11 {
		fmt.Fprintf(&b, "    - endpoints: [r%d:eth2, r%d:eth1]\n", i, i+1)
	}
	lab := parse(t, b.String())
	for _, n := range lab.Nodes {
		if n.Stack != topology.StackLinux {
			t.Fatalf("node %s on the %s stack", n.Name, n.Stack)
		}
	}
	p, err := Place(lab, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	check(t, lab, p)
	if len(p.Cut) != 2 {
		t.Errorf("a line of 12 stack: linux routers on 3 workers: %s; want 2 tunnels", p.Summary(len(lab.Links)))
	}
}

func TestPlaceErrors(t *testing.T) {
	lab := parse(t, "name: x\ntopology:\n  nodes:\n    a: {kind: host}\n")
	if _, err := Place(lab, Options{Workers: 0}); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("0 workers: %v", err)
	}
	// More workers than nodes: some stay empty, none fails.
	p, err := Place(lab, Options{Workers: 3})
	if err != nil || p.Worker[0] < 0 || fmt.Sprint(p.Load()) == "[0 0 0]" {
		t.Errorf("one node on 3 workers: %+v %v", p, err)
	}
}

// TestPlaceOwn: nodes with an image of their own get a worker each, after
// the shared ones, beside the worker their links lead to; a lab of such
// nodes only has no shared worker; one on a LAN segment with others is
// refused, saying why.
func TestPlaceOwn(t *testing.T) {
	lab := parse(t, `name: own
topology:
  nodes:
    r1: {kind: router}
    r2: {kind: router}
    h1: {kind: host}
    h2: {kind: host}
    c1: {kind: linux, image: frr:1}
    c2: {kind: linux, image: frr:1}
  links:
    - endpoints: [r1:eth1, r2:eth1]
    - endpoints: [r1:eth2, h1:eth1]
    - endpoints: [r2:eth2, h2:eth1]
    - endpoints: [c1:eth1, r2:eth3]
    - endpoints: [c1:eth2, c2:eth1]
`)
	byImage := func(n *topology.Node) bool { return n.Image != "" }
	p, err := Place(lab, Options{Workers: 2, Own: byImage})
	if err != nil {
		t.Fatal(err)
	}
	c1, c2, r2 := lab.Node("c1").Index, lab.Node("c2").Index, lab.Node("r2").Index
	if p.Workers != 4 || p.Shared != 2 || p.Worker[c1] != 2 || p.Worker[c2] != 3 {
		t.Fatalf("placement %+v; want 2 shared workers, then c1 on 2 and c2 on 3", p)
	}
	if len(p.Beside) != 2 || p.Beside[0] != p.Worker[r2] || p.Beside[1] != -1 {
		t.Errorf("beside %v; want c1 beside r2's worker %d, c2 (linked to c1 only) beside none", p.Beside, p.Worker[r2])
	}
	for _, l := range lab.Links {
		cut := slices.Contains(p.Cut, l.Index)
		if own := l.A.Node.Image != "" || l.B.Node.Image != ""; own && !cut {
			t.Errorf("link %s-%s of a node on its own is not a tunnel", l.A, l.B)
		}
	}
	for _, v := range []string{"r1", "r2", "h1", "h2"} {
		if w := p.Worker[lab.Node(v).Index]; w >= p.Shared {
			t.Errorf("%s on worker %d; want a shared one", v, w)
		}
	}

	only := parse(t, `name: only
topology:
  nodes:
    c1: {kind: linux, image: frr:1}
    c2: {kind: linux, image: frr:1}
  links:
    - endpoints: [c1:eth1, c2:eth1]
`)
	if p, err := Place(only, Options{Workers: 1, Own: byImage}); err != nil || p.Workers != 2 || p.Shared != 0 || len(p.Cut) != 1 {
		t.Errorf("a lab of own nodes only: %+v, %v; want 2 workers, none shared, the link a tunnel", p, err)
	}

	lan := parse(t, `name: lan
topology:
  nodes:
    h1: {kind: host}
    c1: {kind: linux, image: frr:1}
    sw: {kind: bridge}
  links:
    - endpoints: [h1:eth1, sw:p1]
    - endpoints: [c1:eth1, sw:p2]
`)
	if _, err := Place(lan, Options{Workers: 1, Own: byImage}); err == nil || !strings.Contains(err.Error(), "c1") || !strings.Contains(err.Error(), "segment") {
		t.Errorf("an own node on a LAN: %v; want an error naming it and the segment", err)
	}
}
