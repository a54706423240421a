package nodeagent

import (
	"errors"
	"fmt"
	"sort"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/wiring"
)

// relay forwards the frames of one relayed `stack: linux` interface (see
// topology.Interface.Relay) between its two ports in the switch namespace,
// through the interface's impairment: what arrives on the near port (what
// the interface sent) goes out of the far port after its egress
// impairment, what arrives on the far port goes out of the near port after
// its ingress impairment. The impairment engine wraps the far port, so
// its egress and ingress are the interface's own.
type relay struct {
	node      string
	ii        *impairIfc
	near, far link.Endpoint
}

// openRelay opens the ports of r in the switch namespace nsPath and starts
// forwarding. open is the agent's endpoint opener.
func openRelay(r wiring.RelayPorts, nsPath string, open func(node, nsPath, ifname string) (link.Endpoint, error), clk clock.Clock) (*relay, error) {
	ifc := r.Interface
	near, err := open(ifc.Node.Name, nsPath, r.Near)
	if err != nil {
		return nil, fmt.Errorf("relay of %s: %w", ifc, err)
	}
	far, err := open(ifc.Node.Name, nsPath, r.Far)
	if err != nil {
		near.Close()
		return nil, fmt.Errorf("relay of %s: %w", ifc, err)
	}
	eg, in := planImpairments(ifc)
	ie := impair.Wrap(far, eg, in, clk)
	// The impairment copies a frame it holds back, and both ports'
	// WritePacket are done with a frame when they return: the receive
	// buffers can be handed straight on.
	near.Attach(link.DispatcherFunc(func(f []byte) { ie.WritePacket(f) }))
	ie.Attach(link.DispatcherFunc(func(f []byte) { near.WritePacket(f) }))
	return &relay{node: ifc.Node.Name, near: near, far: far,
		ii: &impairIfc{name: ifc.Name, ep: ie, planEg: eg, planIn: in, curEg: eg, curIn: in}}, nil
}

func (r *relay) close() error {
	return errors.Join(r.ii.ep.Close(), r.near.Close())
}

// relaysOf returns the relays of node's interfaces.
func (a *Agent) relaysOf(node string) []*relay {
	var out []*relay
	for _, r := range a.relays {
		if r.node == node {
			out = append(out, r)
		}
	}
	return out
}

// servedNodes returns the nodes the agent serves, by name.
func (a *Agent) servedNodes() []*node {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].plan.Name < out[j].plan.Name })
	return out
}

// impairStates returns the impairment and counters of every interface of
// node whose impairment this agent applies: those of its Go stack, then
// its relays. It fails when the agent serves neither.
func (a *Agent) impairStates(name string) ([]ImpairState, error) {
	relays := a.relaysOf(name)
	n, err := a.node(name)
	if err != nil && len(relays) == 0 {
		return nil, err
	}
	out := []ImpairState{}
	if n != nil {
		n.mu.Lock()
		for _, ii := range n.impairs {
			out = append(out, ii.state())
		}
		n.mu.Unlock()
	}
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	for _, r := range relays {
		out = append(out, r.ii.state())
	}
	return out, nil
}

// changeImpair changes the impairment of one interface of node: of its Go
// stack or of its relay; then every stack of the agent learns whether any
// link is still impaired (noteImpairments).
func (a *Agent) changeImpair(name string, ch ImpairChange) (ImpairState, error) {
	st, err := a.changeImpairOf(name, ch)
	if err == nil {
		a.noteImpairments()
	}
	return st, err
}

func (a *Agent) changeImpairOf(name string, ch ImpairChange) (ImpairState, error) {
	if n, err := a.node(name); err == nil {
		n.mu.Lock()
		if ii, err := n.impairIfc(ch.Interface); err == nil {
			defer n.mu.Unlock()
			return ii.change(ch)
		}
		n.mu.Unlock()
	}
	a.relayMu.Lock()
	defer a.relayMu.Unlock()
	for _, r := range a.relaysOf(name) {
		if r.ii.name == ch.Interface {
			return r.ii.change(ch)
		}
	}
	return ImpairState{}, fmt.Errorf("%w: node %s has no interface %q whose frames this agent impairs (a Go-stack interface, or a `stack: linux` one whose link has a netem: block)", errNotFound, name, ch.Interface)
}
