package topology

import (
	"fmt"
	"strings"
)

// The directions of an interface's impairment, as ImpairSide.Dir gives
// them; DirBoth stands for both in ImpairedInterfaces.
const (
	DirEgress  = "egress"
	DirIngress = "ingress"
	DirBoth    = "both"
)

// ImpairSide is one interface and direction whose impairment one agent
// applies.
type ImpairSide struct {
	// Node and Interface name the interface as its agent knows it.
	Node, Interface string
	// Dir is DirEgress or DirIngress (DirBoth in ImpairedInterfaces).
	Dir string
	// Relay reports that the lab's relay agent applies it (see
	// Interface.Relay), not the node's own.
	Relay bool
}

// String formats s as "node:iface dir", with " (relay)" for a relay's.
func (s ImpairSide) String() string {
	r := ""
	if s.Relay {
		r = " (relay)"
	}
	return s.Node + ":" + s.Interface + " " + s.Dir + r
}

// NotImpairableError says that no agent is on an interface's frame path:
// a `stack: linux` interface whose link has no `netem:` block and no Go
// stack at the other end is a plain veth.
type NotImpairableError struct {
	// Interface is "node:iface".
	Interface string
	// File is the topology file the advice names: Lab.File unless the
	// caller knows better (a lab loaded from a copy of the user's file).
	File string
}

// Error says so, and how to make the link impairable.
func (e *NotImpairableError) Error() string {
	return fmt.Sprintf("%s runs the Linux stack and its link has no netem: block, so no agent is on its frame path: "+
		"add `netem: {}` to that link in %s and redeploy, and it can be impaired at runtime", e.Interface, e.File)
}

// ImpairTargets says who applies the impairment of target in direction
// dir. target is a link's name, with dir a-to-b, b-to-a or both (or ""),
// or an interface "node:iface", with dir egress, ingress or both (or "").
// A link direction is applied as the sender's egress where the sender
// runs the Go stack, else as the receiver's ingress where that one does,
// else by the link's relay; an interface's direction likewise. A LAN
// member's directions are its own (its relay's, on the Linux stack).
func (l *Lab) ImpairTargets(target, dir string) ([]ImpairSide, error) {
	if node, ifc, ok := strings.Cut(target, ":"); ok && l.Link(target) == nil {
		n := l.Node(node)
		if n == nil || n.Interface(ifc) == nil {
			return nil, fmt.Errorf("lab %s has no interface %s", l.Name, target)
		}
		var dirs []string
		switch dir {
		case DirEgress, DirIngress:
			dirs = []string{dir}
		case "", DirBoth:
			dirs = []string{DirEgress, DirIngress}
		default:
			return nil, fmt.Errorf("--dir %q: for NODE:IFACE want egress, ingress or both", dir)
		}
		var out []ImpairSide
		for _, d := range dirs {
			s, err := l.sideOf(n.Interface(ifc), d)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	k := l.Link(target)
	if k == nil {
		var names []string
		for _, k := range l.Links {
			names = append(names, k.Name)
		}
		return nil, fmt.Errorf("lab %s has no link or interface %q (links: %s)", l.Name, target, strings.Join(names, ", "))
	}
	var out []ImpairSide
	for _, d := range []struct {
		name string
		from *Interface
	}{{keyAtoB, k.A}, {keyBtoA, k.B}} {
		if dir != "" && dir != DirBoth && dir != d.name {
			continue
		}
		s, err := l.sideOf(d.from, DirEgress)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--dir %q: for a link want a-to-b, b-to-a or both", dir)
	}
	return out, nil
}

// sideOf finds who applies direction dir of ifc: its own Go stack, or for
// a `stack: linux` interface, which has no agent on its frame path, its
// own relay, the relay at the other end of its link, or its Go peer (the
// direction then flips: what ifc sends, the peer receives).
func (l *Lab) sideOf(ifc *Interface, dir string) (ImpairSide, error) {
	if ifc.Node.Stack != StackLinux {
		return ImpairSide{Node: ifc.Node.Name, Interface: ifc.Name, Dir: dir}, nil
	}
	flip := map[string]string{DirEgress: DirIngress, DirIngress: DirEgress}
	p := ifc.Peer
	switch {
	case ifc.Relay:
		return ImpairSide{Node: ifc.Node.Name, Interface: ifc.Name, Dir: dir, Relay: true}, nil
	case p != nil && p.Relay:
		return ImpairSide{Node: p.Node.Name, Interface: p.Name, Dir: flip[dir], Relay: true}, nil
	case p != nil && p.Node.Stack != StackLinux:
		return ImpairSide{Node: p.Node.Name, Interface: p.Name, Dir: flip[dir]}, nil
	}
	return ImpairSide{}, &NotImpairableError{Interface: ifc.String(), File: l.File}
}

// ImpairedInterfaces returns every interface whose impairment an agent
// applies, with Dir DirBoth: those of the Go stacks and the relayed ones,
// in plan order.
func (l *Lab) ImpairedInterfaces() []ImpairSide {
	var out []ImpairSide
	for _, n := range l.Nodes {
		for _, i := range n.Interfaces {
			if n.Stack != StackLinux || i.Relay {
				out = append(out, ImpairSide{Node: n.Name, Interface: i.Name, Dir: DirBoth, Relay: i.Relay})
			}
		}
	}
	return out
}
