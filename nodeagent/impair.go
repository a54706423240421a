package nodeagent

import (
	"context"
	"fmt"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/topology"
)

// planImpairments returns what an interface applies: its own egress and
// ingress from the plan and, on a link to a `stack: linux` node (which has
// no agent on its frame path), the peer's egress as this end's ingress.
func planImpairments(ifc *topology.Interface) (egress, ingress *impair.Config) {
	egress, ingress = ifc.Egress, ifc.Ingress
	if ingress == nil && ifc.Peer != nil && ifc.Peer.Node != nil && ifc.Peer.Node.Stack == topology.StackLinux {
		ingress = ifc.Peer.Egress
	}
	return egress, ingress
}

// inert reports whether c leaves frames as they are.
func inert(c *impair.Config) bool { return c == nil || c.IsZero() }

// planImpaired reports whether the plan impairs any interface of lab.
func planImpaired(lab *topology.Lab) bool {
	for _, n := range lab.Nodes {
		for _, ifc := range n.Interfaces {
			if !inert(ifc.Egress) || !inert(ifc.Ingress) {
				return true
			}
		}
	}
	return false
}

// noteImpairments tells every Go stack of the agent whether all the lab's
// links pass frames untouched: nothing impaired in the plan, nor in force
// now on an interface this agent impairs (its stacks' and its relays').
// Batch ACKs then act on every connection, not only those whose smallest
// RTT is under 1 ms (stack.SetLinksUnimpaired). An impairment another
// agent applies (docker, kubernetes: an agent per node) is not seen here;
// there the RTT rule alone guards what a lab shows.
func (a *Agent) noteImpairments() {
	a.noteMu.Lock()
	defer a.noteMu.Unlock()
	a.mu.Lock()
	nodes := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		nodes = append(nodes, n)
	}
	a.mu.Unlock()
	unimpaired := !a.planImpaired
	for _, n := range nodes {
		n.mu.Lock()
		for _, ii := range n.impairs {
			unimpaired = unimpaired && inert(ii.curEg) && inert(ii.curIn)
		}
		n.mu.Unlock()
	}
	a.relayMu.Lock()
	for _, r := range a.relays {
		unimpaired = unimpaired && inert(r.ii.curEg) && inert(r.ii.curIn)
	}
	a.relayMu.Unlock()
	for _, n := range nodes {
		if n.stack != nil {
			n.stack.SetLinksUnimpaired(unimpaired)
		}
	}
}

// ImpairState is one interface's impairment as `netlab impair show` prints
// it: the impairment in force each way, and the engine's counters.
type ImpairState struct {
	Interface string         `json:"interface"`
	Egress    *impair.Config `json:"egress,omitempty"`
	Ingress   *impair.Config `json:"ingress,omitempty"`
	Down      bool           `json:"down,omitempty"`
	// Stopped says the node is stopped: the interface passes nothing,
	// whatever Down says, until the node starts.
	Stopped bool                 `json:"stopped,omitempty"`
	Stats   impair.EndpointStats `json:"stats"`
}

// ImpairChange changes one interface's impairment. Dir is "egress",
// "ingress" or "both"; a nil Impairment removes it; Reset goes back to the
// topology file's values; Down, if set, takes the interface down or up
// (both directions drop everything) without touching the rest.
type ImpairChange struct {
	Interface  string         `json:"interface"`
	Dir        string         `json:"dir"`
	Impairment *impair.Config `json:"impairment,omitempty"`
	Reset      bool           `json:"reset,omitempty"`
	Down       *bool          `json:"down,omitempty"`
}

// impairIfc is what the agent keeps per Go-stack interface.
type impairIfc struct {
	tap            *tap // the capture tap above it
	name           string
	ep             *impair.Endpoint
	planEg, planIn *impair.Config // from the plan; never changed
	curEg, curIn   *impair.Config
	down           bool
	stopped        bool // the node is stopped: down whatever down says
}

func (ii *impairIfc) apply() {
	// Copies: the hooks below must not reach the plan.
	eg, in := ii.curEg.Clone(), ii.curIn.Clone()
	if ii.tap != nil && ii.tap.sinks.Load() != nil {
		// A capture runs: mark what the impairment drops.
		if eg != nil {
			eg.Trace = ii.tap.egressVerdict
		}
		if in != nil {
			in.Trace = ii.tap.ingressVerdict
		}
	}
	if ii.down || ii.stopped {
		if eg == nil {
			eg = &impair.Config{}
		}
		if in == nil {
			in = &impair.Config{}
		}
		eg.Down, in.Down = true, true
		if ii.tap != nil && ii.tap.sinks.Load() != nil {
			eg.Trace, in.Trace = ii.tap.egressVerdict, ii.tap.ingressVerdict
		}
	}
	ii.ep.SetConfig(eg, in)
}

func (ii *impairIfc) state() ImpairState {
	return ImpairState{Interface: ii.name, Egress: ii.curEg, Ingress: ii.curIn, Down: ii.down, Stopped: ii.stopped, Stats: ii.ep.Stats()}
}

func (n *node) impairIfc(name string) (*impairIfc, error) {
	for _, ii := range n.impairs {
		if ii.name == name {
			return ii, nil
		}
	}
	return nil, fmt.Errorf("node %s has no Go-stack interface %q", n.plan.Name, name)
}

// change applies ch; the caller holds the lock that guards ii.
func (ii *impairIfc) change(ch ImpairChange) (ImpairState, error) {
	switch {
	case ch.Reset:
		ii.curEg, ii.curIn, ii.down = ii.planEg, ii.planIn, false
	case ch.Down != nil:
		ii.down = *ch.Down
	default:
		if ch.Impairment != nil {
			if err := ch.Impairment.Validate(); err != nil {
				return ImpairState{}, err
			}
		}
		switch ch.Dir {
		case "egress":
			ii.curEg = ch.Impairment
		case "ingress":
			ii.curIn = ch.Impairment
		case "both", "":
			ii.curEg, ii.curIn = ch.Impairment, ch.Impairment
		default:
			return ImpairState{}, fmt.Errorf("direction %q: want egress, ingress or both", ch.Dir)
		}
	}
	ii.apply()
	return ii.state(), nil
}

// ImpairChanger changes an interface's impairment: a Client, or anything
// that stands for an agent (a lab on a virtual clock).
type ImpairChanger interface {
	ChangeImpairment(ctx context.Context, ch ImpairChange) (ImpairState, error)
}

// SetDown takes the interfaces of sides (a link's or an interface's, as
// topology.Lab.ImpairTargets gives them) down or up, each once, through
// the agent that applies it (clientOf).
func SetDown(ctx context.Context, sides []topology.ImpairSide, down bool, clientOf func(topology.ImpairSide) (ImpairChanger, error)) error {
	seen := map[string]bool{}
	for _, s := range sides {
		if seen[s.Node+":"+s.Interface] {
			continue
		}
		seen[s.Node+":"+s.Interface] = true
		c, err := clientOf(s)
		if err != nil {
			return err
		}
		d := down
		if _, err := c.ChangeImpairment(ctx, ImpairChange{Interface: s.Interface, Down: &d}); err != nil {
			return fmt.Errorf("%s:%s: %w", s.Node, s.Interface, err)
		}
	}
	return nil
}
