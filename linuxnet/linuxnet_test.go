package linuxnet_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/linuxnet/linuxnettest"
)

func TestNSPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "lab1", want: "/run/netns/lab1"},
		{in: "/proc/1/ns/net", want: "/proc/1/ns/net"},
		{in: "./x", want: "./x"},
		{in: "", wantErr: true},
		{in: "..", wantErr: true},
	}
	for _, tc := range tests {
		got, err := linuxnet.NSPath(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("NSPath(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// nsInode returns the inode of the network namespace at path.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

const threadNetns = "/proc/thread-self/ns/net"

func TestNamedNSAndInNamespace(t *testing.T) {
	linuxnettest.RequireRoot(t)
	hostIno := nsInode(t, "/proc/self/ns/net")
	name := linuxnettest.NewNS(t)
	path := filepath.Join(linuxnet.NetnsRunDir, name)
	nsIno := nsInode(t, path)
	if nsIno == hostIno {
		t.Fatalf("namespace %s has the caller's inode %d", name, hostIno)
	}
	if got := nsInode(t, "/proc/self/ns/net"); got != hostIno {
		t.Errorf("after NewNamedNS the process is in netns %d, want %d", got, hostIno)
	}

	// Many calls, so that threads are reused: each must run in ns, and
	// leave no thread behind in it.
	for i := range 50 {
		var inside uint64
		err := linuxnet.InNamespace(name, func() error {
			var st unix.Stat_t
			if err := unix.Stat(threadNetns, &st); err != nil {
				return err
			}
			inside = st.Ino
			return nil
		})
		if err != nil {
			t.Fatalf("InNamespace #%d: %v", i, err)
		}
		if inside != nsIno {
			t.Fatalf("InNamespace #%d ran fn in netns %d, want %d", i, inside, nsIno)
		}
		if got := nsInode(t, threadNetns); got != hostIno {
			t.Fatalf("after InNamespace #%d this thread is in netns %d, want %d", i, got, hostIno)
		}
	}

	// By path too; fn's error comes back as is.
	errFn := errors.New("from fn")
	if err := linuxnet.InNamespace(path, func() error { return errFn }); !errors.Is(err, errFn) {
		t.Errorf("InNamespace(path, fn returning %v) = %v", errFn, err)
	}

	// A panic in fn comes back to the caller.
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		_ = linuxnet.InNamespace(name, func() error { panic("boom") })
	}()

	if _, err := linuxnet.NewNamedNS(name); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewNamedNS(existing %q) = %v, want an fs.ErrExist error", name, err)
	}
	if err := linuxnet.InNamespace(linuxnettest.UniqueName(t, "none"), func() error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("InNamespace(missing) = %v, want an fs.ErrNotExist error", err)
	}
}

func TestDeleteNamedNS(t *testing.T) {
	linuxnettest.RequireRoot(t)
	name := linuxnettest.UniqueName(t, "ns")
	path, err := linuxnet.NewNamedNS(name)
	if err != nil {
		t.Fatalf("NewNamedNS: %v", err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(path); err == nil {
			linuxnet.DeleteNamedNS(name)
		}
	})
	if err := linuxnet.DeleteNamedNS(name); err != nil {
		t.Fatalf("DeleteNamedNS: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat %s after delete: %v, want not exist", path, err)
	}
	if err := linuxnet.DeleteNamedNS(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DeleteNamedNS twice = %v, want an fs.ErrNotExist error", err)
	}
}

// in runs fn in namespace ns and fails the test on error.
func in(t *testing.T, ns string, fn func() error) {
	t.Helper()
	if err := linuxnet.InNamespace(ns, fn); err != nil {
		t.Fatal(err)
	}
}

func TestCreateVethPair(t *testing.T) {
	linuxnettest.RequireRoot(t)
	p := linuxnettest.NewVethPair(t, 1400)
	macs := map[string]net.HardwareAddr{}
	for _, end := range []struct{ ns, name, peer string }{{p.NSA, p.IfA, p.IfB}, {p.NSB, p.IfB, p.IfA}} {
		in(t, end.ns, func() error {
			link, err := netlink.LinkByName(end.name)
			if err != nil {
				return err
			}
			a := link.Attrs()
			if link.Type() != "veth" {
				t.Errorf("%s: type %q, want veth", end.name, link.Type())
			}
			if a.MTU != 1400 {
				t.Errorf("%s: MTU %d, want 1400", end.name, a.MTU)
			}
			if a.Flags&net.FlagUp == 0 {
				t.Errorf("%s: not up (flags %v)", end.name, a.Flags)
			}
			macs[end.name] = a.HardwareAddr
			off, err := linuxnet.GetOffloads(end.name)
			if err != nil {
				return err
			}
			if off.TXChecksum || off.TSO {
				t.Errorf("%s: offloads %v, want tx and tso off", end.name, off)
			}
			dis, err := linuxnet.IPv6Disabled(end.name)
			if err != nil {
				return err
			}
			if !dis {
				t.Errorf("%s: IPv6 on, want off", end.name)
			}
			addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
			if err != nil {
				return err
			}
			if len(addrs) != 0 {
				t.Errorf("%s: addresses %v, want none", end.name, addrs)
			}
			// The peer lives in the other namespace only.
			if _, err := netlink.LinkByName(end.peer); err == nil {
				t.Errorf("%s visible in the namespace of %s", end.peer, end.name)
			}
			return nil
		})
	}
	for _, name := range []string{p.IfA, p.IfB} {
		if _, err := net.InterfaceByName(name); err == nil {
			t.Errorf("%s visible in the host namespace", name)
		}
	}
	if macs[p.IfA].String() == macs[p.IfB].String() {
		t.Errorf("both ends have MAC %v", macs[p.IfA])
	}
}

func TestCreateVethPairErrors(t *testing.T) {
	linuxnettest.RequireRoot(t)
	ctx := context.Background()
	ns := linuxnettest.NewNS(t)
	a, b := linuxnettest.UniqueName(t, "a"), linuxnettest.UniqueName(t, "b")
	if err := linuxnet.CreateVethPair(ctx, a, b, ns, ns, 0); err != nil {
		t.Fatalf("CreateVethPair in one namespace: %v", err)
	}
	if err := linuxnet.CreateVethPair(ctx, a, linuxnettest.UniqueName(t, "c"), ns, ns, 0); !errors.Is(err, unix.EEXIST) {
		t.Errorf("CreateVethPair with a taken name = %v, want EEXIST", err)
	}
	if err := linuxnet.CreateVethPair(ctx, "waytoolonganame0", b, ns, ns, 0); err == nil {
		t.Errorf("CreateVethPair with a 16-character name succeeded")
	}
	if err := linuxnet.CreateVethPair(ctx, linuxnettest.UniqueName(t, "d"), linuxnettest.UniqueName(t, "e"), ns,
		linuxnettest.UniqueName(t, "none"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateVethPair into a missing namespace = %v, want fs.ErrNotExist", err)
	}
	if err := linuxnet.DeleteLink(ns, a); err != nil {
		t.Errorf("DeleteLink: %v", err)
	}
	in(t, ns, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				t.Errorf("link %s left in namespace", l.Attrs().Name)
			}
		}
		return nil
	})
}

// TestDeleteNSRemovesVeth deletes the namespace of one end and checks that
// the other end goes away with it.
func TestDeleteNSRemovesVeth(t *testing.T) {
	linuxnettest.RequireRoot(t)
	nsB := linuxnettest.NewNS(t)
	nsA := linuxnettest.UniqueName(t, "ns")
	if _, err := linuxnet.NewNamedNS(nsA); err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			linuxnet.DeleteNamedNS(nsA)
		}
	})
	a, b := linuxnettest.UniqueName(t, "a"), linuxnettest.UniqueName(t, "b")
	if err := linuxnet.CreateVethPair(context.Background(), a, b, nsA, nsB, 0); err != nil {
		t.Fatal(err)
	}
	if err := linuxnet.DeleteNamedNS(nsA); err != nil {
		t.Fatal(err)
	}
	deleted = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		in(t, nsB, func() error {
			_, err = netlink.LinkByName(b)
			return nil
		})
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still in %s 10 s after deleting %s (lookup: %v)", b, nsB, nsA, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOffloads(t *testing.T) {
	linuxnettest.RequireRoot(t)
	p := linuxnettest.NewVethPair(t, 0)
	in(t, p.NSA, func() error {
		all := linuxnet.Offloads{TXChecksum: true, ScatterGather: true, TSO: true, GSO: true, GRO: true}
		for _, want := range []linuxnet.Offloads{all, {}, {TXChecksum: true, ScatterGather: true, GSO: true}, {}} {
			if err := linuxnet.SetOffloads(p.IfA, want); err != nil {
				return err
			}
			got, err := linuxnet.GetOffloads(p.IfA)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("after SetOffloads(%v) offloads are %v", want, got)
			}
		}
		// TSO needs TX checksum offload: the kernel refuses, SetOffloads says so.
		if err := linuxnet.SetOffloads(p.IfA, linuxnet.Offloads{TSO: true}); err == nil {
			t.Errorf("SetOffloads(tso without tx) succeeded")
		}
		if err := linuxnet.SetOffloads(p.IfA, all); err != nil {
			return err
		}
		if err := linuxnet.DisableTXChecksum(p.IfA); err != nil {
			return err
		}
		got, err := linuxnet.GetOffloads(p.IfA)
		if err != nil {
			return err
		}
		if got.TXChecksum || got.TSO {
			t.Errorf("after DisableTXChecksum offloads are %v, want tx and tso off", got)
		}
		if _, err := linuxnet.GetOffloads("nltnosuchif"); !errors.Is(err, unix.ENODEV) {
			t.Errorf("GetOffloads(missing) = %v, want ENODEV", err)
		}
		return nil
	})
}

// TestDisableIPv6PerThread checks that the sysctl write lands in the
// namespace of the calling thread, not in the process's.
func TestDisableIPv6PerThread(t *testing.T) {
	linuxnettest.RequireRoot(t)
	hostBefore, err := linuxnet.IPv6Disabled("lo")
	if err != nil {
		t.Fatal(err)
	}
	ns := linuxnettest.NewNS(t)
	in(t, ns, func() error {
		if err := linuxnet.EnableIPv6("lo"); err != nil {
			return err
		}
		if err := linuxnet.DisableIPv6("lo"); err != nil {
			return err
		}
		dis, err := linuxnet.IPv6Disabled("lo")
		if err != nil {
			return err
		}
		if !dis {
			t.Errorf("IPv6 on lo in %s still on after DisableIPv6", ns)
		}
		return nil
	})
	if hostAfter, err := linuxnet.IPv6Disabled("lo"); err != nil || hostAfter != hostBefore {
		t.Errorf("host lo disable_ipv6 = %v (%v), was %v", hostAfter, err, hostBefore)
	}
	in(t, ns, func() error {
		if err := linuxnet.DisableIPv6("nltnosuchif"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("DisableIPv6(missing) = %v, want fs.ErrNotExist", err)
		}
		return nil
	})
}

// TestDisableIPv6SmallMTU: an interface whose MTU is below IPv6's 1280 has
// no IPv6 at all; disabling it is then done, not an error (a lab link of
// MTU 988 deploys).
func TestDisableIPv6SmallMTU(t *testing.T) {
	linuxnettest.RequireRoot(t)
	p := linuxnettest.NewVethPair(t, 1000)
	in(t, p.NSA, func() error {
		if err := linuxnet.DisableIPv6(p.IfA); err != nil {
			t.Errorf("DisableIPv6 on an MTU of 1000: %v", err)
		}
		if dis, err := linuxnet.IPv6Disabled(p.IfA); err != nil || !dis {
			t.Errorf("IPv6Disabled on an MTU of 1000 = %v, %v; want true", dis, err)
		}
		return nil
	})
}

func TestPrepareForUserspaceStack(t *testing.T) {
	linuxnettest.RequireRoot(t)
	p := linuxnettest.NewVethPair(t, 0)
	in(t, p.NSA, func() error {
		// Make the interface as noisy as a fresh one: addresses, IPv6, ARP,
		// offloads.
		link, err := netlink.LinkByName(p.IfA)
		if err != nil {
			return err
		}
		if err := linuxnet.EnableIPv6(p.IfA); err != nil {
			return err
		}
		for i := range 3 {
			addr, _ := netlink.ParseAddr(fmt.Sprintf("10.99.%d.1/24", i))
			if err := netlink.AddrAdd(link, addr); err != nil {
				return err
			}
		}
		if err := netlink.LinkSetDown(link); err != nil {
			return err
		}
		if err := linuxnet.SetOffloads(p.IfA, linuxnet.Offloads{TXChecksum: true, ScatterGather: true, TSO: true, GSO: true, GRO: true}); err != nil {
			return err
		}

		if err := linuxnet.PrepareForUserspaceStack(p.IfA, linuxnet.PrepareOptions{}); err != nil {
			return err
		}
		link, err = netlink.LinkByName(p.IfA)
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		if len(addrs) != 0 {
			t.Errorf("addresses left: %v", addrs)
		}
		if dis, err := linuxnet.IPv6Disabled(p.IfA); err != nil || !dis {
			t.Errorf("IPv6Disabled = %v, %v; want true", dis, err)
		}
		if link.Attrs().RawFlags&unix.IFF_NOARP == 0 {
			t.Errorf("ARP still on")
		}
		if link.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("not up")
		}
		if off, err := linuxnet.GetOffloads(p.IfA); err != nil || off != (linuxnet.Offloads{}) {
			t.Errorf("offloads %v (%v), want none", off, err)
		}

		if err := linuxnet.SetOffloads(p.IfA, linuxnet.Offloads{TXChecksum: true, ScatterGather: true, GSO: true}); err != nil {
			return err
		}
		if err := linuxnet.PrepareForUserspaceStack(p.IfA, linuxnet.PrepareOptions{KeepOffloads: true}); err != nil {
			return err
		}
		if off, err := linuxnet.GetOffloads(p.IfA); err != nil || off != (linuxnet.Offloads{ScatterGather: true, GSO: true}) {
			t.Errorf("with KeepOffloads: offloads %v (%v), want sg,gso", off, err)
		}
		return nil
	})
}

func TestRetryTransient(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error // returned by successive calls, then nil
		wantCalls int
		wantErr   error
	}{
		{name: "ok", wantCalls: 1},
		{name: "transient then ok", errs: []error{unix.EBUSY, fmt.Errorf("wrapped: %w", unix.ENODEV), netlink.ErrDumpInterrupted}, wantCalls: 4},
		{name: "permanent", errs: []error{unix.EEXIST}, wantCalls: 1, wantErr: unix.EEXIST},
		{name: "transient forever", errs: repeat(unix.EFAULT, 20), wantCalls: 8, wantErr: unix.EFAULT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := linuxnet.RetryTransientForTest(context.Background(), func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("retryTransient: %d calls, error %v; want %d calls, error %v", calls, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := linuxnet.RetryTransientForTest(ctx, func() error {
			calls++
			cancel()
			return unix.ENOENT
		})
		if calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, unix.ENOENT) {
			t.Errorf("retryTransient with cancelled ctx: %d calls, error %v; want 1 call, Canceled and ENOENT", calls, err)
		}
	})
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// TestMoveUplink (root): a pod's eth0, with an IPv4 and an IPv6 address, a
// default route and a route through a gateway, moves to a namespace of its
// own: the pod keeps no interface but loopback and no route; the new
// namespace has eth0 up, its addresses and routes, and reaches an address
// behind the gateway.
func TestMoveUplink(t *testing.T) {
	linuxnettest.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod, peer, wire := linuxnettest.NewNS(t), linuxnettest.NewNS(t), linuxnettest.NewNS(t)
	if err := linuxnet.CreateVethPair(ctx, "eth0", "vpeer", pod, peer, 1500); err != nil {
		t.Fatal(err)
	}
	addr := func(s string) *netlink.Addr {
		a, err := netlink.ParseAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	_, behind, _ := net.ParseCIDR("10.88.0.0/16")
	err := linuxnet.InNamespace(pod, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		linuxnet.EnableIPv6("eth0")
		for _, a := range []string{"10.77.0.2/24", "fd00:77::2/64"} {
			if err := netlink.AddrAdd(l, addr(a)); err != nil {
				return err
			}
		}
		gw := net.ParseIP("10.77.0.1")
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
			return fmt.Errorf("default route: %w", err)
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: behind, Gw: gw})
	})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	err = linuxnet.InNamespace(peer, func() error {
		l, err := netlink.LinkByName("vpeer")
		if err != nil {
			return err
		}
		lo, _ := netlink.LinkByName("lo")
		netlink.LinkSetUp(lo)
		if err := netlink.AddrAdd(l, addr("10.77.0.1/24")); err != nil {
			return err
		}
		if err := netlink.AddrAdd(lo, addr("10.88.0.1/32")); err != nil {
			return err
		}
		ln, err = net.Listen("tcp", "10.88.0.1:7777")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	if err := linuxnet.MoveUplink("eth0", pod, wire); err != nil {
		t.Fatal(err)
	}
	linuxnet.InNamespace(pod, func() error {
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				t.Errorf("the pod still has %s", l.Attrs().Name)
			}
		}
		if routes, _ := netlink.RouteList(nil, netlink.FAMILY_V4); len(routes) != 0 {
			t.Errorf("the pod still has routes %v", routes)
		}
		return nil
	})
	err = linuxnet.InNamespace(wire, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("eth0 is down where it went")
		}
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_ALL)
		var have []string
		for _, a := range addrs {
			have = append(have, a.IPNet.String())
		}
		for _, want := range []string{"10.77.0.2/24", "fd00:77::2/64"} {
			if !slices.Contains(have, want) {
				t.Errorf("eth0's addresses where it went: %v; want %s", have, want)
			}
		}
		routes, _ := netlink.RouteList(l, netlink.FAMILY_V4)
		var def, via bool
		for _, r := range routes {
			def = def || (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.Equal(net.ParseIP("10.77.0.1"))
			via = via || r.Dst != nil && r.Dst.String() == behind.String()
		}
		if !def || !via {
			t.Errorf("routes where it went: %v; want the default route and %s via the gateway", routes, behind)
		}
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", "10.88.0.1:7777")
		if err != nil {
			return fmt.Errorf("reach an address behind the gateway: %w", err)
		}
		return c.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMoveUplinkLinkGateway (root): a pod network as Calico and AWS's
// make it — a /32 address, the gateway 169.254.1.1 reached by a link
// route, the default route through it — moves with its routes.
func TestMoveUplinkLinkGateway(t *testing.T) {
	linuxnettest.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod, peer, wire := linuxnettest.NewNS(t), linuxnettest.NewNS(t), linuxnettest.NewNS(t)
	if err := linuxnet.CreateVethPair(ctx, "eth0", "vpeer", pod, peer, 1500); err != nil {
		t.Fatal(err)
	}
	gw := net.ParseIP("169.254.1.1")
	err := linuxnet.InNamespace(pod, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr("10.66.0.7/32")
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("the gateway's link route: %w", err)
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := linuxnet.MoveUplink("eth0", pod, wire); err != nil {
		t.Fatal(err)
	}
	linuxnet.InNamespace(wire, func() error {
		routes, _ := netlink.RouteList(nil, netlink.FAMILY_V4)
		var def bool
		for _, r := range routes {
			def = def || r.Gw.Equal(gw)
		}
		if !def {
			t.Errorf("routes where eth0 went: %v; want the default route via %s", routes, gw)
		}
		return nil
	})
}

// TestNameNS (root): the process's namespace gets a name under /run/netns
// (the same inode), and DeleteNamedNS removes the name only.
func TestNameNS(t *testing.T) {
	linuxnettest.RequireRoot(t)
	name := linuxnettest.UniqueName(t, "nm")
	path, err := linuxnet.NameNS(name)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if got, want := nsInode(t, path), nsInode(t, "/proc/self/ns/net"); got != want {
		t.Errorf("named namespace inode %d; want the process's %d", got, want)
	}
	if _, err := linuxnet.NameNS(name); err == nil {
		t.Errorf("the same name twice: no error")
	}
	if err := linuxnet.DeleteNamedNS(name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after DeleteNamedNS: %v", path, err)
	}
	if _, err := net.Interfaces(); err != nil {
		t.Errorf("the process's namespace after: %v", err)
	}
}
