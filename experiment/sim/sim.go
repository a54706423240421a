// Package sim runs a whole lab in one process on a virtual clock: every
// node of the plan is a Go stack (package stack), every link a pair of
// in-memory pipes in Manual mode, every interface wrapped by the
// impairment engine (package impair) with the plan's netem, all on one
// clock.Manual. Nothing runs on real time and nothing runs in another
// goroutine: time moves only inside Run and RunUntil, which hand every
// frame across its wire, give the applications (sinks, bulk flows) their
// turn with non-blocking socket calls, and then jump to the next timer.
// The same plan, seed and calls therefore give the same results, byte for
// byte.
//
// The applications are those of the node agent (package nodeagent) made
// event-driven: StartApp runs a sink (with its ConnRecords), an echo or an
// rr server, Flows runs a FlowBatch of bulk flows and flows of requests,
// and their reports have the agent's types and meaning, so the experiment
// runner can measure a trial on the virtual clock with the code it uses on
// a deployed lab. Links are changed as through the agent's impairment and
// power APIs (SetImpairment, SetDown, ChangeImpairment, SetPower), at
// chosen virtual times with At, and read with Impairments.
//
// On a virtual clock a frame crosses a link without impairment in no time
// at all: only rates and delays make time pass. A path without either is
// infinitely fast, and a flow of a Duration on it never lets time move:
// Run reports it as an error rather than hang.
//
// A Lab is not safe for concurrent use: one goroutine drives it.
package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// Options configures a Lab.
type Options struct {
	// Seed, when not zero, derives every stack's seed and every planned
	// impairment direction's seed from itself and the plan's seed for
	// it, so that two seeds give two independent runs of the same lab.
	// Zero keeps the plan's seeds as they are (what the node agent uses).
	Seed uint64
	// Epoch is the virtual time the lab starts at; zero means
	// clock.Epoch.
	Epoch time.Time
	// Probe, if set, receives every stack's probe events (TCP segments,
	// state changes, timer events) with the name of the node. It runs
	// with that node's stack locked and must not call the Lab.
	Probe func(node string, e stack.ProbeEvent)
}

// Lab is a lab running on a virtual clock. Make one with New, drive it with
// Run or RunUntil, and Close it.
type Lab struct {
	plan   *topology.Lab
	opts   Options
	clk    *clock.Manual
	nodes  []*node          // in plan order (sorted by name)
	byName map[string]*node // lookups only, never iterated
	wires  []wire           // in plan order: links, then segments
	closed bool
	// err is the first failure of the driver (a livelock), kept so that
	// every later Run reports it.
	err error
	// running is set while Run is under way.
	running bool
	// maxRounds and maxFrames bound one instant (see settle).
	maxRounds, maxFrames int
	// buf is the applications' read and write buffer; only one
	// application runs at a time.
	buf []byte
}

// node is one node of the lab.
type node struct {
	plan    *topology.Node
	st      *stack.Stack
	ifcs    []*iface // in plan order
	apps    []*app   // in start order
	nextApp int
	batches []*batch // in the order Flows was called
	stopped bool     // by SetPower
}

// iface is one interface of a node: the stack's endpoint is the impairment
// wrapper, whose inner endpoint is the pipe.
type iface struct {
	name           string
	pe             *pipe.Endpoint
	ep             *impair.Endpoint
	planEg, planIn *impair.Config // from the plan (reseeded); never changed
	curEg, curIn   *impair.Config
	down           bool
	stopped        bool // the node is stopped: down whatever down says
}

// wire carries frames between pipe endpoints: a point-to-point link (two
// endpoints, each one's frames to the other) or a LAN segment (each
// member's frames to every other member, as a flooding bridge).
type wire struct {
	eps []*pipe.Endpoint
}

// ErrClosed is returned by the methods of a Lab after Close.
var ErrClosed = errors.New("sim: lab closed")

// New builds plan in this process on a virtual clock. Every node must run
// the Go stack: a `stack: linux` node is an error naming it. The plan's
// exec commands, sysctls, images and captures have no meaning here and
// are ignored.
func New(plan *topology.Lab, opts Options) (*Lab, error) {
	if plan == nil {
		return nil, errors.New("sim: no plan")
	}
	for _, pn := range plan.Nodes {
		if pn.Stack != topology.StackGo && pn.Stack != "" {
			return nil, fmt.Errorf("sim: node %s runs the %s stack: only `stack: go` nodes run on the virtual clock", pn.Name, pn.Stack)
		}
		if pn.Base != topology.KindHost && pn.Base != topology.KindRouter {
			return nil, fmt.Errorf("sim: node %s is of kind %s (%s), which the virtual clock cannot model", pn.Name, pn.Kind, pn.Base)
		}
	}
	if opts.Epoch.IsZero() {
		opts.Epoch = clock.Epoch
	}
	l := &Lab{plan: plan, opts: opts, clk: clock.NewManual(opts.Epoch), byName: make(map[string]*node, len(plan.Nodes)), buf: make([]byte, 64<<10),
		maxRounds: defaultMaxRounds, maxFrames: defaultMaxFrames}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	pipes := map[*topology.Interface]*pipe.Endpoint{}
	for _, k := range plan.Links {
		a, b := pipe.Pair(pipe.Manual, linkMTU(k.MTU, k.A.MTU), net.HardwareAddr(k.A.MAC[:]), net.HardwareAddr(k.B.MAC[:]))
		pipes[k.A], pipes[k.B] = a, b
		l.wires = append(l.wires, wire{eps: []*pipe.Endpoint{a, b}})
	}
	for _, sg := range plan.Segments {
		var w wire
		for _, m := range sg.Members {
			// The far end stands for the bridge's port; the bridge is
			// the wire itself.
			e, _ := pipe.Pair(pipe.Manual, linkMTU(m.MTU, sg.MTU), net.HardwareAddr(m.MAC[:]), net.HardwareAddr{2, 0, 0, 0, 0, 0})
			pipes[m] = e
			w.eps = append(w.eps, e)
		}
		l.wires = append(l.wires, w)
	}
	for _, pn := range plan.Nodes {
		n, err := l.attach(pn, pipes)
		if err != nil {
			return nil, fmt.Errorf("sim: node %s: %w", pn.Name, err)
		}
		l.nodes = append(l.nodes, n)
		l.byName[pn.Name] = n
	}
	ok = true
	return l, nil
}

func linkMTU(mtus ...int) int {
	for _, m := range mtus {
		if m > 0 {
			return m
		}
	}
	return 1500
}

// attach builds one node's stack as the agent does (nodeagent attach):
// its options from the plan, each interface through its impairment,
// addresses, then routes.
func (l *Lab) attach(pn *topology.Node, pipes map[*topology.Interface]*pipe.Endpoint) (*node, error) {
	so := nodeagent.StackOptions(pn)
	so.Clock = l.clk
	so.Seed = l.stackSeed(pn)
	if l.opts.Probe != nil {
		name, probe := pn.Name, l.opts.Probe
		so.Probe = func(e stack.ProbeEvent) { probe(name, e) }
	}
	n := &node{plan: pn, st: stack.New(so)}
	ok := false
	defer func() {
		if !ok {
			n.st.Destroy()
			for _, ifc := range n.ifcs {
				ifc.ep.Close()
			}
		}
	}()
	nics := map[string]int{}
	for _, ifc := range pn.Interfaces {
		pe := pipes[ifc]
		if pe == nil {
			return nil, fmt.Errorf("interface %s is on no link or segment", ifc.Name)
		}
		eg, in := l.reseed(ifc.Egress, "egress", ifc), l.reseed(ifc.Ingress, "ingress", ifc)
		ie := impair.Wrap(pe, eg, in, l.clk)
		n.ifcs = append(n.ifcs, &iface{name: ifc.Name, pe: pe, ep: ie, planEg: eg, planIn: in, curEg: eg, curIn: in})
		id, err := n.st.AddInterface(ifc.Name, ie)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", ifc.Name, err)
		}
		nics[ifc.Name] = id
		if ifc.Addr.IsValid() {
			if err := n.st.AddAddress(id, ifc.Addr); err != nil {
				return nil, fmt.Errorf("interface %s: address %v: %w", ifc.Name, ifc.Addr, err)
			}
		}
	}
	for _, r := range pn.Routes {
		id, ok := nics[r.Dev]
		if !ok {
			return nil, fmt.Errorf("route %v: no interface %q", r.Dst, r.Dev)
		}
		if err := n.st.AddRoute(stack.Route{Dst: r.Dst, Gateway: r.Via, NIC: id}); err != nil {
			return nil, fmt.Errorf("route %v: %w", r.Dst, err)
		}
	}
	ok = true
	return n, nil
}

// stackSeed is the seed of a node's stack: the plan's, mixed with
// Options.Seed when that is set; never zero (a zero seed is random).
func (l *Lab) stackSeed(pn *topology.Node) uint64 {
	s := pn.Seed
	if l.opts.Seed != 0 {
		s = mix(l.opts.Seed, s, "stack", pn.Name)
	}
	if s == 0 {
		s = 1
	}
	return s
}

// reseed returns a copy of a planned impairment with its seed mixed with
// Options.Seed, or cfg itself when Options.Seed is zero.
func (l *Lab) reseed(cfg *impair.Config, dir string, ifc *topology.Interface) *impair.Config {
	if cfg == nil || l.opts.Seed == 0 {
		return cfg
	}
	c := cfg.Clone()
	c.Seed = mix(l.opts.Seed, cfg.Seed, "netem", ifc.String(), dir)
	return c
}

// mix hashes a seed, a base and names into a new seed (FNV-1a, then
// SplitMix64's finalizer).
func mix(seed, base uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [16]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
		b[8+i] = byte(base >> (8 * i))
	}
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Now returns the virtual time.
func (l *Lab) Now() time.Time { return l.clk.Now() }

// Clock returns the lab's clock, for code that times itself with it. Only
// the goroutine that drives the lab may arm timers on it; they run inside
// Run and RunUntil.
func (l *Lab) Clock() clock.Clock { return l.clk }

// Plan returns the plan the lab was built from.
func (l *Lab) Plan() *topology.Lab { return l.plan }

// Stack returns a node's stack, for what the Lab does not wrap (sockets of
// one's own, Info, Stats). Sockets made on it must be non-blocking: a
// blocking call would wait for a time that never comes.
func (l *Lab) Stack(name string) (*stack.Stack, error) {
	if l.closed {
		return nil, ErrClosed
	}
	n, err := l.node(name)
	if err != nil {
		return nil, err
	}
	return n.st, nil
}

// node returns the node called name.
func (l *Lab) node(name string) (*node, error) {
	n, ok := l.byName[name]
	if !ok {
		return nil, fmt.Errorf("sim: lab %s has no node %q", l.plan.Name, name)
	}
	return n, nil
}

// Close stops every application, destroys every stack and closes every
// endpoint. Reports, AppConns and Impairments stay readable (as of the
// moment of Close); the methods that change the lab return ErrClosed.
func (l *Lab) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	for _, n := range l.nodes {
		for _, a := range n.apps {
			a.stop()
		}
		n.st.Destroy()
		for _, ifc := range n.ifcs {
			ifc.ep.Close()
		}
	}
	for _, w := range l.wires {
		for _, e := range w.eps {
			e.Close()
			e.Peer().Close()
		}
	}
	return nil
}
