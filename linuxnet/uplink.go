package linuxnet

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// MoveUplink moves the interface ifname from network namespace from to
// namespace to (names under NetnsRunDir or paths, see NSPath; "" is the
// caller's), with what makes it work there: its addresses and the routes
// of the main table that leave through it (the default route too). The
// kernel drops both when an interface changes namespace, so they are read
// first and added again; the interface and to's loopback are set up.
//
// A Kubernetes pod whose namespace becomes a lab node hands its pod
// network interface (eth0) to a namespace of its own this way: the node
// keeps only its lab interfaces, and the tunnels listen where eth0 went.
// If adding an address or a route fails, the interface is left in to.
func MoveUplink(ifname, from, to string) error {
	if err := validIfname(ifname); err != nil {
		return err
	}
	src, err := handleAt(from)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := handleAt(to)
	if err != nil {
		return err
	}
	defer dst.close()

	link, err := src.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("move %s: %w", ifname, err)
	}
	addrs, err := src.h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("move %s: its addresses: %w", ifname, err)
	}
	routes, err := src.h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: link.Attrs().Index, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("move %s: its routes: %w", ifname, err)
	}
	if err := src.h.LinkSetNsFd(link, int(dst.ns)); err != nil {
		return fmt.Errorf("move %s to %s: %w", ifname, to, err)
	}
	moved, err := dst.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("move %s: not found where it went: %w", ifname, err)
	}
	if lo, err := dst.h.LinkByName("lo"); err == nil {
		dst.h.LinkSetUp(lo)
	}
	if err := dst.h.LinkSetUp(moved); err != nil {
		return fmt.Errorf("move %s: set it up: %w", ifname, err)
	}
	for _, a := range addrs {
		if a.IP.To4() == nil && a.IP.IsLinkLocalUnicast() {
			continue // the kernel makes its own
		}
		a := a
		a.LinkIndex, a.Label = moved.Attrs().Index, ""
		if a.IP.To4() == nil {
			a.Flags |= unix.IFA_F_NODAD // it was in use a moment ago
		}
		if err := dst.h.AddrAdd(moved, &a); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("move %s: address %s: %w", ifname, a.IPNet, err)
		}
	}
	// Routes on the link first (the prefixes a gateway is reached
	// through), then those through a gateway; the kernel's own (made for
	// the addresses) are there already.
	slices.SortStableFunc(routes, func(a, b netlink.Route) int { return int(b.Scope) - int(a.Scope) })
	for _, r := range routes {
		// IPv6's own link-local routes are the kernel's; an IPv4 one is
		// the pod network's (Calico's and AWS's gateway, 169.254.1.1,
		// is reached by a link route).
		if r.Protocol == unix.RTPROT_KERNEL || r.Dst != nil && r.Dst.IP.To4() == nil && r.Dst.IP.IsLinkLocalUnicast() {
			continue
		}
		r := r
		r.LinkIndex, r.ILinkIndex = moved.Attrs().Index, 0
		if err := dst.h.RouteAdd(&r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("move %s: route %s: %w", ifname, routeString(r), err)
		}
	}
	return nil
}

func routeString(r netlink.Route) string {
	dst := "default"
	if r.Dst != nil {
		dst = r.Dst.String()
	}
	if r.Gw != nil {
		return dst + " via " + r.Gw.String()
	}
	return dst
}

// nsHandle is a netlink handle in a namespace and the namespace's fd.
type nsHandle struct {
	h  *netlink.Handle
	ns netns.NsHandle
}

func (n nsHandle) close() {
	n.h.Close()
	n.ns.Close()
}

// handleAt returns a netlink handle acting in namespace ns ("" the
// caller's thread's).
func handleAt(ns string) (nsHandle, error) {
	var (
		fd  netns.NsHandle
		err error
	)
	if ns == "" {
		fd, err = netns.Get()
	} else {
		var path string
		if path, err = NSPath(ns); err == nil {
			fd, err = netns.GetFromPath(path)
		}
	}
	if err != nil {
		return nsHandle{}, fmt.Errorf("network namespace %q: %w", ns, err)
	}
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		fd.Close()
		return nsHandle{}, fmt.Errorf("netlink in namespace %q: %w", ns, err)
	}
	return nsHandle{h: h, ns: fd}, nil
}
