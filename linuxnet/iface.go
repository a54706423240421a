package linuxnet

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ipv6ConfDir holds the per-interface IPv6 sysctls. /proc/sys/net shows the
// network namespace of the thread that reads it (not the process's), so it
// is right for the calling thread, unlike /proc/net which follows the
// process.
const ipv6ConfDir = "/proc/sys/net/ipv6/conf"

// DisableIPv6 turns IPv6 off on ifname in the calling thread's network
// namespace (sysctl net.ipv6.conf.<ifname>.disable_ipv6=1): the kernel drops
// the interface's IPv6 addresses and sends no router solicitation, duplicate
// address detection or MLD report on it. It is a no-op when the kernel has
// no IPv6.
func DisableIPv6(ifname string) error {
	return setIPv6Disabled(ifname, true)
}

// EnableIPv6 turns IPv6 back on on ifname in the calling thread's network
// namespace (disable_ipv6=0).
func EnableIPv6(ifname string) error {
	return setIPv6Disabled(ifname, false)
}

func setIPv6Disabled(ifname string, disabled bool) error {
	if err := validIfname(ifname); err != nil {
		return err
	}
	if _, err := os.Stat(ipv6ConfDir); errors.Is(err, fs.ErrNotExist) {
		if disabled {
			return nil // no IPv6 in this kernel
		}
		return fmt.Errorf("enable IPv6 on %s: kernel has no IPv6", ifname)
	}
	val := []byte("0\n")
	if disabled {
		val = []byte("1\n")
	}
	path := filepath.Join(ipv6ConfDir, ifname, "disable_ipv6")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) && disabled && hasNoIPv6(ifname) {
		return nil // an MTU below 1280: the kernel keeps no IPv6 on it
	}
	if err != nil {
		return fmt.Errorf("set disable_ipv6 on %s: %w", ifname, err)
	}
	_, err = f.Write(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set disable_ipv6 on %s: %w", ifname, err)
	}
	return nil
}

// IPv6Disabled reports whether IPv6 is off on ifname in the calling thread's
// network namespace (true also when the kernel has no IPv6).
func IPv6Disabled(ifname string) (bool, error) {
	if err := validIfname(ifname); err != nil {
		return false, err
	}
	if _, err := os.Stat(ipv6ConfDir); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	b, err := os.ReadFile(filepath.Join(ipv6ConfDir, ifname, "disable_ipv6"))
	if errors.Is(err, fs.ErrNotExist) && hasNoIPv6(ifname) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read disable_ipv6 of %s: %w", ifname, err)
	}
	return len(b) > 0 && b[0] == '1', nil
}

// hasNoIPv6 reports whether ifname exists in the calling thread's network
// namespace without IPv6 configuration: the kernel drops an interface's
// IPv6 when its MTU is below IPv6's minimum of 1280 bytes (RFC 8200).
func hasNoIPv6(ifname string) bool {
	ifc, err := net.InterfaceByName(ifname)
	return err == nil && ifc.MTU < 1280
}

// FlushAddrs removes every address (IPv4 and IPv6) from ifname in the
// calling thread's network namespace, as `ip addr flush dev ifname`.
func FlushAddrs(ifname string) error {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("flush addresses of %s: %w", ifname, err)
	}
	var addrs []netlink.Addr
	for range 5 {
		addrs, err = netlink.AddrList(link, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("flush addresses of %s: list: %w", ifname, err)
	}
	for _, a := range addrs {
		if err := netlink.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			// EADDRNOTAVAIL: gone already (removing an IPv4 primary
			// removes its secondaries).
			return fmt.Errorf("flush addresses of %s: delete %s: %w", ifname, a.IPNet, err)
		}
	}
	return nil
}

// SetLinkUp brings ifname up in the calling thread's network namespace.
func SetLinkUp(ifname string) error {
	link, err := netlink.LinkByName(ifname)
	if err == nil {
		err = netlink.LinkSetUp(link)
	}
	if err != nil {
		return fmt.Errorf("set %s up: %w", ifname, err)
	}
	return nil
}

// PrepareOptions tunes PrepareForUserspaceStack.
type PrepareOptions struct {
	// KeepOffloads leaves scatter-gather, TSO, GSO and GRO as they are.
	// By default they are turned off, so that no frame longer than the MTU
	// crosses the interface. TX checksum offload is turned off either way.
	KeepOffloads bool
}

// PrepareForUserspaceStack hands ifname, in the calling thread's network
// namespace, over to a stack that sends and receives raw frames on it, and
// keeps the kernel's own stack silent there: IPv6 off (so no router
// solicitation, DAD or MLD), no address left (so the kernel answers nothing
// for the userspace stack's addresses), ARP off (IFF_NOARP, so the kernel
// neither asks nor answers), TX checksum offload off, by default all
// offloads off (see PrepareOptions), and the interface up.
func PrepareForUserspaceStack(ifname string, o PrepareOptions) error {
	// IPv6 goes off before the link may come up, so it never starts.
	if err := DisableIPv6(ifname); err != nil {
		return err
	}
	if err := FlushAddrs(ifname); err != nil {
		return err
	}
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", ifname, err)
	}
	if err := netlink.LinkSetARPOff(link); err != nil {
		return fmt.Errorf("prepare %s: turn ARP off: %w", ifname, err)
	}
	if o.KeepOffloads {
		err = DisableTXChecksum(ifname)
	} else {
		err = DisableOffloads(ifname)
	}
	if err != nil {
		return fmt.Errorf("prepare %s: %w", ifname, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("prepare %s: set up: %w", ifname, err)
	}
	return nil
}
