package topology

import (
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// deliver follows the plan's routes from src to dst the way a kernel would:
// an address on a connected subnet is delivered, anything else follows the
// longest matching route to a next hop that must forward. It returns the
// nodes on the way.
func deliver(lab *Lab, src *Node, dst netip.Addr) ([]string, error) {
	owner := map[netip.Addr]*Interface{}
	for _, n := range lab.Nodes {
		for _, i := range n.Interfaces {
			owner[i.Addr.Addr()] = i
		}
	}
	cur, path := src, []string{src.Name}
	for range 64 {
		for _, i := range cur.Interfaces {
			if i.Addr.Addr() == dst {
				return path, nil
			}
		}
		for _, i := range cur.Interfaces {
			if i.Addr.Masked().Contains(dst) {
				o := owner[dst]
				if o == nil || o.Net() != i.Net() {
					return path, fmt.Errorf("%s: %s is on %s's subnet but nobody there has it", cur.Name, dst, i)
				}
				return append(path, o.Node.Name), nil
			}
		}
		var best *Route
		for k, r := range cur.Routes {
			if r.Dst.Contains(dst) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
				best = &cur.Routes[k]
			}
		}
		if best == nil {
			return path, fmt.Errorf("%s has no route to %s", cur.Name, dst)
		}
		dev := cur.Interface(best.Dev)
		nh := owner[best.Via]
		if dev == nil || nh == nil || nh.Net() != dev.Net() {
			return path, fmt.Errorf("%s: route %s does not lead to a neighbor", cur.Name, best)
		}
		if !nh.Node.Forwarding {
			return path, fmt.Errorf("%s: next hop %s for %s does not forward", cur.Name, nh, dst)
		}
		cur = nh.Node
		path = append(path, cur.Name)
	}
	return path, fmt.Errorf("loop: %s", strings.Join(path, " "))
}

// checkAllHostsReach checks that every host reaches every address of every
// other host.
func checkAllHostsReach(t *testing.T, lab *Lab) {
	t.Helper()
	for _, a := range lab.Nodes {
		if a.Forwarding {
			continue
		}
		for _, b := range lab.Nodes {
			if b == a || b.Forwarding {
				continue
			}
			for _, i := range b.Interfaces {
				if path, err := deliver(lab, a, i.Addr.Addr()); err != nil {
					t.Errorf("%s to %s (%s): %v (path %v)", a.Name, i, i.Addr.Addr(), err, path)
				}
			}
		}
	}
}

func routeStrings(n *Node) []string {
	var out []string
	for _, r := range n.Routes {
		s := r.String()
		if r.Auto {
			s += " (auto)"
		}
		out = append(out, s)
	}
	return out
}

func TestAutoRoutes(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  map[string][]string // node -> routes
		paths map[string][]string // "a>b" -> path to b's first address
		split bool                // hosts cannot all reach each other
	}{
		{
			name: "diamond ties go to the smaller name",
			src: `
  nodes: {h1: , h2: , r1: {kind: router}, ra: {kind: router}, rb: {kind: router}, r2: {kind: router}}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["r1:eth2", "rb:eth1"]
    - endpoints: ["r1:eth3", "ra:eth1"]
    - endpoints: ["rb:eth2", "r2:eth2"]
    - endpoints: ["ra:eth2", "r2:eth1"]
    - endpoints: ["r2:eth3", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1 (auto)"},
				"r1": {
					// 10.0.0.6/31 via rb, over r1's own three /31s
					// below it (their connected routes are more
					// specific).
					"10.0.0.0/29 via 10.0.0.3 dev eth2 (auto)",
					// 10.0.0.8/31 and 10.0.0.10/31 via ra.
					"10.0.0.8/30 via 10.0.0.5 dev eth3 (auto)",
				},
			},
			paths: map[string][]string{"h1>h2": {"h1", "r1", "ra", "r2", "h2"}},
		},
		{
			name: "two routers: specific routes, not a default",
			src: `
  nodes: {h1: , h2: , h3: , r1: {kind: router}, r2: {kind: router}}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["h1:eth2", "r2:eth1"]
    - endpoints: ["r1:eth2", "h2:eth1"]
    - endpoints: ["r2:eth2", "h3:eth1"]
    - endpoints: ["r1:eth3", "r2:eth3"]`,
			want: map[string][]string{
				"h1": {
					"10.0.0.4/31 via 10.0.0.1 dev eth1 (auto)",
					"10.0.0.6/31 via 10.0.0.3 dev eth2 (auto)",
					"10.0.0.8/31 via 10.0.0.1 dev eth1 (auto)",
				},
				"h2": {"default via 10.0.0.4 dev eth1 (auto)"},
			},
		},
		{
			name: "hosts do not forward",
			src: `
  nodes: {h1: , hx: , r1: {kind: router}, h2: }
  links:
    - endpoints: ["h1:eth1", "hx:eth1"]
    - endpoints: ["hx:eth2", "r1:eth1"]
    - endpoints: ["r1:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": nil,
				"r1": nil,
				"h2": {"default via 10.0.0.4 dev eth1 (auto)"},
				"hx": {"default via 10.0.0.3 dev eth2 (auto)"},
			},
			split: true,
		},
		{
			name: "a host that forwards is a router",
			src: `
  nodes: {h1: , hx: {forwarding: true}, h2: }
  links:
    - endpoints: ["h1:eth1", "hx:eth1"]
    - endpoints: ["hx:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1 (auto)"},
				"hx": nil,
			},
			paths: map[string][]string{"h1>h2": {"h1", "hx", "h2"}},
		},
		{
			name: "routes in the file win",
			src: `
  nodes:
    h1: {routes: [{dst: default, via: 10.0.0.1}]}
    h2: {routes: [{dst: 10.99.0.0/16, dev: eth1}]}
    r1: {kind: router, routes: [{dst: 10.0.0.4/31, via: 10.0.0.3}]}
    r2: {kind: router}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["r1:eth2", "r2:eth1"]
    - endpoints: ["r2:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1"},
				"h2": {"10.99.0.0/16 dev eth1", "default via 10.0.0.4 dev eth1 (auto)"},
				"r1": {"10.0.0.4/31 via 10.0.0.3 dev eth2"},
			},
		},
		{
			name: "LANs through a router",
			src: `
  nodes: {a1: , a2: , b1: , r: {kind: router}}
  links:
    - endpoints: ["r:eth1", "a1:eth1", "a2:eth1"]
    - endpoints: ["b1:eth1", "r:eth2", "b2:eth1"]
  defaults: {}
  kinds: {}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: routes\ntopology:\n  auto-routes: true" + tc.src + "\n"
			if tc.name == "LANs through a router" {
				src = strings.Replace(src, "b1: ,", "b1: , b2: ,", 1)
			}
			lab := mustParse(t, src)
			for node, want := range tc.want {
				if diff := gocmp.Diff(want, routeStrings(lab.Node(node))); diff != "" {
					t.Errorf("routes of %s (-want +got):\n%s", node, diff)
				}
			}
			for pair, want := range tc.paths {
				a, b, _ := strings.Cut(pair, ">")
				got, err := deliver(lab, lab.Node(a), lab.Node(b).Interfaces[0].Addr.Addr())
				if err != nil {
					t.Errorf("%s: %v", pair, err)
				}
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("path %s (-want +got):\n%s", pair, diff)
				}
			}
			if !tc.split {
				checkAllHostsReach(t, lab)
			}
		})
	}
}

func TestRoutesWithoutAuto(t *testing.T) {
	lab := mustParse(t, `
name: static
topology:
  nodes:
    h1:
      routes:
        - {dst: default, via: 10.0.0.1}
        - {dst: 10.50.0.0/16, dev: eth1}
    r1: {kind: router}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
`)
	want := []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.0.1"), Dev: "eth1"},
		{Dst: netip.MustParsePrefix("10.50.0.0/16"), Dev: "eth1"},
	}
	if diff := gocmp.Diff(want, lab.Node("h1").Routes, gocmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("h1 routes (-want +got):\n%s", diff)
	}
	if got := lab.Node("r1").Routes; got != nil {
		t.Errorf("r1 routes = %v, want none without auto-routes", got)
	}
}

// decision is what a node does with a packet to an address: deliver it on
// a connected subnet (Dev), send it along a route (Dev, Via), or nothing.
type decision struct {
	dst netip.Prefix // the matching entry; invalid for none
	via netip.Addr
	dev string
}

func (d decision) String() string {
	switch {
	case !d.dst.IsValid():
		return "no route"
	case !d.via.IsValid():
		return fmt.Sprintf("%s dev %s", d.dst, d.dev)
	}
	return fmt.Sprintf("%s via %s dev %s", d.dst, d.via, d.dev)
}

// decide is a longest-prefix match over a node's connected subnets, its
// routes from the file and auto, as the kernel and the Go stack do it.
// Equally long matches prefer the connected subnet, then the file.
func decide(n *Node, file, auto []Route, a netip.Addr) decision {
	var best decision
	bits := -1
	for _, i := range n.Interfaces {
		if p := i.Addr.Masked(); p.Contains(a) && p.Bits() > bits {
			best, bits = decision{dst: p, dev: i.Name}, p.Bits()
		}
	}
	for _, set := range [][]Route{file, auto} {
		for _, r := range set {
			if !r.Dst.Contains(a) || r.Dst.Bits() <= bits {
				continue
			}
			best, bits = decision{dst: r.Dst, via: r.Via, dev: r.Dev}, r.Dst.Bits()
		}
	}
	return best
}

// fileRoutes returns the routes the file gave the node.
func fileRoutes(n *Node) []Route {
	var out []Route
	for _, r := range n.Routes {
		if !r.Auto {
			out = append(out, r)
		}
	}
	return out
}

// checkSameForwarding checks that every node of lab forwards every IPv4
// address to the same next hop (or to none) as a route per subnet
// (perSubnetRoutes) would, and that the computed routes are disjoint, in
// address order, after the file's, never the prefix of a connected subnet
// or of a file route, and no more than a route per subnet. The decision is
// constant between the boundaries of the prefixes involved, so probing the
// first address of every piece checks all 2^32 addresses. It returns the
// number of routes before and after.
func checkSameForwarding(t *testing.T, lab *Lab) (before, after int) {
	t.Helper()
	ref := perSubnetRoutes(lab)
	for _, n := range lab.Nodes {
		file := fileRoutes(n)
		var auto []Route
		for k, r := range n.Routes {
			if !r.Auto {
				if k > len(file) {
					t.Errorf("%s: file route %s after a computed one", n.Name, r)
				}
				continue
			}
			auto = append(auto, r)
		}
		before += len(ref[n.Index])
		after += len(auto)
		if len(auto) > len(ref[n.Index]) {
			t.Errorf("%s: %d computed routes, more than a route per subnet (%d)", n.Name, len(auto), len(ref[n.Index]))
		}
		taken := map[netip.Prefix]string{}
		for _, i := range n.Interfaces {
			taken[i.Addr.Masked()] = "connected subnet of " + i.Name
		}
		for _, r := range file {
			taken[r.Dst] = "file route " + r.String()
		}
		for k, r := range auto {
			if what, ok := taken[r.Dst]; ok {
				t.Errorf("%s: computed route %s has the prefix of the %s", n.Name, r, what)
			}
			if k > 0 {
				_, prevHi := span(auto[k-1].Dst)
				if lo, _ := span(r.Dst); lo <= prevHi || r.Dst.Bits() == 0 && len(auto) > 1 {
					t.Errorf("%s: computed route %s overlaps or comes before %s", n.Name, r, auto[k-1])
				}
			}
		}
		probes := map[uint64]bool{0: true}
		add := func(p netip.Prefix) {
			lo, hi := span(p)
			probes[uint64(lo)] = true
			if uint64(hi) < 1<<32-1 {
				probes[uint64(hi)+1] = true
			}
		}
		for _, i := range n.Interfaces {
			add(i.Addr.Masked())
		}
		for _, set := range [][]Route{n.Routes, ref[n.Index]} {
			for _, r := range set {
				add(r.Dst)
			}
		}
		for _, s := range lab.Links {
			add(s.Prefix)
		}
		for _, s := range lab.Segments {
			if s.Prefix.IsValid() {
				add(s.Prefix)
			}
		}
		bad := 0
		for v := range probes {
			a := addr(uint32(v))
			want, got := decide(n, file, ref[n.Index], a), decide(n, file, auto, a)
			if want.via != got.via || want.dev != got.dev {
				if bad++; bad <= 5 {
					t.Errorf("%s to %s: %v, a route per subnet gives %v", n.Name, a, got, want)
				}
			}
		}
	}
	return before, after
}

// perSubnetRoutes is the reference auto-routes: the planner as it was
// before aggregation (commit 684e3d1), giving every node a route per subnet
// it reaches. It returns the computed routes of each node (by Index) and
// leaves the lab alone.
func perSubnetRoutes(l *Lab) [][]Route {
	out := make([][]Route, len(l.Nodes))
	type subnet struct {
		prefix  netip.Prefix
		members []*Interface // sorted by node name, then interface
	}
	type attach struct {
		ifc *Interface
		sub int
	}
	var subs []subnet
	nodeSubs := make([][]attach, len(l.Nodes))
	addSubnet := func(p netip.Prefix, members []*Interface) {
		id := len(subs)
		ms := slices.Clone(members)
		slices.SortStableFunc(ms, func(a, b *Interface) int {
			return cmp.Or(strings.Compare(a.Node.Name, b.Node.Name), natCompare(a.Name, b.Name))
		})
		subs = append(subs, subnet{prefix: p, members: ms})
		for _, m := range members {
			nodeSubs[m.Node.Index] = append(nodeSubs[m.Node.Index], attach{m, id})
		}
	}
	// Subnets are numbered in address order, so each node's routes come
	// out sorted by walking the numbers: no sort per node.
	type pending struct {
		prefix  netip.Prefix
		members []*Interface
	}
	var all []pending
	for _, k := range l.Links {
		all = append(all, pending{k.Prefix, []*Interface{k.A, k.B}})
	}
	for _, s := range l.Segments {
		if len(s.Members) > 0 {
			all = append(all, pending{s.Prefix, s.Members})
		}
	}
	slices.SortStableFunc(all, func(a, b pending) int {
		return cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
	})
	for _, p := range all {
		addSubnet(p.prefix, p.members)
	}
	for i := range nodeSubs {
		slices.SortStableFunc(nodeSubs[i], func(a, b attach) int { return a.ifc.Index - b.ifc.Index })
	}

	type hop struct {
		nb  *Node
		dev *Interface
		via netip.Addr
	}
	var (
		epoch    int32
		seenNode = make([]int32, len(l.Nodes))
		hopNode  = make([]int32, len(l.Nodes))
		seenSub  = make([]int32, len(subs))
		hopSub   = make([]int32, len(subs))
		queue    = make([]int32, 0, len(l.Nodes))
		reached  int
		cands    []hop
	)
	for _, src := range l.Nodes {
		epoch++
		seenNode[src.Index] = epoch
		cands, reached, queue = cands[:0], 0, queue[:0]
		for _, at := range nodeSubs[src.Index] {
			seenSub[at.sub] = epoch
			hopSub[at.sub] = -1
		}
		for _, at := range nodeSubs[src.Index] {
			for _, m := range subs[at.sub].members {
				if m.Node != src {
					cands = append(cands, hop{m.Node, at.ifc, m.Addr.Addr()})
				}
			}
		}
		slices.SortStableFunc(cands, func(a, b hop) int {
			return cmp.Or(strings.Compare(a.nb.Name, b.nb.Name), natCompare(a.dev.Name, b.dev.Name), a.via.Compare(b.via))
		})
		var given map[netip.Prefix]bool
		for _, rt := range src.Routes {
			if !rt.Auto {
				if given == nil {
					given = map[netip.Prefix]bool{}
				}
				given[rt.Dst] = true
			}
		}
		// A node that does not forward and has one forwarding neighbor
		// reaches everything through it: a default route does, once the
		// neighbor leads anywhere new. That is certain when the neighbor
		// has a subnet the node is not on; otherwise the search decides.
		oneRouter := -1
		if !src.Forwarding {
			var router *Node
			for i, c := range cands {
				switch {
				case !c.nb.Forwarding || c.nb == router:
				case router == nil:
					router, oneRouter = c.nb, i
				default:
					oneRouter = -1
				}
			}
		}
		addDefault := func() {
			def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			if !given[def] {
				c := cands[oneRouter]
				out[src.Index] = append(out[src.Index], Route{Dst: def, Via: c.via, Dev: c.dev.Name, Auto: true})
			}
		}
		if oneRouter >= 0 && slices.ContainsFunc(nodeSubs[cands[oneRouter].nb.Index], func(at attach) bool { return seenSub[at.sub] != epoch }) {
			addDefault()
			continue
		}
		for i, c := range cands {
			if seenNode[c.nb.Index] != epoch {
				seenNode[c.nb.Index] = epoch
				hopNode[c.nb.Index] = int32(i)
				queue = append(queue, int32(c.nb.Index))
			}
		}
		for qi := 0; qi < len(queue); qi++ {
			x := l.Nodes[queue[qi]]
			if !x.Forwarding {
				continue
			}
			h := hopNode[x.Index]
			for _, at := range nodeSubs[x.Index] {
				if seenSub[at.sub] == epoch {
					continue
				}
				seenSub[at.sub] = epoch
				hopSub[at.sub] = h
				reached++
				for _, m := range subs[at.sub].members {
					if seenNode[m.Node.Index] != epoch {
						seenNode[m.Node.Index] = epoch
						hopNode[m.Node.Index] = h
						queue = append(queue, int32(m.Node.Index))
					}
				}
			}
		}
		if reached == 0 {
			continue
		}
		if oneRouter >= 0 {
			addDefault()
			continue
		}
		for s := range subs {
			if seenSub[s] != epoch || hopSub[s] < 0 {
				continue
			}
			p := subs[s].prefix
			if given[p] {
				continue
			}
			c := cands[hopSub[s]]
			out[src.Index] = append(out[src.Index], Route{Dst: p, Via: c.via, Dev: c.dev.Name, Auto: true})
		}
	}
	return out
}

// genLine is a line of n routers, with a host at each end when hosts.
func genLine(n int, hosts bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: line\ntopology:\n  auto-routes: true\n  nodes:\n")
	for i := range n {
		fmt.Fprintf(&b, "    r%d: {kind: router}\n", i)
	}
	if hosts {
		b.WriteString("    ha: {}\n    hb: {}\n")
	}
	b.WriteString("  links:\n")
	for i := 0; i+1 < n; i++ {
		fmt.Fprintf(&b, "    - endpoints: [\"r%d:eth2\", \"r%d:eth1\"]\n", i, i+1)
	}
	if hosts {
		fmt.Fprintf(&b, "    - endpoints: [\"ha:eth1\", \"r0:eth1\"]\n    - endpoints: [\"r%d:eth2\", \"hb:eth1\"]\n", n-1)
	}
	return []byte(b.String())
}

// genGrid is a w×h grid of routers, each with a host on a LAN of its own
// when lans.
func genGrid(w, h int, lans bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: grid\ntopology:\n  auto-routes: true\n  nodes:\n")
	for i := range w * h {
		fmt.Fprintf(&b, "    r%d: {kind: router}\n", i)
		if lans {
			fmt.Fprintf(&b, "    h%da: {}\n    h%db: {}\n", i, i)
		}
	}
	b.WriteString("  links:\n")
	for y := range h {
		for x := range w {
			i := y*w + x
			if x+1 < w {
				fmt.Fprintf(&b, "    - endpoints: [\"r%d:e\", \"r%d:w\"]\n", i, i+1)
			}
			if y+1 < h {
				fmt.Fprintf(&b, "    - endpoints: [\"r%d:s\", \"r%d:n\"]\n", i, i+w)
			}
			if lans {
				fmt.Fprintf(&b, "    - endpoints: [\"r%d:lan\", \"h%da:eth1\", \"h%db:eth1\"]\n", i, i, i)
			}
		}
	}
	return []byte(b.String())
}

// genFabric is a leaf-spine fabric: every leaf linked to every spine (the
// links listed leaf by leaf, or spine by spine), hosts on a LAN per leaf.
func genFabric(spines, leaves, hosts int, byLeaf bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: fabric\ntopology:\n  auto-routes: true\n  nodes:\n")
	for s := range spines {
		fmt.Fprintf(&b, "    s%d: {kind: router}\n", s)
	}
	for l := range leaves {
		fmt.Fprintf(&b, "    l%d: {kind: router}\n", l)
		for h := range hosts {
			fmt.Fprintf(&b, "    h%d-%d: {}\n", l, h)
		}
	}
	b.WriteString("  links:\n")
	for i := range spines * leaves {
		s, l := i%spines, i/spines
		if !byLeaf {
			s, l = i/leaves, i%leaves
		}
		fmt.Fprintf(&b, "    - endpoints: [\"l%d:s%d\", \"s%d:l%d\"]\n", l, s, s, l)
	}
	for l := range leaves {
		fmt.Fprintf(&b, "    - endpoints: [\"l%d:hosts\"", l)
		for h := range hosts {
			fmt.Fprintf(&b, ", \"h%d-%d:eth1\"", l, h)
		}
		b.WriteString("]\n")
	}
	return []byte(b.String())
}

// randomLab is a random lab: routers, hosts (some forwarding), links that
// may leave it in pieces, LANs and bridges, some addresses written in the
// file, and, once the addresses are known, random routes in the file.
type randomLab struct {
	rng    *rand.Rand
	nodes  []string // name: {fields}
	routes map[int][]string
	links  []string
	header string
}

func newRandomLab(seed uint64) *randomLab {
	g := &randomLab{rng: rand.New(rand.NewPCG(seed, 7)), routes: map[int][]string{}}
	rng := g.rng
	g.header = "name: random\ntopology:\n  auto-routes: true\n"
	if rng.IntN(5) == 0 {
		g.header += "  p2p-prefix: 30\n"
	}
	if rng.IntN(5) == 0 {
		g.header += "  lan-prefix: 26\n"
	}
	n := 3 + rng.IntN(22)
	for i := range n {
		switch r := rng.IntN(10); {
		case r < 5:
			g.nodes = append(g.nodes, "kind: router")
		case r == 5:
			g.nodes = append(g.nodes, "forwarding: true")
		default:
			g.nodes = append(g.nodes, "")
		}
		_ = i
	}
	ifc := make([]int, n)
	end := func(i int) string { ifc[i]++; return fmt.Sprintf("\"n%02d:eth%d\"", i, ifc[i]) }
	var written []netip.Prefix
	// address writes an address of a fresh random subnet of /24 to
	// /maxBits on the endpoint e, or leaves e alone.
	address := func(e string, maxBits int) string {
		if rng.IntN(5) != 0 {
			return e
		}
		bits := 24 + rng.IntN(maxBits-23)
		for range 20 {
			p := netip.PrefixFrom(addr(0x0a000000|uint32(rng.IntN(1<<16))), bits).Masked()
			if slices.ContainsFunc(written, p.Overlaps) {
				continue
			}
			written = append(written, p)
			node, name, _ := strings.Cut(strings.Trim(e, `"`), ":")
			a := p.Addr()
			if bits < 31 {
				a = a.Next()
			}
			return fmt.Sprintf("{node: %s, interface: %s, ipv4: %s/%d}", node, name, a, bits)
		}
		return e
	}
	for i := 1; i < n; i++ {
		if rng.IntN(10) != 0 {
			g.links = append(g.links, fmt.Sprintf("[%s, %s]", address(end(i), 31), end(rng.IntN(i))))
		}
	}
	for range rng.IntN(n) {
		a, b := rng.IntN(n), rng.IntN(n)
		if a != b {
			g.links = append(g.links, fmt.Sprintf("[%s, %s]", address(end(a), 31), end(b)))
		}
	}
	for range rng.IntN(3) {
		members := rng.Perm(n)[:min(n, 3+rng.IntN(3))]
		ends := []string{address(end(members[0]), 29)}
		for _, m := range members[1:] {
			ends = append(ends, end(m))
		}
		g.links = append(g.links, "["+strings.Join(ends, ", ")+"]")
	}
	for k := range rng.IntN(2) {
		g.nodes = append(g.nodes, "kind: bridge")
		for _, m := range rng.Perm(n)[:min(n, 2+rng.IntN(3))] {
			g.links = append(g.links, fmt.Sprintf("[%s, \"n%02d:p%d\"]", end(m), n+k, m))
		}
	}
	return g
}

func (g *randomLab) yaml() []byte {
	var b strings.Builder
	b.WriteString(g.header + "  nodes:\n")
	for i, f := range g.nodes {
		if rs := g.routes[i]; len(rs) > 0 {
			f = strings.TrimPrefix(f+", routes: ["+strings.Join(rs, ", ")+"]", ", ")
		}
		fmt.Fprintf(&b, "    n%02d: {%s}\n", i, f)
	}
	b.WriteString("  links:\n")
	for _, l := range g.links {
		fmt.Fprintf(&b, "    - endpoints: %s\n", l)
	}
	return []byte(b.String())
}

// addRoutes gives some nodes routes in the file: to a subnet of the lab,
// to a prefix holding several, to an address inside one, default, or
// elsewhere; via a neighbor or straight out of an interface.
func (g *randomLab) addRoutes(lab *Lab) {
	rng := g.rng
	var subnets []netip.Prefix
	for _, k := range lab.Links {
		subnets = append(subnets, k.Prefix)
	}
	for _, s := range lab.Segments {
		if s.Prefix.IsValid() {
			subnets = append(subnets, s.Prefix)
		}
	}
	for _, n := range lab.Nodes {
		if len(n.Interfaces) == 0 || rng.IntN(3) != 0 {
			continue
		}
		i := 0
		fmt.Sscanf(n.Name, "n%d", &i)
		seen := map[netip.Prefix]bool{}
		for range 1 + rng.IntN(3) {
			s := subnets[rng.IntN(len(subnets))]
			var dst netip.Prefix
			switch rng.IntN(5) {
			case 0:
				dst = s
			case 1:
				dst = netip.PrefixFrom(s.Addr(), 16+rng.IntN(s.Bits()-16)).Masked()
			case 2:
				dst = netip.PrefixFrom(s.Addr().Next(), s.Bits()+1+rng.IntN(32-s.Bits())).Masked()
			case 3:
				dst = netip.MustParsePrefix("0.0.0.0/0")
			default:
				dst = netip.PrefixFrom(addr(0xc0a80000|uint32(rng.IntN(1<<16))), 16+rng.IntN(17)).Masked()
			}
			if seen[dst] {
				continue
			}
			seen[dst] = true
			ifc := n.Interfaces[rng.IntN(len(n.Interfaces))]
			var peers []netip.Addr
			for _, o := range lab.Nodes {
				for _, oi := range o.Interfaces {
					if o != n && oi.Net() == ifc.Net() {
						peers = append(peers, oi.Addr.Addr())
					}
				}
			}
			if len(peers) == 0 || rng.IntN(3) == 0 {
				g.routes[i] = append(g.routes[i], fmt.Sprintf("{dst: %s, dev: %s}", dstString(dst), ifc.Name))
			} else {
				g.routes[i] = append(g.routes[i], fmt.Sprintf("{dst: %s, via: %s}", dstString(dst), peers[rng.IntN(len(peers))]))
			}
		}
	}
}

func TestAutoRoutesSameForwarding(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
	}{
		{"line of 2 routers", genLine(2, false)},
		{"line of 70 routers with hosts", genLine(70, true)},
		{"ring of 20 routers with 3 hosts each", genRing(20, 3)},
		{"tree of 127 routers", genTree(127)},
		{"tree of 100 routers", genTree(100)},
		{"grid 7x7", genGrid(7, 7, false)},
		{"grid 4x5 with LANs", genGrid(4, 5, true)},
		{"fabric by leaf", genFabric(4, 12, 3, true)},
		{"fabric by spine", genFabric(4, 12, 3, false)},
	}
	for _, file := range []string{"../examples/fabric-100.yml", "../examples/line-of-routers.yml", "../examples/linux-wan.yml", "../examples/lossy-wan.yml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			src  []byte
		}{file, data})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab, err := Parse("gen.yml", tc.src)
			if err != nil {
				t.Fatal(err)
			}
			before, after := checkSameForwarding(t, lab)
			t.Logf("%d routes, %d with a route per subnet", after, before)
		})
	}
	labs := 300
	if testing.Short() {
		labs = 50
	}
	var before, after int
	for seed := range uint64(labs) {
		g := newRandomLab(seed)
		lab, err := Parse("random.yml", g.yaml())
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, g.yaml())
		}
		g.addRoutes(lab)
		if lab, err = Parse("random.yml", g.yaml()); err != nil {
			t.Fatalf("seed %d, with routes: %v\n%s", seed, err, g.yaml())
		}
		b, a := checkSameForwarding(t, lab)
		before, after = before+b, after+a
		if t.Failed() {
			t.Fatalf("seed %d:\n%s", seed, g.yaml())
		}
	}
	t.Logf("%d random labs: %d routes, %d with a route per subnet", labs, after, before)
}

// TestAutoRoutesLine3000 plans a line of 3000 routers. A route per subnet
// made that 9 million routes and 725 MB allocated (issue 11); the routes
// must now be O(N log N) and planning must allocate a small part of that.
// Every router must still send each subnet towards its side of the line.
func TestAutoRoutesLine3000(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 3000 routers")
	}
	const n = 3000
	src := genLine(n, true)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	lab, err := Parse("line.yml", src)
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for _, nd := range lab.Nodes {
		routes += len(nd.Routes)
	}
	if limit := 4 * n * bits.Len(n); routes > limit {
		t.Errorf("%d routes for a line of %d routers, want at most 4·N·log2(N) = %d", routes, n, limit)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 150<<20 {
		t.Errorf("planning allocated %d MiB, want at most 150 MiB", alloc>>20)
	}
	t.Logf("%d routes, %d MiB allocated", routes, (m1.TotalAlloc-m0.TotalAlloc)>>20)

	pos := func(nd *Node) int {
		switch nd.Name {
		case "ha":
			return -1
		case "hb":
			return n
		}
		i, _ := strconv.Atoi(nd.Name[1:])
		return i
	}
	owner := map[netip.Addr]*Node{}
	for _, nd := range lab.Nodes {
		for _, i := range nd.Interfaces {
			owner[i.Addr.Addr()] = nd
		}
	}
	for _, i := range []int{0, 1, 2, n / 2, n - 2, n - 1} {
		r := lab.Node(fmt.Sprintf("r%d", i))
		file, auto := fileRoutes(r), r.Routes
		for _, k := range lab.Links {
			p, q := pos(k.A.Node), pos(k.B.Node)
			if p == i || q == i {
				continue // r's own link
			}
			want := i - 1
			if p > i {
				want = i + 1
			}
			for _, a := range []netip.Addr{k.A.Addr.Addr(), k.B.Addr.Addr()} {
				d := decide(r, file, auto, a)
				if nh := owner[d.via]; nh == nil || pos(nh) != want {
					t.Fatalf("r%d to %s (link %s): %v, want towards r%d", i, a, k.Name, d, want)
				}
			}
		}
	}
}
