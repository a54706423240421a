// Package placement splits a lab's nodes among workers: the worker pods
// of a lab deployed on Kubernetes, each of which runs many lab nodes. A
// link inside a worker is a veth pair; a link between two workers is a
// tunnel over the pod network, slower and dearer, so a placement keeps
// densely linked groups together (a leaf with its hosts) while it
// balances the number of nodes per worker.
//
// The split is a graph partition: nodes joined by a LAN segment (a
// bridge), and the two ends of a link to a `stack: linux` node, are one
// unit, never split; hosts hanging off a single neighbour
// are folded into it while the group stays small; the units are grown
// into regions one worker at a time, most-connected first; then units
// move between workers while a move cuts fewer links and keeps the
// balance. It is deterministic: the same lab and options give the same
// placement. Nodes that must run alone (a container node with its own
// image is a pod of its own) get a worker each after the shared ones,
// with the shared worker they are most linked to (Placement.Beside).
package placement

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/netlab/netlab/topology"
)

// DefaultImbalance is how much more than an even share of the nodes a
// worker may hold (0.1: 10 %), so that a group need not be cut to make
// the counts equal.
const DefaultImbalance = 0.1

// Options says how to place a lab.
type Options struct {
	// Workers is how many workers share the lab's nodes (at least 1).
	Workers int
	// Imbalance is how far above an even share a worker may go, as a
	// fraction (0 means DefaultImbalance; a negative value, none).
	Imbalance float64
	// Own, if set, says which nodes get a worker of their own, besides
	// the Workers that share the others: a container node with its own
	// image runs in a pod of its own. Such a node may not share a LAN
	// segment with others.
	Own func(*topology.Node) bool
}

// Placement is which worker runs each node of a lab.
type Placement struct {
	// Workers is the number of workers.
	Workers int
	// Worker is the worker of each node, by the node's index in the
	// plan (topology.Lab.Nodes).
	Worker []int
	// Cut are the indexes (topology.Lab.Links) of the links whose two
	// ends run on different workers: the tunnels.
	Cut []int
	// Capacity is the most nodes a worker was allowed: an even share and
	// the imbalance allowed, or the largest group that cannot be split.
	Capacity int
	// Shared is how many of the workers share nodes (0 to Shared-1); each
	// worker from Shared on runs one node of its own (Options.Own).
	Shared int
	// Beside is, for each worker of a node of its own (Workers-Shared of
	// them, in order), the shared worker most of the node's links lead
	// to, where it is best run (-1: none).
	Beside []int
}

// Place splits lab's nodes among o.Workers workers, and gives each node
// o.Own picks a worker of its own after them.
func Place(lab *topology.Lab, o Options) (*Placement, error) {
	var own []int // node indexes
	isOwn := make([]bool, len(lab.Nodes))
	if o.Own != nil {
		for _, nd := range lab.Nodes {
			if o.Own(nd) {
				own = append(own, nd.Index)
				isOwn[nd.Index] = true
			}
		}
		for _, sg := range lab.Segments {
			if len(sg.Members) < 2 {
				continue
			}
			for _, m := range sg.Members {
				if isOwn[m.Node.Index] {
					return nil, fmt.Errorf("placement: node %s runs on its own (its own image) but shares LAN segment %s with other nodes: "+
						"link it to them point to point, or through a bridge node of netlab's", m.Node.Name, sg.Name)
				}
			}
		}
	}
	n := len(lab.Nodes) - len(own) // the nodes the shared workers run
	if n == 0 {
		o.Workers = 0
	} else if o.Workers < 1 {
		return nil, fmt.Errorf("placement: %d workers; a lab needs at least 1", o.Workers)
	}
	imb := o.Imbalance
	switch {
	case imb == 0:
		imb = DefaultImbalance
	case imb < 0:
		imb = 0
	}
	p := &Placement{Workers: o.Workers, Shared: o.Workers, Worker: make([]int, len(lab.Nodes)), Capacity: 1}
	if n > 0 {
		p.Capacity = max(1, int(math.Ceil(float64(n)/float64(o.Workers)*(1+imb))))
	}
	if n > 0 && o.Workers > 1 {
		g := newGraph(lab)
		for _, v := range own {
			g.drop(g.unitOf[v])
		}
		// A unit larger than an even share (a big LAN) gets a worker of its own.
		p.Capacity = max(p.Capacity, slices.Max(g.weight))
		g.fold(p.Capacity / 2)
		part := g.grow(o.Workers, p.Capacity, n)
		g.refine(part, o.Workers, p.Capacity)
		g.fillEmpty(part, o.Workers)
		for v, u := range g.unitOf {
			if !isOwn[v] {
				p.Worker[v] = part[u]
			}
		}
	}
	for k, v := range own {
		p.Worker[v] = o.Workers + k
	}
	p.Workers += len(own)
	for _, v := range own {
		links := make([]int, p.Shared)
		for _, l := range lab.Links {
			far := -1
			switch v {
			case l.A.Node.Index:
				far = l.B.Node.Index
			case l.B.Node.Index:
				far = l.A.Node.Index
			}
			if far >= 0 && !isOwn[far] {
				links[p.Worker[far]]++
			}
		}
		beside := -1
		if len(links) > 0 && links[argmax(links)] > 0 {
			beside = argmax(links)
		}
		p.Beside = append(p.Beside, beside)
	}
	for _, l := range lab.Links {
		if p.Worker[l.A.Node.Index] != p.Worker[l.B.Node.Index] {
			p.Cut = append(p.Cut, l.Index)
		}
	}
	return p, nil
}

// Load returns how many nodes each worker runs.
func (p *Placement) Load() []int {
	load := make([]int, p.Workers)
	for _, w := range p.Worker {
		load[w]++
	}
	return load
}

// Summary says in a line how the lab was split: "3 workers: 78, 78, 56
// nodes; 24 of 424 links are tunnels".
func (p *Placement) Summary(links int) string {
	var loads []string
	for _, l := range p.Load() {
		loads = append(loads, fmt.Sprint(l))
	}
	return fmt.Sprintf("%d workers: %s nodes; %d of %d links are tunnels", p.Workers, strings.Join(loads, ", "), len(p.Cut), links)
}

// graph is the lab as units (groups of nodes never split) and the
// number of links between them.
type graph struct {
	unitOf  []int         // node index → unit
	members [][]int       // unit → its nodes
	weight  []int         // unit → nodes in it
	adj     []map[int]int // unit → neighbour unit → links between them
	alive   []bool        // false once a unit is folded into another
}

func newGraph(lab *topology.Lab) *graph {
	n := len(lab.Nodes)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// A segment's members share a bridge: one worker runs them all.
	for _, s := range lab.Segments {
		for _, m := range s.Members[min(1, len(s.Members)):] {
			a, b := find(s.Members[0].Node.Index), find(m.Node.Index)
			if a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	g := &graph{unitOf: make([]int, n)}
	ids := map[int]int{}
	for v := range n {
		r := find(v)
		u, ok := ids[r]
		if !ok {
			u = len(g.weight)
			ids[r] = u
			g.weight = append(g.weight, 0)
			g.adj = append(g.adj, map[int]int{})
			g.members = append(g.members, nil)
			g.alive = append(g.alive, true)
		}
		g.unitOf[v] = u
		g.members[u] = append(g.members[u], v)
		g.weight[u]++
	}
	for _, l := range lab.Links {
		a, b := g.unitOf[l.A.Node.Index], g.unitOf[l.B.Node.Index]
		if a != b {
			g.adj[a][b]++
			g.adj[b][a]++
		}
	}
	return g
}

// fold merges each unit with a single neighbour (a host on its leaf, the
// end of a chain) into that neighbour, as long as the merged unit holds
// at most limit nodes.
func (g *graph) fold(limit int) {
	queue := make([]int, 0, len(g.weight))
	for u := range g.weight {
		queue = append(queue, u)
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if !g.alive[u] || len(g.adj[u]) != 1 {
			continue
		}
		var into int
		for into = range g.adj[u] {
		}
		if g.weight[into]+g.weight[u] > limit {
			continue
		}
		g.merge(u, into)
		queue = append(queue, into)
	}
}

// drop takes unit u out of the graph (a node with a worker of its own).
func (g *graph) drop(u int) {
	for nb := range g.adj[u] {
		delete(g.adj[nb], u)
	}
	g.adj[u] = map[int]int{}
	g.weight[u] = 0
	g.alive[u] = false
}

// merge folds unit u into unit into.
func (g *graph) merge(u, into int) {
	for nb, k := range g.adj[u] {
		delete(g.adj[nb], u)
		if nb != into {
			g.adj[into][nb] += k
			g.adj[nb][into] += k
		}
	}
	g.adj[u] = nil
	g.weight[into] += g.weight[u]
	g.weight[u] = 0
	g.alive[u] = false
	for _, v := range g.members[u] {
		g.unitOf[v] = into
	}
	g.members[into] = append(g.members[into], g.members[u]...)
	g.members[u] = nil
}

// grow makes the workers' regions one after the other: each starts from
// the unassigned unit with the fewest links, then takes the unit with the
// most links into it less those going elsewhere, until it holds its
// share of what is left.
func (g *graph) grow(workers, capacity, nodes int) []int {
	part := make([]int, len(g.weight))
	for u := range part {
		part[u] = -1
	}
	left := nodes
	for w := range workers {
		target := (left + workers - w - 1) / (workers - w)
		size := 0
		for size < target {
			best, bestScore := -1, math.MinInt
			for u, alive := range g.alive {
				if !alive || part[u] != -1 || size+g.weight[u] > capacity {
					continue
				}
				in, out := 0, 0
				for nb, k := range g.adj[u] {
					if part[nb] == w {
						in += k
					} else {
						out += k
					}
				}
				if size > 0 && in == 0 {
					continue // not next to the region
				}
				score := in - out
				if size == 0 {
					score = -len(g.adj[u]) // a seed at the edge of the graph
				}
				if score > bestScore {
					best, bestScore = u, score
				}
			}
			if best == -1 {
				if size > 0 {
					// Nothing next to the region fits: a new seed.
					if seed := g.seed(part, capacity-size); seed >= 0 {
						part[seed] = w
						size += g.weight[seed]
						continue
					}
				}
				break
			}
			part[best] = w
			size += g.weight[best]
		}
		left -= size
	}
	// What no region could take goes to the least loaded workers.
	load := g.loads(part, workers)
	for u, alive := range g.alive {
		if alive && part[u] == -1 {
			w := argmin(load)
			part[u] = w
			load[w] += g.weight[u]
		}
	}
	return part
}

// seed returns the unassigned unit of at most room nodes with the fewest
// links, or -1.
func (g *graph) seed(part []int, room int) int {
	best := -1
	for u, alive := range g.alive {
		if alive && part[u] == -1 && g.weight[u] <= room && (best == -1 || len(g.adj[u]) < len(g.adj[best])) {
			best = u
		}
	}
	return best
}

// refine moves units to the worker most of their links lead to while a
// move cuts fewer links and the worker stays within capacity, or swaps
// two units of different workers when the swap cuts fewer links.
func (g *graph) refine(part []int, workers, capacity int) {
	load := g.loads(part, workers)
	units := g.units()
	for pass := 0; pass < 50; pass++ {
		moved := false
		for _, u := range units {
			links := g.linksTo(u, part, workers)
			from := part[u]
			best, gain := -1, 0
			for w := range workers {
				if w == from || load[w]+g.weight[u] > capacity || load[from] == g.weight[u] {
					continue
				}
				if d := links[w] - links[from]; d > gain {
					best, gain = w, d
				}
			}
			if best >= 0 {
				part[u] = best
				load[from] -= g.weight[u]
				load[best] += g.weight[u]
				moved = true
				continue
			}
			// A swap with a unit of the worker u would gain most in.
			if v := g.swapFor(u, links, part, load, capacity); v >= 0 {
				to := part[v]
				part[u], part[v] = to, from
				load[from] += g.weight[v] - g.weight[u]
				load[to] += g.weight[u] - g.weight[v]
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

// swapFor returns a unit v on another worker whose swap with u cuts fewer
// links and keeps both workers within capacity, or -1.
func (g *graph) swapFor(u int, links []int, part, load []int, capacity int) int {
	from := part[u]
	best, bestGain := -1, 0
	for v, alive := range g.alive {
		if !alive || part[v] == from {
			continue
		}
		to := part[v]
		if links[to]-links[from] <= 0 {
			continue
		}
		if load[to]-g.weight[v]+g.weight[u] > capacity || load[from]-g.weight[u]+g.weight[v] > capacity {
			continue
		}
		vl := g.linksTo(v, part, len(load))
		// The u–v links stay cut either way.
		k := g.adj[u][v]
		gain := (links[to] - k - links[from]) + (vl[from] - k - vl[to])
		if gain > bestGain {
			best, bestGain = v, gain
		}
	}
	return best
}

// fillEmpty gives every worker left with nothing a unit of the most
// loaded one (the one whose move cuts the fewest new links), while the
// lab has units to spare.
func (g *graph) fillEmpty(part []int, workers int) {
	for {
		load := g.loads(part, workers)
		empty, full := argmin(load), argmax(load)
		if load[empty] > 0 {
			return
		}
		best, bestLoss := -1, math.MaxInt
		count := 0
		for u, alive := range g.alive {
			if !alive || part[u] != full {
				continue
			}
			count++
			links := g.linksTo(u, part, workers)
			if loss := links[full] - links[empty]; loss < bestLoss {
				best, bestLoss = u, loss
			}
		}
		if count < 2 {
			return // the fullest worker holds one unit: nothing to spare
		}
		part[best] = empty
	}
}

func (g *graph) units() []int {
	var us []int
	for u, alive := range g.alive {
		if alive {
			us = append(us, u)
		}
	}
	sort.Ints(us)
	return us
}

func (g *graph) loads(part []int, workers int) []int {
	load := make([]int, workers)
	for u, alive := range g.alive {
		if alive && part[u] >= 0 {
			load[part[u]] += g.weight[u]
		}
	}
	return load
}

// linksTo returns how many of u's links lead to each worker.
func (g *graph) linksTo(u int, part []int, workers int) []int {
	links := make([]int, workers)
	for nb, k := range g.adj[u] {
		if part[nb] >= 0 {
			links[part[nb]] += k
		}
	}
	return links
}

func argmin(v []int) int {
	best := 0
	for i, x := range v {
		if x < v[best] {
			best = i
		}
	}
	return best
}

func argmax(v []int) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
