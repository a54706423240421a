package stack

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"
)

// Blocking calls and deadlines on the virtual clock. A blocking call runs in
// its own goroutine; the test waits until the call has armed its deadline
// timer on the manual clock (Pending grows) and only then moves time, so the
// outcome does not depend on goroutine scheduling. The stacks' probe hook is
// a no-op here: blocked callers and the test's goroutine both run stack code.

// blockingNet is a testNet whose probe hook is safe to call from several
// goroutines.
func blockingNet(t *testing.T, tcp TCPOptions) *testNet {
	t.Helper()
	return newTestNet(t, Options{TCP: tcp, Probe: func(ProbeEvent) {}})
}

// waitArmed waits (in real time, bounded) until the clock has more than
// before pending timers: a blocked call armed its deadline.
func waitArmed(t *testing.T, n *testNet, before int) {
	t.Helper()
	for start := time.Now(); n.clk.Pending() <= before; yield() {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the blocking call never armed its deadline timer")
		}
	}
}

func TestReadDeadlineOnVirtualClock(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	_, _, afd := n.connectPair(80)
	n.run(100 * time.Millisecond) // let the handshake's timers settle
	n.b.SetNonblock(afd, false)
	if err := n.b.SetReadDeadline(afd, n.clk.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	before := n.clk.Pending()
	done := make(chan error, 1)
	go func() {
		_, err := n.b.Read(afd, make([]byte, 10))
		done <- err
	}()
	waitArmed(t, n, before)
	n.run(99 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Read returned %v before its deadline", err)
	default:
	}
	n.run(time.Millisecond)
	err := waitErr(t, done)
	if !errors.Is(err, ErrDeadline) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline = %v, want ErrDeadline", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || !oe.Timeout() || oe.Op != "read" || oe.FD != afd {
		t.Fatalf("error %#v, want an OpError for read on fd %d with Timeout() true", err, afd)
	}
	// The deadline stays: the next Read fails at once. Clearing it lets a
	// Read block until data comes.
	if _, err := n.b.Read(afd, make([]byte, 10)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("Read with a passed deadline = %v, want ErrDeadline", err)
	}
	n.b.SetReadDeadline(afd, time.Time{})
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 10)
		r, _ := n.b.Read(afd, buf)
		got <- string(buf[:r])
	}()
	cfdSend(t, n, []byte("wake"))
	n.run(50 * time.Millisecond)
	select {
	case s := <-got:
		if s != "wake" {
			t.Fatalf("blocking Read = %q, want %q", s, "wake")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking Read did not return when data arrived")
	}
}

// cfdSend writes from a's only connection.
func cfdSend(t *testing.T, n *testNet, p []byte) {
	t.Helper()
	for _, si := range n.a.Sockets() {
		if si.State == "ESTABLISHED" {
			if _, err := n.a.Write(si.FD, p); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no established socket on a")
}

func TestDeadlinePassedFailsAtOnce(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	_, lfd, afd := n.connectPair(80)
	past := n.clk.Now().Add(-time.Second)
	u := udpSocket(t, n.b, 9)
	for _, fd := range []int{lfd, afd, u} {
		n.b.SetNonblock(fd, false)
		if err := n.b.SetReadDeadline(fd, past); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := n.b.Accept(lfd); !errors.Is(err, ErrDeadline) {
		t.Fatalf("Accept = %v, want ErrDeadline", err)
	}
	if _, err := n.b.Read(afd, make([]byte, 1)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("Read = %v, want ErrDeadline", err)
	}
	if _, _, err := n.b.RecvFrom(u, make([]byte, 1)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("RecvFrom = %v, want ErrDeadline", err)
	}
	if _, err := n.b.Read(u, make([]byte, 1)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("Read on UDP = %v, want ErrDeadline", err)
	}
	for _, f := range []func(int, time.Time) error{n.b.SetReadDeadline, n.b.SetWriteDeadline} {
		if err := f(99, past); !errors.Is(err, EBADF) {
			t.Fatalf("deadline on fd 99 = %v, want EBADF", err)
		}
	}
	if err := n.b.SetNonblock(99, true); !errors.Is(err, EBADF) {
		t.Fatalf("SetNonblock(99) = %v, want EBADF", err)
	}
}

func TestWriteDeadlineOnFullSendBuffer(t *testing.T) {
	n := blockingNet(t, TCPOptions{SendBuffer: 8192, ReceiveBuffer: 8192})
	cfd, _, _ := n.connectPair(80) // the peer never reads
	n.a.SetNonblock(cfd, false)
	n.a.SetWriteDeadline(cfd, n.clk.Now().Add(time.Second))
	type res struct {
		n   int
		err error
	}
	done := make(chan res, 1)
	queued := n.ea.Queued()
	go func() {
		w, err := n.a.Write(cfd, make([]byte, 100_000))
		done <- res{w, err}
	}()
	waitBlocked(t, n.a, n.ea, queued)
	n.run(time.Second)
	var r res
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked Write did not return at its deadline")
	}
	if !errors.Is(r.err, ErrDeadline) || r.n <= 0 || r.n >= 100_000 {
		t.Fatalf("Write into a full buffer = %d, %v; want a partial count and ErrDeadline", r.n, r.err)
	}
	if r.n > 8192+8192+1024 {
		t.Fatalf("Write took %d bytes, more than both 8 KiB buffers hold", r.n)
	}
}

// waitBlocked waits until a call running in another goroutine has sent a
// frame on ep (which held before frames) and then released the stack's lock: it is waiting, with its
// deadline timer armed (or it has returned).
func waitBlocked(t *testing.T, s *Stack, ep interface{ Queued() int }, before int) {
	t.Helper()
	for start := time.Now(); ep.Queued() <= before; yield() {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the blocking call sent nothing")
		}
	}
	s.mu.Lock()
	s.mu.Unlock() //nolint:staticcheck // an empty critical section: a barrier
}

func TestBlockingConnectAndAccept(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	lfd, _ := n.b.Socket(SockStream)
	n.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 80))
	n.b.Listen(lfd, 4)
	cfd, _ := n.a.Socket(SockStream)
	connected := make(chan error, 1)
	accepted := make(chan error, 1)
	queued := n.ea.Queued()
	go func() { connected <- n.a.Connect(cfd, addrB, 80) }()
	go func() {
		_, _, err := n.b.Accept(lfd)
		accepted <- err
	}()
	waitBlocked(t, n.a, n.ea, queued) // the SYN's ARP request is out
	n.run(50 * time.Millisecond)
	if err := waitErr(t, connected); err != nil {
		t.Fatalf("blocking Connect = %v", err)
	}
	if err := waitErr(t, accepted); err != nil {
		t.Fatalf("blocking Accept = %v", err)
	}
	if err := n.a.Connect(cfd, addrB, 80); !errors.Is(err, EISCONN) {
		t.Fatalf("second Connect = %v, want EISCONN", err)
	}
}

func TestBlockingConnectWriteDeadline(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	n.fault = func(*Stack, []byte) frameVerdict { return frameVerdict{drop: true} }
	fd, _ := n.a.Socket(SockStream)
	n.a.SetWriteDeadline(fd, n.clk.Now().Add(500*time.Millisecond))
	done := make(chan error, 1)
	queued := n.ea.Queued()
	go func() { done <- n.a.Connect(fd, addrB, 80) }()
	waitBlocked(t, n.a, n.ea, queued)
	n.run(500 * time.Millisecond)
	if err := waitErr(t, done); !errors.Is(err, ErrDeadline) {
		t.Fatalf("blocking Connect into a black hole = %v, want ErrDeadline", err)
	}
	// The attempt goes on: a non-blocking Connect now says so.
	n.a.SetNonblock(fd, true)
	if err := n.a.Connect(fd, addrB, 80); !errors.Is(err, EALREADY) {
		t.Fatalf("Connect while the SYN is retried = %v, want EALREADY", err)
	}
}

func TestCloseWakesBlockedReader(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	_, _, afd := n.connectPair(80)
	n.b.SetNonblock(afd, false)
	n.b.SetReadDeadline(afd, n.clk.Now().Add(time.Hour))
	before := n.clk.Pending()
	done := make(chan error, 1)
	go func() {
		_, err := n.b.Read(afd, make([]byte, 1))
		done <- err
	}()
	waitArmed(t, n, before) // the reader is blocked
	n.b.Close(afd)
	if err := waitErr(t, done); !errors.Is(err, EBADF) {
		t.Fatalf("Read blocked across Close = %v, want EBADF", err)
	}
}

func TestBlockingRecvFromWakesOnDatagram(t *testing.T) {
	n := blockingNet(t, TCPOptions{})
	ub, _ := n.b.Socket(SockDgram)
	n.b.Bind(ub, netip.AddrPortFrom(addrB, 9))
	ua := udpSocket(t, n.a, 0)
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 16)
		r, _, err := n.b.RecvFrom(ub, buf)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(buf[:r])
	}()
	n.a.SendTo(ua, []byte("dgram"), netip.AddrPortFrom(addrB, 9))
	n.run(50 * time.Millisecond)
	select {
	case s := <-got:
		if s != "dgram" {
			t.Fatalf("blocking RecvFrom = %q, want %q", s, "dgram")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking RecvFrom did not return")
	}
}
