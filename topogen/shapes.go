package topogen

import (
	"fmt"
	"strconv"
)

// Shapes are the shapes there are, in the order help lists them.
var Shapes = []string{"dumbbell", "parking-lot", "leaf-spine", "fat-tree", "star", "line", "tree"}

// Dumbbell: Pairs senders behind router r1, Pairs receivers behind r2,
// r1 and r2 joined by the bottleneck link.
type Dumbbell struct {
	Common
	Pairs      int
	Bottleneck LinkSpec // the r1-r2 link
	Access     LinkSpec // every host's link to its router
}

// Generate makes the dumbbell.
func (p Dumbbell) Generate() (*Topology, error) {
	const shape = "dumbbell"
	if p.Pairs < 1 {
		return nil, sizeErr(shape, "pairs", p.Pairs, "at least 1 sender-receiver pair")
	}
	if err := checkNodes(shape, 2*p.Pairs+2, "--pairs "+strconv.Itoa(p.Pairs)); err != nil {
		return nil, err
	}
	b, bn, acc, err := start(shape, p.Common, fmt.Sprintf("dumbbell-%d", p.Pairs), p.Bottleneck, p.Access)
	if err != nil {
		return nil, err
	}
	b.node("r1", "router", "role", "router", "group", "left")
	b.node("r2", "router", "role", "router", "group", "right")
	for i := 1; i <= p.Pairs; i++ {
		b.node("snd"+num(i, p.Pairs), "host", "role", "sender", "group", "left")
	}
	for i := 1; i <= p.Pairs; i++ {
		b.node("rcv"+num(i, p.Pairs), "host", "role", "receiver", "group", "right")
	}
	b.link("bottleneck", "r1", "r2", bn)
	for i := 1; i <= p.Pairs; i++ {
		b.link("", "snd"+num(i, p.Pairs), "r1", acc)
	}
	for i := 1; i <= p.Pairs; i++ {
		b.link("", "rcv"+num(i, p.Pairs), "r2", acc)
	}
	last := num(p.Pairs, p.Pairs)
	return b.done(
		fmt.Sprintf("%s: a dumbbell. %d senders (snd%s-snd%s, group left) behind router r1, %d receivers (rcv%s-rcv%s, group right) behind router r2; r1-r2 is the link named bottleneck (%s), the access links are %s.",
			b.t.Name, p.Pairs, num(1, p.Pairs), last, p.Pairs, num(1, p.Pairs), last, describe(bn), describe(acc)),
	)
}

// ParkingLot: Hops+1 routers in a line (r1 ... rN+1), the hops between
// them; Pairs main flows cross every hop (snd* on r1, rcv* on the last
// router); each hop i has Cross cross-traffic pairs that cross it alone
// (x<i>s<j> on r<i>, x<i>r<j> on r<i+1>).
type ParkingLot struct {
	Common
	Hops   int
	Cross  int
	Pairs  int
	Hop    LinkSpec // every router-router link
	Access LinkSpec
}

// Generate makes the parking lot.
func (p ParkingLot) Generate() (*Topology, error) {
	const shape = "parking-lot"
	switch {
	case p.Hops < 1:
		return nil, sizeErr(shape, "hops", p.Hops, "at least 1 bottleneck hop")
	case p.Pairs < 1:
		return nil, sizeErr(shape, "pairs", p.Pairs, "at least 1 main sender-receiver pair")
	case p.Cross < 0:
		return nil, sizeErr(shape, "cross", p.Cross, "0 or more cross-traffic pairs per hop")
	case p.Hops > MaxNodes || p.Cross > MaxNodes || p.Pairs > MaxNodes:
		return nil, tooBig(shape, fmt.Sprintf("--hops %d --cross %d --pairs %d", p.Hops, p.Cross, p.Pairs))
	}
	if err := checkNodes(shape, p.Hops+1+2*p.Pairs+2*p.Hops*p.Cross,
		fmt.Sprintf("--hops %d --cross %d --pairs %d", p.Hops, p.Cross, p.Pairs)); err != nil {
		return nil, err
	}
	b, hop, acc, err := start(shape, p.Common, fmt.Sprintf("parking-lot-%d", p.Hops), p.Hop, p.Access)
	if err != nil {
		return nil, err
	}
	nr := p.Hops + 1
	r := func(i int) string { return "r" + num(i, nr) }
	for i := 1; i <= nr; i++ {
		b.node(r(i), "router", "role", "router", "group", "main")
	}
	for i := 1; i <= p.Pairs; i++ {
		b.node("snd"+num(i, p.Pairs), "host", "role", "sender", "group", "main")
		b.node("rcv"+num(i, p.Pairs), "host", "role", "receiver", "group", "main")
	}
	xs := func(h, j int) string { return "x" + num(h, p.Hops) + "s" + num(j, p.Cross) }
	xr := func(h, j int) string { return "x" + num(h, p.Hops) + "r" + num(j, p.Cross) }
	for h := 1; h <= p.Hops; h++ {
		g := "hop-" + strconv.Itoa(h)
		for j := 1; j <= p.Cross; j++ {
			b.node(xs(h, j), "host", "role", "sender", "group", g)
			b.node(xr(h, j), "host", "role", "receiver", "group", g)
		}
	}
	for h := 1; h <= p.Hops; h++ {
		b.link("hop"+num(h, p.Hops), r(h), r(h+1), hop)
	}
	for i := 1; i <= p.Pairs; i++ {
		b.link("", "snd"+num(i, p.Pairs), r(1), acc)
		b.link("", "rcv"+num(i, p.Pairs), r(nr), acc)
	}
	for h := 1; h <= p.Hops; h++ {
		for j := 1; j <= p.Cross; j++ {
			b.link("", xs(h, j), r(h), acc)
			b.link("", xr(h, j), r(h+1), acc)
		}
	}
	about := fmt.Sprintf("%s: a parking lot. Routers %s-%s in a line, joined by %d hops (links hop%s-hop%s: %s); %d main pair(s) snd*/rcv* (group main) cross every hop",
		b.t.Name, r(1), r(nr), p.Hops, num(1, p.Hops), num(p.Hops, p.Hops), describe(hop), p.Pairs)
	if p.Cross > 0 {
		about += fmt.Sprintf(", and each hop N has %d cross-traffic pair(s) xNs*/xNr* (group hop-N) that cross it alone", p.Cross)
	}
	return b.done(about + fmt.Sprintf(". Access links: %s.", describe(acc)))
}

// LeafSpine: every leaf linked to every spine, HostsPerLeaf hosts on each
// leaf.
type LeafSpine struct {
	Common
	Leaves, Spines, HostsPerLeaf int
	Fabric                       LinkSpec // leaf-spine links
	Access                       LinkSpec // host-leaf links
}

// Generate makes the leaf-spine fabric.
func (p LeafSpine) Generate() (*Topology, error) {
	const shape = "leaf-spine"
	switch {
	case p.Leaves < 1:
		return nil, sizeErr(shape, "leaves", p.Leaves, "at least 1 leaf")
	case p.Spines < 1:
		return nil, sizeErr(shape, "spines", p.Spines, "at least 1 spine")
	case p.HostsPerLeaf < 1:
		return nil, sizeErr(shape, "hosts-per-leaf", p.HostsPerLeaf, "at least 1 host on each leaf")
	case p.Leaves > MaxNodes || p.Spines > MaxNodes || p.HostsPerLeaf > MaxNodes:
		return nil, tooBig(shape, fmt.Sprintf("--leaves %d --spines %d --hosts-per-leaf %d", p.Leaves, p.Spines, p.HostsPerLeaf))
	}
	if err := checkNodes(shape, p.Leaves*(1+p.HostsPerLeaf)+p.Spines,
		fmt.Sprintf("--leaves %d --spines %d --hosts-per-leaf %d", p.Leaves, p.Spines, p.HostsPerLeaf)); err != nil {
		return nil, err
	}
	b, fab, acc, err := start(shape, p.Common, fmt.Sprintf("leaf-spine-%dx%d", p.Leaves, p.Spines), p.Fabric, p.Access)
	if err != nil {
		return nil, err
	}
	spine := func(i int) string { return "spine" + num(i, p.Spines) }
	leaf := func(i int) string { return "leaf" + num(i, p.Leaves) }
	host := func(l, j int) string { return "h" + num(l, p.Leaves) + "-" + num(j, p.HostsPerLeaf) }
	for s := 1; s <= p.Spines; s++ {
		b.node(spine(s), "router", "role", "spine", "group", "spine")
	}
	for l := 1; l <= p.Leaves; l++ {
		b.node(leaf(l), "router", "role", "leaf", "group", "leaf-"+strconv.Itoa(l))
		for j := 1; j <= p.HostsPerLeaf; j++ {
			b.node(host(l, j), "host", "role", "host", "group", "leaf-"+strconv.Itoa(l))
		}
	}
	// Spine by spine: the addresses of one spine's links are contiguous,
	// so auto-routes aggregates them (topology's doc on routes).
	for s := 1; s <= p.Spines; s++ {
		for l := 1; l <= p.Leaves; l++ {
			b.link("", leaf(l), spine(s), fab)
		}
	}
	for l := 1; l <= p.Leaves; l++ {
		for j := 1; j <= p.HostsPerLeaf; j++ {
			b.link("", host(l, j), leaf(l), acc)
		}
	}
	return b.done(fmt.Sprintf("%s: a leaf-spine fabric. %d spines (spine*), %d leaves (leaf*, each linked to every spine: %s), %d hosts on each leaf (hL-N, group leaf-L with their leaf; access links %s). auto-routes takes one shortest path (no ECMP).",
		b.t.Name, p.Spines, p.Leaves, describe(fab), p.HostsPerLeaf, describe(acc)))
}

// FatTree is the k-ary fat tree: k pods of k/2 aggregation and k/2 edge
// switches, (k/2)² core switches, k/2 hosts per edge switch (k³/4 hosts).
type FatTree struct {
	Common
	K      int
	Fabric LinkSpec // switch-switch links
	Access LinkSpec // host-edge links
}

// Generate makes the fat tree.
func (p FatTree) Generate() (*Topology, error) {
	const shape = "fat-tree"
	if p.K < 2 || p.K%2 != 0 {
		return nil, sizeErr(shape, "k", p.K, "k must be even, 2 or more")
	}
	if p.K > 64 {
		return nil, tooBig(shape, "--k "+strconv.Itoa(p.K))
	}
	k, h := p.K, p.K/2
	if err := checkNodes(shape, h*h+k*k+k*k*k/4, "--k "+strconv.Itoa(k)); err != nil {
		return nil, err
	}
	b, fab, acc, err := start(shape, p.Common, fmt.Sprintf("fat-tree-%d", k), p.Fabric, p.Access)
	if err != nil {
		return nil, err
	}
	core := func(i int) string { return "core" + num(i, h*h) }
	agg := func(pod, i int) string { return "agg" + num(pod, k) + "-" + num(i, h) }
	edge := func(pod, i int) string { return "edge" + num(pod, k) + "-" + num(i, h) }
	host := func(pod, e, j int) string { return "h" + num(pod, k) + "-" + num(e, h) + "-" + num(j, h) }
	for c := 1; c <= h*h; c++ {
		b.node(core(c), "router", "role", "core", "group", "core")
	}
	for pod := 1; pod <= k; pod++ {
		g := "pod-" + strconv.Itoa(pod)
		for i := 1; i <= h; i++ {
			b.node(agg(pod, i), "router", "role", "agg", "group", g)
		}
		for e := 1; e <= h; e++ {
			b.node(edge(pod, e), "router", "role", "edge", "group", g)
			for j := 1; j <= h; j++ {
				b.node(host(pod, e, j), "host", "role", "host", "group", g)
			}
		}
	}
	// Aggregation switch i of every pod reaches cores (i-1)·k/2+1 ... i·k/2.
	for i := 1; i <= h; i++ {
		for c := (i-1)*h + 1; c <= i*h; c++ {
			for pod := 1; pod <= k; pod++ {
				b.link("", agg(pod, i), core(c), fab)
			}
		}
	}
	for pod := 1; pod <= k; pod++ {
		for i := 1; i <= h; i++ {
			for e := 1; e <= h; e++ {
				b.link("", edge(pod, e), agg(pod, i), fab)
			}
		}
	}
	for pod := 1; pod <= k; pod++ {
		for e := 1; e <= h; e++ {
			for j := 1; j <= h; j++ {
				b.link("", host(pod, e, j), edge(pod, e), acc)
			}
		}
	}
	return b.done(fmt.Sprintf("%s: a %d-ary fat tree. %d core switches (core*), %d pods (group pod-P) of %d aggregation (aggP-*) and %d edge switches (edgeP-*), %d hosts on each edge switch (hP-E-*): %d hosts. Switch links: %s; host links: %s. auto-routes takes one shortest path (no ECMP).",
		b.t.Name, k, h*h, k, h, h, h, k*k*k/4, describe(fab), describe(acc)))
}

// Star: Hosts hosts around one centre, a bridge (one LAN) or a router
// (a point-to-point link per host).
type Star struct {
	Common
	Hosts  int
	Center string   // bridge (the default) or router
	Link   LinkSpec // every host's link to the centre
}

// Generate makes the star.
func (p Star) Generate() (*Topology, error) {
	const shape = "star"
	if p.Hosts < 2 {
		return nil, sizeErr(shape, "hosts", p.Hosts, "at least 2 hosts")
	}
	if err := checkNodes(shape, p.Hosts+1, "--hosts "+strconv.Itoa(p.Hosts)); err != nil {
		return nil, err
	}
	center := p.Center
	if center == "" {
		center = "bridge"
	}
	if center != "bridge" && center != "router" {
		return nil, fmt.Errorf("star: --center %q: want bridge (one LAN, a Linux bridge) or router (a link per host, routed)", p.Center)
	}
	if center == "bridge" && p.Hosts > 1000 {
		return nil, sizeErr(shape, "hosts", p.Hosts, "at most 1000 hosts on one bridge (a Linux bridge's ports); use --center router")
	}
	l, err := p.Link.netem("--")
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(shape, p.Common, fmt.Sprintf("star-%d", p.Hosts))
	if err != nil {
		return nil, err
	}
	c := "sw"
	if center == "router" {
		c = "r1"
		b.node(c, "router", "role", "router", "group", "star")
	} else {
		b.node(c, "bridge", "role", "switch", "group", "star")
	}
	for i := 1; i <= p.Hosts; i++ {
		b.node("h"+num(i, p.Hosts), "host", "role", "host", "group", "star")
	}
	for i := 1; i <= p.Hosts; i++ {
		b.linkTo("", "h"+num(i, p.Hosts), c, center == "bridge", l)
	}
	what := "a Linux bridge: one LAN segment"
	if center == "router" {
		what = "a router, one link per host"
	}
	return b.done(fmt.Sprintf("%s: a star. %d hosts (h*, group star) around %s (%s); host links: %s.",
		b.t.Name, p.Hosts, c, what, describe(l)))
}

// Line: Routers routers in a line, Hosts senders on the first and Hosts
// receivers on the last.
type Line struct {
	Common
	Routers int
	Hosts   int      // hosts at each end
	Hop     LinkSpec // router-router links
	Access  LinkSpec
}

// Generate makes the line.
func (p Line) Generate() (*Topology, error) {
	const shape = "line"
	switch {
	case p.Routers < 1:
		return nil, sizeErr(shape, "routers", p.Routers, "at least 1 router")
	case p.Hosts < 1:
		return nil, sizeErr(shape, "hosts", p.Hosts, "at least 1 host at each end")
	case p.Routers > MaxNodes || p.Hosts > MaxNodes:
		return nil, tooBig(shape, fmt.Sprintf("--routers %d --hosts %d", p.Routers, p.Hosts))
	}
	if err := checkNodes(shape, p.Routers+2*p.Hosts, fmt.Sprintf("--routers %d --hosts %d", p.Routers, p.Hosts)); err != nil {
		return nil, err
	}
	b, hop, acc, err := start(shape, p.Common, fmt.Sprintf("line-%d", p.Routers), p.Hop, p.Access)
	if err != nil {
		return nil, err
	}
	r := func(i int) string { return "r" + num(i, p.Routers) }
	for i := 1; i <= p.Routers; i++ {
		b.node(r(i), "router", "role", "router", "group", "line")
	}
	for i := 1; i <= p.Hosts; i++ {
		b.node("snd"+num(i, p.Hosts), "host", "role", "sender", "group", "left")
	}
	for i := 1; i <= p.Hosts; i++ {
		b.node("rcv"+num(i, p.Hosts), "host", "role", "receiver", "group", "right")
	}
	for i := 1; i <= p.Hosts; i++ {
		b.link("", "snd"+num(i, p.Hosts), r(1), acc)
	}
	for i := 1; i < p.Routers; i++ {
		b.link("", r(i), r(i+1), hop)
	}
	for i := 1; i <= p.Hosts; i++ {
		b.link("", "rcv"+num(i, p.Hosts), r(p.Routers), acc)
	}
	return b.done(fmt.Sprintf("%s: a line of %d routers (%s-%s; links between them: %s), %d sender(s) snd* (group left) on %s and %d receiver(s) rcv* (group right) on %s; access links: %s.",
		b.t.Name, p.Routers, r(1), r(p.Routers), describe(hop), p.Hosts, r(1), p.Hosts, r(p.Routers), describe(acc)))
}

// Tree: Depth levels of routers, each with Fanout children; the last
// level's children are hosts (Fanout^Depth of them).
type Tree struct {
	Common
	Depth, Fanout int
	Fabric        LinkSpec // router-router links
	Access        LinkSpec // host links
}

// Generate makes the tree.
func (p Tree) Generate() (*Topology, error) {
	const shape = "tree"
	if p.Depth < 1 {
		return nil, sizeErr(shape, "depth", p.Depth, "at least 1 level of switches")
	}
	if p.Fanout < 1 {
		return nil, sizeErr(shape, "fanout", p.Fanout, "at least 1 child per switch")
	}
	if p.Fanout == 1 && p.Depth > MaxNodes {
		return nil, tooBig(shape, fmt.Sprintf("--depth %d --fanout %d", p.Depth, p.Fanout))
	}
	total, hosts := 0, 1
	for d := 0; d <= p.Depth; d++ {
		if d > 0 {
			hosts *= p.Fanout
		}
		total += hosts
		if total > MaxNodes {
			return nil, tooBig(shape, fmt.Sprintf("--depth %d --fanout %d", p.Depth, p.Fanout))
		}
	}
	b, fab, acc, err := start(shape, p.Common, fmt.Sprintf("tree-%dx%d", p.Depth, p.Fanout), p.Fabric, p.Access)
	if err != nil {
		return nil, err
	}
	// A switch's name is s and its path from the root (s0 is the root,
	// s1-2 the root's first child's second child); a host's is h and its
	// path. The group is the branch of the root a node is under.
	type entry struct {
		name, path, branch string
	}
	var links [][3]string
	level0 := []entry{{name: "s0", branch: "root"}}
	b.node("s0", "router", "role", "router", "group", "root", "level", "0")
	for d := 1; d <= p.Depth; d++ {
		var next []entry
		for _, parent := range level0 {
			for c := 1; c <= p.Fanout; c++ {
				path := num(c, p.Fanout)
				if parent.path != "" {
					path = parent.path + "-" + path
				}
				branch := parent.branch
				if d == 1 {
					branch = "branch-" + strconv.Itoa(c)
				}
				e := entry{path: path, branch: branch}
				if d == p.Depth {
					e.name = "h" + path
					b.node(e.name, "host", "role", "host", "group", branch, "level", strconv.Itoa(d))
					links = append(links, [3]string{e.name, parent.name, "access"})
				} else {
					e.name = "s" + path
					b.node(e.name, "router", "role", "router", "group", branch, "level", strconv.Itoa(d))
					links = append(links, [3]string{e.name, parent.name, "fabric"})
				}
				next = append(next, e)
			}
		}
		level0 = next
	}
	for _, l := range links {
		kv := fab
		if l[2] == "access" {
			kv = acc
		}
		b.link("", l[0], l[1], kv)
	}
	return b.done(fmt.Sprintf("%s: a tree of routers %d level(s) deep, %d children each: root s0, routers s<path>, %d hosts h<path> at the bottom; label group is the root's branch a node is under (branch-N), label level its depth. Router links: %s; host links: %s.",
		b.t.Name, p.Depth, p.Fanout, hosts, describe(fab), describe(acc)))
}
