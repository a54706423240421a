package stack

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/stack/wire"
)

// rawPeer is one stack (10.0.0.1) on a manual pipe whose other end is the
// test itself (10.0.0.2): the test builds every frame the stack receives
// with stack/wire and parses every frame it sends. ARP requests for the
// peer's address are answered on the spot; everything else the stack sends
// waits in out until an expect call examines it. Nothing moves unless the
// test sends a frame or advances the virtual clock, so each test states
// exactly which segment provokes which answer (as gVisor's packetimpact and
// smoltcp's socket tests do).
type rawPeer struct {
	t      testing.TB
	clk    *clock.Manual
	s      *Stack
	ep     *pipe.Endpoint // the stack's end of the pipe
	ip     netip.Addr     // the peer's address
	mac    wire.MAC
	sip    netip.Addr // the stack's address
	smac   wire.MAC
	port   uint16 // the peer's TCP port
	sport  uint16 // the stack's TCP port
	window uint16 // window field of the segments the peer sends
	ipID   uint16

	// Sequence state of the peer's side of the connection under test, kept
	// by the handshake helpers; tests move it themselves.
	peerISS uint32 // the peer's initial sequence number
	seq     uint32 // the peer's SND.NXT
	ack     uint32 // the peer's RCV.NXT: the stack's SND.NXT as the peer sees it
	iss     uint32 // the stack's ISS

	out    [][]byte         // IPv4 frames the stack sent, not yet examined
	arps   []wire.ARPFields // ARP packets the stack sent
	events []ProbeEvent
}

// tcpSeg is a TCP segment the stack sent.
type tcpSeg struct {
	wire.TCPFields
	IP      wire.IPv4Fields
	Payload []byte
	Packet  []byte // the whole IPv4 packet, for quoting in ICMP errors
}

func (s tcpSeg) String() string {
	return "seq " + itoa(int(s.Seq)) + " ack " + itoa(int(s.Ack)) + " [" + s.Flags.String() + "] len " + itoa(len(s.Payload))
}

// newRawPeer makes the stack under test on a fresh virtual clock. opts.Clock,
// Seed and Probe are filled in when unset.
func newRawPeer(t testing.TB, opts Options) *rawPeer {
	t.Helper()
	p := &rawPeer{t: t, clk: clock.NewManual(clock.Epoch), ip: addrB, sip: addrA, port: 40000, window: 65535, peerISS: 1000}
	copy(p.mac[:], macB)
	copy(p.smac[:], macA)
	var peerEnd *pipe.Endpoint
	p.ep, peerEnd = pipe.Pair(pipe.Manual, 1500, macA, macB)
	_ = peerEnd // the test is the peer: it takes from and injects into p.ep
	opts.Clock = p.clk
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Probe == nil {
		opts.Probe = func(e ProbeEvent) { p.events = append(p.events, e) }
	}
	p.s = New(opts)
	id, err := p.s.AddInterface("eth1", p.ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.s.AddAddress(id, netip.PrefixFrom(p.sip, 24)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.s.Destroy)
	p.pump()
	return p
}

// pump takes what the stack sent: ARP requests for the peer are answered at
// once (which may release queued packets), the rest is kept for expect.
func (p *rawPeer) pump() {
	for {
		frames := p.ep.Take()
		if len(frames) == 0 {
			return
		}
		for _, f := range frames {
			eth, payload, err := wire.ParseEthernet(f)
			if err != nil {
				p.t.Fatalf("the stack sent a runt frame %x", f)
			}
			if eth.Src != p.smac {
				p.t.Fatalf("frame from %v, want the stack's MAC %v", eth.Src, p.smac)
			}
			switch eth.Type {
			case wire.EtherTypeARP:
				a, err := wire.ParseARP(payload)
				if err != nil {
					p.t.Fatalf("bad ARP from the stack: %v", err)
				}
				p.arps = append(p.arps, a)
				if a.Op == wire.ARPRequest && a.TargetIP == p.ip {
					p.ep.Inject(p.arpFrame(wire.ARPReply, p.smac, a.SenderMAC, a.SenderIP))
				}
			case wire.EtherTypeIPv4:
				if eth.Dst != p.mac && !eth.Dst.IsBroadcast() {
					p.t.Fatalf("IPv4 frame to %v, want the peer's MAC %v", eth.Dst, p.mac)
				}
				p.out = append(p.out, f)
			default:
				p.t.Fatalf("frame of type %v from the stack", eth.Type)
			}
		}
	}
}

// arpFrame builds an ARP packet from the peer.
func (p *rawPeer) arpFrame(op wire.ARPOp, dstMAC, targetMAC wire.MAC, targetIP netip.Addr) []byte {
	f := make([]byte, wire.EthernetHeaderLen+wire.ARPLen)
	wire.EncodeEthernet(f, &wire.EthernetFields{Dst: dstMAC, Src: p.mac, Type: wire.EtherTypeARP})
	wire.EncodeARP(f[wire.EthernetHeaderLen:], &wire.ARPFields{Op: op, SenderMAC: p.mac, SenderIP: p.ip, TargetMAC: targetMAC, TargetIP: targetIP})
	return f
}

// ipFrame wraps an IP payload from the peer to the stack in IPv4 and
// Ethernet headers.
func (p *rawPeer) ipFrame(proto uint8, payload []byte) []byte {
	return ipv4Frame(p.mac, p.smac, p.ip, p.sip, proto, 64, &p.ipID, payload)
}

func ipv4Frame(srcMAC, dstMAC wire.MAC, src, dst netip.Addr, proto, ttl uint8, id *uint16, payload []byte) []byte {
	f := make([]byte, wire.EthernetHeaderLen+ipHdr+len(payload))
	wire.EncodeEthernet(f, &wire.EthernetFields{Dst: dstMAC, Src: srcMAC, Type: wire.EtherTypeIPv4})
	*id++
	wire.EncodeIPv4(f[wire.EthernetHeaderLen:], &wire.IPv4Fields{TotalLength: uint16(ipHdr + len(payload)), ID: *id, TTL: ttl, Protocol: proto, Src: src, Dst: dst})
	copy(f[wire.EthernetHeaderLen+ipHdr:], payload)
	return f
}

// sendICMPError sends an ICMP error from the peer quoting pkt's IP header
// and first 8 bytes of data (RFC 792).
func (p *rawPeer) sendICMPError(typ, code uint8, pkt []byte) {
	quote := pkt[:min(len(pkt), ipHdr+8)]
	msg := make([]byte, wire.ICMPHeaderLen+len(quote))
	copy(msg[wire.ICMPHeaderLen:], quote)
	wire.EncodeICMPv4(msg, &wire.ICMPv4Fields{Type: typ, Code: code})
	p.inject(p.ipFrame(wire.ProtoICMP, msg))
}

// inject delivers a frame to the stack and collects what it answers.
func (p *rawPeer) inject(frame []byte) {
	p.ep.Inject(frame)
	p.pump()
}

// tcpBytes encodes a TCP segment from the peer to the stack.
func (p *rawPeer) tcpBytes(f wire.TCPFields, payload []byte) []byte {
	if f.SrcPort == 0 {
		f.SrcPort = p.port
	}
	if f.DstPort == 0 {
		f.DstPort = p.sport
	}
	seg := make([]byte, f.HeaderLen()+len(payload))
	copy(seg[f.HeaderLen():], payload)
	wire.EncodeTCP(seg, &f, p.ip, p.sip)
	return seg
}

// sendTCP sends a segment from the peer's port to the stack's, with the
// peer's current window; opts may be nil.
func (p *rawPeer) sendTCP(flags wire.TCPFlags, seq, ack uint32, payload []byte, opts *wire.TCPOptions) {
	f := wire.TCPFields{Seq: seq, Ack: ack, Flags: flags, Window: p.window}
	if opts != nil {
		f.Options = *opts
	}
	p.sendSeg(f, payload)
}

// sendSeg sends a segment with every field chosen by the caller (zero ports
// are the peer's and the stack's).
func (p *rawPeer) sendSeg(f wire.TCPFields, payload []byte) {
	p.inject(p.ipFrame(wire.ProtoTCP, p.tcpBytes(f, payload)))
}

// advance moves the virtual clock, firing the stack's timers, and collects
// what they sent.
func (p *rawPeer) advance(d time.Duration) {
	p.clk.Advance(d)
	p.pump()
}

// next pops the next IPv4 frame the stack sent, or nil.
func (p *rawPeer) next() []byte {
	p.pump()
	if len(p.out) == 0 {
		return nil
	}
	f := p.out[0]
	p.out = p.out[1:]
	return f
}

// expectTCP returns the next frame the stack sent, which must be a valid TCP
// segment.
func (p *rawPeer) expectTCP(t testing.TB) tcpSeg {
	t.Helper()
	f := p.next()
	if f == nil {
		t.Fatalf("the stack sent nothing, want a TCP segment")
	}
	ip, h, payload, ok := tcpFrame(f)
	if !ok {
		t.Fatalf("the stack sent %s, want a TCP segment", wire.Summary(f))
	}
	if ip.Src != p.sip || ip.Dst != p.ip {
		t.Fatalf("segment %v -> %v, want %v -> %v", ip.Src, ip.Dst, p.sip, p.ip)
	}
	return tcpSeg{TCPFields: h, IP: ip, Payload: payload, Packet: f[wire.EthernetHeaderLen:]}
}

// expectSYN returns the stack's SYN and takes its port and ISS.
func (p *rawPeer) expectSYN(t testing.TB) tcpSeg {
	t.Helper()
	syn := p.expectTCP(t)
	if syn.Flags != wire.TCPFlagSYN {
		t.Fatalf("segment %v, want a SYN", syn)
	}
	p.sport, p.iss = syn.SrcPort, syn.Seq
	return syn
}

// expectFlags returns the next segment and checks its flags, sequence and
// acknowledgment numbers.
func (p *rawPeer) expectFlags(t testing.TB, flags wire.TCPFlags, seq, ack uint32) tcpSeg {
	t.Helper()
	s := p.expectTCP(t)
	if s.Flags != flags || s.Seq != seq || (flags.Has(wire.TCPFlagACK) && s.Ack != ack) {
		t.Fatalf("segment %v, want seq %d ack %d [%v]", s, seq, ack, flags)
	}
	return s
}

// expectNone checks that the stack sent nothing since the last expect.
func (p *rawPeer) expectNone(t testing.TB) {
	t.Helper()
	p.pump()
	if len(p.out) > 0 {
		var sums []string
		for _, f := range p.out {
			sums = append(sums, wire.Summary(f))
		}
		t.Fatalf("the stack sent %d frames, want none:\n\t%s", len(p.out), strings.Join(sums, "\n\t"))
	}
}

// expectICMP returns the next frame, which must be ICMP, and its body.
func (p *rawPeer) expectICMP(t testing.TB) (wire.ICMPv4Fields, []byte) {
	t.Helper()
	f := p.next()
	if f == nil {
		t.Fatal("the stack sent nothing, want an ICMP message")
	}
	_, b, _ := wire.ParseEthernet(f)
	ip, b, err := wire.ParseIPv4(b)
	if err != nil || ip.Protocol != wire.ProtoICMP {
		t.Fatalf("the stack sent %s, want ICMP", wire.Summary(f))
	}
	h, body, err := wire.ParseICMPv4(b)
	if err != nil {
		t.Fatalf("bad ICMP from the stack: %v", err)
	}
	return h, body
}

// drain discards what the stack sent so far.
func (p *rawPeer) drain() {
	p.pump()
	p.out = nil
}

// state is the TCP state of fd's connection.
func (p *rawPeer) state(fd int) State {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	so := p.s.fds[fd]
	if so == nil || so.tcp == nil {
		return StateClosed
	}
	return so.tcp.state
}

// connCount is how many TCP control blocks the stack holds.
func (p *rawPeer) connCount() int {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return len(p.s.tcpConn)
}

// noOpts is the option set of a minimal peer: MSS only, so that segments
// carry no options and window fields are unscaled.
func noOpts() *wire.TCPOptions { return &wire.TCPOptions{HasMSS: true, MSS: 1460} }

// fullOpts is a Linux-like SYN: MSS, SACK, timestamps and window scale.
func fullOpts(tsval uint32) *wire.TCPOptions {
	return &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: tsval,
		HasWindowScale: true, WindowScale: 7}
}

// connect opens a connection from the stack to the peer's port: the stack's
// SYN, the peer's SYN-ACK with synOpts (nil: noOpts), the stack's ACK. It
// returns the non-blocking descriptor and the stack's SYN.
func (p *rawPeer) connect(t testing.TB, synOpts *wire.TCPOptions) (int, tcpSeg) {
	t.Helper()
	return p.connectAfter(t, synOpts, 0)
}

// connectAfter is connect with the SYN-ACK sent rtt after the stack's SYN:
// the handshake's RTT sample.
func (p *rawPeer) connectAfter(t testing.TB, synOpts *wire.TCPOptions, rtt time.Duration) (int, tcpSeg) {
	t.Helper()
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	if synOpts == nil {
		synOpts = noOpts()
	}
	p.advance(rtt)
	p.sendTCP(wire.TCPFlagSYN|wire.TCPFlagACK, p.peerISS, p.iss+1, nil, synOpts)
	p.seq, p.ack = p.peerISS+1, p.iss+1
	p.expectFlags(t, wire.TCPFlagACK, p.ack, p.seq)
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after the handshake the stack is %v, want ESTABLISHED", st)
	}
	return fd, syn
}

// connectSYN starts a non-blocking connect to the peer and returns the fd;
// the SYN waits in out.
func (p *rawPeer) connectSYN(t testing.TB) int {
	t.Helper()
	fd := mustSocket(t, p.s)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, EINPROGRESS) {
		t.Fatalf("Connect = %v, want EINPROGRESS", err)
	}
	return fd
}

// listen makes a non-blocking listener on the stack's port.
func (p *rawPeer) listen(t testing.TB, port uint16, backlog int) int {
	t.Helper()
	lfd := mustSocket(t, p.s)
	if err := p.s.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, port)); err != nil {
		t.Fatal(err)
	}
	if err := p.s.Listen(lfd, backlog); err != nil {
		t.Fatal(err)
	}
	p.sport = port
	return lfd
}

// synRcvd sends the peer's SYN to the listening port and checks the
// SYN-ACK; the child connection is then in SYN-RECEIVED.
func (p *rawPeer) synRcvd(t testing.TB, synOpts *wire.TCPOptions) tcpSeg {
	t.Helper()
	if synOpts == nil {
		synOpts = noOpts()
	}
	p.sendTCP(wire.TCPFlagSYN, p.peerISS, 0, nil, synOpts)
	sa := p.expectTCP(t)
	if sa.Flags != wire.TCPFlagSYN|wire.TCPFlagACK || sa.Ack != p.peerISS+1 {
		t.Fatalf("answer to SYN: %v, want SYN-ACK acking %d", sa, p.peerISS+1)
	}
	p.iss = sa.Seq
	p.seq, p.ack = p.peerISS+1, sa.Seq+1
	return sa
}

// accept completes a passive open on a new listener and returns the
// listener and the accepted descriptor.
func (p *rawPeer) accept(t testing.TB, port uint16, synOpts *wire.TCPOptions) (int, int) {
	t.Helper()
	lfd := p.listen(t, port, 8)
	p.synRcvd(t, synOpts)
	p.sendTCP(wire.TCPFlagACK, p.seq, p.ack, nil, p.tsOpts(synOpts))
	p.expectNone(t)
	afd, _, err := p.s.Accept(lfd)
	if err != nil {
		t.Fatalf("Accept after the handshake: %v", err)
	}
	p.s.SetNonblock(afd, true)
	return lfd, afd
}

// tsOpts returns the options for a non-SYN segment: a timestamp if the SYN
// options had one.
func (p *rawPeer) tsOpts(syn *wire.TCPOptions) *wire.TCPOptions {
	if syn == nil || !syn.HasTimestamps {
		return nil
	}
	return &wire.TCPOptions{HasTimestamps: true, TSVal: syn.TSVal + 1}
}

// readAll reads what fd has without blocking.
func readAll(t testing.TB, s *Stack, fd int) ([]byte, error) {
	t.Helper()
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(fd, buf)
		got = append(got, buf[:n]...)
		if err != nil || n == 0 {
			return got, err
		}
	}
}

// TestRawPeerAnswersARPAndSeesTheSYN checks the harness itself: the stack
// resolves the peer, then its SYN reaches the test with the stack's options.
func TestRawPeerAnswersARPAndSeesTheSYN(t *testing.T) {
	p := newRawPeer(t, Options{})
	if len(p.arps) != 1 || p.arps[0].SenderIP != p.sip || p.arps[0].TargetIP != p.sip {
		t.Fatalf("ARP after AddAddress: %+v, want one gratuitous request for %v", p.arps, p.sip)
	}
	fd := p.connectSYN(t)
	syn := p.expectTCP(t)
	if len(p.arps) != 2 || p.arps[1].Op != wire.ARPRequest || p.arps[1].TargetIP != p.ip {
		t.Fatalf("ARP before the SYN: %+v, want a request for %v", p.arps, p.ip)
	}
	o := syn.Options
	if syn.Flags != wire.TCPFlagSYN || !o.HasMSS || o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || !o.HasWindowScale || o.WindowScale != 7 {
		t.Fatalf("SYN %v options %+v, want S with mss 1460, sackOK, TS, wscale 7", syn, o)
	}
	if syn.IP.Flags&wire.IPv4FlagDF == 0 || syn.IP.TTL != 64 {
		t.Fatalf("SYN IP flags %d TTL %d, want DF and 64", syn.IP.Flags, syn.IP.TTL)
	}
	p.expectNone(t)
	if st := p.state(fd); st != StateSynSent {
		t.Fatalf("state %v, want SYN-SENT", st)
	}
}
