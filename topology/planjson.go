package topology

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
)

// ReadPlan reads a plan that deploy wrote as JSON (json.Marshal of a *Lab,
// see DecodePlan).
func ReadPlan(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	l, err := DecodePlan(data)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return l, nil
}

// DecodePlan turns the JSON encoding of a Lab (what json.Marshal makes of
// it: links, peers and segment members by name) back into the Lab, every
// reference between nodes, interfaces, links and segments restored. It is
// how agents and the CLI read the plan deploy resolved, so that the
// topology file is parsed once per deploy and never again: relative paths
// in it were made absolute, and defaults applied, when it was resolved.
func DecodePlan(data []byte) (*Lab, error) {
	l := &Lab{}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, err
	}
	// The references, by name, that the types' own JSON leaves out.
	var refs struct {
		Links []struct {
			A string `json:"a"`
			B string `json:"b"`
		} `json:"links"`
		Segments []struct {
			Members []string `json:"members"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(data, &refs); err != nil {
		return nil, err
	}
	if len(refs.Links) != len(l.Links) || len(refs.Segments) != len(l.Segments) {
		return nil, fmt.Errorf("plan: links or segments do not match their references")
	}
	l.byName = make(map[string]*Node, len(l.Nodes))
	ifcs := map[string]*Interface{}
	for i, n := range l.Nodes {
		if n == nil || n.Index != i || l.byName[n.Name] != nil {
			return nil, fmt.Errorf("plan: node %d is missing, misplaced or repeated", i)
		}
		l.byName[n.Name] = n
		for j, ifc := range n.Interfaces {
			if ifc == nil || ifc.Index != j {
				return nil, fmt.Errorf("plan: node %s: interface %d is missing or misplaced", n.Name, j)
			}
			ifc.Node = n
			ifcs[ifc.String()] = ifc
		}
	}
	find := func(name, what string) (*Interface, error) {
		ifc := ifcs[name]
		if ifc == nil {
			return nil, fmt.Errorf("plan: %s names interface %q, which no node has", what, name)
		}
		return ifc, nil
	}
	for i, k := range l.Links {
		if k == nil || k.Index != i {
			return nil, fmt.Errorf("plan: link %d is missing or misplaced", i)
		}
		a, err := find(refs.Links[i].A, "link "+k.Name)
		if err != nil {
			return nil, err
		}
		b, err := find(refs.Links[i].B, "link "+k.Name)
		if err != nil {
			return nil, err
		}
		if a == b || a.Link != nil || b.Link != nil || a.Segment != nil || b.Segment != nil {
			return nil, fmt.Errorf("plan: link %s: an interface is on two networks", k.Name)
		}
		k.A, k.B = a, b
		a.Link, b.Link = k, k
		a.Peer, b.Peer = b, a
	}
	for i, s := range l.Segments {
		if s == nil || s.Index != i {
			return nil, fmt.Errorf("plan: segment %d is missing or misplaced", i)
		}
		for _, name := range refs.Segments[i].Members {
			m, err := find(name, "segment "+s.Name)
			if err != nil {
				return nil, err
			}
			if m.Link != nil || m.Segment != nil {
				return nil, fmt.Errorf("plan: segment %s: interface %s is on two networks", s.Name, name)
			}
			m.Segment = s
			s.Members = append(s.Members, m)
		}
	}
	return l, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *MAC) UnmarshalText(b []byte) error {
	hw, err := net.ParseMAC(strings.TrimSpace(string(b)))
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("bad MAC address %q", b)
	}
	copy(m[:], hw)
	return nil
}

// Part returns a copy of the lab that holds only the nodes keep accepts
// (given the lab's own nodes), the links both of whose ends they hold, the
// segments all of whose members they hold, and of each node the
// interfaces on those; indexes are counted again in the copy. It is what
// one machine of a lab spread over several wires: the links that leave it
// are not in its part; a `stack: linux` node keeps its interface on such a
// link, marked Tunnel (see Interface.Tunnel). A segment with members on both sides is an error
// (a LAN is never split).
func (l *Lab) Part(keep func(*Node) bool) (*Lab, error) {
	data, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	c, err := DecodePlan(data)
	if err != nil {
		return nil, err
	}
	kept := map[*Node]bool{}
	nodes := c.Nodes[:0]
	for _, n := range c.Nodes {
		if keep(l.Nodes[n.Index]) {
			kept[n] = true
			n.Index = len(nodes)
			nodes = append(nodes, n)
		}
	}
	c.Nodes = nodes
	links := c.Links[:0]
	for _, k := range c.Links {
		if kept[k.A.Node] && kept[k.B.Node] {
			k.Index = len(links)
			links = append(links, k)
		}
	}
	c.Links = links
	segments := c.Segments[:0]
	for _, s := range c.Segments {
		in := 0
		for _, m := range s.Members {
			if kept[m.Node] {
				in++
			}
		}
		switch in {
		case 0:
			continue
		case len(s.Members):
			s.Index = len(segments)
			segments = append(segments, s)
		default:
			return nil, fmt.Errorf("lab %s: segment %s has members on both sides of the part", l.Name, s.Name)
		}
	}
	c.Segments = segments
	keptLink := map[*Link]bool{}
	for _, k := range c.Links {
		keptLink[k] = true
	}
	c.byName = make(map[string]*Node, len(c.Nodes))
	for _, n := range c.Nodes {
		c.byName[n.Name] = n
		ifcs := n.Interfaces[:0]
		for _, ifc := range n.Interfaces {
			if ifc.Link != nil && !keptLink[ifc.Link] {
				if n.Stack != StackLinux {
					continue // a link that leaves the part: the Go stack's, carried by its agent
				}
				// The kernel's interface stays, relayed to where the
				// link's far end is (its routes name it).
				ifc.Link, ifc.Peer, ifc.Tunnel, ifc.Relay = nil, nil, true, true
			}
			ifc.Index = len(ifcs)
			ifcs = append(ifcs, ifc)
		}
		n.Interfaces = ifcs
	}
	return c, nil
}
