package runner

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/sim"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// agentAPI is what a trial asks of a node's agent, wherever the node
// runs: a deployed lab's agent (nodeagent.Client), or a lab on a virtual
// clock (simNode).
type agentAPI interface {
	ChangeImpairment(ctx context.Context, ch nodeagent.ImpairChange) (nodeagent.ImpairState, error)
	Impairments(ctx context.Context) ([]nodeagent.ImpairState, error)
	SetPower(ctx context.Context, ch nodeagent.PowerChange) (nodeagent.PowerState, error)
	StartApp(ctx context.Context, spec nodeagent.AppSpec) (nodeagent.AppInfo, error)
	StopApp(ctx context.Context, id int) (nodeagent.AppInfo, error)
	AppConns(ctx context.Context, id int) ([]nodeagent.ConnRecord, error)
}

// labHandle is the deployed lab as a trial uses it.
type labHandle struct {
	plan  *topology.Lab
	state *deploy.State
	// vlab, when set, is the trial's lab on a virtual clock: it stands
	// for every agent and state is nil.
	vlab  *sim.Lab
	names []string
	// clients are reused: each holds its agent connections open, and a
	// new one per request would leave them behind.
	mu      sync.Mutex
	clients map[string]*nodeagent.Client // by socket and node
}

// cached returns the one client of node through socket.
func (l *labHandle) cached(socket, node, log string) *nodeagent.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		l.clients = map[string]*nodeagent.Client{}
	}
	k := socket + "\x00" + node
	c := l.clients[k]
	if c == nil {
		c = nodeagent.NewClient(socket, node).WithLog(log)
		l.clients[k] = c
	}
	return c
}

func newLabHandle(plan *topology.Lab, st *deploy.State) *labHandle {
	l := &labHandle{plan: plan, state: st}
	for _, n := range plan.Nodes {
		l.names = append(l.names, n.Name)
	}
	return l
}

// client returns the agent client of node.
func (l *labHandle) client(node string) (*nodeagent.Client, error) {
	for _, n := range l.state.Nodes {
		if n.Name == node && n.Socket != "" {
			return l.cached(n.Socket, node, n.Log), nil
		}
	}
	return nil, fmt.Errorf("node %s has no agent", node)
}

// sideClient returns the client of the agent that applies s.
func (l *labHandle) sideClient(s topology.ImpairSide) (*nodeagent.Client, error) {
	if s.Relay {
		return l.cached(l.state.RelaySocket, s.Node, ""), nil
	}
	return l.client(s.Node)
}

// agent returns node's agent: its client, or the virtual lab's.
func (l *labHandle) agent(node string) (agentAPI, error) {
	if l.vlab != nil {
		return simNode{l.vlab, node}, nil
	}
	return l.client(node)
}

// side returns the agent that applies s.
func (l *labHandle) side(s topology.ImpairSide) (agentAPI, error) {
	if l.vlab != nil {
		return simNode{l.vlab, s.Node}, nil
	}
	return l.sideClient(s)
}

// agents returns one client per agent process (its socket), to read each
// one's health once.
func (l *labHandle) agents() map[string]*nodeagent.Client {
	out := map[string]*nodeagent.Client{}
	for _, n := range l.state.Nodes {
		if n.Socket != "" && out[n.Socket] == nil {
			out[n.Socket] = l.cached(n.Socket, n.Name, n.Log)
		}
	}
	if l.state.RelaySocket != "" && out[l.state.RelaySocket] == nil && len(l.state.Nodes) > 0 {
		out[l.state.RelaySocket] = l.cached(l.state.RelaySocket, l.state.Nodes[0].Name, "")
	}
	return out
}

// selectNodes returns the nodes sel picks.
func (l *labHandle) selectNodes(sel string) ([]string, error) {
	return experiment.Select(sel, l.names, func(n string) map[string]string { return l.plan.Node(n).Labels })
}

// addr returns the address flows to node go to: its first interface's.
func (l *labHandle) addr(node string) (netip.Addr, error) {
	n := l.plan.Node(node)
	for _, ifc := range n.Interfaces {
		if ifc.Addr.IsValid() {
			return ifc.Addr.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("node %s has no address to send to", node)
}

// goStack reports whether node runs the Go stack.
func (l *labHandle) goStack(node string) bool { return l.plan.Node(node).Stack != topology.StackLinux }

// setLink gives target (a link or NODE:IFACE) the impairment of fields in
// both directions; nil fields with reset go back to the topology's.
func (l *labHandle) setLink(ctx context.Context, target string, fields map[string]string, seed uint64) error {
	sides, err := l.plan.ImpairTargets(target, topology.DirBoth)
	if err != nil {
		return err
	}
	for i, s := range sides {
		f := maps.Clone(fields)
		if _, ok := f["seed"]; !ok {
			f["seed"] = fmt.Sprint((seed + uint64(i)) % (1 << 62)) // each direction its own stream
		}
		im, err := topology.ParseImpairment(f)
		if err != nil {
			return fmt.Errorf("link %s: %w", target, err)
		}
		c, err := l.side(s)
		if err != nil {
			return err
		}
		if _, err := c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: s.Interface, Dir: s.Dir, Impairment: im}); err != nil {
			return fmt.Errorf("%s:%s %s: %w", s.Node, s.Interface, s.Dir, err)
		}
	}
	return nil
}

// setDown takes target down or up at every agent on its path.
func (l *labHandle) setDown(ctx context.Context, target string, down bool) error {
	sides, err := l.plan.ImpairTargets(target, topology.DirBoth)
	if err != nil {
		return err
	}
	return nodeagent.SetDown(ctx, sides, down, func(s topology.ImpairSide) (nodeagent.ImpairChanger, error) {
		return l.side(s)
	})
}

// setPower stops or starts node (a Go-stack node; see
// nodeagent.PowerChange).
func (l *labHandle) setPower(ctx context.Context, node string, up bool) error {
	c, err := l.agent(node)
	if err != nil {
		return err
	}
	if _, err := c.SetPower(ctx, nodeagent.PowerChange{Up: up}); err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	return nil
}

// resetLink brings target up with the topology file's impairment.
func (l *labHandle) resetLink(ctx context.Context, target string) error {
	if err := l.setDown(ctx, target, false); err != nil {
		return err
	}
	sides, err := l.plan.ImpairTargets(target, topology.DirBoth)
	if err != nil {
		return err
	}
	for _, s := range sides {
		c, err := l.side(s)
		if err != nil {
			return err
		}
		if _, err := c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: s.Interface, Dir: s.Dir, Reset: true}); err != nil {
			return fmt.Errorf("%s:%s %s: %w", s.Node, s.Interface, s.Dir, err)
		}
	}
	return nil
}

// linkReading is one direction of a link's counters and configuration.
type linkReading struct {
	side  topology.ImpairSide
	cfg   *impair.Config
	stats impair.Stats
}

// readLink reads every direction of target.
func (l *labHandle) readLink(ctx context.Context, target string) ([]linkReading, error) {
	sides, err := l.plan.ImpairTargets(target, topology.DirBoth)
	if err != nil {
		return nil, err
	}
	var out []linkReading
	for _, s := range sides {
		c, err := l.side(s)
		if err != nil {
			return nil, err
		}
		states, err := c.Impairments(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(states, func(st nodeagent.ImpairState) bool { return st.Interface == s.Interface })
		if i < 0 {
			return nil, fmt.Errorf("%s:%s: its agent reports no impairment", s.Node, s.Interface)
		}
		r := linkReading{side: s, cfg: states[i].Egress, stats: states[i].Stats.Egress}
		if s.Dir == topology.DirIngress {
			r.cfg, r.stats = states[i].Ingress, states[i].Stats.Ingress
		}
		out = append(out, r)
	}
	return out, nil
}

// simNode is a node of a lab on a virtual clock, as a trial asks of its
// agent. The lab is driven by the trial's goroutine alone.
type simNode struct {
	lab  *sim.Lab
	node string
}

func (n simNode) ChangeImpairment(_ context.Context, ch nodeagent.ImpairChange) (nodeagent.ImpairState, error) {
	return n.lab.ChangeImpairment(n.node, ch)
}

func (n simNode) Impairments(context.Context) ([]nodeagent.ImpairState, error) {
	return n.lab.Impairments(n.node)
}

func (n simNode) SetPower(_ context.Context, ch nodeagent.PowerChange) (nodeagent.PowerState, error) {
	return n.lab.SetPower(n.node, ch.Up)
}

func (n simNode) StartApp(_ context.Context, spec nodeagent.AppSpec) (nodeagent.AppInfo, error) {
	id, err := n.lab.StartApp(n.node, spec)
	return nodeagent.AppInfo{ID: id, Mode: spec.Mode, Port: spec.Port}, err
}

func (n simNode) StopApp(_ context.Context, id int) (nodeagent.AppInfo, error) {
	return nodeagent.AppInfo{ID: id}, n.lab.StopApp(n.node, id)
}

func (n simNode) AppConns(_ context.Context, id int) ([]nodeagent.ConnRecord, error) {
	return n.lab.AppConns(n.node, id)
}
