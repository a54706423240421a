package wiring

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/topology"
)

// ConfigureNode configures the kernel side of node n in its network
// namespace nsPath, once its interfaces exist:
//
//   - lo is up, and every data interface has the plan's MAC;
//   - `stack: linux`: a fresh kernel's defaults where a namespace inherits
//     the host's (ip_forward as the plan says, rp_filter off), the plan's
//     address on each interface, interfaces up, then the plan's routes;
//   - `stack: go`: kernel forwarding off, each interface handed over to a
//     userspace stack (linuxnet.PrepareForUserspaceStack: up, no address,
//     no ARP, no IPv6, offloads off), no route;
//   - then the node's sysctls, last so that they win (per-interface ones
//     can only be set now that the interfaces exist).
func ConfigureNode(ctx context.Context, n *topology.Node, nsPath string) error {
	err := linuxnet.InNamespace(nsPath, func() error {
		return withHandle(func(h *netlink.Handle) error {
			return configureNode(ctx, h, n)
		})
	})
	if err != nil {
		return fmt.Errorf("configure node %s: %w", n.Name, err)
	}
	return nil
}

func configureNode(ctx context.Context, h *netlink.Handle, n *topology.Node) error {
	lo, err := linkByName(ctx, h, "lo")
	if err == nil {
		err = linuxnet.RetryTransient(ctx, func() error { return h.LinkSetUp(lo) })
	}
	if err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	linux := n.Stack == topology.StackLinux
	if err := kernelDefaults(n); err != nil {
		return err
	}
	links := make(map[string]netlink.Link, len(n.Interfaces))
	for _, ifc := range n.Interfaces {
		if err := ctx.Err(); err != nil {
			return err
		}
		link, err := linkByName(ctx, h, ifc.Name)
		if err != nil {
			return err
		}
		links[ifc.Name] = link
		mac := net.HardwareAddr(ifc.MAC[:])
		if !slices.Equal(link.Attrs().HardwareAddr, mac) {
			if err := linuxnet.RetryTransient(ctx, func() error { return h.LinkSetHardwareAddr(link, mac) }); err != nil {
				return fmt.Errorf("set MAC of %s to %s: %w", ifc.Name, mac, err)
			}
		}
		if !linux {
			if err := linuxnet.PrepareForUserspaceStack(ifc.Name, linuxnet.PrepareOptions{}); err != nil {
				return err
			}
			continue
		}
		if err := linuxnet.WriteSysctl("/proc/sys/net/ipv4/conf/"+ifc.Name+"/rp_filter", "0"); err != nil {
			return fmt.Errorf("set rp_filter of %s: %w", ifc.Name, err)
		}
		if ifc.Addr.IsValid() {
			addr := &netlink.Addr{IPNet: &net.IPNet{
				IP:   ifc.Addr.Addr().AsSlice(),
				Mask: net.CIDRMask(ifc.Addr.Bits(), ifc.Addr.Addr().BitLen()),
			}}
			if err := linuxnet.RetryTransient(ctx, func() error { return h.AddrReplace(link, addr) }); err != nil {
				return fmt.Errorf("add address %s to %s: %w", ifc.Addr, ifc.Name, err)
			}
		}
		if err := linuxnet.RetryTransient(ctx, func() error { return h.LinkSetUp(link) }); err != nil {
			return fmt.Errorf("set %s up: %w", ifc.Name, err)
		}
	}
	if linux {
		for _, r := range n.Routes {
			if err := addRoute(ctx, h, r, links); err != nil {
				return err
			}
		}
	}
	return applySysctls(n.Sysctls)
}

// kernelDefaults undoes what a new namespace inherits from the host's IPv4
// settings (a namespace copies the host's net.ipv4.conf.{all,default} and
// so ip_forward). Linux stack: forwarding as the plan says, reverse-path
// filtering off as in a fresh kernel (auto-routes may be asymmetric on
// rings). Go stack: no kernel forwarding, ever (the Go stack forwards; the
// kernel must not forward the same frames, or answer for them).
func kernelDefaults(n *topology.Node) error {
	fwd := "0"
	if n.Forwarding && n.Stack == topology.StackLinux {
		fwd = "1"
	}
	settings := []struct{ key, val string }{{"net/ipv4/ip_forward", fwd}}
	if n.Stack == topology.StackLinux {
		settings = append(settings,
			struct{ key, val string }{"net/ipv4/conf/all/rp_filter", "0"},
			struct{ key, val string }{"net/ipv4/conf/default/rp_filter", "0"})
	}
	for _, s := range settings {
		if err := linuxnet.WriteSysctl("/proc/sys/"+s.key, s.val); err != nil {
			return fmt.Errorf("set %s: %w", strings.ReplaceAll(s.key, "/", "."), err)
		}
	}
	return nil
}

// addRoute installs r (RTPROT_STATIC, so `ip route` shows "proto static").
func addRoute(ctx context.Context, h *netlink.Handle, r topology.Route, links map[string]netlink.Link) error {
	route := &netlink.Route{
		Dst:      &net.IPNet{IP: r.Dst.Addr().AsSlice(), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())},
		Protocol: unix.RTPROT_STATIC,
	}
	if r.Dev != "" {
		link, ok := links[r.Dev]
		if !ok {
			return fmt.Errorf("route %s: no interface %s on the node", r, r.Dev)
		}
		route.LinkIndex = link.Attrs().Index
	}
	if r.Via.IsValid() {
		route.Gw = r.Via.AsSlice()
	} else {
		route.Scope = netlink.SCOPE_LINK
	}
	if err := linuxnet.RetryTransient(ctx, func() error { return h.RouteReplace(route) }); err != nil {
		return fmt.Errorf("add route %s: %w", r, err)
	}
	return nil
}

// applySysctls writes sysctls (net.* keys) in the calling thread's network
// namespace, in key order.
func applySysctls(sysctls map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		p, err := linuxnet.SysctlPath(k)
		if err == nil {
			err = linuxnet.WriteSysctl(p, sysctls[k])
		}
		if err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", k, sysctls[k], err)
		}
	}
	return nil
}

// InterfaceSysctl reports whether the sysctl key is about one interface
// (net.ipv4.conf.eth1.rp_filter, net.ipv6.neigh.eth1.*) other than the
// all/default entries: such a sysctl can only be set once the interface
// exists, so runtimes must not be given it at node creation.
func InterfaceSysctl(key string) bool {
	p, err := linuxnet.SysctlPath(key)
	if err != nil {
		return false
	}
	parts := strings.Split(strings.TrimPrefix(p, "/proc/sys/"), "/")
	return len(parts) >= 5 && (parts[1] == "ipv4" || parts[1] == "ipv6") &&
		(parts[2] == "conf" || parts[2] == "neigh") && parts[3] != "all" && parts[3] != "default"
}
