package stack

import (
	"errors"
	"net"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/stack/wire"
)

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
	macA  = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB  = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// frameVerdict is what a test's fault hook does with a frame.
type frameVerdict struct {
	drop      bool
	duplicate bool
	delay     time.Duration // extra delay (reordering)
	corrupt   bool
}

type timedFrame struct {
	at    time.Time
	seq   int
	to    *pipe.Endpoint
	frame []byte
}

// sortWire orders frames by arrival time, then by the order they were sent.
func sortWire(wire []timedFrame) {
	sort.SliceStable(wire, func(i, j int) bool {
		if wire[i].at.Equal(wire[j].at) {
			return wire[i].seq < wire[j].seq
		}
		return wire[i].at.Before(wire[j].at)
	})
}

// testNet is two stacks joined by a manual pipe on a virtual clock: frames
// cross after `delay`, through the fault hook, and time moves only when the
// test runs the network. Everything is deterministic.
type testNet struct {
	t      testing.TB
	clk    *clock.Manual
	a, b   *Stack
	ea, eb *pipe.Endpoint
	delay  time.Duration
	// fault decides the fate of each frame; from is the sending stack.
	fault  func(from *Stack, frame []byte) frameVerdict
	wire   []timedFrame
	seq    int
	frames []string // summaries of delivered frames, when tracing
	trace  bool
	events []ProbeEvent
}

func newTestNet(t testing.TB, opts Options) *testNet {
	t.Helper()
	clk := clock.NewManual(clock.Epoch)
	n := &testNet{t: t, clk: clk, delay: 5 * time.Millisecond}
	n.ea, n.eb = pipe.Pair(pipe.Manual, 1500, macA, macB)
	oa, ob := opts, opts
	oa.Clock, ob.Clock = clk, clk
	oa.Seed, ob.Seed = 1, 2
	if opts.Probe == nil {
		rec := func(e ProbeEvent) { n.events = append(n.events, e) }
		oa.Probe, ob.Probe = rec, rec
	}
	n.a, n.b = New(oa), New(ob)
	n.addIf(n.a, n.ea, addrA)
	n.addIf(n.b, n.eb, addrB)
	t.Cleanup(func() { n.a.Destroy(); n.b.Destroy() })
	return n
}

func (n *testNet) addIf(s *Stack, ep *pipe.Endpoint, a netip.Addr) {
	n.t.Helper()
	id, err := s.AddInterface("eth1", ep)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := s.AddAddress(id, netip.PrefixFrom(a, 24)); err != nil {
		n.t.Fatal(err)
	}
}

// collect moves frames the stacks sent onto the wire.
func (n *testNet) collect() {
	now := n.clk.Now()
	for _, side := range []struct {
		from *Stack
		ep   *pipe.Endpoint
	}{{n.a, n.ea}, {n.b, n.eb}} {
		for _, f := range side.ep.Take() {
			v := frameVerdict{}
			if n.fault != nil {
				v = n.fault(side.from, f)
			}
			if v.drop {
				continue
			}
			if v.corrupt && len(f) > 40 {
				f[len(f)-1] ^= 0x10
			}
			copies := 1
			if v.duplicate {
				copies = 2
			}
			for i := 0; i < copies; i++ {
				n.seq++
				n.wire = append(n.wire, timedFrame{at: now.Add(n.delay + v.delay), seq: n.seq, to: side.ep.Peer(), frame: f})
			}
		}
	}
	sortWire(n.wire)
}

// run lets the network and the timers go for d of virtual time.
func (n *testNet) run(d time.Duration) {
	end := n.clk.Now().Add(d)
	for {
		n.collect()
		now := n.clk.Now()
		delivered := false
		for len(n.wire) > 0 && !n.wire[0].at.After(now) {
			f := n.wire[0]
			n.wire = n.wire[1:]
			if n.trace {
				n.frames = append(n.frames, wire.Summary(f.frame))
			}
			f.to.Inject(f.frame)
			delivered = true
		}
		if delivered {
			continue
		}
		next := end
		if len(n.wire) > 0 && n.wire[0].at.Before(next) {
			next = n.wire[0].at
		}
		if t, ok := n.clk.Next(); ok && t.Before(next) {
			next = t
		}
		if !next.After(now) && now.Equal(end) {
			return
		}
		n.clk.AdvanceTo(next)
		if !n.clk.Now().Before(end) {
			n.collect()
			if len(n.wire) == 0 || n.wire[0].at.After(end) {
				return
			}
		}
	}
}

// runUntil runs in steps of step until cond holds or limit passes.
func (n *testNet) runUntil(limit, step time.Duration, cond func() bool) bool {
	for waited := time.Duration(0); waited < limit; waited += step {
		if cond() {
			return true
		}
		n.run(step)
	}
	return cond()
}

// socket makes a non-blocking TCP socket on s.
func mustSocket(t testing.TB, s *Stack) int {
	t.Helper()
	fd, err := s.Socket(SockStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return fd
}

// connectPair establishes a connection from a to b:port and returns the
// client, listener and accepted descriptors.
func (n *testNet) connectPair(port uint16) (cfd, lfd, afd int) {
	n.t.Helper()
	lfd = mustSocket(n.t, n.b)
	if err := n.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, port)); err != nil {
		n.t.Fatal(err)
	}
	if err := n.b.Listen(lfd, 16); err != nil {
		n.t.Fatal(err)
	}
	cfd = mustSocket(n.t, n.a)
	if err := n.a.Connect(cfd, addrB, port); !errors.Is(err, EINPROGRESS) {
		n.t.Fatalf("Connect = %v, want EINPROGRESS", err)
	}
	afd = -1
	ok := n.runUntil(5*time.Second, time.Millisecond, func() bool {
		if afd < 0 {
			if fd, _, err := n.b.Accept(lfd); err == nil {
				afd = fd
			}
		}
		return afd >= 0 && n.state(n.a, cfd) == StateEstablished
	})
	if !ok {
		n.t.Fatalf("connection not established: client %v", n.state(n.a, cfd))
	}
	n.b.SetNonblock(afd, true)
	return cfd, lfd, afd
}

func (n *testNet) state(s *Stack, fd int) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.fds[fd]
	if so == nil || so.tcp == nil {
		return StateClosed
	}
	return so.tcp.state
}

func (n *testNet) conn(s *Stack, fd int) *tcpConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fds[fd].tcp
}

// tcpFrame parses a frame as TCP/IPv4, or returns ok=false.
func tcpFrame(frame []byte) (wire.IPv4Fields, wire.TCPFields, []byte, bool) {
	_, p, err := wire.ParseEthernet(frame)
	if err != nil {
		return wire.IPv4Fields{}, wire.TCPFields{}, nil, false
	}
	ip, p, err := wire.ParseIPv4(p)
	if err != nil || ip.Protocol != wire.ProtoTCP {
		return ip, wire.TCPFields{}, nil, false
	}
	h, payload, err := wire.ParseTCP(p, ip.Src, ip.Dst)
	if err != nil {
		return ip, wire.TCPFields{}, nil, false
	}
	return ip, h, payload, true
}

// segsOut returns the segments a stack sent, from the probe log.
func (n *testNet) segsOut(local netip.Addr) []ProbeEvent {
	var out []ProbeEvent
	for _, e := range n.events {
		if e.Kind == ProbeSegmentOut && e.Local.Addr() == local {
			out = append(out, e)
		}
	}
	return out
}
