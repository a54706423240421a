package linuxnet

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CreateVethPair creates a veth pair whose end a is in network namespace nsA
// and end b in nsB (names under NetnsRunDir or paths, see NSPath; "" means
// the caller's namespace), with the given MTU (0: the kernel's default,
// 1500). Both ends get IPv6 and TX checksum offload off, and are set up.
//
// The pair is created from inside nsA with its peer placed in nsB by the
// same netlink request, so it never appears in any other namespace, and a
// name used elsewhere (eth1 in every node) does not collide. If a step fails
// the pair is deleted. Transient netlink errors (EBUSY, ENODEV, ENOENT,
// EFAULT, an interrupted dump) are retried with backoff until ctx is done.
func CreateVethPair(ctx context.Context, a, b string, nsA, nsB string, mtu int) (err error) {
	if err := validIfname(a); err != nil {
		return err
	}
	if err := validIfname(b); err != nil {
		return err
	}
	if mtu < 0 {
		return fmt.Errorf("create veth %s/%s: negative MTU %d", a, b, mtu)
	}
	peerNS := -1
	if nsB != "" {
		path, err := NSPath(nsB)
		if err != nil {
			return err
		}
		peerNS, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("create veth %s/%s: open network namespace %s: %w", a, b, path, err)
		}
		defer unix.Close(peerNS)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.NewLinkAttrs(), PeerName: b, PeerTxQLen: -1}
	veth.Name = a
	veth.MTU = mtu
	if peerNS >= 0 {
		veth.PeerNamespace = netlink.NsFd(peerNS)
	}
	err = runIn(nsA, func() error {
		return RetryTransient(ctx, func() error { return netlink.LinkAdd(veth) })
	})
	if err != nil {
		return fmt.Errorf("create veth %s/%s: %w", a, b, err)
	}
	defer func() {
		if err != nil {
			// Deleting one end deletes both.
			if derr := runIn(nsA, func() error { return deleteLink(a) }); derr != nil {
				err = errors.Join(err, fmt.Errorf("clean up veth %s: %w", a, derr))
			}
		}
	}()
	for _, end := range []struct{ name, ns string }{{a, nsA}, {b, nsB}} {
		err := runIn(end.ns, func() error {
			return RetryTransient(ctx, func() error { return setupVethEnd(end.name) })
		})
		if err != nil {
			return fmt.Errorf("create veth %s/%s: %w", a, b, err)
		}
	}
	return nil
}

// setupVethEnd turns IPv6 and TX checksum offload off on ifname and sets it
// up, in the calling thread's network namespace.
func setupVethEnd(ifname string) error {
	if err := DisableIPv6(ifname); err != nil {
		return err
	}
	if err := DisableTXChecksum(ifname); err != nil {
		return err
	}
	return SetLinkUp(ifname)
}

// DeleteLink deletes interface ifname in network namespace ns (a name, a
// path, or "" for the caller's). Deleting one end of a veth deletes both.
func DeleteLink(ns, ifname string) error {
	return runIn(ns, func() error { return deleteLink(ifname) })
}

// ErrNoLink is wrapped by DeleteLink's error when there is no such
// interface.
var ErrNoLink = errors.New("no such interface")

func deleteLink(ifname string) error {
	link, err := netlink.LinkByName(ifname)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return fmt.Errorf("delete link %s: %w", ifname, ErrNoLink)
	}
	if err == nil {
		err = netlink.LinkDel(link)
		if errors.Is(err, unix.ENODEV) {
			// Gone between the lookup and the delete: its veth peer was
			// deleted meanwhile, which takes this end with it.
			return fmt.Errorf("delete link %s: %w", ifname, ErrNoLink)
		}
	}
	if err != nil {
		return fmt.Errorf("delete link %s: %w", ifname, err)
	}
	return nil
}

// runIn runs fn in network namespace ns, or on the caller's locked thread
// when ns is "".
func runIn(ns string, fn func() error) error {
	if ns != "" {
		return InNamespace(ns, fn)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return fn()
}

// Backoff of RetryTransient: first delay, cap, and number of attempts.
const (
	retryFirstDelay  = 5 * time.Millisecond
	retryMaxDelay    = 500 * time.Millisecond
	retryMaxAttempts = 8
)

// RetryTransient calls fn until it succeeds, fails with an error that is
// not transient (EBUSY, ENODEV, ENOENT, EFAULT, EAGAIN, an interrupted
// netlink dump: the kernel is busy or a device is still being set up or
// renamed), fails retryMaxAttempts times, or ctx is done; the delay doubles
// between attempts.
func RetryTransient(ctx context.Context, fn func() error) error {
	delay := retryFirstDelay
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !isTransient(err) || attempt == retryMaxAttempts {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts, last: %w)", ctx.Err(), attempt, err)
		case <-t.C:
		}
		delay = min(2*delay, retryMaxDelay)
	}
}

// isTransient reports whether a netlink error may go away on retry: the
// kernel is busy, or a device is still being set up or renamed.
func isTransient(err error) bool {
	for _, e := range []error{unix.EBUSY, unix.ENODEV, unix.ENOENT, unix.EFAULT, unix.EAGAIN, netlink.ErrDumpInterrupted} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
