package sim

import (
	"fmt"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
)

// iface returns a node's interface called name.
func (n *node) iface(name string) (*iface, error) {
	for _, ifc := range n.ifcs {
		if ifc.name == name {
			return ifc, nil
		}
	}
	return nil, fmt.Errorf("sim: node %s has no interface %q", n.plan.Name, name)
}

// apply gives the impairment endpoint the interface's current
// impairment, both directions down (dropping everything) while it or its
// node is down, as the agent does.
func (ifc *iface) apply() {
	eg, in := ifc.curEg.Clone(), ifc.curIn.Clone()
	if ifc.down || ifc.stopped {
		if eg == nil {
			eg = &impair.Config{}
		}
		if in == nil {
			in = &impair.Config{}
		}
		eg.Down, in.Down = true, true
	}
	ifc.ep.SetConfig(eg, in)
}

func (ifc *iface) state() nodeagent.ImpairState {
	return nodeagent.ImpairState{Interface: ifc.name, Egress: ifc.curEg.Clone(), Ingress: ifc.curIn.Clone(), Down: ifc.down, Stopped: ifc.stopped, Stats: ifc.ep.Stats()}
}

// SetImpairment sets the impairment of both directions of a node's
// interface, from the current virtual time; nil removes that direction's
// (see impair.Endpoint.SetConfig for what happens to frames held). The
// configs are used as given, Seed included, and copied.
func (l *Lab) SetImpairment(node, ifname string, egress, ingress *impair.Config) error {
	for _, c := range []*impair.Config{egress, ingress} {
		if c != nil {
			if err := c.Validate(); err != nil {
				return fmt.Errorf("sim: %s:%s: %w", node, ifname, err)
			}
		}
	}
	ifc, err := l.ifaceOf(node, ifname)
	if err != nil {
		return err
	}
	ifc.curEg, ifc.curIn = egress.Clone(), ingress.Clone()
	ifc.apply()
	return nil
}

// SetDown takes a node's interface down (both directions drop every
// frame) or back up, keeping its impairment.
func (l *Lab) SetDown(node, ifname string, down bool) error {
	ifc, err := l.ifaceOf(node, ifname)
	if err != nil {
		return err
	}
	ifc.down = down
	ifc.apply()
	return nil
}

// ChangeImpairment applies a change as the agent's impairment API does
// (Reset to the plan's, Down, or an impairment for "egress", "ingress" or
// "both"), and returns the interface's state after it.
func (l *Lab) ChangeImpairment(node string, ch nodeagent.ImpairChange) (nodeagent.ImpairState, error) {
	ifc, err := l.ifaceOf(node, ch.Interface)
	if err != nil {
		return nodeagent.ImpairState{}, err
	}
	switch {
	case ch.Reset:
		ifc.curEg, ifc.curIn, ifc.down = ifc.planEg.Clone(), ifc.planIn.Clone(), false
	case ch.Down != nil:
		ifc.down = *ch.Down
	default:
		if ch.Impairment != nil {
			if err := ch.Impairment.Validate(); err != nil {
				return nodeagent.ImpairState{}, fmt.Errorf("sim: %s:%s: %w", node, ch.Interface, err)
			}
		}
		switch ch.Dir {
		case "egress":
			ifc.curEg = ch.Impairment.Clone()
		case "ingress":
			ifc.curIn = ch.Impairment.Clone()
		case "both", "":
			ifc.curEg, ifc.curIn = ch.Impairment.Clone(), ch.Impairment.Clone()
		default:
			return nodeagent.ImpairState{}, fmt.Errorf("sim: %s:%s: direction %q: want egress, ingress or both", node, ch.Interface, ch.Dir)
		}
	}
	ifc.apply()
	return ifc.state(), nil
}

func (l *Lab) ifaceOf(node, ifname string) (*iface, error) {
	if l.closed {
		return nil, ErrClosed
	}
	n, err := l.node(node)
	if err != nil {
		return nil, err
	}
	return n.iface(ifname)
}

// Impairments returns the impairment state of every interface of a node,
// in plan order, with the engine's counters as of the current virtual
// time: what the agent's impairments API returns.
func (l *Lab) Impairments(node string) ([]nodeagent.ImpairState, error) {
	n, err := l.node(node)
	if err != nil {
		return nil, err
	}
	out := make([]nodeagent.ImpairState, len(n.ifcs))
	for i, ifc := range n.ifcs {
		out[i] = ifc.state()
	}
	return out, nil
}

// SetPower stops (up false) or starts a node as the agent's power API
// does: a stop silences its interfaces, loses every TCP connection without
// a word on the wire (stack.Crash: a peer learns of it by a reset when it
// next sends) and closes its apps (their records stay); a start reopens
// the apps' listeners and the interfaces. Flows of the node's batches see
// their connections fail. StartApp is refused while the node is stopped.
func (l *Lab) SetPower(node string, up bool) (nodeagent.PowerState, error) {
	if l.closed {
		return nodeagent.PowerState{}, ErrClosed
	}
	n, err := l.node(node)
	if err != nil {
		return nodeagent.PowerState{}, err
	}
	st := nodeagent.PowerState{Node: node, Up: up}
	if n.stopped == !up {
		return st, nil
	}
	n.stopped = !up
	if !up {
		for _, ifc := range n.ifcs {
			ifc.stopped = true
			ifc.apply()
		}
		st.Lost = n.st.Crash()
		for _, a := range n.apps {
			a.stop()
			st.Apps++
		}
		return st, nil
	}
	var errs []error
	for _, a := range n.apps {
		if err := a.restart(); err != nil {
			errs = append(errs, fmt.Errorf("app %d: %w", a.info.ID, err))
			continue
		}
		st.Apps++
	}
	for _, ifc := range n.ifcs {
		ifc.stopped = false
		ifc.apply()
	}
	if len(errs) > 0 {
		return st, fmt.Errorf("sim: node %s started, but not all its servers: %v", node, errs)
	}
	return st, nil
}
