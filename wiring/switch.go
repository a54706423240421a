package wiring

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"github.com/vishvananda/netlink"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/topology"
)

// SwitchLayout says where a lab's LAN segments and relays live: the switch
// namespace, and the names of the bridges, their ports and the relays'
// ports in it.
type SwitchLayout struct {
	// NS is the name of the switch namespace (see SwitchNSName); empty when
	// the lab needs none (NeedsSwitchNS).
	NS string
	// Bridges[i] is the bridge of lab.Segments[i].
	Bridges []string
	// Ports[i][j] is the bridge's port for lab.Segments[i].Members[j],
	// enslaved to Bridges[i]: the switch-side end of the member's veth, or,
	// when the member is relayed, the end of a veth from its relay's Far
	// port.
	Ports [][]string
	// Relays are the relays' ports, one per lab.Relays() in that order.
	Relays []RelayPorts
}

// RelayPorts are the two switch-namespace interfaces between which the
// agent forwards a relayed interface's frames (see topology.Interface.Relay).
type RelayPorts struct {
	// Interface is the relayed interface.
	Interface *topology.Interface
	// Near is the switch-side end of Interface's veth: what it sends
	// arrives here.
	Near string
	// Far leads on: on a point-to-point link it is the switch-side end of
	// the peer's veth, on a LAN it ends a veth whose other end is the
	// member's bridge port.
	Far string
	// Tunnel reports that Far is no interface of this machine: the
	// relayed interface is a tunnel's end (topology.Interface.Tunnel),
	// and whoever runs the relay opens Far as the tunnel.
	Tunnel bool
}

// NeedsSwitchNS reports whether lab needs a switch namespace: it has LAN
// segments or relays.
func NeedsSwitchNS(lab *topology.Lab) bool {
	return len(lab.Segments) > 0 || len(lab.Relays()) > 0
}

// Layout returns the switch layout of lab. Names are interface names of at
// most 15 characters, unique in the switch namespace, and the same for the
// same plan: a bridge is named after its segment (sw1, lan01) when that name
// fits, else brN; a port takes the name the file gives it (sw1:p1 gives p1)
// when it is free, else <bridge>pN (N counting members from 1) or sIpJ;
// relay k has ports rlKa (near) and rlKb (far), or those names with -1,
// -2... when the file took them.
func Layout(lab *topology.Lab) SwitchLayout {
	l := SwitchLayout{}
	if !NeedsSwitchNS(lab) {
		return l
	}
	l.NS = SwitchNSName(lab)
	used := map[string]bool{"lo": true}
	take := func(cands ...string) string {
		for _, c := range cands {
			if validIfname(c) && !used[c] {
				used[c] = true
				return c
			}
		}
		base := cands[len(cands)-1]
		for k := 1; ; k++ {
			c := base + "-" + strconv.Itoa(k)
			if validIfname(c) && !used[c] {
				used[c] = true
				return c
			}
		}
	}
	l.Bridges = make([]string, len(lab.Segments))
	for i, s := range lab.Segments {
		l.Bridges[i] = take(s.Name, "br"+strconv.Itoa(i))
	}
	// User-given port names first, so that a generated name never takes
	// one the file asks for.
	l.Ports = make([][]string, len(lab.Segments))
	for i, s := range lab.Segments {
		l.Ports[i] = make([]string, len(s.Members))
		for j, m := range s.Members {
			if m.Port != "" && validIfname(m.Port) && !used[m.Port] {
				used[m.Port] = true
				l.Ports[i][j] = m.Port
			}
		}
	}
	for i, s := range lab.Segments {
		for j := range s.Members {
			if l.Ports[i][j] == "" {
				n := strconv.Itoa(j + 1)
				l.Ports[i][j] = take(l.Bridges[i]+"p"+n, "s"+strconv.Itoa(i)+"p"+n)
			}
		}
	}
	for k, ifc := range lab.Relays() {
		n := strconv.Itoa(k)
		l.Relays = append(l.Relays, RelayPorts{Interface: ifc, Near: take("rl" + n + "a"), Far: take("rl" + n + "b"), Tunnel: ifc.Tunnel})
	}
	return l
}

// SwitchNSName returns the name of lab's switch namespace, which holds the
// bridges of its LAN segments and the ports of its relays: "<prefix>-<lab>-sw" (as a node called sw
// would be named, see topology.Node.LongName), or sw0, sw1... in place of sw
// when a node of the lab already has that name.
func SwitchNSName(lab *topology.Lab) string {
	long := func(s string) string {
		switch lab.Prefix {
		case "", "__lab-name":
			return lab.Name + "-" + s
		}
		return lab.Prefix + "-" + lab.Name + "-" + s
	}
	taken := make(map[string]bool, len(lab.Nodes))
	for _, n := range lab.Nodes {
		taken[n.LongName] = true
	}
	name := long("sw")
	for k := 0; taken[name]; k++ {
		name = long("sw" + strconv.Itoa(k))
	}
	return name
}

// CreateSwitchNS creates the switch namespace called name (see
// SwitchNSName), with IPv6 off by default on its interfaces so its bridges
// and ports stay silent, and bridged frames kept away from netfilter (when
// br_netfilter is loaded), and returns its path. On error nothing is left.
func CreateSwitchNS(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create switch namespace %s: %w", name, err)
	}
	path, err := linuxnet.NewNamedNS(name)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create switch namespace: network namespace %s already exists (another lab, or what a crashed one left): "+
				"run `netlab destroy` for the lab that left it, or `ip netns del %s` if it is not netlab's", name, name)
		}
		return "", fmt.Errorf("create switch namespace: %w", err)
	}
	err = linuxnet.InNamespace(path, func() error {
		for _, s := range []struct{ key, val string }{
			{"net/ipv6/conf/default/disable_ipv6", "1"},
			{"net/ipv6/conf/all/disable_ipv6", "1"},
			// With br_netfilter loaded (Docker hosts), bridged frames
			// would go through this namespace's iptables and conntrack:
			// the bridges are plain L2 switches instead.
			{"net/bridge/bridge-nf-call-iptables", "0"},
			{"net/bridge/bridge-nf-call-ip6tables", "0"},
			{"net/bridge/bridge-nf-call-arptables", "0"},
		} {
			if err := linuxnet.WriteSysctl("/proc/sys/"+s.key, s.val); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("set %s: %w", s.key, err)
			}
		}
		return nil
	})
	if err != nil {
		if derr := linuxnet.DeleteNamedNS(name); derr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
		}
		return "", fmt.Errorf("create switch namespace %s: %w", name, err)
	}
	return path, nil
}

// DeleteSwitchNS deletes the switch namespace called name, and so its
// bridges and ports. Deleting one that is gone is not an error.
func DeleteSwitchNS(name string) error {
	if err := linuxnet.DeleteNamedNS(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete switch namespace: %w", err)
	}
	return nil
}

// createBridge creates bridge name with the given MTU and sets it up, in the
// calling thread's namespace. STP stays off (the kernel's default), so ports
// forward at once.
func createBridge(ctx context.Context, h *netlink.Handle, name string, mtu int) error {
	noSnooping := false
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MTU = mtu
	br := &netlink.Bridge{LinkAttrs: attrs, MulticastSnooping: &noSnooping}
	if err := linuxnet.RetryTransient(ctx, func() error { return h.LinkAdd(br) }); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	if err := linuxnet.DisableIPv6(name); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	link, err := linkByName(ctx, h, name)
	if err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	if err := linuxnet.RetryTransient(ctx, func() error { return h.LinkSetUp(link) }); err != nil {
		return fmt.Errorf("set bridge %s up: %w", name, err)
	}
	return nil
}

// attachPorts enslaves ports to bridge, in the calling thread's namespace.
func attachPorts(ctx context.Context, h *netlink.Handle, bridge string, ports []string) error {
	br, err := linkByName(ctx, h, bridge)
	if err != nil {
		return fmt.Errorf("attach ports to bridge %s: %w", bridge, err)
	}
	for _, p := range ports {
		link, err := linkByName(ctx, h, p)
		if err == nil {
			err = linuxnet.RetryTransient(ctx, func() error { return h.LinkSetMasterByIndex(link, br.Attrs().Index) })
		}
		if err != nil {
			return fmt.Errorf("attach port %s to bridge %s: %w", p, bridge, err)
		}
	}
	return nil
}

// linkByName finds an interface, retrying while it may still be appearing.
func linkByName(ctx context.Context, h *netlink.Handle, name string) (netlink.Link, error) {
	var link netlink.Link
	err := linuxnet.RetryTransient(ctx, func() error {
		var err error
		link, err = h.LinkByName(name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find interface %s: %w", name, err)
	}
	return link, nil
}

// validIfname reports whether s can name a Linux interface: 1 to 15
// letters, digits, '_', '.' and '-', and not "." or "..".
func validIfname(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
