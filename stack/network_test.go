package stack

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/stack/wire"
)

// Network-layer tests: ARP, ICMP, UDP, routing, forwarding and
// fragmentation, plus the stack's inspection API.

// meshNet moves frames between any number of manual pipes on one virtual
// clock, with a per-frame delay and the same fault hook as testNet.
type meshNet struct {
	t     testing.TB
	clk   *clock.Manual
	eps   []*pipe.Endpoint
	delay time.Duration
	fault func(from *pipe.Endpoint, frame []byte) frameVerdict
	wire  []timedFrame
	seq   int
	seen  []seenFrame // every delivered frame
}

type seenFrame struct {
	to    *pipe.Endpoint
	frame []byte
}

func (m *meshNet) collect() {
	now := m.clk.Now()
	for _, ep := range m.eps {
		for _, f := range ep.Take() {
			var v frameVerdict
			if m.fault != nil {
				v = m.fault(ep, f)
			}
			if v.drop {
				continue
			}
			m.seq++
			m.wire = append(m.wire, timedFrame{at: now.Add(m.delay + v.delay), seq: m.seq, to: ep.Peer(), frame: f})
		}
	}
	sortWire(m.wire)
}

// run delivers frames and fires timers for d of virtual time.
func (m *meshNet) run(d time.Duration) {
	end := m.clk.Now().Add(d)
	for {
		m.collect()
		now := m.clk.Now()
		if len(m.wire) > 0 && !m.wire[0].at.After(now) {
			f := m.wire[0]
			m.wire = m.wire[1:]
			m.seen = append(m.seen, seenFrame{f.to, f.frame})
			f.to.Inject(f.frame)
			continue
		}
		next := end
		if len(m.wire) > 0 && m.wire[0].at.Before(next) {
			next = m.wire[0].at
		}
		if t, ok := m.clk.Next(); ok && t.Before(next) {
			next = t
		}
		if !next.After(now) && now.Equal(end) {
			return
		}
		m.clk.AdvanceTo(next)
	}
}

func (m *meshNet) runUntil(limit time.Duration, cond func() bool) bool {
	for waited := time.Duration(0); waited < limit; waited += time.Millisecond {
		if cond() {
			return true
		}
		m.run(time.Millisecond)
	}
	return cond()
}

// seenBy returns the IPv4 packets delivered to ep (without Ethernet header).
func (m *meshNet) seenBy(ep *pipe.Endpoint) [][]byte {
	var out [][]byte
	for _, f := range m.seen {
		if f.to == ep {
			if eth, p, err := wire.ParseEthernet(f.frame); err == nil && eth.Type == wire.EtherTypeIPv4 {
				out = append(out, p)
			}
		}
	}
	return out
}

var (
	lineA   = netip.MustParseAddr("10.0.1.1")
	lineRA  = netip.MustParseAddr("10.0.1.254")
	lineRB  = netip.MustParseAddr("10.0.2.254")
	lineB   = netip.MustParseAddr("10.0.2.1")
	lineFar = netip.MustParseAddr("10.0.9.1")
	macR1   = net.HardwareAddr{2, 0, 0, 0, 1, 1}
	macR2   = net.HardwareAddr{2, 0, 0, 0, 1, 2}
)

// lineNet is a — r — b: a on 10.0.1.0/24, b on 10.0.2.0/24, r a router
// with an interface on each and forwarding on; a and b route everything
// through r.
type lineNet struct {
	meshNet
	a, r, b              *Stack
	aEp, rAEp, rBEp, bEp *pipe.Endpoint
	aOpts, rOpts, bOpts  Options
	rbMTU                int
}

func newLineNet(t testing.TB, rbMTU int, aOpts Options) *lineNet {
	t.Helper()
	n := &lineNet{rbMTU: rbMTU}
	n.t, n.clk, n.delay = t, clock.NewManual(clock.Epoch), 2*time.Millisecond
	n.aEp, n.rAEp = pipe.Pair(pipe.Manual, 1500, macA, macR1)
	n.rBEp, n.bEp = pipe.Pair(pipe.Manual, rbMTU, macR2, macB)
	n.eps = []*pipe.Endpoint{n.aEp, n.rAEp, n.rBEp, n.bEp}
	nop := func(ProbeEvent) {}
	aOpts.Clock, aOpts.Seed, aOpts.Probe = n.clk, 1, nop
	n.a = New(aOpts)
	n.r = New(Options{Clock: n.clk, Seed: 2, Probe: nop, Forwarding: true})
	n.b = New(Options{Clock: n.clk, Seed: 3, Probe: nop})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ifc := func(s *Stack, name string, ep *pipe.Endpoint, a netip.Addr) int {
		t.Helper()
		id, err := s.AddInterface(name, ep)
		must(err)
		must(s.AddAddress(id, netip.PrefixFrom(a, 24)))
		return id
	}
	ifc(n.a, "eth0", n.aEp, lineA)
	ifc(n.r, "eth1", n.rAEp, lineRA)
	ifc(n.r, "eth2", n.rBEp, lineRB)
	ifc(n.b, "eth0", n.bEp, lineB)
	must(n.a.AddRoute(Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: lineRA, NIC: 0}))
	must(n.b.AddRoute(Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: lineRB, NIC: 0}))
	t.Cleanup(func() { n.a.Destroy(); n.r.Destroy(); n.b.Destroy() })
	n.run(10 * time.Millisecond) // gratuitous ARPs
	return n
}

func udpSocket(t testing.TB, s *Stack, port uint16) int {
	t.Helper()
	fd, err := s.Socket(SockDgram)
	if err != nil {
		t.Fatal(err)
	}
	s.SetNonblock(fd, true)
	if port != 0 {
		if err := s.Bind(fd, netip.AddrPortFrom(netip.Addr{}, port)); err != nil {
			t.Fatal(err)
		}
	}
	return fd
}

func TestRoutedTCPTransfer(t *testing.T) {
	n := newLineNet(t, 1500, Options{})
	lfd := mustSocket(t, n.b)
	n.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 80))
	n.b.Listen(lfd, 4)
	cfd := mustSocket(t, n.a)
	if err := n.a.Connect(cfd, lineB, 80); !errors.Is(err, EINPROGRESS) {
		t.Fatalf("Connect = %v", err)
	}
	afd := -1
	if !n.runUntil(5*time.Second, func() bool {
		fd, _, err := n.b.Accept(lfd)
		if err == nil {
			afd = fd
		}
		return afd >= 0
	}) {
		t.Fatal("no connection through the router")
	}
	n.b.SetNonblock(afd, true)
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var got []byte
	sent := 0
	buf := make([]byte, 64<<10)
	n.runUntil(30*time.Second, func() bool {
		w, _ := n.a.Write(cfd, data[sent:])
		sent += w
		for {
			r, _ := n.b.Read(afd, buf)
			if r <= 0 {
				break
			}
			got = append(got, buf[:r]...)
		}
		return len(got) == len(data)
	})
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d of %d bytes through the router, or different bytes", len(got), len(data))
	}
	// a reaches b through r: its ARP table holds the gateway only.
	var neigh []string
	for _, e := range n.a.Neighbors() {
		neigh = append(neigh, e.IP.String())
	}
	if len(neigh) != 1 || neigh[0] != lineRA.String() {
		t.Fatalf("a's neighbours %v, want only the gateway %v", neigh, lineRA)
	}
	// TTL 64 left a, 63 reached b (RFC 1812 §5.3.1).
	pkts := n.seenBy(n.bEp)
	if len(pkts) == 0 {
		t.Fatal("nothing reached b")
	}
	for _, p := range pkts {
		h, _, err := wire.ParseIPv4(p)
		if err != nil {
			t.Fatalf("bad packet at b: %v", err)
		}
		if h.Src == lineA && h.TTL != 63 {
			t.Fatalf("packet from a reached b with TTL %d, want 63", h.TTL)
		}
	}
	if st := n.r.Stats(); st.IpForwDatagrams < uint64(len(pkts)) {
		t.Fatalf("router forwarded %d datagrams, b got %d", st.IpForwDatagrams, len(pkts))
	}
}

func TestForwardTTLExpiredSendsTimeExceeded(t *testing.T) {
	n := newLineNet(t, 1500, Options{DefaultTTL: 1})
	u := udpSocket(t, n.a, 0)
	if _, err := n.a.SendTo(u, []byte("hop"), netip.AddrPortFrom(lineB, 7)); err != nil {
		t.Fatal(err)
	}
	n.run(50 * time.Millisecond)
	if st := n.r.Stats(); st.IcmpOutTimeExcds != 1 || st.IpForwDatagrams != 0 {
		t.Fatalf("router: time exceeded sent %d, forwarded %d; want 1, 0", st.IcmpOutTimeExcds, st.IpForwDatagrams)
	}
	if n.a.Stats().IcmpInTimeExcds != 1 {
		t.Fatalf("a received %d time exceeded, want 1", n.a.Stats().IcmpInTimeExcds)
	}
	var icmp *wire.ICMPv4Fields
	for _, p := range n.seenBy(n.aEp) {
		h, b, _ := wire.ParseIPv4(p)
		if h.Protocol == wire.ProtoICMP {
			f, _, _ := wire.ParseICMPv4(b)
			icmp = &f
			if h.Src != lineRA {
				t.Fatalf("time exceeded from %v, want the router's %v", h.Src, lineRA)
			}
		}
	}
	if icmp == nil || icmp.Type != wire.ICMPTimeExceeded || icmp.Code != wire.ICMPTTLExceeded {
		t.Fatalf("a got %+v, want ICMP time exceeded in transit", icmp)
	}
	// A connect whose SYN dies on the way fails with EHOSTUNREACH.
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, lineB, 80)
	n.run(50 * time.Millisecond)
	if err := n.a.Connect(fd, lineB, 80); !errors.Is(err, EHOSTUNREACH) {
		t.Fatalf("Connect with TTL 1 = %v, want EHOSTUNREACH", err)
	}
}

func TestForwardDoesNotAnswerICMPErrorWithICMPError(t *testing.T) {
	n := newLineNet(t, 1500, Options{})
	var id uint16
	// An ICMP error (port unreachable quoting some UDP) with TTL 1: RFC 1122
	// §3.2.2 forbids answering it; an echo request with TTL 1 is answered.
	quote := make([]byte, ipHdr+8)
	wire.EncodeIPv4(quote, &wire.IPv4Fields{TotalLength: ipHdr + 8, TTL: 5, Protocol: wire.ProtoUDP, Src: lineB, Dst: lineA})
	errMsg := make([]byte, wire.ICMPHeaderLen+len(quote))
	copy(errMsg[wire.ICMPHeaderLen:], quote)
	wire.EncodeICMPv4(errMsg, &wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPPortUnreachable})
	var srcMAC, rMAC wire.MAC
	copy(srcMAC[:], macA)
	copy(rMAC[:], macR1)
	n.aEp.WritePacket(ipv4Frame(srcMAC, rMAC, lineA, lineB, wire.ProtoICMP, 1, &id, errMsg))
	n.run(20 * time.Millisecond)
	if st := n.r.Stats(); st.IcmpOutTimeExcds != 0 {
		t.Fatalf("router answered an ICMP error with %d time exceeded", st.IcmpOutTimeExcds)
	}
	echo := make([]byte, wire.ICMPHeaderLen+4)
	wire.EncodeICMPv4(echo, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 1<<16 | 1})
	n.aEp.WritePacket(ipv4Frame(srcMAC, rMAC, lineA, lineB, wire.ProtoICMP, 1, &id, echo))
	n.run(20 * time.Millisecond)
	if st := n.r.Stats(); st.IcmpOutTimeExcds != 1 {
		t.Fatalf("router sent %d time exceeded for an echo with TTL 1, want 1", st.IcmpOutTimeExcds)
	}
}

func TestForwardNoRouteSendsNetUnreachable(t *testing.T) {
	n := newLineNet(t, 1500, Options{})
	u := udpSocket(t, n.a, 0)
	if err := n.a.Connect(u, lineFar, 53); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.Write(u, []byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	n.run(50 * time.Millisecond)
	if st := n.r.Stats(); st.IpOutNoRoutes != 1 || st.IcmpOutDestUnreachs != 1 {
		t.Fatalf("router: no routes %d, unreachables sent %d; want 1, 1", st.IpOutNoRoutes, st.IcmpOutDestUnreachs)
	}
	if _, _, err := n.a.RecvFrom(u, make([]byte, 10)); !errors.Is(err, ENETUNREACH) {
		t.Fatalf("RecvFrom on the connected socket = %v, want ENETUNREACH", err)
	}
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, lineFar, 80)
	n.run(50 * time.Millisecond)
	if err := n.a.Connect(fd, lineFar, 80); !errors.Is(err, ENETUNREACH) {
		t.Fatalf("Connect to an unroutable network = %v, want ENETUNREACH", err)
	}
}

func TestForwardFragmentsAndReassembles(t *testing.T) {
	n := newLineNet(t, 1000, Options{})
	rx := udpSocket(t, n.b, 7)
	tx := udpSocket(t, n.a, 0)
	for _, size := range []int{1400, 4000} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i)
		}
		if _, err := n.a.SendTo(tx, data, netip.AddrPortFrom(lineB, 7)); err != nil {
			t.Fatalf("SendTo %d bytes: %v", size, err)
		}
		n.run(50 * time.Millisecond)
		buf := make([]byte, 8000)
		got, from, err := n.b.RecvFrom(rx, buf)
		if err != nil || !bytes.Equal(buf[:got], data) || from.Addr() != lineA {
			t.Fatalf("b received %d bytes from %v (%v), want the %d sent by a", got, from, err, size)
		}
	}
	// 1400 bytes: 1428 at r, 2 fragments for MTU 1000. 4000 bytes: a makes
	// 3 fragments (1480+1480+1048), r splits each 1500-byte one in 2 and the
	// last in 2: 6.
	ra, rr, rb := n.a.Stats(), n.r.Stats(), n.b.Stats()
	if ra.IpFragCreates != 3 || ra.IpFragOKs != 1 {
		t.Fatalf("a: fragments created %d, datagrams fragmented %d; want 3, 1", ra.IpFragCreates, ra.IpFragOKs)
	}
	if rr.IpFragCreates != 8 || rr.IpFragOKs != 4 {
		t.Fatalf("router: fragments created %d, fragmented %d; want 8, 4", rr.IpFragCreates, rr.IpFragOKs)
	}
	if rb.IpReasmOKs != 2 || rb.IpReasmReqds != 8 || rb.IpReasmFails != 0 {
		t.Fatalf("b: reassembled %d from %d fragments, %d failures; want 2 from 8, 0", rb.IpReasmOKs, rb.IpReasmReqds, rb.IpReasmFails)
	}
	for _, p := range n.seenBy(n.bEp) {
		if len(p) > 1000 {
			t.Fatalf("a %d-byte packet crossed the 1000-byte link", len(p))
		}
	}
}

func TestForwardDFTooBigSendsFragNeeded(t *testing.T) {
	n := newLineNet(t, 1000, Options{})
	var id uint16
	var srcMAC, rMAC wire.MAC
	copy(srcMAC[:], macA)
	copy(rMAC[:], macR1)
	udp := make([]byte, 1400)
	wire.EncodeUDP(udp, &wire.UDPFields{SrcPort: 5000, DstPort: 7}, lineA, lineB)
	f := ipv4Frame(srcMAC, rMAC, lineA, lineB, wire.ProtoUDP, 64, &id, udp)
	ip := wire.IPv4(f[wire.EthernetHeaderLen:])
	h, _, _ := wire.ParseIPv4(ip)
	h.Flags = wire.IPv4FlagDF
	wire.EncodeIPv4(ip, &h)
	n.aEp.WritePacket(f)
	n.run(20 * time.Millisecond)
	if st := n.r.Stats(); st.IpFragFails != 1 || st.IpForwDatagrams != 0 {
		t.Fatalf("router: frag fails %d, forwarded %d; want 1, 0", st.IpFragFails, st.IpForwDatagrams)
	}
	var got *wire.ICMPv4Fields
	for _, p := range n.seenBy(n.aEp) {
		h, b, _ := wire.ParseIPv4(p)
		if h.Protocol == wire.ProtoICMP {
			f, _, _ := wire.ParseICMPv4(b)
			got = &f
		}
	}
	if got == nil || got.Type != wire.ICMPDestUnreachable || got.Code != wire.ICMPFragNeeded || got.NextHopMTU() != 1000 {
		t.Fatalf("a got %+v, want fragmentation needed with next-hop MTU 1000 (RFC 1191)", got)
	}
}

func TestSetForwardingOffDrops(t *testing.T) {
	n := newLineNet(t, 1500, Options{})
	rx := udpSocket(t, n.b, 7)
	tx := udpSocket(t, n.a, 0)
	n.r.SetForwarding(false)
	n.a.SendTo(tx, []byte("blocked"), netip.AddrPortFrom(lineB, 7))
	n.run(50 * time.Millisecond)
	if _, _, err := n.b.RecvFrom(rx, make([]byte, 10)); !errors.Is(err, EAGAIN) {
		t.Fatalf("with forwarding off b received something (%v)", err)
	}
	if st := n.r.Stats(); st.IpInAddrErrors != 1 || st.IpForwDatagrams != 0 {
		t.Fatalf("router: addr errors %d, forwarded %d; want 1, 0", st.IpInAddrErrors, st.IpForwDatagrams)
	}
	n.r.SetForwarding(true)
	n.a.SendTo(tx, []byte("open"), netip.AddrPortFrom(lineB, 7))
	n.run(50 * time.Millisecond)
	buf := make([]byte, 10)
	if r, _, err := n.b.RecvFrom(rx, buf); err != nil || string(buf[:r]) != "open" {
		t.Fatalf("with forwarding back on: %q, %v", buf[:r], err)
	}
}

// twoNICStack is one stack with two interfaces whose pipes the test reads.
func twoNICStack(t *testing.T) (*Stack, *pipe.Endpoint, *pipe.Endpoint) {
	t.Helper()
	clk := clock.NewManual(clock.Epoch)
	s := New(Options{Clock: clk, Seed: 1})
	t.Cleanup(s.Destroy)
	e0, _ := pipe.Pair(pipe.Manual, 1500, macA, macB)
	e1, _ := pipe.Pair(pipe.Manual, 1500, macR1, macR2)
	for i, x := range []struct {
		ep *pipe.Endpoint
		a  string
	}{{e0, "10.0.0.1/24"}, {e1, "10.0.1.1/24"}} {
		id, err := s.AddInterface("eth"+itoa(i), x.ep)
		if err != nil || id != i {
			t.Fatalf("AddInterface = %d, %v", id, err)
		}
		if err := s.AddAddress(id, netip.MustParsePrefix(x.a)); err != nil {
			t.Fatal(err)
		}
	}
	e0.Take()
	e1.Take()
	return s, e0, e1
}

// arpTargets returns the targets of the ARP requests queued on ep.
func arpTargets(ep *pipe.Endpoint) []netip.Addr {
	var out []netip.Addr
	for _, f := range ep.Take() {
		if eth, p, err := wire.ParseEthernet(f); err == nil && eth.Type == wire.EtherTypeARP {
			if a, err := wire.ParseARP(p); err == nil && a.Op == wire.ARPRequest {
				out = append(out, a.TargetIP)
			}
		}
	}
	return out
}

func TestRouteLongestPrefixMatch(t *testing.T) {
	s, e0, e1 := twoNICStack(t)
	for _, r := range []Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.254"), NIC: 0},
		{Dst: netip.MustParsePrefix("10.1.2.0/24"), Gateway: netip.MustParseAddr("10.0.1.254"), NIC: 1},
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.253"), NIC: 0},
	} {
		if err := s.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	u := udpSocket(t, s, 0)
	for _, tc := range []struct {
		dst     string
		ep      *pipe.Endpoint
		nextHop string
	}{
		{"10.1.2.3", e1, "10.0.1.254"}, // the /24 beats the /16
		{"10.1.3.3", e0, "10.0.0.254"}, // the /16
		{"8.8.8.8", e0, "10.0.0.253"},  // the default route
		{"10.0.1.77", e1, "10.0.1.77"}, // connected: on the link
		{"10.0.0.255", e0, ""},         // the subnet broadcast: no ARP
	} {
		if _, err := s.SendTo(u, []byte("x"), netip.AddrPortFrom(netip.MustParseAddr(tc.dst), 9)); err != nil {
			t.Fatalf("SendTo %s: %v", tc.dst, err)
		}
		other := e0
		if tc.ep == e0 {
			other = e1
		}
		got := arpTargets(tc.ep)
		if leak := arpTargets(other); len(leak) != 0 {
			t.Fatalf("to %s: ARP on the wrong interface for %v", tc.dst, leak)
		}
		if tc.nextHop == "" {
			if len(got) != 0 {
				t.Fatalf("to broadcast %s: ARP for %v, want none", tc.dst, got)
			}
			continue
		}
		if len(got) != 1 || got[0].String() != tc.nextHop {
			t.Fatalf("to %s: ARP for %v, want next hop %s", tc.dst, got, tc.nextHop)
		}
	}
	var rs []string
	for _, r := range s.Routes() {
		rs = append(rs, r.String())
	}
	want := []string{"10.0.0.0/24 dev 0", "10.0.1.0/24 dev 1", "10.1.2.0/24 via 10.0.1.254 dev 1", "10.1.0.0/16 via 10.0.0.254 dev 0", "0.0.0.0/0 via 10.0.0.253 dev 0"}
	if strings.Join(rs, "; ") != strings.Join(want, "; ") {
		t.Fatalf("Routes() = %q, want %q (longest prefix first)", rs, want)
	}
	if err := s.AddRoute(Route{Dst: netip.MustParsePrefix("10.2.0.0/16"), NIC: 7}); err == nil {
		t.Fatal("AddRoute on interface 7 succeeded")
	}
	if err := s.AddRoute(Route{Dst: netip.MustParsePrefix("fd00::/8"), NIC: 0}); err == nil {
		t.Fatal("AddRoute for an IPv6 prefix succeeded")
	}
	if err := s.AddRoute(Route{NIC: 0}); err == nil {
		t.Fatal("AddRoute without a destination succeeded")
	}
}

func TestNoRouteIsENETUNREACH(t *testing.T) {
	p := newRawPeer(t, Options{})
	u := udpSocket(t, p.s, 0)
	if _, err := p.s.SendTo(u, []byte("x"), netip.MustParseAddrPort("192.168.7.7:9")); !errors.Is(err, ENETUNREACH) {
		t.Fatalf("SendTo without a route = %v, want ENETUNREACH", err)
	}
	fd := mustSocket(t, p.s)
	if err := p.s.Connect(fd, netip.MustParseAddr("192.168.7.7"), 80); !errors.Is(err, ENETUNREACH) {
		t.Fatalf("Connect without a route = %v, want ENETUNREACH", err)
	}
	if _, err := p.s.Ping(context.Background(), netip.MustParseAddr("192.168.7.7"), 1, 8); !errors.Is(err, ENETUNREACH) {
		t.Fatalf("Ping without a route = %v, want ENETUNREACH", err)
	}
	if n := p.s.Stats().IpOutNoRoutes; n != 1 {
		t.Fatalf("IpOutNoRoutes = %d, want 1 (only Ping reaches the IP layer)", n)
	}
}

// ---- ARP ----

func TestARPRequestReplyBothWays(t *testing.T) {
	n := newTestNet(t, Options{})
	ua, ub := udpSocket(t, n.a, 1000), udpSocket(t, n.b, 2000)
	n.a.SendTo(ua, []byte("hi b"), netip.AddrPortFrom(addrB, 2000))
	n.run(50 * time.Millisecond)
	buf := make([]byte, 100)
	r, from, err := n.b.RecvFrom(ub, buf)
	if err != nil || string(buf[:r]) != "hi b" || from != netip.AddrPortFrom(addrA, 1000) {
		t.Fatalf("b RecvFrom = %q from %v, %v", buf[:r], from, err)
	}
	// b learned a from a's request (RFC 826 merge): its answer needs no ARP.
	n.b.SendTo(ub, []byte("hi a"), from)
	n.run(50 * time.Millisecond)
	r, _, err = n.a.RecvFrom(ua, buf)
	if err != nil || string(buf[:r]) != "hi a" {
		t.Fatalf("a RecvFrom = %q, %v", buf[:r], err)
	}
	sa, sb := n.a.Stats(), n.b.Stats()
	// One gratuitous announcement each, then one real request from a.
	if sa.ArpOutRequests != 2 || sb.ArpOutRequests != 1 || sb.ArpOutReplies != 1 || sa.ArpOutReplies != 0 {
		t.Fatalf("ARP requests a %d b %d, replies a %d b %d; want 2 1 0 1",
			sa.ArpOutRequests, sb.ArpOutRequests, sa.ArpOutReplies, sb.ArpOutReplies)
	}
	for _, tc := range []struct {
		s   *Stack
		ip  netip.Addr
		mac net.HardwareAddr
	}{{n.a, addrB, macB}, {n.b, addrA, macA}} {
		nb := tc.s.Neighbors()
		if len(nb) != 1 || nb[0].IP != tc.ip || nb[0].MAC != tc.mac.String() || !nb[0].Resolved || nb[0].NIC != "eth1" {
			t.Fatalf("Neighbors = %+v, want %v at %v resolved on eth1", nb, tc.ip, tc.mac)
		}
	}
}

func TestARPCacheExpiryAndReresolution(t *testing.T) {
	n := newTestNet(t, Options{ARPTimeout: 10 * time.Second})
	ua := udpSocket(t, n.a, 1000)
	udpSocket(t, n.b, 2000)
	n.a.SendTo(ua, []byte("1"), netip.AddrPortFrom(addrB, 2000))
	n.run(50 * time.Millisecond)
	if len(n.a.Neighbors()) != 1 {
		t.Fatal("no ARP entry after the first datagram")
	}
	n.run(9 * time.Second)
	n.a.SendTo(ua, []byte("2"), netip.AddrPortFrom(addrB, 2000)) // still cached
	n.run(time.Second)
	if len(n.a.Neighbors()) != 0 {
		t.Fatalf("entry still cached %v after ARPTimeout: %+v", n.clk.Now().Sub(clock.Epoch), n.a.Neighbors())
	}
	if got := n.a.Stats().ArpOutRequests; got != 2 {
		t.Fatalf("ARP requests before expiry %d, want 2 (gratuitous + one)", got)
	}
	n.a.SendTo(ua, []byte("3"), netip.AddrPortFrom(addrB, 2000))
	n.run(50 * time.Millisecond)
	if got := n.a.Stats().ArpOutRequests; got != 3 {
		t.Fatalf("ARP requests after expiry %d, want 3 (resolved again)", got)
	}
	if got := n.b.Stats().UdpInDatagrams; got != 3 {
		t.Fatalf("b received %d datagrams, want 3", got)
	}
}

func TestARPFailureFailsConnectWithEHOSTUNREACH(t *testing.T) {
	n := newTestNet(t, Options{})
	fd := mustSocket(t, n.a)
	nobody := netip.MustParseAddr("10.0.0.99")
	n.a.Connect(fd, nobody, 80)
	n.run(2900 * time.Millisecond)
	if err := n.a.Connect(fd, nobody, 80); !errors.Is(err, EALREADY) {
		t.Fatalf("Connect while resolving = %v, want EALREADY", err)
	}
	n.run(200 * time.Millisecond)
	if err := n.a.Connect(fd, nobody, 80); !errors.Is(err, EHOSTUNREACH) {
		t.Fatalf("Connect after ARP failed = %v, want EHOSTUNREACH", err)
	}
	st := n.a.Stats()
	if st.ArpFailures != 1 || st.ArpOutRequests != 1+3 {
		t.Fatalf("ARP failures %d, requests %d; want 1, 4 (gratuitous + 3 tries)", st.ArpFailures, st.ArpOutRequests)
	}
	if len(n.a.Neighbors()) != 0 {
		t.Fatalf("failed entry kept: %+v", n.a.Neighbors())
	}
}

func TestARPQueueBounded(t *testing.T) {
	n := newTestNet(t, Options{})
	u := udpSocket(t, n.a, 0)
	for i := 0; i < maxARPQueue+8; i++ {
		n.a.SendTo(u, []byte{byte(i)}, netip.MustParseAddrPort("10.0.0.99:9"))
	}
	if got := n.a.Stats().ArpQueueDrops; got != 8 {
		t.Fatalf("ArpQueueDrops = %d, want 8 beyond the %d-packet queue", got, maxARPQueue)
	}
	nb := n.a.Neighbors()
	if len(nb) != 1 || nb[0].Resolved {
		t.Fatalf("Neighbors = %+v, want one unresolved entry", nb)
	}
}

func TestGratuitousARP(t *testing.T) {
	p := newRawPeer(t, Options{})
	// Announce on AddAddress (RFC 5227 §3).
	if err := p.s.AddAddress(0, netip.MustParsePrefix("10.0.0.5/24")); err != nil {
		t.Fatal(err)
	}
	p.pump()
	last := p.arps[len(p.arps)-1]
	five := netip.MustParseAddr("10.0.0.5")
	if last.Op != wire.ARPRequest || last.SenderIP != five || last.TargetIP != five || last.SenderMAC != p.smac {
		t.Fatalf("ARP after AddAddress: %+v, want a gratuitous request for %v", last, five)
	}
	// Receive: a gratuitous ARP from a known neighbour updates its MAC.
	u := udpSocket(t, p.s, 0)
	p.s.SendTo(u, []byte("1"), netip.AddrPortFrom(p.ip, 9))
	p.drain()
	p.mac = wire.MAC{2, 0, 0, 0, 0, 0x99}
	arps := len(p.arps)
	p.inject(p.arpFrame(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, p.ip))
	if len(p.out) != 0 || len(p.arps) != arps {
		t.Fatalf("the stack answered a gratuitous ARP: %d frames, %d ARPs", len(p.out), len(p.arps))
	}
	nb := p.s.Neighbors()
	if len(nb) != 1 || nb[0].MAC != p.mac.String() {
		t.Fatalf("Neighbors after the announcement: %+v, want %v", nb, p.mac)
	}
	p.s.SendTo(u, []byte("2"), netip.AddrPortFrom(p.ip, 9))
	if f := p.next(); f == nil || wire.Ethernet(f).Dst() != p.mac {
		t.Fatalf("next datagram not sent to the new MAC %v", p.mac)
	}
	// An ARP request from an unknown host for someone else adds nothing.
	other := *p
	other.ip = netip.MustParseAddr("10.0.0.77")
	p.inject(other.arpFrame(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, netip.MustParseAddr("10.0.0.78")))
	if nb := p.s.Neighbors(); len(nb) != 1 {
		t.Fatalf("Neighbors = %+v, want only the peer", nb)
	}
}

func TestInterfaceAndAddressErrors(t *testing.T) {
	p := newRawPeer(t, Options{})
	e, _ := pipe.Pair(pipe.Manual, 1500, macR1, macR2)
	if _, err := p.s.AddInterface("eth1", e); err == nil {
		t.Fatal("AddInterface with a used name succeeded")
	}
	bad, _ := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{1, 2, 3, 4}, macR2)
	if _, err := p.s.AddInterface("eth9", bad); err == nil {
		t.Fatal("AddInterface with a 4-byte MAC succeeded")
	}
	for _, tc := range []struct {
		nic int
		p   string
	}{{0, "fd00::1/64"}, {5, "10.9.0.1/24"}, {0, "10.0.0.1/24"}} {
		if err := p.s.AddAddress(tc.nic, netip.MustParsePrefix(tc.p)); err == nil {
			t.Fatalf("AddAddress(%d, %s) succeeded", tc.nic, tc.p)
		}
	}
	id, err := p.s.AddInterface("eth2", e)
	if err != nil || id != 1 {
		t.Fatalf("AddInterface eth2 = %d, %v", id, err)
	}
	p.s.AddAddress(id, netip.MustParsePrefix("192.168.5.1/24"))
	ifs := p.s.Interfaces()
	if len(ifs) != 2 || ifs[1].Name != "eth2" || ifs[1].MAC != "02:00:00:00:01:01" || ifs[1].MTU != 1500 ||
		len(ifs[1].Addrs) != 1 || ifs[1].Addrs[0].String() != "192.168.5.1/24" || ifs[0].Addrs[0].String() != "10.0.0.1/24" {
		t.Fatalf("Interfaces() = %+v", ifs)
	}
}

// ---- ICMP ----

// ping runs Ping in a goroutine while the network runs (Ping blocks on the
// reply; the virtual clock only moves when the test moves it).
func ping(t *testing.T, n *testNet, s *Stack, ep *pipe.Endpoint, dst netip.Addr, seq uint16) (PingResult, error) {
	t.Helper()
	type result struct {
		r   PingResult
		err error
	}
	ch := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queued := ep.Queued()
	go func() {
		r, err := s.Ping(ctx, dst, seq, 56)
		ch <- result{r, err}
	}()
	for ep.Queued() == queued { // the request (or its ARP) is out
		yield()
	}
	for i := 0; i < 5000; i++ {
		select {
		case r := <-ch:
			return r.r, r.err
		default:
		}
		n.run(time.Millisecond)
	}
	cancel()
	r := <-ch
	return r.r, r.err
}

func TestPingEchoAndCounters(t *testing.T) {
	n := newTestNet(t, Options{Probe: func(ProbeEvent) {}})
	n.run(10 * time.Millisecond) // the gratuitous ARPs, which would resolve b early
	r, err := ping(t, n, n.a, n.ea, addrB, 1)
	if err != nil {
		t.Fatalf("first Ping: %v", err)
	}
	if r.RTT != 20*time.Millisecond || r.TTL != 64 {
		t.Fatalf("first Ping RTT %v TTL %d, want 20ms (ARP + echo, 5 ms a frame) and 64", r.RTT, r.TTL)
	}
	r, err = ping(t, n, n.a, n.ea, addrB, 2)
	if err != nil || r.RTT != 10*time.Millisecond {
		t.Fatalf("second Ping RTT %v (%v), want 10ms", r.RTT, err)
	}
	sa, sb := n.a.Stats(), n.b.Stats()
	if sa.IcmpOutEchos != 2 || sa.IcmpInEchoReps != 2 || sb.IcmpInEchos != 2 || sb.IcmpOutEchoReps != 2 || sb.IcmpInMsgs != 2 {
		t.Fatalf("a echos out %d replies in %d; b echos in %d replies out %d msgs %d; want 2 each",
			sa.IcmpOutEchos, sa.IcmpInEchoReps, sb.IcmpInEchos, sb.IcmpOutEchoReps, sb.IcmpInMsgs)
	}
	// Nobody answers: Ping ends with the context.
	n.fault = func(*Stack, []byte) frameVerdict { return frameVerdict{drop: true} }
	if _, err := ping(t, n, n.a, n.ea, addrB, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping into a black hole = %v, want context.Canceled", err)
	}
	if _, err := n.a.Ping(context.Background(), addrB, 4, -1); err == nil {
		t.Fatal("Ping with size -1 succeeded")
	}
	if _, err := n.a.Ping(context.Background(), addrB, 4, 70000); err == nil {
		t.Fatal("Ping with size 70000 succeeded")
	}
}

func TestEchoRequestAnsweredByRawPeer(t *testing.T) {
	p := newRawPeer(t, Options{})
	req := make([]byte, wire.ICMPHeaderLen+5)
	copy(req[wire.ICMPHeaderLen:], "hello")
	wire.EncodeICMPv4(req, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 0x1234<<16 | 7})
	p.inject(p.ipFrame(wire.ProtoICMP, req))
	h, body := p.expectICMP(t)
	if h.Type != wire.ICMPEchoReply || h.ID() != 0x1234 || h.Seq() != 7 || string(body) != "hello" {
		t.Fatalf("echo reply %+v %q, want id 0x1234 seq 7 %q", h, body, "hello")
	}
	// Echo to the subnet broadcast: silence (RFC 1122 §3.2.2.6 allows it).
	var id uint16
	p.inject(ipv4Frame(p.mac, wire.BroadcastMAC(), p.ip, netip.MustParseAddr("10.0.0.255"), wire.ProtoICMP, 64, &id, req))
	p.expectNone(t)
	if n := p.s.Stats().IcmpInEchos; n != 2 {
		t.Fatalf("IcmpInEchos = %d, want 2", n)
	}
	// A stray echo reply and an unknown type are counted and ignored.
	rep := make([]byte, wire.ICMPHeaderLen)
	wire.EncodeICMPv4(rep, &wire.ICMPv4Fields{Type: wire.ICMPEchoReply, Rest: 99})
	p.inject(p.ipFrame(wire.ProtoICMP, rep))
	wire.EncodeICMPv4(rep, &wire.ICMPv4Fields{Type: 13})
	p.inject(p.ipFrame(wire.ProtoICMP, rep))
	p.expectNone(t)
	if st := p.s.Stats(); st.IcmpInEchoReps != 1 || st.IcmpInMsgs != 4 {
		t.Fatalf("IcmpInEchoReps %d IcmpInMsgs %d, want 1 4", st.IcmpInEchoReps, st.IcmpInMsgs)
	}
}

func TestUnknownProtocolGetsProtocolUnreachable(t *testing.T) {
	p := newRawPeer(t, Options{})
	p.inject(p.ipFrame(99, []byte("whatever protocol 99 is")))
	h, body := p.expectICMP(t)
	if h.Type != wire.ICMPDestUnreachable || h.Code != wire.ICMPProtoUnreachable {
		t.Fatalf("answer %+v, want protocol unreachable", h)
	}
	q, _, err := wire.ParseIPv4(body)
	if err != nil || q.Protocol != 99 || q.Src != p.ip {
		t.Fatalf("quoted header %+v (%v), want the packet of protocol 99 from %v", q, err, p.ip)
	}
	if n := p.s.Stats().IpInUnknownProtos; n != 1 {
		t.Fatalf("IpInUnknownProtos = %d, want 1", n)
	}
}

func TestReassemblyTimeoutSendsTimeExceeded(t *testing.T) {
	p := newRawPeer(t, Options{ReassemblyTimeout: 5 * time.Second})
	udp := make([]byte, 16)
	wire.EncodeUDP(udp, &wire.UDPFields{SrcPort: 1, DstPort: 7}, p.ip, p.sip)
	f := p.ipFrame(wire.ProtoUDP, udp)
	ip := wire.IPv4(f[wire.EthernetHeaderLen:])
	h, _, _ := wire.ParseIPv4(ip)
	h.Flags = wire.IPv4FlagMF // the first fragment; the rest never comes
	wire.EncodeIPv4(ip, &h)
	p.inject(f)
	p.expectNone(t)
	p.advance(5*time.Second - time.Millisecond)
	p.expectNone(t)
	p.advance(time.Millisecond)
	ic, body := p.expectICMP(t)
	if ic.Type != wire.ICMPTimeExceeded || ic.Code != wire.ICMPFragReassemblyExceeded {
		t.Fatalf("after the reassembly timeout: %+v, want time exceeded, reassembly", ic)
	}
	if q, _, err := wire.ParseIPv4(body); err != nil || q.ID != h.ID {
		t.Fatalf("quoted %+v (%v), want the first fragment (ID %d)", q, err, h.ID)
	}
	st := p.s.Stats()
	if st.IpReasmTimeout != 1 || st.IpReasmFails != 1 || st.IpReasmReqds != 1 {
		t.Fatalf("reasm timeouts %d fails %d reqds %d, want 1 1 1", st.IpReasmTimeout, st.IpReasmFails, st.IpReasmReqds)
	}
}

// TestMalformedFramesCountedAndDropped feeds one broken frame per layer and
// checks it is dropped silently and counted where nstat counts it.
func TestMalformedFramesCountedAndDropped(t *testing.T) {
	p := newRawPeer(t, Options{})
	u := udpSocket(t, p.s, 7)
	p.listen(t, 80, 4)
	var id uint16
	eth := func(typ wire.EtherType, payload []byte) []byte {
		f := make([]byte, wire.EthernetHeaderLen+len(payload))
		wire.EncodeEthernet(f, &wire.EthernetFields{Dst: p.smac, Src: p.mac, Type: typ})
		copy(f[wire.EthernetHeaderLen:], payload)
		return f
	}
	corrupt := func(f []byte, off int) []byte { f[off] ^= 0x55; return f }
	tcpSyn := p.tcpBytes(wire.TCPFields{SrcPort: 1, DstPort: 80, Seq: 1, Flags: flagS}, nil)
	udp := make([]byte, 12)
	wire.EncodeUDP(udp, &wire.UDPFields{SrcPort: 1, DstPort: 7}, p.ip, p.sip)
	echo := make([]byte, 12)
	wire.EncodeICMPv4(echo, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest})
	badIHL := p.ipFrame(wire.ProtoUDP, udp)
	badIHL[wire.EthernetHeaderLen] = 0x43
	for _, tc := range []struct {
		name    string
		frame   []byte
		counter string
	}{
		{"runt Ethernet", []byte{1, 2, 3}, "EthInErrors"},
		{"unknown EtherType", eth(wire.EtherTypeIPv6, make([]byte, 40)), "EthInUnknownProtos"},
		{"short ARP", eth(wire.EtherTypeARP, make([]byte, 10)), "ArpInErrors"},
		{"IPv4 bad header checksum", corrupt(p.ipFrame(wire.ProtoUDP, udp), wire.EthernetHeaderLen+10), "IpInCsumErrors"},
		{"IPv4 bad IHL", badIHL, "IpInHdrErrors"},
		{"IPv4 truncated", eth(wire.EtherTypeIPv4, make([]byte, 12)), "IpInHdrErrors"},
		{"not our address", func() []byte {
			return ipv4Frame(p.mac, p.smac, p.ip, netip.MustParseAddr("10.0.0.50"), wire.ProtoUDP, 64, &id, udp)
		}(), "IpInAddrErrors"},
		{"TCP bad checksum", corrupt(p.ipFrame(wire.ProtoTCP, tcpSyn), wire.EthernetHeaderLen+ipHdr+4), "TcpInCsumErrors"},
		{"TCP truncated", p.ipFrame(wire.ProtoTCP, tcpSyn[:10]), "TcpInErrs"},
		{"UDP bad checksum", corrupt(p.ipFrame(wire.ProtoUDP, udp), wire.EthernetHeaderLen+ipHdr+9), "UdpInCsumErrors"},
		{"UDP truncated", p.ipFrame(wire.ProtoUDP, udp[:5]), "UdpInErrors"},
		{"ICMP bad checksum", corrupt(p.ipFrame(wire.ProtoICMP, echo), wire.EthernetHeaderLen+ipHdr+9), "IcmpInCsumErrors"},
		{"ICMP truncated", p.ipFrame(wire.ProtoICMP, echo[:4]), "IcmpInErrors"},
	} {
		before := p.s.Stats().Map()
		p.inject(tc.frame)
		p.expectNone(t)
		after := p.s.Stats().Map()
		if after[tc.counter] != before[tc.counter]+1 {
			t.Fatalf("%s: %s %d -> %d, want +1", tc.name, tc.counter, before[tc.counter], after[tc.counter])
		}
	}
	// A frame for another MAC is not for us: dropped without a count.
	other := p.ipFrame(wire.ProtoUDP, udp)
	copy(other, []byte{2, 9, 9, 9, 9, 9})
	before := p.s.Stats()
	p.inject(other)
	if after := p.s.Stats(); after != before {
		t.Fatal("a frame for another MAC changed the counters")
	}
	if _, _, err := p.s.RecvFrom(u, make([]byte, 10)); !errors.Is(err, EAGAIN) {
		t.Fatalf("a corrupt datagram was delivered (%v)", err)
	}
}

// ---- UDP ----

func TestUDPSendToRecvFrom(t *testing.T) {
	n := newTestNet(t, Options{})
	ua, ub := udpSocket(t, n.a, 0), udpSocket(t, n.b, 5353)
	for _, m := range []string{"one", "two", "three"} {
		if w, err := n.a.SendTo(ua, []byte(m), netip.AddrPortFrom(addrB, 5353)); w != len(m) || err != nil {
			t.Fatalf("SendTo = %d, %v", w, err)
		}
	}
	n.run(50 * time.Millisecond)
	local, _ := n.a.LocalAddr(ua)
	if p := local.Port(); p < 32768 || p > 60999 {
		t.Fatalf("implicit bind to port %d, want an ephemeral port", p)
	}
	small := make([]byte, 3)
	for _, want := range []string{"one", "two", "thr"} { // truncated as recvfrom(2)
		r, from, err := n.b.RecvFrom(ub, small)
		if err != nil || string(small[:r]) != want || from.Port() != local.Port() {
			t.Fatalf("RecvFrom = %q from %v, %v; want %q from port %d", small[:r], from, err, want, local.Port())
		}
	}
	if _, _, err := n.b.RecvFrom(ub, small); !errors.Is(err, EAGAIN) {
		t.Fatalf("RecvFrom on an empty queue = %v, want EAGAIN", err)
	}
	if st := n.b.Stats(); st.UdpInDatagrams != 3 || n.a.Stats().UdpOutDatagrams != 3 {
		t.Fatalf("UdpInDatagrams %d UdpOutDatagrams %d, want 3 3", st.UdpInDatagrams, n.a.Stats().UdpOutDatagrams)
	}
	// Errors.
	tcp := mustSocket(t, n.a)
	if _, err := n.a.SendTo(tcp, []byte("x"), netip.AddrPortFrom(addrB, 1)); !errors.Is(err, EOPNOTSUPP) {
		t.Fatalf("SendTo on TCP = %v, want EOPNOTSUPP", err)
	}
	if _, _, err := n.a.RecvFrom(tcp, small); !errors.Is(err, EOPNOTSUPP) {
		t.Fatalf("RecvFrom on TCP = %v, want EOPNOTSUPP", err)
	}
	if _, err := n.a.Write(ua, []byte("x")); !errors.Is(err, EDESTADDRREQ) {
		t.Fatalf("Write on an unconnected UDP socket = %v, want EDESTADDRREQ", err)
	}
	if _, err := n.a.SendTo(ua, make([]byte, 65508), netip.AddrPortFrom(addrB, 1)); !errors.Is(err, EMSGSIZE) {
		t.Fatalf("SendTo 65508 bytes = %v, want EMSGSIZE", err)
	}
	if _, err := n.a.SendTo(99, nil, netip.AddrPortFrom(addrB, 1)); !errors.Is(err, EBADF) {
		t.Fatalf("SendTo on fd 99 = %v, want EBADF", err)
	}
	if _, _, err := n.a.RecvFrom(99, nil); !errors.Is(err, EBADF) {
		t.Fatalf("RecvFrom on fd 99 = %v, want EBADF", err)
	}
	if err := n.b.Bind(udpSocket(t, n.b, 0), netip.AddrPortFrom(netip.Addr{}, 5353)); !errors.Is(err, EADDRINUSE) {
		t.Fatalf("Bind to a used UDP port = %v, want EADDRINUSE", err)
	}
}

func TestUDPConnectedAndPortUnreachable(t *testing.T) {
	n := newTestNet(t, Options{})
	ua, ub := udpSocket(t, n.a, 4000), udpSocket(t, n.b, 4001)
	if err := n.a.Connect(ua, addrB, 4001); err != nil {
		t.Fatal(err)
	}
	if remote, err := n.a.RemoteAddr(ua); err != nil || remote != netip.AddrPortFrom(addrB, 4001) {
		t.Fatalf("RemoteAddr = %v, %v", remote, err)
	}
	if _, err := n.a.Write(ua, []byte("via write")); err != nil {
		t.Fatal(err)
	}
	n.run(50 * time.Millisecond)
	buf := make([]byte, 100)
	r, err := n.b.Read(ub, buf)
	if err != nil || string(buf[:r]) != "via write" {
		t.Fatalf("Read on b = %q, %v", buf[:r], err)
	}
	// A connected socket takes datagrams from its peer only; others are
	// treated as for a closed port.
	stranger := udpSocket(t, n.b, 4999)
	n.b.SendTo(stranger, []byte("not you"), netip.AddrPortFrom(addrA, 4000))
	n.b.SendTo(ub, []byte("reply"), netip.AddrPortFrom(addrA, 4000))
	n.run(50 * time.Millisecond)
	r, err = n.a.Read(ua, buf)
	if err != nil || string(buf[:r]) != "reply" {
		t.Fatalf("Read on the connected socket = %q, %v; want only the peer's datagram", buf[:r], err)
	}
	if st := n.a.Stats(); st.UdpNoPorts != 1 || st.IcmpOutDestUnreachs != 1 {
		t.Fatalf("a: UdpNoPorts %d IcmpOutDestUnreachs %d, want 1 1", st.UdpNoPorts, st.IcmpOutDestUnreachs)
	}
	// The peer's port closes: port unreachable comes back, and the next
	// call on the connected socket reports ECONNREFUSED once.
	n.b.Close(ub)
	n.a.Write(ua, []byte("anyone?"))
	n.run(50 * time.Millisecond)
	if st := n.b.Stats(); st.UdpNoPorts != 1 || st.IcmpOutDestUnreachs != 1 {
		t.Fatalf("b: UdpNoPorts %d IcmpOutDestUnreachs %d, want 1 1", st.UdpNoPorts, st.IcmpOutDestUnreachs)
	}
	if _, _, err := n.a.RecvFrom(ua, buf); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("RecvFrom after port unreachable = %v, want ECONNREFUSED", err)
	}
	if _, _, err := n.a.RecvFrom(ua, buf); !errors.Is(err, EAGAIN) {
		t.Fatalf("second RecvFrom = %v, want EAGAIN (reported once)", err)
	}
	n.a.Write(ua, []byte("again?"))
	n.run(50 * time.Millisecond)
	if _, err := n.a.Write(ua, []byte("x")); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Write after port unreachable = %v, want ECONNREFUSED", err)
	}
	// Datagrams to a broadcast address with no listener draw no ICMP.
	n.a.SendTo(udpSocket(t, n.a, 0), []byte("all"), netip.MustParseAddrPort("10.0.0.255:9"))
	n.run(50 * time.Millisecond)
	if st := n.b.Stats(); st.UdpNoPorts != 3 || st.IcmpOutDestUnreachs != 2 {
		t.Fatalf("b after a broadcast: UdpNoPorts %d IcmpOutDestUnreachs %d, want 3 2",
			st.UdpNoPorts, st.IcmpOutDestUnreachs)
	}
}

func TestUDPReceiveBufferOverflow(t *testing.T) {
	n := newTestNet(t, Options{})
	ua, ub := udpSocket(t, n.a, 0), udpSocket(t, n.b, 7)
	if err := n.b.SetOption(ub, OptReceiveBuffer, 100); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n.a.SendTo(ua, make([]byte, 40), netip.AddrPortFrom(addrB, 7))
	}
	n.run(50 * time.Millisecond)
	if st := n.b.Stats(); st.UdpInDatagrams != 2 || st.UdpRcvbufErrors != 1 {
		t.Fatalf("delivered %d, buffer errors %d; want 2, 1", st.UdpInDatagrams, st.UdpRcvbufErrors)
	}
}

// ---- inspection API ----

func TestSocketsLocalAndRemoteAddr(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, lfd, afd := n.connectPair(80)
	u := udpSocket(t, n.b, 53)
	rows := n.b.Sockets()
	want := []SocketInfo{
		{FD: lfd, Type: SockStream, State: "LISTEN", Local: netip.MustParseAddrPort("0.0.0.0:80")},
		{FD: afd, Type: SockStream, State: "ESTABLISHED", Local: netip.AddrPortFrom(addrB, 80)},
		{FD: u, Type: SockDgram, State: "UNCONN", Local: netip.MustParseAddrPort("0.0.0.0:53")},
	}
	local, _ := n.a.LocalAddr(cfd)
	want[1].Remote = local
	if len(rows) != len(want) {
		t.Fatalf("Sockets() = %+v, want %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Fatalf("Sockets()[%d] = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if r, err := n.a.RemoteAddr(cfd); err != nil || r != netip.AddrPortFrom(addrB, 80) {
		t.Fatalf("RemoteAddr = %v, %v", r, err)
	}
	if l, err := n.b.LocalAddr(lfd); err != nil || l.Port() != 80 {
		t.Fatalf("LocalAddr(listener) = %v, %v", l, err)
	}
	if _, err := n.b.RemoteAddr(lfd); !errors.Is(err, ENOTCONN) {
		t.Fatalf("RemoteAddr(listener) = %v, want ENOTCONN", err)
	}
	if _, err := n.b.LocalAddr(99); !errors.Is(err, EBADF) {
		t.Fatalf("LocalAddr(99) = %v, want EBADF", err)
	}
	if _, err := n.b.RemoteAddr(99); !errors.Is(err, EBADF) {
		t.Fatalf("RemoteAddr(99) = %v, want EBADF", err)
	}
	n.a.Connect(udpSocket(t, n.a, 0), addrB, 53)
	var connected bool
	for _, r := range n.a.Sockets() {
		connected = connected || (r.Type == SockDgram && r.State == "ESTAB" && r.Remote == netip.AddrPortFrom(addrB, 53))
	}
	if !connected {
		t.Fatalf("connected UDP socket missing from %+v", n.a.Sockets())
	}
	if n.a.Clock() != n.clk {
		t.Fatal("Clock() is not the clock the stack was given")
	}
}

func TestSetAndGetEveryOption(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	fresh := mustSocket(t, n.a)
	for _, tc := range []struct {
		opt   Option
		value any
		wrong any
	}{
		{OptNoDelay, true, 1},
		{OptSendBuffer, 2 << 20, "big"},
		{OptReceiveBuffer, 512 << 10, -1},
		{OptCongestion, "cubic", "vegas"},
		{OptKeepalive, true, "yes"},
		{OptKeepIdle, 30 * time.Second, 30},
		{OptKeepInterval, 5 * time.Second, 5},
		{OptKeepCount, 4, 0},
		{OptLinger, 7, time.Second},
		{OptDelayedACK, 10 * time.Millisecond, 10},
		{OptUserTimeout, 3 * time.Second, 3.0},
		{OptFlushDelay, 100 * time.Millisecond, false},
		{OptMaxSeg, 1000, uint16(1000)},
	} {
		t.Run(tc.opt.String(), func(t *testing.T) {
			if got, ok := ParseOption(tc.opt.String()); !ok || got != tc.opt {
				t.Fatalf("ParseOption(%q) = %v, %v", tc.opt.String(), got, ok)
			}
			for _, fd := range []int{cfd, fresh} {
				if err := n.a.SetOption(fd, tc.opt, tc.wrong); !errors.Is(err, EINVAL) {
					t.Fatalf("SetOption(%v, %#v) = %v, want EINVAL", tc.opt, tc.wrong, err)
				}
				if err := n.a.SetOption(fd, tc.opt, tc.value); err != nil {
					t.Fatalf("SetOption(%v, %#v) = %v", tc.opt, tc.value, err)
				}
				got, err := n.a.GetOption(fd, tc.opt)
				if tc.opt == OptMaxSeg && fd == cfd {
					// On a connection TCP_MAXSEG reads the MSS in use.
					if got != 1448 || err != nil {
						t.Fatalf("GetOption(maxseg) on a connection = %v, %v; want 1448", got, err)
					}
					continue
				}
				if err != nil || got != tc.value {
					t.Fatalf("GetOption(%v) = %#v, %v; want %#v", tc.opt, got, err, tc.value)
				}
			}
		})
	}
	if info, _ := n.a.Info(cfd); info.Congestion != "cubic" {
		t.Fatalf("after OptCongestion cubic the connection uses %q", info.Congestion)
	}
	if err := n.a.SetOption(cfd, Option(99), 1); !errors.Is(err, ENOPROTOOPT) {
		t.Fatalf("SetOption(99) = %v, want ENOPROTOOPT", err)
	}
	if _, err := n.a.GetOption(cfd, Option(99)); !errors.Is(err, ENOPROTOOPT) {
		t.Fatalf("GetOption(99) = %v, want ENOPROTOOPT", err)
	}
	if err := n.a.SetOption(99, OptNoDelay, true); !errors.Is(err, EBADF) {
		t.Fatalf("SetOption on fd 99 = %v, want EBADF", err)
	}
	if _, err := n.a.GetOption(99, OptNoDelay); !errors.Is(err, EBADF) {
		t.Fatalf("GetOption on fd 99 = %v, want EBADF", err)
	}
	if _, ok := ParseOption("no-such-option"); ok {
		t.Fatal("ParseOption accepted an unknown name")
	}
	if s := Option(99).String(); s != "option(99)" {
		t.Fatalf("Option(99).String() = %q", s)
	}
	if got := CongestionControls(); strings.Join(got, ",") != "reno,cubic" {
		t.Fatalf("CongestionControls() = %v", got)
	}
}

func TestSendBufferGrowsOnConnection(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{SendBuffer: 4096}})
	cfd, _, afd := n.connectPair(80)
	// The peer does not read and its window is large: the 4 KiB send buffer
	// fills only if the data is unacknowledged, so black-hole the link.
	n.fault = func(*Stack, []byte) frameVerdict { return frameVerdict{drop: true} }
	w, err := n.a.Write(cfd, make([]byte, 10000))
	if w != 4096 || err != nil {
		t.Fatalf("Write into a 4 KiB buffer = %d, %v; want 4096, nil", w, err)
	}
	if err := n.a.SetOption(cfd, OptSendBuffer, 16384); err != nil {
		t.Fatal(err)
	}
	if w, _ := n.a.Write(cfd, make([]byte, 20000)); w != 16384-4096 {
		t.Fatalf("Write after growing the buffer to 16 KiB took %d, want %d", w, 16384-4096)
	}
	n.fault = nil
	if got := drain(t, n, afd, 16384); got != 16384 {
		t.Fatalf("peer received %d, want 16384 (the buffered data survives the resize)", got)
	}
}

func TestStatsMapNames(t *testing.T) {
	n := newTestNet(t, Options{})
	n.connectPair(80)
	m := n.a.Stats().Map()
	for _, name := range []string{"InSegs", "OutSegs", "RetransSegs", "InErrs", "InCsumErrors", "ListenDrops",
		"ListenOverflows", "ActiveOpens", "PassiveOpens", "CurrEstab"} {
		var found bool
		for k := range m {
			found = found || strings.HasSuffix(k, name)
		}
		if !found {
			t.Fatalf("Stats().Map() has no counter named *%s", name)
		}
	}
	if m["TcpActiveOpens"] != 1 || m["TcpCurrEstab"] != 1 || m["TcpOutSegs"] == 0 || m["IpInReceives"] == 0 {
		t.Fatalf("TcpActiveOpens %d TcpCurrEstab %d TcpOutSegs %d IpInReceives %d; want 1 1 >0 >0",
			m["TcpActiveOpens"], m["TcpCurrEstab"], m["TcpOutSegs"], m["IpInReceives"])
	}
	for k := range m {
		ok := false
		for _, p := range []string{"Eth", "Arp", "Ip", "Icmp", "Tcp", "TcpExt", "Udp"} {
			ok = ok || strings.HasPrefix(k, p)
		}
		if !ok {
			t.Fatalf("counter %q is not named like nstat", k)
		}
	}
}

func TestStringMethods(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{StateClosed.String(), "CLOSED"},
		{StateSynRcvd.String(), "SYN-RECEIVED"},
		{StateTimeWait.String(), "TIME-WAIT"},
		{State(42).String(), "?"},
		{ProbeSegmentOut.String(), "out"},
		{ProbeSegmentIn.String(), "in"},
		{ProbeState.String(), "state"},
		{ProbeTimer.String(), "timer"},
		{ProbeKind(0).String(), "?"},
		{TimerNone.String(), "none"},
		{TimerRTO.String(), "rto"},
		{TimerPersist.String(), "persist"},
		{TimerDelayedACK.String(), "delack"},
		{TimerTimeWait.String(), "timewait"},
		{TimerKeepalive.String(), "keepalive"},
		{TimerFlush.String(), "flush"},
		{TimerFinWait2.String(), "finwait2"},
		{CAOpen.String(), "open"},
		{CADisorder.String(), "disorder"},
		{CARecovery.String(), "recovery"},
		{CALoss.String(), "loss"},
		{SockStream.String(), "tcp"},
		{SockDgram.String(), "udp"},
		{SocketType(9).String(), "?"},
		{OptNoDelay.String(), "nodelay"},
		{OptUserTimeout.String(), "user-timeout"},
		{Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), NIC: 2}.String(), "10.0.0.0/8 dev 2"},
		{(&OpError{Op: "read", FD: 7, Err: ECONNRESET}).Error(), "read fd 7: " + ECONNRESET.Error()},
		{(&OpError{Op: "x", FD: -1, Err: EBADF}).Error(), "x fd -1: " + EBADF.Error()},
		{bps(500), "500bps"},
		{bps(1500), "1.5Kbps"},
		{bps(2_500_000), "2.5Mbps"},
		{bps(3_200_000_000), "3.2Gbps"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for st := StateClosed; st <= StateTimeWait; st++ {
		if s := st.String(); s == "?" || strings.ToUpper(s) != s {
			t.Errorf("State(%d).String() = %q", st, s)
		}
	}
	if (&OpError{Err: ETIMEDOUT}).Timeout() != true || (&OpError{Err: ErrDeadline}).Timeout() != true || (&OpError{Err: EPIPE}).Timeout() {
		t.Error("OpError.Timeout wrong for ETIMEDOUT, ErrDeadline or EPIPE")
	}
}

func TestTCPInfoString(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.Write(cfd, make([]byte, 300_000))
	drain(t, n, afd, 300_000)
	n.run(100 * time.Millisecond) // the last ACK
	info, err := n.a.Info(cfd)
	if err != nil {
		t.Fatal(err)
	}
	s := info.String()
	for _, want := range []string{"ESTABLISHED 10.0.0.1:", "ts sack reno wscale:7,7", "rto:", "rtt:", "mss:1448", "advmss:1460",
		"cwnd:", "bytes_sent:300000", "bytes_acked:300000", "segs_out:", "delivery_rate ", "ca_state:open", "minrtt:10"} {
		if !strings.Contains(s, want) {
			t.Fatalf("TCPInfo.String() = %q, missing %q", s, want)
		}
	}
	if info.BytesAcked != 300_000 || info.DataSegsOut < 208 || info.SRTT < 10*time.Millisecond {
		t.Fatalf("info bytes_acked %d data_segs_out %d srtt %v", info.BytesAcked, info.DataSegsOut, info.SRTT)
	}
	if info.DeliveryRate == 0 {
		t.Fatal("delivery rate 0 after a 300 kB transfer")
	}
	// The listener's Info, and Info on non-TCP descriptors.
	lfd := mustSocket(t, n.b)
	n.b.Bind(lfd, netip.AddrPortFrom(addrB, 81))
	n.b.Listen(lfd, 1)
	if li, err := n.b.Info(lfd); err != nil || li.State != "LISTEN" || li.Local.Port() != 81 {
		t.Fatalf("Info(listener) = %+v, %v", li, err)
	}
	if _, err := n.b.Info(udpSocket(t, n.b, 0)); !errors.Is(err, ENOTCONN) {
		t.Fatalf("Info(udp) = %v, want ENOTCONN", err)
	}
	if _, err := n.b.Info(99); !errors.Is(err, EBADF) {
		t.Fatalf("Info(99) = %v, want EBADF", err)
	}
}
