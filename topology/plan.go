package topology

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/netlab/netlab/impair"
)

// Pos is a position in the topology file: 1-based line and column. The zero
// Pos means "no position" (for example a value that came from a default).
type Pos struct {
	// Line is the 1-based line.
	Line int `json:"line"`
	// Col is the 1-based column, in characters (as yaml.v3 counts them).
	Col int `json:"col"`
}

// String formats p as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// before reports whether p comes before q in the file.
func (p Pos) before(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Kind is one of the builtin node kinds every `kinds:` entry is based on.
type Kind string

// The builtin kinds.
const (
	// KindHost is an end host: it does not forward packets unless told to.
	KindHost Kind = "host"
	// KindRouter forwards packets between its interfaces.
	KindRouter Kind = "router"
	// KindLinux is containerlab's most common kind: a Linux host whose
	// programs use the kernel's TCP/IP stack (stack: linux unless the file
	// says otherwise); on docker, a container of the node's image running
	// its own entrypoint and command.
	KindLinux Kind = "linux"
	// KindBridge is a LAN segment made as a Linux bridge. Bridge nodes do not
	// appear in Lab.Nodes; each becomes a Segment.
	KindBridge Kind = "bridge"
)

// Stack says which TCP/IP stack serves a node's interfaces.
type Stack string

// The stacks.
const (
	// StackGo is netlab's userspace stack (the default).
	StackGo Stack = "go"
	// StackLinux is the Linux kernel's stack in the node's namespace.
	StackLinux Stack = "linux"
)

// The congestion-control algorithms TCPOptions.CC may name.
const (
	// CCReno is NewReno (RFC 5681, RFC 6582).
	CCReno = "reno"
	// CCCubic is CUBIC (RFC 9438).
	CCCubic = "cubic"
)

// Lab is a resolved, validated topology: the plan the runtime deploys. It
// holds no references to the YAML it came from except source positions, and
// the same file always resolves to the same Lab (addresses, MACs, seeds and
// routes included). A Lab is not changed after Load or Parse returns it, so
// it is safe to read from several goroutines.
type Lab struct {
	// Name is the lab's name (the file's `name:`).
	Name string `json:"name"`
	// Prefix is the first part of the names given to runtime objects
	// ("netlab" unless the file's `prefix:` says otherwise; may be "").
	Prefix string `json:"prefix"`
	// File is the topology file's path: absolute when the Lab came from Load,
	// the name given to Parse otherwise.
	File string `json:"file"`
	// AutoRoutes reports whether `auto-routes: true` computed routes.
	AutoRoutes bool `json:"auto-routes"`
	// Pool is the IPv4 prefix automatic addresses come from.
	Pool netip.Prefix `json:"ipv4-pool"`
	// Nodes are the nodes that run (everything but bridges), sorted by name;
	// Nodes[i].Index == i.
	Nodes []*Node `json:"nodes"`
	// Links are the point-to-point links (one veth pair each), in file order;
	// Links[i].Index == i.
	Links []*Link `json:"links"`
	// Segments are the LAN segments (one Linux bridge each): bridge nodes and
	// links with more than two endpoints, in file order; Segments[i].Index == i.
	Segments []*Segment `json:"segments"`
	// Mgmt is the lab's management network, nil without one (the file's
	// mgmt:). A runtime with containers attaches every node to it.
	Mgmt *Mgmt `json:"mgmt,omitempty"`
	// Warnings are problems that do not stop a deploy, sorted by position.
	Warnings []*Error `json:"warnings,omitempty"`

	byName map[string]*Node
}

// OnMgmt reports whether node n is on the lab's management network: the
// lab has one, and n's network-mode is not none.
func (l *Lab) OnMgmt(n *Node) bool { return l.Mgmt != nil && n.NetworkMode != NetworkModeNone }

// NetworkModeNone is the network-mode that keeps a node off the
// management network.
const NetworkModeNone = "none"

// Node returns the node called name, or nil. Bridges are segments, not
// nodes: see Segment.
func (l *Lab) Node(name string) *Node { return l.byName[name] }

// Link returns the point-to-point link called name, or nil.
func (l *Lab) Link(name string) *Link {
	for _, k := range l.Links {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Segment returns the LAN segment called name, or nil.
func (l *Lab) Segment(name string) *Segment {
	for _, s := range l.Segments {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Relays returns the interfaces whose frames pass through a relay (see
// Interface.Relay): those of the point-to-point links in Links order, then
// the segment members in Segments order.
func (l *Lab) Relays() []*Interface {
	var out []*Interface
	for _, k := range l.Links {
		if k.A.Relay {
			out = append(out, k.A)
		}
	}
	for _, s := range l.Segments {
		for _, m := range s.Members {
			if m.Relay {
				out = append(out, m)
			}
		}
	}
	for _, n := range l.Nodes {
		for _, ifc := range n.Interfaces {
			if ifc.Tunnel {
				out = append(out, ifc)
			}
		}
	}
	return out
}

// Mgmt is a lab's management network: an internal bridge (no route, no
// NAT) that joins the nodes and this machine, apart from the lab's links;
// each node's first interface (eth0) is on it. Lab traffic never crosses it.
type Mgmt struct {
	// Network is the network's name: the file's network:, or
	// "<prefix>-<lab>-mgmt", "<lab>-mgmt" when the prefix is "" or
	// "__lab-name".
	Network string `json:"network"`
	// IPv4Subnet is the network's subnet; invalid when the runtime picks.
	IPv4Subnet netip.Prefix `json:"ipv4-subnet,omitzero"`
	// Pos is where the file's mgmt: is.
	Pos Pos `json:"pos"`
}

// Node is one node that runs: a network namespace or container with an
// agent in it.
type Node struct {
	// Name is the node's key under `nodes:`.
	Name string `json:"name"`
	// Index is the node's position in Lab.Nodes (sorted by name). It is
	// stable as long as the set of node names does not change.
	Index int `json:"index"`
	// LongName is the name runtime objects of this node carry (netns,
	// container): "<prefix>-<lab>-<node>", or "<lab>-<node>" when the prefix
	// is "__lab-name", or just the node name when the prefix is "".
	LongName string `json:"long-name"`
	// Kind is the node's kind as written: a builtin kind or a `kinds:` entry.
	Kind string `json:"kind"`
	// Base is the builtin kind Kind is based on (host, router or linux).
	Base Kind `json:"base"`
	// Stack is the stack serving the node's interfaces.
	Stack Stack `json:"stack"`
	// Image is the container image (docker runtime only; other runtimes
	// ignore it). Empty means the runtime's own node image.
	Image string `json:"image,omitempty"`
	// MgmtIPv4 is the node's address on the management network: the
	// file's mgmt-ipv4, or one netlab picked when the file gives mgmt's
	// ipv4-subnet (AutoMgmtIPv4); invalid when the runtime picks (mgmt:
	// without a subnet) or the node is not on a management network.
	MgmtIPv4 netip.Addr `json:"mgmt-ipv4,omitzero"`
	// AutoMgmtIPv4 reports whether netlab picked MgmtIPv4: the lowest
	// address of the subnet that is not the network's, the gateway's (the
	// second), the broadcast or another node's, nodes taken by name.
	AutoMgmtIPv4 bool `json:"auto-mgmt-ipv4,omitempty"`
	// NetworkMode is the file's network-mode: NetworkModeNone keeps the
	// node off the lab's management network (it has no eth0 there); ""
	// puts it on the network when the lab has one.
	NetworkMode string `json:"network-mode,omitempty"`
	// Entrypoint and Cmd replace the image's entrypoint and command
	// (docker); nil keeps the image's. The file gives them as one string
	// each, split into words as a shell would (quotes, no expansion).
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	// User is the user the container's processes run as (docker).
	User string `json:"user,omitempty"`
	// Binds are bind mounts of the container (docker),
	// "host-path:container-path[:ro|rw]"; the file's relative host paths
	// are made absolute from the topology file's directory.
	Binds []string `json:"binds,omitempty"`
	// Memory is the container's memory limit in bytes (docker; 0 none).
	Memory int64 `json:"memory,omitempty"`
	// CPUs is the container's CPU limit in cores (docker; 0 none).
	CPUs float64 `json:"cpus,omitempty"`
	// CapAdd are capabilities added to the container's (docker).
	CapAdd []string `json:"cap-add,omitempty"`
	// Exec are commands to run, in order, once the node is up.
	Exec []string `json:"exec,omitempty"`
	// Env is the environment of the node's processes.
	Env map[string]string `json:"env,omitempty"`
	// Labels are user labels for the node's runtime objects.
	Labels map[string]string `json:"labels,omitempty"`
	// Sysctls are kernel settings for the node's namespace.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Forwarding reports whether the node forwards packets between its
	// interfaces (routers by default).
	Forwarding bool `json:"forwarding"`
	// TCP holds the Go stack's TCP options.
	TCP TCPOptions `json:"tcp"`
	// Seed is the node's random seed: the file's `seed:`, or one derived
	// from the lab and node names. Impairment seeds derive from it.
	Seed uint64 `json:"seed"`
	// Interfaces are the node's data interfaces in natural name order
	// (eth2 before eth10); Interfaces[i].Index == i.
	Interfaces []*Interface `json:"interfaces"`
	// Routes are the node's static routes: those in the file first, in file
	// order, then the computed ones (Auto) sorted by destination.
	Routes []Route `json:"routes,omitempty"`
	// Capture is the node's continuous capture: the node's own `capture:`
	// (or its kind's, or the defaults') merged with the `capture:` of its
	// links. Nil means no capture.
	Capture *Capture `json:"capture,omitempty"`
	// Pos is where the node is declared.
	Pos Pos `json:"pos"`
}

// Capture is a node's continuous capture: what its agent records into a ring
// of files in the lab directory. Each file holds at most FileSize bytes; once
// Files files are full the oldest one is reused.
type Capture struct {
	// Interfaces are the names of the interfaces captured, in the node's
	// interface order (Node.Interfaces), each once; never empty.
	Interfaces []string `json:"interfaces"`
	// FileSize is the size cap of each file of the ring, in bytes (16 MiB by
	// default; at least 64 KiB).
	FileSize int64 `json:"file-size"`
	// Files is the number of files in the ring (4 by default; 1 to 100).
	Files int `json:"files"`
}

// Interface returns the node's interface called name, or nil. name is
// its Linux name (Interface.Name), the name the file wrote (Written), or
// any name that maps to it by the file's rule (ethernet-1/1 is e1-1).
func (n *Node) Interface(name string) *Interface {
	for _, i := range n.Interfaces {
		if i.Name == name || i.Written != "" && i.Written == name {
			return i
		}
	}
	if strings.Contains(name, "/") {
		if mapped, err := linuxIfName(name); err == nil {
			for _, i := range n.Interfaces {
				if i.Name == mapped {
					return i
				}
			}
		}
	}
	return nil
}

// TCPOptions are the Go stack's TCP settings for a node. A zero or nil field
// means "the stack's default". On `stack: linux` nodes the agent applies the
// options Linux has a per-namespace or per-route knob for (cc, sack,
// timestamps, window-scaling, sndbuf, rcvbuf, mss, rto-min); the others are
// ignored with a warning.
type TCPOptions struct {
	// MSS is the maximum segment size announced, in bytes.
	MSS int `json:"mss,omitempty"`
	// SndBuf is the send buffer size in bytes.
	SndBuf int `json:"sndbuf,omitempty"`
	// RcvBuf is the receive buffer size in bytes.
	RcvBuf int `json:"rcvbuf,omitempty"`
	// CC is the congestion-control algorithm: CCReno or CCCubic.
	CC string `json:"cc,omitempty"`
	// Nagle turns Nagle's algorithm (RFC 896) on or off.
	Nagle *bool `json:"nagle,omitempty"`
	// DelayedACK is the delayed-ACK timeout (RFC 1122 4.2.3.2); a pointer to
	// 0 means ACK every segment at once (`delayed-ack: false`). `true` in
	// the file leaves it nil: the stack's default delay.
	DelayedACK *time.Duration `json:"delayed-ack,omitempty"`
	// TimeWait is how long a connection stays in TIME-WAIT; a pointer to 0
	// skips TIME-WAIT.
	TimeWait *time.Duration `json:"time-wait,omitempty"`
	// RTOInitial is the retransmission timeout before any RTT sample (RFC
	// 6298 2.1).
	RTOInitial time.Duration `json:"rto-initial,omitempty"`
	// RTOMin is the lower bound of the retransmission timeout (RFC 6298 2.4).
	RTOMin time.Duration `json:"rto-min,omitempty"`
	// SACK turns selective acknowledgements (RFC 2018) on or off.
	SACK *bool `json:"sack,omitempty"`
	// Timestamps turns the timestamps option (RFC 7323) on or off.
	Timestamps *bool `json:"timestamps,omitempty"`
	// WindowScaling turns window scaling (RFC 7323) on or off.
	WindowScaling *bool `json:"window-scaling,omitempty"`
	// BatchACKs turns batch ACKs on or off: one ACK answers the in-order
	// data of a burst the node read at once (at most 64 KiB), as Linux's
	// GRO, in a lab none of whose links is impaired, and elsewhere on
	// connections whose smallest RTT is under 1 ms; other connections ACK
	// every second segment. Nil: the agent's default, on.
	BatchACKs *bool `json:"batch-acks,omitempty"`
}

// Interface is a data interface of a node: one end of a Link, or a member of
// a Segment.
type Interface struct {
	// Node is the node the interface belongs to.
	Node *Node `json:"-"`
	// Name is the interface name inside the node (at most 15 characters).
	Name string `json:"name"`
	// Written is the name the file gave the interface when Name is its
	// Linux mapping (containerlab's ethernet-1/1 is e1-1); empty when the
	// file wrote Name.
	Written string `json:"written,omitempty"`
	// Index is the interface's position in Node.Interfaces.
	Index int `json:"index"`
	// MAC is the interface's Ethernet address, from the file or derived from
	// the lab, node and interface names.
	MAC MAC `json:"mac"`
	// Addr is the interface's IPv4 address with the subnet's prefix length.
	Addr netip.Prefix `json:"ipv4"`
	// AutoAddr reports whether Addr came from the pool rather than the file.
	AutoAddr bool `json:"auto-ipv4,omitempty"`
	// MTU is the interface MTU.
	MTU int `json:"mtu"`
	// Link is the point-to-point link the interface ends, or nil.
	Link *Link `json:"-"`
	// Peer is the other end of Link, or nil.
	Peer *Interface `json:"-"`
	// Segment is the LAN segment the interface is a member of, or nil.
	Segment *Segment `json:"-"`
	// Port is the name of the bridge-side end of the member's veth when the
	// file names it (links to a bridge node: "sw1:p1" gives "p1"); empty
	// lets the runtime choose.
	Port string `json:"port,omitempty"`
	// Egress impairs frames the interface sends; nil means none.
	Egress *impair.Config `json:"egress,omitempty"`
	// Ingress impairs frames the interface receives; nil means none. It is
	// set only where no other agent can apply it: on members of a bridge
	// node's segment, for the bridge-to-member direction. Every impairment
	// of the plan is thus applied exactly once, by the agent of one node.
	Ingress *impair.Config `json:"ingress,omitempty"`
	// Relay reports that the interface's frames pass through a relay: a
	// `stack: linux` interface whose link declares a `netem:` block but
	// has no Go stack on its frame path to apply it (its peer runs the
	// Linux stack too, or it is a member of a LAN or bridge). Its veth
	// then ends in the lab's switch namespace, where the agent forwards
	// each frame on through the impairment: to the peer's veth on a
	// point-to-point link, to the bridge on a LAN. On a point-to-point
	// link only the first endpoint (A) is marked; its relay carries both
	// directions, A's egress being a-to-b and its ingress b-to-a.
	Relay bool `json:"relay,omitempty"`
	// Tunnel reports, in a part of a lab (Lab.Part), a `stack: linux`
	// interface whose link leaves the part: it is kept, without Link and
	// Peer, and relayed (Relay) from the switch namespace to the machine
	// its far end is on, which the part's wiring does not know.
	Tunnel bool `json:"tunnel,omitempty"`
	// Pos is where the endpoint is written.
	Pos Pos `json:"pos"`
}

// String returns "node:iface".
func (i *Interface) String() string {
	if i == nil {
		return ""
	}
	return i.Node.Name + ":" + i.Name
}

// Net returns the name of the Link or Segment the interface is on.
func (i *Interface) Net() string {
	switch {
	case i.Link != nil:
		return i.Link.Name
	case i.Segment != nil:
		return i.Segment.Name
	}
	return ""
}

// MarshalJSON encodes the interface with its node, link or segment, and peer
// by name (the plan has cycles).
func (i *Interface) MarshalJSON() ([]byte, error) {
	type plain Interface
	return json.Marshal(struct {
		*plain
		Node string `json:"node"`
		Net  string `json:"net"`
		Peer string `json:"peer,omitempty"`
	}{(*plain)(i), i.Node.Name, i.Net(), i.Peer.String()})
}

// Link is a point-to-point link between two node interfaces: one veth pair.
type Link struct {
	// Name is the link's `name:`, or "a:ifa--b:ifb" from its endpoints.
	Name string `json:"name"`
	// Index is the link's position in Lab.Links.
	Index int `json:"index"`
	// A and B are the endpoints in the order the file lists them.
	A, B *Interface `json:"-"`
	// MTU is the MTU of both ends.
	MTU int `json:"mtu"`
	// Prefix is the link's subnet.
	Prefix netip.Prefix `json:"prefix"`
	// Netem is the impairment declared on the link (also found as
	// A.Egress and B.Egress).
	Netem ImpairPair `json:"netem"`
	// Pos is where the link is declared.
	Pos Pos `json:"pos"`
}

// MarshalJSON encodes the link with its endpoints by name.
func (k *Link) MarshalJSON() ([]byte, error) {
	type plain Link
	return json.Marshal(struct {
		*plain
		A string `json:"a"`
		B string `json:"b"`
	}{(*plain)(k), k.A.String(), k.B.String()})
}

// ImpairPair is the impairment of each direction of a link; nil means none.
type ImpairPair struct {
	// AtoB impairs frames from the first endpoint (A) to the second (B).
	AtoB *impair.Config `json:"a-to-b,omitempty"`
	// BtoA impairs frames from B to A.
	BtoA *impair.Config `json:"b-to-a,omitempty"`
}

// Segment is a LAN: a Linux bridge with a veth to each member interface.
type Segment struct {
	// Name is the bridge node's name, or the link's `name:`, or "lanN" for
	// the Nth link with more than two endpoints.
	Name string `json:"name"`
	// Index is the segment's position in Lab.Segments.
	Index int `json:"index"`
	// Bridge reports whether the segment is a `kind: bridge` node.
	Bridge bool `json:"bridge"`
	// Labels are the bridge node's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// MTU is the smallest MTU of the members.
	MTU int `json:"mtu"`
	// Prefix is the segment's subnet; invalid when it has no members.
	Prefix netip.Prefix `json:"prefix"`
	// Members are the member interfaces in file order.
	Members []*Interface `json:"-"`
	// Pos is where the bridge node or the link is declared.
	Pos Pos `json:"pos"`
}

// MarshalJSON encodes the segment with its members by name.
func (s *Segment) MarshalJSON() ([]byte, error) {
	type plain Segment
	members := make([]string, len(s.Members))
	for i, m := range s.Members {
		members[i] = m.String()
	}
	return json.Marshal(struct {
		*plain
		Members []string `json:"members"`
	}{(*plain)(s), members})
}

// Route is a static IPv4 route.
type Route struct {
	// Dst is the destination; 0.0.0.0/0 is the default route.
	Dst netip.Prefix `json:"dst"`
	// Via is the next hop; invalid for a route straight out of Dev.
	Via netip.Addr `json:"via,omitzero"`
	// Dev is the outgoing interface.
	Dev string `json:"dev"`
	// Auto reports whether auto-routes computed the route.
	Auto bool `json:"auto,omitempty"`
}

// String formats r like `ip route`: "default via 10.0.0.1 dev eth1".
func (r Route) String() string {
	var b strings.Builder
	if r.Dst.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	b.WriteString(" dev " + r.Dev)
	return b.String()
}

// MAC is an Ethernet address.
type MAC [6]byte

// String formats m as "02:00:5e:10:00:01".
func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }
