package topology

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// genRing is rings routers in a ring, each with hosts hosts on
// point-to-point links, with auto-routes.
func genRing(routers, hosts int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: ring\ntopology:\n  auto-routes: true\n  defaults: {kind: host}\n  nodes:\n")
	for r := range routers {
		fmt.Fprintf(&b, "    r%d: {kind: router}\n", r)
		for h := range hosts {
			fmt.Fprintf(&b, "    h%d-%d: {}\n", r, h)
		}
	}
	b.WriteString("  links:\n")
	for r := range routers {
		fmt.Fprintf(&b, "    - endpoints: [\"r%d:eth1\", \"r%d:eth2\"]\n", r, (r+1)%routers)
		for h := range hosts {
			fmt.Fprintf(&b, "    - endpoints: [\"r%d:h%d\", \"h%d-%d:eth1\"]\n", r, h, r, h)
		}
	}
	return []byte(b.String())
}

// genTree is a binary tree of n routers with auto-routes: every router
// reaches nearly every subnet.
func genTree(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: tree\ntopology:\n  auto-routes: true\n  nodes:\n")
	for i := range n {
		fmt.Fprintf(&b, "    r%d: {kind: router}\n", i)
	}
	b.WriteString("  links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "    - endpoints: [\"r%d:up\", \"r%d:down%d\"]\n", i, (i-1)/2, i%2)
	}
	return []byte(b.String())
}

func TestGenerated1000(t *testing.T) {
	tests := []struct {
		name  string
		src   []byte
		nodes int
	}{
		{"ring of 100 routers with 9 hosts each", genRing(100, 9), 1000},
		{"tree of 1000 routers", genTree(1000), 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			lab, err := Parse("gen.yml", tc.src)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("resolved %d nodes, %d links in %v", len(lab.Nodes), len(lab.Links), time.Since(start))
			if len(lab.Nodes) != tc.nodes {
				t.Fatalf("got %d nodes, want %d", len(lab.Nodes), tc.nodes)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 300 {
				a := lab.Nodes[rng.IntN(len(lab.Nodes))]
				b := lab.Nodes[rng.IntN(len(lab.Nodes))]
				for _, i := range b.Interfaces {
					if _, err := deliver(lab, a, i.Addr.Addr()); err != nil {
						t.Errorf("%s to %s: %v", a.Name, i, err)
					}
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	benches := []struct {
		name string
		src  []byte
	}{
		{"ring-1000-nodes", genRing(100, 9)},
		{"tree-1000-routers", genTree(1000)},
		{"fabric-100", nil},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			src := bc.src
			if src == nil {
				lab, err := Load("../examples/fabric-100.yml")
				if err != nil {
					b.Fatal(err)
				}
				_ = lab
			}
			b.ReportAllocs()
			for b.Loop() {
				if src == nil {
					if _, err := Load("../examples/fabric-100.yml"); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := Parse("gen.yml", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
