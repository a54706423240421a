package topogen

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type generator interface {
	Generate() (*Topology, error)
}

// load writes the generated file and loads it as `netlab validate` does.
func load(t *testing.T, g generator) (*Topology, *topology.Lab, []byte) {
	t.Helper()
	top, err := g.Generate()
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	data := top.YAML()
	path := filepath.Join(t.TempDir(), top.Name+".yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	lab, err := topology.Load(path)
	if err != nil {
		t.Fatalf("topology.Load: %v\n%s", err, data)
	}
	if len(lab.Warnings) > 0 {
		t.Errorf("warnings: %v", lab.Warnings)
	}
	return top, lab, data
}

var (
	bn  = LinkSpec{Rate: "10mbit", Delay: "10ms", Queue: "100"}
	acc = LinkSpec{Rate: "100mbit", Delay: "1ms"}
)

// TestGenShapes: every shape at a small and a larger size loads and
// validates, with the nodes, links and roles the shape promises, a role
// and a group on every node, and a route between its hosts.
func TestGenShapes(t *testing.T) {
	for _, tc := range []struct {
		name              string
		g                 generator
		nodes, links, seg int            // running nodes, point-to-point links, LAN segments
		roles             map[string]int // nodes (and bridges) by role
	}{
		{"dumbbell-1", Dumbbell{Pairs: 1, Bottleneck: bn}, 4, 3, 0, map[string]int{"router": 2, "sender": 1, "receiver": 1}},
		{"dumbbell-20", Dumbbell{Pairs: 20, Bottleneck: bn, Access: acc}, 42, 41, 0, map[string]int{"router": 2, "sender": 20, "receiver": 20}},
		{"parking-lot-1x0", ParkingLot{Hops: 1, Cross: 0, Pairs: 1, Hop: bn}, 4, 3, 0, map[string]int{"router": 2, "sender": 1, "receiver": 1}},
		{"parking-lot-4x2", ParkingLot{Hops: 4, Cross: 2, Pairs: 2, Hop: bn, Access: acc}, 5 + 4 + 16, 4 + 4 + 16, 0, map[string]int{"router": 5, "sender": 2 + 8, "receiver": 2 + 8}},
		{"leaf-spine-1x1x1", LeafSpine{Leaves: 1, Spines: 1, HostsPerLeaf: 1}, 3, 2, 0, map[string]int{"spine": 1, "leaf": 1, "host": 1}},
		{"leaf-spine-4x2x3", LeafSpine{Leaves: 4, Spines: 2, HostsPerLeaf: 3, Fabric: bn}, 4 + 2 + 12, 4*2 + 12, 0, map[string]int{"spine": 2, "leaf": 4, "host": 12}},
		{"leaf-spine-12x4x7", LeafSpine{Leaves: 12, Spines: 4, HostsPerLeaf: 7, Access: acc}, 12 + 4 + 84, 48 + 84, 0, map[string]int{"spine": 4, "leaf": 12, "host": 84}},
		{"fat-tree-2", FatTree{K: 2}, 1 + 4 + 2, 6, 0, map[string]int{"core": 1, "agg": 2, "edge": 2, "host": 2}},
		{"fat-tree-4", FatTree{K: 4, Fabric: bn}, 20 + 16, 48, 0, map[string]int{"core": 4, "agg": 8, "edge": 8, "host": 16}},
		{"fat-tree-8", FatTree{K: 8}, 80 + 128, 384, 0, map[string]int{"core": 16, "agg": 32, "edge": 32, "host": 128}},
		{"star-2", Star{Hosts: 2}, 2, 0, 1, map[string]int{"switch": 1, "host": 2}},
		{"star-30-bridge", Star{Hosts: 30, Link: acc}, 30, 0, 1, map[string]int{"switch": 1, "host": 30}},
		{"star-30-router", Star{Hosts: 30, Center: "router", Link: bn}, 31, 30, 0, map[string]int{"router": 1, "host": 30}},
		{"line-1", Line{Routers: 1, Hosts: 1}, 3, 2, 0, map[string]int{"router": 1, "sender": 1, "receiver": 1}},
		{"line-30x3", Line{Routers: 30, Hosts: 3, Hop: bn, Access: acc}, 36, 29 + 6, 0, map[string]int{"router": 30, "sender": 3, "receiver": 3}},
		{"tree-1x2", Tree{Depth: 1, Fanout: 2}, 3, 2, 0, map[string]int{"router": 1, "host": 2}},
		{"tree-3x3", Tree{Depth: 3, Fanout: 3, Fabric: bn}, 1 + 3 + 9 + 27, 3 + 9 + 27, 0, map[string]int{"router": 13, "host": 27}},
		{"tree-5x1", Tree{Depth: 5, Fanout: 1}, 6, 5, 0, map[string]int{"router": 5, "host": 1}},
		{"linux-dumbbell", Dumbbell{Common: Common{Stack: "linux", Name: "ldb"}, Pairs: 2, Bottleneck: bn}, 6, 5, 0, map[string]int{"router": 2, "sender": 2, "receiver": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top, lab, _ := load(t, tc.g)
			if len(lab.Nodes) != tc.nodes || len(lab.Links) != tc.links || len(lab.Segments) != tc.seg {
				t.Errorf("%d nodes, %d links, %d segments; want %d, %d, %d",
					len(lab.Nodes), len(lab.Links), len(lab.Segments), tc.nodes, tc.links, tc.seg)
			}
			roles := map[string]int{}
			for _, n := range lab.Nodes {
				if n.Labels["role"] == "" || n.Labels["group"] == "" {
					t.Errorf("node %s: labels %v, want role and group", n.Name, n.Labels)
				}
				roles[n.Labels["role"]]++
				if want := n.Labels["role"] != "host" && n.Labels["role"] != "sender" && n.Labels["role"] != "receiver"; n.Forwarding != want {
					t.Errorf("node %s (%s): forwarding %v", n.Name, n.Labels["role"], n.Forwarding)
				}
				if top.Stack == "linux" && n.Stack != topology.StackLinux {
					t.Errorf("node %s: stack %s, want linux", n.Name, n.Stack)
				}
			}
			for _, s := range lab.Segments {
				roles[s.Labels["role"]]++
			}
			if fmt.Sprint(roles) != fmt.Sprint(tc.roles) {
				t.Errorf("roles %v, want %v", roles, tc.roles)
			}
			for role, n := range tc.roles {
				if got := top.Count("role", role); got != n {
					t.Errorf("Topology.Count(role, %s) = %d, want %d", role, got, n)
				}
			}
			reachable(t, lab)
		})
	}
}

// reachable follows the plan's routes hop by hop between hosts (every
// pair for small labs; from the first and last host to all for big ones)
// and fails on a hop with no route or a loop.
func reachable(t *testing.T, lab *topology.Lab) {
	t.Helper()
	var hosts []*topology.Node
	owner := map[netip.Addr]*topology.Node{}
	for _, n := range lab.Nodes {
		if !n.Forwarding {
			hosts = append(hosts, n)
		}
		for _, i := range n.Interfaces {
			owner[i.Addr.Addr()] = n
		}
	}
	if len(hosts) < 2 {
		return // one host: nothing to reach (leaf-spine 1x1x1, tree 5x1)
	}
	from := hosts
	if len(hosts) > 24 {
		from = []*topology.Node{hosts[0], hosts[len(hosts)-1]}
	}
	pairs := 0
	for _, src := range from {
		for _, dst := range hosts {
			if src == dst {
				continue
			}
			to := dst.Interfaces[0].Addr.Addr()
			if err := walk(src, to, owner); err != nil {
				t.Fatalf("%s -> %s (%s): %v", src.Name, dst.Name, to, err)
			}
			pairs++
		}
	}
	if pairs == 0 {
		t.Fatal("no pair walked")
	}
}

func walk(n *topology.Node, dst netip.Addr, owner map[netip.Addr]*topology.Node) error {
	path := []string{n.Name}
	for hop := 0; hop < 64; hop++ {
		if owner[dst] == n {
			return nil
		}
		if hop > 0 && !n.Forwarding {
			return fmt.Errorf("through %v: %s does not forward", path, n.Name)
		}
		next := (*topology.Node)(nil)
		for _, i := range n.Interfaces {
			if i.Addr.Contains(dst) {
				next = owner[dst]
			}
		}
		if next == nil {
			best := -1
			var via netip.Addr
			for _, r := range n.Routes {
				if r.Dst.Contains(dst) && r.Dst.Bits() > best {
					best, via = r.Dst.Bits(), r.Via
				}
			}
			if best < 0 || !via.IsValid() {
				return fmt.Errorf("through %v: %s has no route (routes %v)", path, n.Name, n.Routes)
			}
			next = owner[via]
		}
		if next == nil {
			return fmt.Errorf("through %v: next hop of %s owned by no node", path, n.Name)
		}
		n = next
		path = append(path, n.Name)
	}
	return fmt.Errorf("loop: %v", path)
}

// TestGenNetem: the flags' rate, delay and queue land on the links they
// name, in the plan netlab deploys.
func TestGenNetem(t *testing.T) {
	_, lab, _ := load(t, Dumbbell{Pairs: 2, Bottleneck: bn, Access: LinkSpec{Rate: "100mbit", Delay: "2ms", Queue: "64KB"}})
	b := lab.Link("bottleneck")
	if b == nil {
		t.Fatal("no link named bottleneck")
	}
	for _, c := range []struct {
		what string
		got  any
		want any
	}{
		{"bottleneck rate", b.Netem.AtoB.Rate, uint64(10_000_000)},
		{"bottleneck delay", b.Netem.BtoA.Delay, 10 * time.Millisecond},
		{"bottleneck limit", b.Netem.AtoB.Limit, 100},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, l := range lab.Links {
		if l == b {
			continue
		}
		if l.Netem.AtoB == nil || l.Netem.AtoB.Rate != 100_000_000 || l.Netem.AtoB.Delay != 2*time.Millisecond || l.Netem.AtoB.LimitBytes != 64000 {
			t.Errorf("access link %s: netem %+v", l.Name, l.Netem.AtoB)
		}
	}
	_, lab, _ = load(t, LeafSpine{Leaves: 2, Spines: 1, HostsPerLeaf: 1})
	for _, l := range lab.Links {
		if l.Netem.AtoB != nil || l.Netem.BtoA != nil {
			t.Errorf("link %s impaired without a flag asking: %+v", l.Name, l.Netem.AtoB)
		}
	}
}

// TestGenDeterministic: the same parameters give the same bytes, and the
// bytes are those of the golden files (go test -update rewrites them).
func TestGenDeterministic(t *testing.T) {
	for _, tc := range []struct {
		golden string
		g      generator
	}{
		{"dumbbell-2.yml", Dumbbell{Common: Common{Command: "netlab gen dumbbell"}, Pairs: 2, Bottleneck: bn}},
		{"fat-tree-2.yml", FatTree{Common: Common{Command: "netlab gen fat-tree --k 2"}, K: 2}},
		{"star-3.yml", Star{Common: Common{Command: "netlab gen star --hosts 3"}, Hosts: 3}},
	} {
		a, err := tc.g.Generate()
		if err != nil {
			t.Fatal(err)
		}
		b, err := tc.g.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.YAML(), b.YAML()) {
			t.Errorf("%s: two runs differ", tc.golden)
		}
		path := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(path, a.YAML(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.YAML(), want) {
			t.Errorf("%s changed (go test -update if meant):\n%s", tc.golden, a.YAML())
		}
		if !strings.Contains(string(a.YAML()), "#   "+a.Command+"\n") {
			t.Errorf("%s: the header does not say the command %q", tc.golden, a.Command)
		}
	}
}

// TestGenRefuses: sizes and values out of range are refused with what is
// allowed.
func TestGenRefuses(t *testing.T) {
	for _, tc := range []struct {
		g    generator
		want string
	}{
		{FatTree{K: 5}, "fat-tree: --k 5: k must be even, 2 or more"},
		{FatTree{K: 0}, "fat-tree: --k 0: k must be even, 2 or more"},
		{FatTree{K: 40}, "fat-tree: --k 40 makes 18000 nodes; at most 4096 are allowed"},
		{FatTree{K: 1 << 40}, "makes more than 4096 nodes"},
		{Dumbbell{Pairs: 0}, "dumbbell: --pairs 0: at least 1 sender-receiver pair"},
		{Dumbbell{Pairs: 3000}, "dumbbell: --pairs 3000 makes 6002 nodes; at most 4096 are allowed"},
		{Dumbbell{Pairs: 1, Bottleneck: LinkSpec{Rate: "10mb"}}, `--rate "10mb": want a rate with tc's units`},
		{Dumbbell{Pairs: 1, Access: LinkSpec{Delay: "10"}}, `--access-delay "10": want a duration with a unit`},
		{Dumbbell{Pairs: 1, Bottleneck: LinkSpec{Queue: "many"}}, `--queue "many": want frames (100) or bytes with a unit (64KB)`},
		{Dumbbell{Pairs: 1, Bottleneck: LinkSpec{Queue: "-3"}}, `--queue "-3"`},
		{Dumbbell{Common: Common{Name: "my lab"}, Pairs: 1}, `--name "my lab": allowed: letters, digits`},
		{Dumbbell{Common: Common{Stack: "bsd"}, Pairs: 1}, `--stack "bsd": want go or linux`},
		{ParkingLot{Hops: 0, Pairs: 1}, "parking-lot: --hops 0: at least 1 bottleneck hop"},
		{ParkingLot{Hops: 2, Pairs: 1, Cross: -1}, "parking-lot: --cross -1: 0 or more"},
		{ParkingLot{Hops: 2, Pairs: 0}, "parking-lot: --pairs 0: at least 1"},
		{LeafSpine{Leaves: 0, Spines: 1, HostsPerLeaf: 1}, "leaf-spine: --leaves 0: at least 1 leaf"},
		{LeafSpine{Leaves: 1, Spines: 0, HostsPerLeaf: 1}, "leaf-spine: --spines 0: at least 1 spine"},
		{LeafSpine{Leaves: 1, Spines: 1, HostsPerLeaf: 0}, "leaf-spine: --hosts-per-leaf 0: at least 1 host"},
		{LeafSpine{Leaves: 100, Spines: 10, HostsPerLeaf: 100}, "makes 10110 nodes"},
		{Star{Hosts: 1}, "star: --hosts 1: at least 2 hosts"},
		{Star{Hosts: 3, Center: "hub"}, `star: --center "hub": want bridge`},
		{Star{Hosts: 2000}, "at most 1000 hosts on one bridge"},
		{Line{Routers: 0, Hosts: 1}, "line: --routers 0: at least 1 router"},
		{Line{Routers: 2, Hosts: 0}, "line: --hosts 0: at least 1 host at each end"},
		{Tree{Depth: 0, Fanout: 2}, "tree: --depth 0: at least 1 level"},
		{Tree{Depth: 2, Fanout: 0}, "tree: --fanout 0: at least 1 child"},
		{Tree{Depth: 40, Fanout: 2}, "tree: --depth 40 --fanout 2 makes more than 4096 nodes"},
		{Tree{Depth: 5000, Fanout: 1}, "makes more than 4096 nodes"},
	} {
		_, err := tc.g.Generate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.g, err, tc.want)
		}
	}
}
