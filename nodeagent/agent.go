// Package nodeagent is what runs for the nodes of a lab: it attaches the Go
// stack to every data interface of a `stack: go` node (AF_PACKET inside the
// node's namespace), applies the plan's addresses, routes and TCP options,
// runs the built-in apps (sink, echo, HTTP, bulk send, get, ping) on Go and
// Linux nodes alike, records each Go-stack node's probe stream (with the
// drop events of its impaired interfaces) in the run's folder, and serves a
// control API over a unix socket in the lab's root-only state directory —
// never on a data interface. It serves the resolved plan deploy wrote
// (topology.DecodePlan), never the YAML.
//
// One agent serves a whole lab from the host, on every runtime: a stack per
// node, each on sockets bound inside its node's namespace (a named
// namespace, or a container's, so that any image can be a node). It also
// runs the lab's relays, which impair the frames of `stack: linux`
// interfaces that no Go stack sees; the relays' drop events are the trace
// stream of the node they relay for (not recorded: that node has no
// connection of a stack for them to join).
package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/workpool"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
	"github.com/netlab/netlab/wiring"
)

// NodeRef names a node to serve and its network namespace ("" means the
// agent's own, as inside a container).
type NodeRef struct {
	Name   string `json:"name"`
	NSPath string `json:"ns"`
}

// Config is what an agent serves.
type Config struct {
	Lab   *topology.Lab
	Nodes []NodeRef
	Log   *slog.Logger
	// Link tunes the AF_PACKET endpoints.
	Link afpacket.Options
	// Run, if set (its Dir not empty), is the run's folder: each Go-stack
	// node's probe stream is recorded there (labdir.Run.Trace), at most
	// TraceMaxBytes per node (0: the default), and nodes whose plan has
	// `capture:` record in its captures folder.
	Run           labdir.Run
	TraceMaxBytes int64
	// TraceEventsPerSecond bounds the ordinary segment events the
	// recorders write, all nodes together (recordBudget); 0 is
	// DefaultTraceEventsPerSecond, below 0 records every event.
	TraceEventsPerSecond int
	// CaptureDir, if set, overrides where nodes whose plan has `capture:` record
	// continuously, as rings of pcapng files (CaptureFile).
	CaptureDir string
	// OpenLink opens the endpoint of one interface; nil opens AF_PACKET
	// on it inside the node's namespace. Tests give in-memory links.
	// Relay ports are opened with it too, with the switch namespace.
	OpenLink func(node, nsPath, ifname string) (link.Endpoint, error)
	// SwitchNS, if set, is the lab's switch namespace: the agent then
	// runs the lab's relays (see topology.Interface.Relay), whatever
	// nodes it serves. One agent per lab is given it.
	SwitchNS string
	// Wired, if set, is the part of Lab this machine wired when the lab
	// is spread over several (topology.Lab.Part): the relays are its.
	// Nil means Lab.
	Wired *topology.Lab
}

// Agent serves the nodes of one lab (or one node of it).
type Agent struct {
	log *slog.Logger
	// digests digests prefixes of the pattern for every node's senders
	// and sinks (each stretch hashed once).
	digests patternDigests
	// budget bounds what the recorders write (Config.TraceEventsPerSecond).
	budget *recordBudget
	mu     sync.Mutex
	nodes  map[string]*node
	start  time.Time

	impairClock *clock.Precise

	switchNS string
	relays   []*relay   // set by New, then only read
	relayMu  sync.Mutex // guards the relays' impairment changes
	// relayTraces carry the drop events of the relays, by relayed node
	// (set by New, then only read): a `stack: linux` node has no probe
	// stream of its own, and may not be served by this agent.
	relayTraces map[string]*tracer
	// planImpaired says the lab's plan impairs some link (set by New);
	// noteMu orders noteImpairments.
	planImpaired bool
	noteMu       sync.Mutex
}

type node struct {
	plan    *topology.Node
	nsPath  string
	net     netAPI
	stack   *stack.Stack // nil for stack: linux
	eps     []link.Endpoint
	taps    []*tap
	impairs []*impairIfc // per interface, in plan order
	trace   *tracer
	rec     *recorder
	digests *patternDigests // the agent's; nil hashes every time
	ring    *captureRing
	ktaps   []*tap // kernel capture sockets a ring keeps open (stack: linux)

	mu      sync.Mutex
	apps    map[int]*app
	nextID  int
	stopped bool // by setPower
}

// New attaches stacks to every node of cfg and returns the agent. On error
// everything already attached is released.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Link.RingBlocks == 0 {
		// 2 MiB of receive ring per interface (about 1000 frames): more
		// than the default 1 MiB window can have in flight, so a busy
		// machine does not drop frames a lab would show as unexplained
		// loss, and still no gigabytes pinned for a thousand nodes.
		cfg.Link.RingBlocks = 16
	}
	// Impairment delays are timed by a precise clock: Go's timers fire
	// up to a millisecond late, too coarse for a 0.5 ms link.
	a := &Agent{log: cfg.Log, nodes: make(map[string]*node), start: time.Now(), impairClock: clock.NewPrecise()}
	for _, ref := range cfg.Nodes {
		if cfg.Lab.Node(ref.Name) == nil {
			return nil, fmt.Errorf("node %q is not in lab %s", ref.Name, cfg.Lab.Name)
		}
	}
	if cfg.Run.Dir != "" {
		a.budget = newRecordBudget(cfg.TraceEventsPerSecond)
	}
	open := cfg.OpenLink
	if open == nil {
		open = func(_, nsPath, ifname string) (link.Endpoint, error) { return openEndpoint(nsPath, ifname, cfg.Link) }
	}
	// Opening a packet socket's ring waits for an RCU grace period in the
	// kernel (synchronize_net); waiters at the same time share one, so the
	// nodes are attached by a pool of workers rather than one by one.
	err := workpool.ForEach(ctx, len(cfg.Nodes), attachWorkers, func(_ context.Context, i int) error {
		ref := cfg.Nodes[i]
		pn := cfg.Lab.Node(ref.Name)
		n, err := attach(pn, ref.NSPath, open, a.impairClock)
		if err == nil {
			n.digests = &a.digests
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", ref.Name, err)
		}
		capDir := cfg.CaptureDir
		if capDir == "" && cfg.Run.Dir != "" {
			capDir = cfg.Run.Path(labdir.CapturesDir)
		}
		if capDir != "" && pn.Capture != nil {
			if err := n.startCapture(capDir); err != nil {
				n.close()
				return fmt.Errorf("node %s: %w", ref.Name, err)
			}
		}
		if cfg.Run.Dir != "" && n.stack != nil {
			if n.rec, err = startRecorder(n.trace, cfg.Run.Trace(ref.Name), cfg.TraceMaxBytes, a.budget); err != nil {
				n.close()
				return fmt.Errorf("node %s: %w", ref.Name, err)
			}
		}
		a.mu.Lock()
		a.nodes[ref.Name] = n
		a.mu.Unlock()
		a.log.Info("node ready", "node", ref.Name, "stack", pn.Stack, "interfaces", len(pn.Interfaces))
		return nil
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	if cfg.SwitchNS != "" {
		a.switchNS = cfg.SwitchNS
		a.relayTraces = map[string]*tracer{}
		// A relay's drop events are timed from the agent's start: the
		// node has no Go stack whose clock would time other events.
		sinceStart := func() int64 { return time.Since(a.start).Microseconds() }
		wired := cfg.Lab
		if cfg.Wired != nil {
			wired = cfg.Wired
		}
		for _, rp := range wiring.Layout(wired).Relays {
			r, err := openRelay(rp, cfg.SwitchNS, open, a.impairClock)
			if err != nil {
				a.Close()
				return nil, err
			}
			t := a.relayTraces[r.node]
			if t == nil {
				t = newTracer()
				a.relayTraces[r.node] = t
			}
			r.ii.ep.SetDropHooks(t.dropHook(r.ii.name, trace.DirEgress, sinceStart), t.dropHook(r.ii.name, trace.DirIngress, sinceStart))
			a.relays = append(a.relays, r)
			a.log.Info("relay ready", "interface", rp.Interface.String(), "ports", rp.Near+","+rp.Far)
		}
	}
	a.planImpaired = planImpaired(cfg.Lab)
	a.noteImpairments()
	return a, nil
}

// attachWorkers is how many nodes are attached or closed at once: mostly
// waiting in the kernel, not using CPU.
const attachWorkers = 16

// StackOptions turns a node's plan into Go-stack options.
func StackOptions(pn *topology.Node) stack.Options {
	t := pn.TCP
	o := stack.Options{Seed: pn.Seed, Forwarding: pn.Forwarding}
	o.TCP = stack.TCPOptions{
		SendBuffer: t.SndBuf, ReceiveBuffer: t.RcvBuf, Congestion: t.CC, MSS: t.MSS,
		InitialRTO: t.RTOInitial, MinRTO: t.RTOMin,
	}
	if t.Nagle != nil {
		o.TCP.NoDelay = !*t.Nagle
	}
	if t.DelayedACK != nil {
		o.TCP.DelayedACK = *t.DelayedACK
		if *t.DelayedACK == 0 {
			o.TCP.DelayedACK = -1 // ACK every segment
		}
	}
	if t.TimeWait != nil {
		o.TCP.TimeWait = *t.TimeWait
		if *t.TimeWait == 0 {
			o.TCP.TimeWait = -1 // no TIME-WAIT
		}
	}
	if t.SACK != nil {
		o.TCP.DisableSACK = !*t.SACK
	}
	if t.Timestamps != nil {
		o.TCP.DisableTS = !*t.Timestamps
	}
	if t.WindowScaling != nil {
		o.TCP.DisableWS = !*t.WindowScaling
	}
	o.TCP.BatchACKs = t.BatchACKs == nil || *t.BatchACKs
	return o
}

func attach(pn *topology.Node, nsPath string, open func(node, nsPath, ifname string) (link.Endpoint, error), clk clock.Clock) (*node, error) {
	n := &node{plan: pn, nsPath: nsPath, apps: make(map[int]*app), trace: newTracer()}
	if pn.Stack == topology.StackLinux {
		n.net = kernelNet{ns: nsPath}
		return n, nil
	}
	so := StackOptions(pn)
	so.Probe = n.trace.publish
	s := stack.New(so)
	n.stack = s
	n.net = goNet{s: s}
	nics := map[string]int{}
	for _, ifc := range pn.Interfaces {
		ep, err := open(pn.Name, nsPath, ifc.Name)
		if err != nil {
			n.close()
			return nil, err
		}
		n.eps = append(n.eps, ep)
		eg, in := planImpairments(ifc)
		// stack -> capture tap -> impairment -> wire: a capture shows what
		// the stack sent and what reached it.
		ie := impair.Wrap(ep, eg, in, clk)
		// What the impairment drops goes into the node's probe stream,
		// timed on the stack's clock as the stack's own events.
		now := func() int64 { return s.Elapsed().Microseconds() }
		ie.SetDropHooks(n.trace.dropHook(ifc.Name, trace.DirEgress, now), n.trace.dropHook(ifc.Name, trace.DirIngress, now))
		ii := &impairIfc{name: ifc.Name, ep: ie, planEg: eg, planIn: in, curEg: eg, curIn: in}
		n.impairs = append(n.impairs, ii)
		t := &tap{Endpoint: ie, name: ifc.Name, ii: ii}
		ii.tap = t
		n.taps = append(n.taps, t)
		id, err := s.AddInterface(ifc.Name, t)
		if err != nil {
			n.close()
			return nil, err
		}
		nics[ifc.Name] = id
		if ifc.Addr.IsValid() {
			if err := s.AddAddress(id, ifc.Addr); err != nil {
				n.close()
				return nil, err
			}
		}
	}
	for _, r := range pn.Routes {
		id, ok := nics[r.Dev]
		if !ok {
			n.close()
			return nil, fmt.Errorf("route %v: no interface %q", r.Dst, r.Dev)
		}
		if err := s.AddRoute(stack.Route{Dst: r.Dst, Gateway: r.Via, NIC: id}); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// openEndpoint opens AF_PACKET on an interface. In the agent's own
// namespace (a container, where /proc/sys is read-only) the interface was
// already prepared from the host by deploy's wiring.
func openEndpoint(nsPath, ifname string, o afpacket.Options) (link.Endpoint, error) {
	if nsPath != "" {
		return afpacket.OpenInNamespace(nsPath, ifname, o)
	}
	return afpacket.New(ifname, o)
}

func (n *node) close() {
	n.mu.Lock()
	for _, ap := range n.apps {
		ap.close()
	}
	n.apps = nil
	n.mu.Unlock()
	if n.stack != nil {
		n.stack.Destroy()
	}
	for _, ep := range n.eps {
		ep.Close()
	}
	if n.rec != nil {
		n.rec.stop()
	}
	if n.ring != nil {
		n.ring.stop()
		for _, t := range n.ktaps {
			t.Endpoint.Close()
		}
	}
	n.trace.closeAll()
}

// Orphaned is closed when every node the agent serves is gone (the lab was
// destroyed, perhaps by hand), or, for an agent that serves only relays,
// the switch namespace: the agent then has nothing left to do and its
// process should exit.
func (a *Agent) Orphaned(ctx context.Context, every time.Duration) <-chan struct{} {
	done := make(chan struct{})
	var paths []string
	a.mu.Lock()
	for _, n := range a.nodes {
		if n.nsPath != "" {
			paths = append(paths, n.nsPath)
		}
	}
	a.mu.Unlock()
	if len(paths) == 0 && a.switchNS != "" {
		paths = append(paths, a.switchNS)
	}
	if len(paths) == 0 {
		return done // nothing to watch: the caller ends it
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				alive := false
				for _, p := range paths {
					if _, err := os.Stat(p); err == nil {
						alive = true
						break
					}
				}
				if !alive {
					close(done)
					return
				}
			}
		}
	}()
	return done
}

// Flush writes out what the nodes' continuous captures have buffered; the
// agent calls it periodically and before it exits.
func (a *Agent) Flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.nodes {
		if n.ring != nil {
			n.ring.flush()
		}
	}
}

// Close stops every app and stack and closes the endpoints.
func (a *Agent) Close() {
	a.mu.Lock()
	nodes := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		nodes = append(nodes, n)
	}
	a.nodes = map[string]*node{}
	a.mu.Unlock()
	// Closing packet sockets waits for grace periods too: in parallel.
	workpool.ForEach(context.Background(), len(nodes), attachWorkers, func(_ context.Context, i int) error {
		nodes[i].close()
		return nil
	})
	for _, r := range a.relays {
		r.close()
	}
	for _, t := range a.relayTraces {
		t.closeAll()
	}
	a.impairClock.Close()
	a.budget.close()
}

func (a *Agent) node(name string) (*node, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.nodes[name]
	if !ok {
		names := make([]string, 0, len(a.nodes))
		for k := range a.nodes {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: no node %q here (this agent serves %v)", errNotFound, name, names)
	}
	return n, nil
}

var errNotFound = errors.New("not found")

// NodeStatus is what `inspect` and `sockets` show of a node.
type NodeStatus struct {
	Name       string                `json:"name"`
	Stack      string                `json:"stack"`
	Interfaces []stack.InterfaceInfo `json:"interfaces,omitempty"`
	Routes     []string              `json:"routes,omitempty"`
	Apps       []AppInfo             `json:"apps,omitempty"`
	Counters   map[string]uint64     `json:"counters,omitempty"`
	// Links are the interfaces' AF_PACKET counters: RxKernelDrops counts
	// frames the kernel dropped because the receive ring was full.
	Links map[string]afpacket.Stats `json:"links,omitempty"`
}

func (n *node) status() NodeStatus {
	st := NodeStatus{Name: n.plan.Name, Stack: string(n.plan.Stack)}
	if n.stack != nil {
		st.Interfaces = n.stack.Interfaces()
		for _, r := range n.stack.Routes() {
			st.Routes = append(st.Routes, r.String())
		}
		st.Counters = n.stack.Stats().Map()
		for i, ep := range n.eps {
			if ap, ok := ep.(*afpacket.Endpoint); ok && i < len(n.plan.Interfaces) {
				if st.Links == nil {
					st.Links = map[string]afpacket.Stats{}
				}
				st.Links[n.plan.Interfaces[i].Name] = ap.Stats()
			}
		}
	}
	n.mu.Lock()
	for _, ap := range n.apps {
		st.Apps = append(st.Apps, ap.snapshot())
	}
	n.mu.Unlock()
	sort.Slice(st.Apps, func(i, j int) bool { return st.Apps[i].ID < st.Apps[j].ID })
	return st
}
