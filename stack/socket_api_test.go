package stack

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestSocketCallErrors checks the errno of each socket call used out of
// turn, as the matching system call would give it.
func TestSocketCallErrors(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, lfd, _ := n.connectPair(80)
	fresh := mustSocket(t, n.a)
	udp := udpSocket(t, n.a, 0)
	bound := mustSocket(t, n.a)
	if err := n.a.Bind(bound, netip.AddrPortFrom(addrA, 7000)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"Socket(type 7)", second(n.a.Socket(SocketType(7))), EINVAL},
		{"Bind twice", n.a.Bind(bound, netip.AddrPortFrom(addrA, 7001)), EINVAL},
		{"Bind to a foreign address", n.a.Bind(fresh, netip.MustParseAddrPort("10.9.9.9:1")), EADDRNOTAVAIL},
		{"Bind to IPv6", n.a.Bind(fresh, netip.MustParseAddrPort("[::1]:1")), EADDRNOTAVAIL},
		{"Bind to a port in use", n.a.Bind(fresh, netip.AddrPortFrom(netip.Addr{}, 7000)), EADDRINUSE},
		{"Bind on fd 99", n.a.Bind(99, netip.AddrPort{}), EBADF},
		{"Listen on UDP", n.a.Listen(udp, 1), EINVAL},
		{"Listen on a connection", n.a.Listen(cfd, 1), EINVAL},
		{"Listen on fd 99", n.a.Listen(99, 1), EBADF},
		{"Accept on a connection", third(n.a.Accept(cfd)), EINVAL},
		{"Accept on fd 99", third(n.a.Accept(99)), EBADF},
		{"Connect on a listener", n.b.Connect(lfd, addrA, 1), EINVAL},
		{"Connect to 0.0.0.0", n.a.Connect(fresh, netip.IPv4Unspecified(), 80), EINVAL},
		{"Connect to port 0", n.a.Connect(fresh, addrB, 0), EINVAL},
		{"Connect to IPv6", n.a.Connect(fresh, netip.MustParseAddr("::1"), 80), EINVAL},
		{"Connect twice", n.a.Connect(cfd, addrB, 80), EISCONN},
		{"Connect on fd 99", n.a.Connect(99, addrB, 80), EBADF},
		{"Read unconnected", second(n.a.Read(fresh, make([]byte, 1))), ENOTCONN},
		{"Write unconnected", second(n.a.Write(fresh, []byte("x"))), ENOTCONN},
		{"Read on fd 99", second(n.a.Read(99, nil)), EBADF},
		{"Write on fd 99", second(n.a.Write(99, nil)), EBADF},
		{"Shutdown unconnected", n.a.Shutdown(fresh, ShutWR), ENOTCONN},
		{"Shutdown how 5", n.a.Shutdown(cfd, 5), EINVAL},
		{"Shutdown on fd 99", n.a.Shutdown(99, ShutWR), EBADF},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if w, err := n.a.Write(cfd, nil); w != 0 || err != nil {
		t.Errorf("Write of nothing = %d, %v; want 0, nil", w, err)
	}
	// A port held by a connection (the client side owns its ephemeral
	// port) cannot be bound.
	local, _ := n.a.LocalAddr(cfd)
	if err := n.a.Bind(fresh, local); !errors.Is(err, EADDRINUSE) {
		t.Errorf("Bind to a connection's port = %v, want EADDRINUSE", err)
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

func TestListenWithoutBindAndBacklogChange(t *testing.T) {
	n := newTestNet(t, Options{})
	lfd := mustSocket(t, n.b)
	if err := n.b.Listen(lfd, 0); err != nil { // backlog 0: at least 1
		t.Fatal(err)
	}
	local, _ := n.b.LocalAddr(lfd)
	if local.Port() < 32768 || !local.Addr().IsUnspecified() {
		t.Fatalf("Listen without Bind is on %v, want 0.0.0.0 and an ephemeral port", local)
	}
	if err := n.b.Listen(lfd, 10000); err != nil { // again: changes the backlog, capped
		t.Fatal(err)
	}
	n.b.mu.Lock()
	backlog := n.b.fds[lfd].lsn.backlog
	n.b.mu.Unlock()
	if backlog != 4096 {
		t.Fatalf("backlog after Listen(10000) = %d, want the 4096 cap", backlog)
	}
	// Connections arrive and are accepted on the ephemeral port.
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, addrB, local.Port())
	n.run(50 * time.Millisecond)
	if _, _, err := n.b.Accept(lfd); err != nil {
		t.Fatalf("Accept on the ephemeral listener: %v", err)
	}
	// Shutdown on a listener stops it: new SYNs are refused.
	if err := n.b.Shutdown(lfd, ShutRDWR); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.b.Accept(lfd); !errors.Is(err, EINVAL) {
		t.Fatalf("Accept after shutdown of the listener = %v, want EINVAL", err)
	}
	fd2 := mustSocket(t, n.a)
	n.a.Connect(fd2, addrB, local.Port())
	n.run(50 * time.Millisecond)
	if err := n.a.Connect(fd2, addrB, local.Port()); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Connect to a shut-down listener = %v, want ECONNREFUSED", err)
	}
}

func TestShutdownReadSideReturnsEndOfStream(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.Write(cfd, []byte("unread"))
	n.run(20 * time.Millisecond)
	if err := n.b.Shutdown(afd, ShutRD); err != nil {
		t.Fatal(err)
	}
	if r, err := n.b.Read(afd, make([]byte, 10)); r != 0 || err != nil {
		t.Fatalf("Read after shutdown(RD) = %d, %v; want 0, nil", r, err)
	}
	// The write side still works.
	if _, err := n.b.Write(afd, []byte("still")); err != nil {
		t.Fatalf("Write after shutdown(RD): %v", err)
	}
	n.run(20 * time.Millisecond)
	buf := make([]byte, 10)
	if r, _ := n.a.Read(cfd, buf); string(buf[:r]) != "still" {
		t.Fatalf("peer read %q, want %q", buf[:r], "still")
	}
}

func TestDestroyedStackRefusesSockets(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	n.a.Destroy()
	if _, err := n.a.Socket(SockStream); !errors.Is(err, EBADF) {
		t.Fatalf("Socket on a destroyed stack = %v, want EBADF", err)
	}
	if _, err := n.a.Write(cfd, []byte("x")); !errors.Is(err, EBADF) {
		t.Fatalf("Write after Destroy = %v, want EBADF (descriptors are gone)", err)
	}
	n.a.Destroy() // idempotent
	if _, err := n.a.Read(cfd, nil); !errors.Is(err, EBADF) {
		t.Fatalf("Read after a second Destroy = %v, want EBADF", err)
	}
}
