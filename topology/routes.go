package topology

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// checkRoutes checks the routes written in the file against the node's
// planned interfaces and adds them to the node: dev must name one of its
// interfaces, via must be on one of its subnets (dev's when both are given),
// and a destination may be given once.
func (r *resolver) checkRoutes() {
	for _, n := range r.lab.Nodes {
		rs := r.routes[n]
		if !rs.ok {
			continue
		}
		seen := map[netip.Prefix]Pos{}
		for _, rt := range rs.v {
			if p, dup := seen[rt.dst]; dup {
				r.errorf(rt.dstPos, "node %q: a route to %s is already given (at %s)", n.Name, dstString(rt.dst), p)
				continue
			}
			seen[rt.dst] = rt.dstPos
			route := Route{Dst: rt.dst, Via: rt.via, Dev: rt.dev}
			var dev *Interface
			if rt.dev != "" {
				if dev = n.Interface(rt.dev); dev == nil {
					r.errorf(rt.devPos, "dev %q: node %q has no interface %s (it has: %s)", ifWritten(rt.dev, rt.devWritten), n.Name, ifQuote(rt.dev, rt.devWritten), ifaceList(n))
					continue
				}
			}
			if rt.via.IsValid() {
				on, planned := (*Interface)(nil), true
				for _, ifc := range n.Interfaces {
					if !ifc.Addr.IsValid() {
						planned = false
						continue
					}
					if ifc.Addr.Addr() == rt.via {
						r.errorf(rt.viaPos, "via %s is node %q's own address (on %s)", rt.via, n.Name, ifc.Name)
						on, planned = nil, false
						break
					}
					if ifc.Addr.Masked().Contains(rt.via) && (dev == nil || dev == ifc) {
						on = ifc
						break
					}
				}
				if on == nil {
					if planned {
						where := "any subnet of node " + fmt.Sprintf("%q (%s)", n.Name, subnetList(n))
						if dev != nil {
							where = fmt.Sprintf("the subnet of %s (%s)", dev, dev.Addr.Masked())
						}
						r.errorf(rt.viaPos, "via %s is not on %s", rt.via, where)
					}
					continue
				}
				route.Dev = on.Name
			}
			n.Routes = append(n.Routes, route)
		}
	}
}

func dstString(p netip.Prefix) string {
	if p.Bits() == 0 {
		return "default"
	}
	return p.String()
}

func ifaceList(n *Node) string {
	if len(n.Interfaces) == 0 {
		return "no interfaces"
	}
	names := make([]string, len(n.Interfaces))
	for i, ifc := range n.Interfaces {
		names[i] = ifDisplay(ifc.Name, ifc.Written)
	}
	return strings.Join(names, ", ")
}

// ifWritten is an interface's name as the file wrote it: written when the
// name was mapped, name otherwise.
func ifWritten(name, written string) string {
	if written != "" {
		return written
	}
	return name
}

// ifQuote is ifDisplay with the name as written quoted.
func ifQuote(name, written string) string {
	if written != "" {
		return strconv.Quote(written) + " (" + name + " in Linux)"
	}
	return strconv.Quote(name)
}

// ifDisplay names an interface for messages: its name, or the name written
// with its Linux mapping ("ethernet-1/1 (e1-1 in Linux)").
func ifDisplay(name, written string) string {
	if written != "" {
		return written + " (" + name + " in Linux)"
	}
	return name
}

func subnetList(n *Node) string {
	if len(n.Interfaces) == 0 {
		return "no interfaces"
	}
	parts := make([]string, len(n.Interfaces))
	for i, ifc := range n.Interfaces {
		parts[i] = ifc.Name + " " + ifc.Addr.Masked().String()
	}
	return strings.Join(parts, ", ")
}

// autoRoutes gives every node routes to the subnets it can reach through
// forwarding nodes and is not on. Paths are shortest by hop count (a
// breadth-first search from each node over nodes and subnets; only
// forwarding nodes are passed through). Among equally short paths the next
// hop is the neighbor whose name sorts first, then the outgoing interface in
// natural order. A node that does not forward and has exactly one
// forwarding neighbor gets a default route to it instead. Routes the file
// gives for the same destination win.
//
// The routes of a node are aggregated as soon as its search is done (see
// aggregator): its forwarding decision for every IPv4 address is the one a
// route per reachable subnet would give, with far fewer routes. Time is
// O(N·(N+E)) for the searches; memory is O(N+E) besides the routes planned.
func autoRoutes(l *Lab) {
	// Subnets are numbered in address order (they do not overlap), so a
	// node's routes come out sorted by walking the numbers. The search
	// runs over flat arrays: subnet s has the members memNode[memStart[s]:
	// memStart[s+1]], node x the subnets nodeSub[nodeStart[x]:nodeStart[x+1]].
	type subnet struct {
		prefix  netip.Prefix
		members []*Interface
	}
	subs := make([]subnet, 0, len(l.Links)+len(l.Segments))
	for _, k := range l.Links {
		subs = append(subs, subnet{k.Prefix, []*Interface{k.A, k.B}})
	}
	for _, s := range l.Segments {
		if len(s.Members) > 0 {
			subs = append(subs, subnet{s.Prefix, s.Members})
		}
	}
	slices.SortStableFunc(subs, func(a, b subnet) int {
		return cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
	})
	var (
		nodes     = len(l.Nodes)
		fwd       = make([]bool, nodes)
		subLo     = make([]uint32, len(subs))
		subHi     = make([]uint32, len(subs))
		memStart  = make([]int32, len(subs)+1)
		memNode   []int32
		memIfc    []*Interface
		nodeStart = make([]int32, nodes+1)
	)
	for _, n := range l.Nodes {
		fwd[n.Index] = n.Forwarding
	}
	for id, s := range subs {
		subLo[id], subHi[id] = span(s.prefix)
		for _, m := range s.members {
			memNode = append(memNode, int32(m.Node.Index))
			memIfc = append(memIfc, m)
			nodeStart[m.Node.Index+1]++
		}
		memStart[id+1] = int32(len(memNode))
	}
	for x := range nodes {
		nodeStart[x+1] += nodeStart[x]
	}
	nodeSub := make([]int32, len(memNode))
	nodeIfc := make([]*Interface, len(memNode))
	fill := slices.Clone(nodeStart[:nodes])
	for id := range subs {
		for k := memStart[id]; k < memStart[id+1]; k++ {
			x := memNode[k]
			nodeSub[fill[x]], nodeIfc[fill[x]] = int32(id), memIfc[k]
			fill[x]++
		}
	}

	var (
		epoch int32
		// seen: the search from the node that set epoch reached it, through
		// candidate hop.
		nodeMark = make([]mark, nodes)
		subMark  = make([]mark, len(subs))
		queue    = make([]int32, 0, nodes)
		reached  int
		cands    []nextHop
		agg      aggregator
	)
	for _, src := range l.Nodes {
		epoch++
		x0 := src.Index
		nodeMark[x0] = mark{epoch, -1}
		cands, reached, queue = cands[:0], 0, queue[:0]
		own := nodeSub[nodeStart[x0]:nodeStart[x0+1]]
		for k, sub := range own {
			subMark[sub] = mark{epoch, -1}
			for _, m := range memIfc[memStart[sub]:memStart[sub+1]] {
				if m.Node != src {
					cands = append(cands, nextHop{m.Node, nodeIfc[int(nodeStart[x0])+k], m.Addr.Addr()})
				}
			}
		}
		slices.SortStableFunc(cands, func(a, b nextHop) int {
			return cmp.Or(strings.Compare(a.nb.Name, b.nb.Name), natCompare(a.dev.Name, b.dev.Name), a.via.Compare(b.via))
		})
		var given map[netip.Prefix]bool
		if len(src.Routes) > 0 {
			given = map[netip.Prefix]bool{}
			for _, rt := range src.Routes {
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
				src.Routes = append(src.Routes, Route{Dst: def, Via: c.via, Dev: c.dev.Name, Auto: true})
			}
		}
		if oneRouter >= 0 {
			r := cands[oneRouter].nb.Index
			if slices.ContainsFunc(nodeSub[nodeStart[r]:nodeStart[r+1]], func(sub int32) bool { return subMark[sub].epoch != epoch }) {
				addDefault()
				continue
			}
		}
		for i, c := range cands {
			if x := c.nb.Index; nodeMark[x].epoch != epoch {
				nodeMark[x] = mark{epoch, int32(i)}
				queue = append(queue, int32(x))
			}
		}
		for qi := 0; qi < len(queue); qi++ {
			x := queue[qi]
			if !fwd[x] {
				continue
			}
			h := nodeMark[x].hop
			for _, sub := range nodeSub[nodeStart[x]:nodeStart[x+1]] {
				if subMark[sub].epoch == epoch {
					continue
				}
				subMark[sub] = mark{epoch, h}
				reached++
				for _, m := range memNode[memStart[sub]:memStart[sub+1]] {
					if nodeMark[m].epoch != epoch {
						nodeMark[m] = mark{epoch, h}
						queue = append(queue, m)
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
		// What a route per subnet would say for each address, in address
		// order: a next hop, nothing (unreachable subnets and addresses on
		// no subnet), or "either" (the node's own subnets, which its
		// connected routes take, and subnets the file routes itself).
		agg.reset(cands)
		for sub, m := range subMark {
			lo, hi := uint64(subLo[sub]), uint64(subHi[sub])
			switch {
			case m.epoch != epoch:
				agg.add(lo, hi, noRoute)
			case m.hop < 0 || given != nil && given[subs[sub].prefix]:
				agg.add(lo, hi, eitherWay)
			default:
				agg.add(lo, hi, m.hop)
			}
		}
		src.Routes = agg.routes(src.Routes)
	}
}

// mark records that the search from the node numbered epoch reached a node
// or subnet, through candidate hop (-1: the node itself, or its subnet).
type mark struct{ epoch, hop int32 }

// nextHop is a neighbor a node can send through.
type nextHop struct {
	nb  *Node
	dev *Interface
	via netip.Addr
}

// Labels of address ranges besides next hops (indexes into the candidates).
const (
	eitherWay int32 = -1 // any route may cover it: something more specific decides
	noRoute   int32 = -2 // no automatic route may cover it
)

// addrRange is a range of addresses [lo, hi] with one label.
type addrRange struct {
	lo, hi uint64
	label  int32
}

// aggregator turns a node's per-subnet next hops into few routes that give
// the same forwarding decision for every IPv4 address under longest-prefix
// match:
//
//   - Consecutive ranges with the same next hop, with only "either way"
//     ranges (the node's own subnets, subnets the file routes) between
//     them, form a run; address space on no subnet and unreachable subnets
//     end a run.
//   - A run is covered greedily by the largest aligned prefix that holds
//     its first uncovered address and stays inside the run and the either
//     way ranges around it; this gives the fewest disjoint prefixes. Every
//     prefix holds an address that needs the route, so none equals a
//     connected subnet (Linux would refuse it, or replace the connected
//     route) or a subnet the file routes.
//   - A prefix that would hold a route written in the file that is not
//     inside a single subnet is split in halves: that route is more
//     specific than the aggregate and would otherwise take addresses a
//     route per subnet gave to the computed next hop.
type aggregator struct {
	cands    []nextHop
	spans    []addrRange
	barriers []netip.Prefix // the node's file routes not inside one subnet
	out      []Route
}

func (a *aggregator) reset(cands []nextHop) {
	a.cands, a.spans, a.out, a.barriers = cands, a.spans[:0], a.out[:0], a.barriers[:0]
}

// add appends the range [lo, hi] (after every range added before) with its
// label; the space between ranges is noRoute.
func (a *aggregator) add(lo, hi uint64, label int32) {
	next := uint64(0)
	if k := len(a.spans); k > 0 {
		next = a.spans[k-1].hi + 1
	}
	if lo > next {
		a.push(next, lo-1, noRoute)
	}
	a.push(lo, hi, label)
}

// push appends a range. Ranges without a route merge; the others stay one
// per subnet (see insideOneSpan).
func (a *aggregator) push(lo, hi uint64, label int32) {
	if k := len(a.spans); k > 0 && label == noRoute && a.spans[k-1].label == noRoute {
		a.spans[k-1].hi = hi
		return
	}
	a.spans = append(a.spans, addrRange{lo, hi, label})
}

// routes appends the node's aggregated routes to rs.
func (a *aggregator) routes(rs []Route) []Route {
	const top = uint64(1)<<32 - 1
	if k := len(a.spans); k > 0 && a.spans[k-1].hi < top {
		a.push(a.spans[k-1].hi+1, top, noRoute)
	}
	for _, r := range rs {
		if !r.Auto && !a.insideOneSpan(r.Dst) {
			a.barriers = append(a.barriers, r.Dst)
		}
	}
	sp := a.spans
	for i := 0; i < len(sp); {
		h := sp[i].label
		if h < 0 {
			i++
			continue
		}
		// The run: sp[i..last] holds h and either-way ranges only; it may
		// also spread over the either-way ranges next to it.
		last := i
		for j := i + 1; j < len(sp) && (sp[j].label == h || sp[j].label == eitherWay); j++ {
			if sp[j].label == h {
				last = j
			}
		}
		lo, hi := sp[i].lo, sp[last].hi
		for j := i - 1; j >= 0 && sp[j].label == eitherWay; j-- {
			lo = sp[j].lo
		}
		for j := last + 1; j < len(sp) && sp[j].label == eitherWay; j++ {
			hi = sp[j].hi
		}
		run := sp[i : last+1]
		for m, cur := 0, run[0].lo; ; {
			p := largestBlock(cur, lo, hi)
			a.emit(p, run, h)
			_, end := span(p)
			for m < len(run) && (run[m].label != h || run[m].hi <= uint64(end)) {
				m++
			}
			if m == len(run) || uint64(end) == top {
				break
			}
			cur = max(uint64(end)+1, run[m].lo)
		}
		i = last + 1
	}
	out := make([]Route, len(rs), len(rs)+len(a.out))
	copy(out, rs)
	return append(out, a.out...)
}

// emit appends a route to p via candidate h, p holding an address of the
// run with h; or, if a barrier lies inside p, routes to the parts of p that
// hold such addresses.
func (a *aggregator) emit(p netip.Prefix, run []addrRange, h int32) {
	if p.Bits() < 32 && slices.ContainsFunc(a.barriers, func(b netip.Prefix) bool { return b.Bits() >= p.Bits() && p.Contains(b.Addr()) }) {
		lo, _ := span(p)
		low := netip.PrefixFrom(p.Addr(), p.Bits()+1)
		high := netip.PrefixFrom(addr(lo+uint32(uint64(1)<<(32-low.Bits()))), low.Bits())
		for _, half := range []netip.Prefix{low, high} {
			hlo, hhi := span(half)
			if slices.ContainsFunc(run, func(s addrRange) bool { return s.label == h && s.lo <= uint64(hhi) && s.hi >= uint64(hlo) }) {
				a.emit(half, run, h)
			}
		}
		return
	}
	c := a.cands[h]
	a.out = append(a.out, Route{Dst: p, Via: c.via, Dev: c.dev.Name, Auto: true})
}

// insideOneSpan reports whether p lies inside one subnet, or inside address
// space no automatic route covers. A file route there is no barrier: inside
// a subnet it is more specific than both the subnet's own route and any
// aggregate; elsewhere no aggregate holds it.
func (a *aggregator) insideOneSpan(p netip.Prefix) bool {
	lo, hi := span(p)
	i, _ := slices.BinarySearchFunc(a.spans, uint64(lo), func(s addrRange, v uint64) int {
		switch {
		case s.hi < v:
			return -1
		case s.lo > v:
			return 1
		}
		return 0
	})
	return i < len(a.spans) && a.spans[i].lo <= uint64(lo) && a.spans[i].hi >= uint64(hi)
}

// largestBlock returns the largest aligned prefix holding cur inside [lo, hi].
func largestBlock(cur, lo, hi uint64) netip.Prefix {
	bits := 32
	for bits > 0 {
		size := uint64(1) << (33 - bits)
		start := cur &^ (size - 1)
		if start < lo || start+size-1 > hi {
			break
		}
		bits--
	}
	return netip.PrefixFrom(addr(uint32(cur)), bits).Masked()
}
