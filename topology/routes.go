package topology

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
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
					r.errorf(rt.devPos, "dev %q: node %q has no interface %q (it has: %s)", rt.dev, n.Name, rt.dev, ifaceList(n))
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
		names[i] = ifc.Name
	}
	return strings.Join(names, ", ")
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

// autoRoutes gives every node a route to every subnet it can reach through
// forwarding nodes and is not on. Paths are shortest by hop count (a
// breadth-first search from each node over nodes and subnets; only
// forwarding nodes are passed through). Among equally short paths the next
// hop is the neighbor whose name sorts first, then the outgoing interface in
// natural order. A node that does not forward and has exactly one
// forwarding neighbor gets a default route to it instead. Routes the file
// gives for the same destination win. Cost: O(N·(N+E)).
func autoRoutes(l *Lab) {
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
		src.Routes = slices.Grow(src.Routes, reached)
		for s := range subs {
			if seenSub[s] != epoch || hopSub[s] < 0 {
				continue
			}
			p := subs[s].prefix
			if given[p] {
				continue
			}
			c := cands[hopSub[s]]
			src.Routes = append(src.Routes, Route{Dst: p, Via: c.via, Dev: c.dev.Name, Auto: true})
		}
	}
}
