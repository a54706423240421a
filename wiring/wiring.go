// Package wiring makes a lab's data plane in namespaces that already exist:
// a veth pair for each point-to-point link, straight between the two nodes'
// namespaces; a Linux bridge for each LAN segment, in the lab's switch
// namespace, with a veth from each member node into it; the ports of the
// relays, also in the switch namespace, where the agent forwards the frames
// of `stack: linux` interfaces through their impairment (a relayed link is
// a veth from each end into the switch namespace; a relayed LAN member's
// veth ends at its relay, and a second veth leads from there to its bridge
// port); and the kernel
// configuration of each node (MACs, and for `stack: linux` nodes addresses,
// routes and forwarding; for `stack: go` nodes interfaces handed over to a
// userspace stack with no kernel address).
//
// Wiring works on namespace paths, so it is the same for every runtime. It
// never creates anything in the caller's namespace: a veth is created from
// inside one node's namespace with its peer placed in the other's by the same
// request, and bridges live in the switch namespace (never the host's). So
// deleting the lab's namespaces removes everything wiring made; Wire does not
// undo its work on error, the caller deletes the namespaces.
package wiring

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/internal/workpool"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/topology"
)

// DefaultMaxWorkers returns the number of parallel workers Wire uses when
// Options.MaxWorkers is 0: the number of CPUs, at least 2 and at most 8.
// Most kernel work is serialized by the kernel's RTNL lock, whose waiters
// spin: more workers than CPUs only burn CPU (measured: 500 veths take
// about half as long with 2 workers as with 8 on 2 CPUs).
func DefaultMaxWorkers() int { return min(max(goruntime.NumCPU(), 2), 8) }

// Options tunes Wire.
type Options struct {
	// MaxWorkers bounds the number of links or nodes worked on at once; 0
	// means DefaultMaxWorkers().
	MaxWorkers int
	// Progress, if not nil, is called after each finished step (Steps gives
	// their number) with a short description. Calls never overlap.
	Progress func(what string)
}

// Steps returns how many times Wire calls Options.Progress for lab: one per
// bridge, link, segment member, segment (attaching its ports), node and
// relay (its second veth, and its ports made ready).
func Steps(lab *topology.Lab) int {
	n := len(lab.Links) + 2*len(lab.Segments) + len(lab.Nodes) + 2*len(lab.Relays())
	for _, s := range lab.Segments {
		n += len(s.Members)
	}
	return n
}

// Wire makes the links and segments of lab and configures its nodes. ns maps
// every node's name to its network namespace (a path such as
// runtime.Node.NSPath, or a name under /run/netns); switchNS is the lab's
// switch namespace (see CreateSwitchNS), needed only when NeedsSwitchNS.
// On error, what was made stays in those namespaces.
func Wire(ctx context.Context, lab *topology.Lab, ns map[string]string, switchNS string, o Options) error {
	for _, n := range lab.Nodes {
		if ns[n.Name] == "" {
			return fmt.Errorf("wire lab %s: no network namespace for node %s", lab.Name, n.Name)
		}
	}
	if NeedsSwitchNS(lab) && switchNS == "" {
		return fmt.Errorf("wire lab %s: the lab has LAN segments or relays but no switch namespace", lab.Name)
	}
	workers := o.MaxWorkers
	if workers <= 0 {
		workers = DefaultMaxWorkers()
	}
	var mu sync.Mutex
	step := func(what string) {
		if o.Progress != nil {
			mu.Lock()
			o.Progress(what)
			mu.Unlock()
		}
	}
	layout := Layout(lab)

	// Bridges first, so ports can join them as soon as they exist.
	if len(lab.Segments) > 0 {
		err := linuxnet.InNamespace(switchNS, func() error {
			return withHandle(func(h *netlink.Handle) error {
				for i, s := range lab.Segments {
					if err := createBridge(ctx, h, layout.Bridges[i], s.MTU); err != nil {
						return fmt.Errorf("segment %s: %w", s.Name, err)
					}
					step("bridge " + s.Name)
				}
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("wire lab %s: %w", lab.Name, err)
		}
	}

	// Veths: one task per link and one per segment member.
	type vethTask struct {
		what           string
		a, b, nsA, nsB string
		mtu            int
	}
	relayOf := make(map[*topology.Interface]RelayPorts, len(layout.Relays))
	for _, r := range layout.Relays {
		relayOf[r.Interface] = r
	}
	var tasks []vethTask
	for _, k := range lab.Links {
		if r, ok := relayOf[k.A]; ok {
			tasks = append(tasks,
				vethTask{what: "link " + k.Name, a: k.A.Name, b: r.Near, nsA: ns[k.A.Node.Name], nsB: switchNS, mtu: k.MTU},
				vethTask{what: "link " + k.Name + " relay", a: k.B.Name, b: r.Far, nsA: ns[k.B.Node.Name], nsB: switchNS, mtu: k.MTU})
			continue
		}
		tasks = append(tasks, vethTask{
			what: "link " + k.Name, a: k.A.Name, b: k.B.Name,
			nsA: ns[k.A.Node.Name], nsB: ns[k.B.Node.Name], mtu: k.MTU,
		})
	}
	for _, r := range layout.Relays {
		if r.Tunnel {
			tasks = append(tasks, vethTask{what: "tunnel end " + r.Interface.String(), a: r.Interface.Name, b: r.Near,
				nsA: ns[r.Interface.Node.Name], nsB: switchNS, mtu: r.Interface.MTU})
		}
	}
	for i, s := range lab.Segments {
		for j, m := range s.Members {
			what := "segment " + s.Name + " member " + m.String()
			if r, ok := relayOf[m]; ok {
				tasks = append(tasks,
					vethTask{what: what, a: m.Name, b: r.Near, nsA: ns[m.Node.Name], nsB: switchNS, mtu: m.MTU},
					vethTask{what: what + " relay", a: r.Far, b: layout.Ports[i][j], nsA: switchNS, nsB: switchNS, mtu: m.MTU})
				continue
			}
			tasks = append(tasks, vethTask{what: what, a: m.Name, b: layout.Ports[i][j], nsA: ns[m.Node.Name], nsB: switchNS, mtu: m.MTU})
		}
	}
	err := workpool.ForEach(ctx, len(tasks), workers, func(ctx context.Context, i int) error {
		t := tasks[i]
		if err := linuxnet.CreateVethPair(ctx, t.a, t.b, t.nsA, t.nsB, t.mtu); err != nil {
			return fmt.Errorf("%s: %w", t.what, err)
		}
		step(t.what)
		return nil
	})
	if err != nil {
		return fmt.Errorf("wire lab %s: %w", lab.Name, err)
	}

	// Ports into their bridges.
	if len(lab.Segments) > 0 {
		err := linuxnet.InNamespace(switchNS, func() error {
			return withHandle(func(h *netlink.Handle) error {
				for i, s := range lab.Segments {
					if err := attachPorts(ctx, h, layout.Bridges[i], layout.Ports[i]); err != nil {
						return fmt.Errorf("segment %s: %w", s.Name, err)
					}
					step("segment " + s.Name + " ports")
				}
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("wire lab %s: %w", lab.Name, err)
		}
	}

	// Relay ports, ready for the agent's packet sockets.
	if len(layout.Relays) > 0 {
		err := linuxnet.InNamespace(switchNS, func() error {
			for _, r := range layout.Relays {
				for _, p := range []string{r.Near, r.Far} {
					if p == r.Far && r.Tunnel {
						continue // the tunnel, opened by the relay's runner
					}
					if err := PrepareRelayPort(p); err != nil {
						return fmt.Errorf("relay of %s: %w", r.Interface, err)
					}
				}
				step("relay " + r.Interface.String())
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("wire lab %s: %w", lab.Name, err)
		}
	}

	// Node configuration.
	err = workpool.ForEach(ctx, len(lab.Nodes), workers, func(ctx context.Context, i int) error {
		n := lab.Nodes[i]
		if err := ConfigureNode(ctx, n, ns[n.Name]); err != nil {
			return err
		}
		step("node " + n.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("wire lab %s: %w", lab.Name, err)
	}
	return nil
}

// withHandle runs fn with a netlink handle on the calling thread's network
// namespace, closed afterwards. The caller must be locked to its thread (as
// inside linuxnet.InNamespace).
func withHandle(fn func(h *netlink.Handle) error) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer h.Close()
	return fn(h)
}

// PrepareRelayPort readies a relay port in the calling thread's namespace
// for the agent's packet socket: like an interface handed to a userspace
// stack (no address, no ARP, no IPv6, offloads off, up), and promiscuous,
// since every frame it receives is for somebody else.
func PrepareRelayPort(ifname string) error {
	if err := linuxnet.PrepareForUserspaceStack(ifname, linuxnet.PrepareOptions{}); err != nil {
		return fmt.Errorf("prepare relay port %s: %w", ifname, err)
	}
	link, err := netlink.LinkByName(ifname)
	if err == nil {
		err = netlink.SetPromiscOn(link)
	}
	if err != nil {
		return fmt.Errorf("set relay port %s promiscuous: %w", ifname, err)
	}
	return nil
}
