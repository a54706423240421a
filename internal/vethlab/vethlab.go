// Package vethlab makes the smallest real lab: two fresh network namespaces
// joined by one veth, with netlab's Go stack or the Linux kernel's on each
// end. netlab demo, the interop tests and the benchmarks against Linux use
// it. Everything it makes has a unique name and is removed by Close.
package vethlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"

	"github.com/vishvananda/netlink"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
)

// Side names one end of the lab.
type Side int

// The two ends.
const (
	A Side = 0
	B Side = 1
)

// Options configures a Lab.
type Options struct {
	// Prefix starts the namespace names (default "nlab"); a random suffix
	// makes them unique per run.
	Prefix string
	// MTU of the veth; 0 means 1500.
	MTU int
	// Addr are the two ends' addresses; default 10.99.0.1/24 and
	// 10.99.0.2/24.
	Addr [2]netip.Prefix
	// Link tunes the AF_PACKET endpoints of Go-stack ends.
	Link afpacket.Options
	// WrapLink, if set, wraps each Go-stack end's endpoint (to capture,
	// impair or drop chosen frames in tests).
	WrapLink func(side Side, ep link.Endpoint) link.Endpoint
}

// Lab is two namespaces and a veth between them.
type Lab struct {
	NS     [2]string       // namespace names, as `ip netns` shows them
	If     [2]string       // interface names inside the namespaces
	Addr   [2]netip.Prefix // the ends' addresses
	MTU    int
	opts   Options
	eps    []*afpacket.Endpoint
	stacks []*stack.Stack
}

// New creates the namespaces and the veth. The caller must Close the lab.
func New(ctx context.Context, o Options) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("network namespaces need root: run this as root (sudo)")
	}
	if o.Prefix == "" {
		o.Prefix = "nlab"
	}
	if o.MTU == 0 {
		o.MTU = 1500
	}
	if !o.Addr[0].IsValid() {
		o.Addr = [2]netip.Prefix{netip.MustParsePrefix("10.99.0.1/24"), netip.MustParsePrefix("10.99.0.2/24")}
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("pick lab name: %w", err)
	}
	// Namespaces carry this process's PID: a lab whose process was killed
	// before Close is deleted by the next New with the same prefix.
	if _, err := linuxnet.DeleteOrphanedNS(o.Prefix); err != nil {
		return nil, fmt.Errorf("delete labs of dead processes: %w", err)
	}
	id := hex.EncodeToString(rnd[:])
	l := &Lab{
		NS:   [2]string{linuxnet.OwnedNSName(o.Prefix, id+"a"), linuxnet.OwnedNSName(o.Prefix, id+"b")},
		If:   [2]string{"eth1", "eth1"},
		Addr: o.Addr,
		MTU:  o.MTU,
		opts: o,
	}
	for i, ns := range l.NS {
		if _, err := linuxnet.NewNamedNS(ns); err != nil {
			for _, made := range l.NS[:i] {
				linuxnet.DeleteNamedNS(made)
			}
			return nil, fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	if err := linuxnet.CreateVethPair(ctx, l.If[0], l.If[1], l.NS[0], l.NS[1], o.MTU); err != nil {
		l.deleteNS()
		return nil, fmt.Errorf("create veth between %s and %s: %w", l.NS[0], l.NS[1], err)
	}
	return l, nil
}

// GoStack puts a new Go stack on one end: an AF_PACKET endpoint on the
// interface (which is left with no kernel address), the end's address and
// connected route. The stack is destroyed by Close.
func (l *Lab) GoStack(side Side, so stack.Options) (*stack.Stack, error) {
	ep, err := afpacket.OpenInNamespace(l.NS[side], l.If[side], l.opts.Link)
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", l.If[side], l.NS[side], err)
	}
	l.eps = append(l.eps, ep)
	var lep link.Endpoint = ep
	if l.opts.WrapLink != nil {
		lep = l.opts.WrapLink(side, ep)
	}
	s := stack.New(so)
	l.stacks = append(l.stacks, s)
	nic, err := s.AddInterface(l.If[side], lep)
	if err != nil {
		return nil, err
	}
	if err := s.AddAddress(nic, l.Addr[side]); err != nil {
		return nil, err
	}
	return s, nil
}

// Kernel gives one end's interface its address, so the Linux kernel's own
// stack serves that end. Segmentation and receive offloads are turned off
// (unless Options.Link.KeepOffloads), so the kernel too sends MTU-sized
// frames, as the Go stack does.
func (l *Lab) Kernel(side Side) error {
	return linuxnet.InNamespace(l.NS[side], func() error {
		if !l.opts.Link.KeepOffloads {
			if err := linuxnet.DisableOffloads(l.If[side]); err != nil {
				return fmt.Errorf("offloads off on %s: %w", l.If[side], err)
			}
		}
		lk, err := netlink.LinkByName(l.If[side])
		if err != nil {
			return fmt.Errorf("find %s: %w", l.If[side], err)
		}
		if err := netlink.AddrAdd(lk, &netlink.Addr{IPNet: prefixToIPNet(l.Addr[side])}); err != nil {
			return fmt.Errorf("add %v to %s: %w", l.Addr[side], l.If[side], err)
		}
		return netlink.LinkSetUp(lk)
	})
}

// InNamespace runs fn on a thread inside one end's namespace: sockets it
// opens (net.Listen, net.Dial) belong to that namespace for good.
func (l *Lab) InNamespace(side Side, fn func() error) error {
	return linuxnet.InNamespace(l.NS[side], fn)
}

// Command returns a command that runs inside one end's namespace
// (`ip netns exec`).
func (l *Lab) Command(ctx context.Context, side Side, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.NS[side], name}, args...)...)
}

// Close destroys the stacks, closes the endpoints and deletes the
// namespaces (which deletes the veth). It is safe to call more than once.
func (l *Lab) Close() error {
	for _, s := range l.stacks {
		s.Destroy()
	}
	l.stacks = nil
	for _, ep := range l.eps {
		ep.Close()
	}
	l.eps = nil
	return l.deleteNS()
}

func (l *Lab) deleteNS() error {
	var errs []error
	for _, ns := range l.NS {
		if err := linuxnet.DeleteNamedNS(ns); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns, err))
		}
	}
	return errors.Join(errs...)
}
