package stack

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// maxICMPErrorBody bounds how much of the offending packet an ICMP error
// quotes: the whole error stays within 576 bytes (RFC 1812 §4.3.2.3).
const maxICMPErrorBody = 576 - ipHdr - wire.ICMPHeaderLen

func (s *Stack) handleICMPLocked(n *NIC, ip *wire.IPv4Fields, b []byte, pkt []byte) {
	s.stats.IcmpInMsgs++
	h, body, err := wire.ParseICMPv4(b)
	if err != nil {
		s.stats.IcmpInErrors++
		if errorsIsChecksum(err) {
			s.stats.IcmpInCsumErrors++
		}
		return
	}
	switch h.Type {
	case wire.ICMPEchoRequest:
		s.stats.IcmpInEchos++
		if isBroadcast(n, ip.Dst) {
			return // RFC 1122 §3.2.2.6 allows silence
		}
		payload := s.txbuf[wire.EthernetHeaderLen+ipHdr:]
		copy(payload[wire.ICMPHeaderLen:], body)
		msg := payload[:wire.ICMPHeaderLen+len(body)]
		wire.EncodeICMPv4(msg, &wire.ICMPv4Fields{Type: wire.ICMPEchoReply, Rest: h.Rest})
		s.stats.IcmpOutMsgs++
		s.stats.IcmpOutEchoReps++
		s.sendIPv4Locked(wire.ProtoICMP, ip.Dst, ip.Src, len(msg), 0)
	case wire.ICMPEchoReply:
		s.stats.IcmpInEchoReps++
		if w, ok := s.pings[h.ID()]; ok && w.seq == h.Seq() && w.dst == ip.Src {
			delete(s.pings, h.ID())
			w.ttl = ip.TTL
			w.rtt = s.clock.Now().Sub(w.sent)
			close(w.done)
		}
	case wire.ICMPDestUnreachable, wire.ICMPTimeExceeded:
		if h.Type == wire.ICMPDestUnreachable {
			s.stats.IcmpInDestUnreachs++
		} else {
			s.stats.IcmpInTimeExcds++
		}
		s.icmpErrorInLocked(h.Type, h.Code, body)
	}
}

// icmpErrorInLocked hands a received ICMP error to the socket whose packet
// caused it (RFC 1122 §3.2.2.1: the quoted IP header and 8 bytes).
func (s *Stack) icmpErrorInLocked(typ, code uint8, quoted []byte) {
	if len(quoted) < ipHdr+8 || quoted[0]>>4 != 4 {
		return
	}
	ihl := int(quoted[0]&0xf) * 4
	if ihl < ipHdr || len(quoted) < ihl+8 {
		return
	}
	src := netip.AddrFrom4([4]byte(quoted[12:16]))
	dst := netip.AddrFrom4([4]byte(quoted[16:20]))
	proto := quoted[9]
	t := quoted[ihl:]
	sport := uint16(t[0])<<8 | uint16(t[1])
	dport := uint16(t[2])<<8 | uint16(t[3])
	errno := icmpErrno(typ, code)
	local := netip.AddrPortFrom(src, sport)
	remote := netip.AddrPortFrom(dst, dport)
	switch proto {
	case wire.ProtoTCP:
		if c, ok := s.tcpConn[connKey{local: local, remote: remote}]; ok {
			seq := uint32(t[4])<<24 | uint32(t[5])<<16 | uint32(t[6])<<8 | uint32(t[7])
			c.icmpError(errno, seq)
		}
	case wire.ProtoUDP:
		if so := s.udpLookupLocked(local); so != nil && so.udp.connected && so.udp.remote == remote {
			so.softErr = errno
			so.notify()
		}
	}
}

// localUnreachableLocked reports a locally originated packet as undeliverable
// (ARP failed), exactly as if a router had answered host unreachable.
func (s *Stack) localUnreachableLocked(pkt []byte) {
	if len(pkt) < ipHdr+8 {
		return
	}
	s.icmpErrorInLocked(wire.ICMPDestUnreachable, wire.ICMPHostUnreachable, pkt)
}

func icmpErrno(typ, code uint8) syscall.Errno {
	if typ == wire.ICMPTimeExceeded {
		return syscall.EHOSTUNREACH
	}
	switch code {
	case wire.ICMPNetUnreachable:
		return syscall.ENETUNREACH
	case wire.ICMPPortUnreachable, wire.ICMPProtoUnreachable:
		return syscall.ECONNREFUSED
	case wire.ICMPFragNeeded:
		return syscall.EMSGSIZE
	}
	return syscall.EHOSTUNREACH
}

// sendICMPErrorLocked answers the IPv4 packet pkt with an ICMP error, except
// where RFC 1122 §3.2.2 forbids one (an ICMP error, a non-first fragment, a
// broadcast or an unspecified source).
func (s *Stack) sendICMPErrorLocked(pkt []byte, typ, code uint8, rest uint32) {
	h, payload, err := wire.ParseIPv4(pkt)
	if err != nil || h.FragmentOffset != 0 || !h.Src.IsValid() || h.Src.IsUnspecified() || h.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return
	}
	if h.Protocol == wire.ProtoICMP && len(payload) > 0 {
		switch payload[0] {
		case wire.ICMPEchoRequest, wire.ICMPEchoReply:
		default:
			return
		}
	}
	quote := min(len(pkt), maxICMPErrorBody)
	// pkt may live in s.txbuf (forwarding path): move the quote first.
	body := make([]byte, quote)
	copy(body, pkt[:quote])
	msg := s.txbuf[wire.EthernetHeaderLen+ipHdr : wire.EthernetHeaderLen+ipHdr+wire.ICMPHeaderLen+quote]
	copy(msg[wire.ICMPHeaderLen:], body)
	wire.EncodeICMPv4(msg, &wire.ICMPv4Fields{Type: typ, Code: code, Rest: rest})
	s.stats.IcmpOutMsgs++
	switch typ {
	case wire.ICMPDestUnreachable:
		s.stats.IcmpOutDestUnreachs++
	case wire.ICMPTimeExceeded:
		s.stats.IcmpOutTimeExcds++
	}
	s.sendIPv4Locked(wire.ProtoICMP, netip.Addr{}, h.Src, len(msg), 0)
}

type pingWaiter struct {
	dst  netip.Addr
	seq  uint16
	sent time.Time
	rtt  time.Duration
	ttl  uint8
	done chan struct{}
}

// PingResult is the answer to one echo request.
type PingResult struct {
	RTT time.Duration
	TTL uint8
}

// Ping sends one ICMP echo request with size bytes of data to dst and waits
// for the reply or for ctx to end.
func (s *Stack) Ping(ctx context.Context, dst netip.Addr, seq uint16, size int) (PingResult, error) {
	e, err := s.SendPing(dst, seq, size)
	if err != nil {
		return PingResult{}, err
	}
	select {
	case <-e.w.done:
		r, _ := e.Result()
		return r, nil
	case <-ctx.Done():
		e.Cancel()
		return PingResult{}, fmt.Errorf("ping %v seq %d: %w", dst, seq, ctx.Err())
	}
}

// Echo is an echo request sent by SendPing: its reply, when it came.
type Echo struct {
	s  *Stack
	id uint16
	w  *pingWaiter
}

// SendPing sends one ICMP echo request with size bytes of data to dst and
// returns at once; Result tells whether the reply came. It never blocks,
// for callers that drive the stack from one goroutine (a virtual clock).
func (s *Stack) SendPing(dst netip.Addr, seq uint16, size int) (*Echo, error) {
	if size < 0 || size > 65507-wire.ICMPHeaderLen {
		return nil, fmt.Errorf("ping %v: size %d out of range", dst, size)
	}
	s.mu.Lock()
	s.pingID++
	for s.pings[s.pingID] != nil {
		s.pingID++
	}
	id := s.pingID
	w := &pingWaiter{dst: dst, seq: seq, sent: s.clock.Now(), done: make(chan struct{})}
	s.pings[id] = w
	msg := s.txbuf[wire.EthernetHeaderLen+ipHdr : wire.EthernetHeaderLen+ipHdr+wire.ICMPHeaderLen+size]
	for i := range msg[wire.ICMPHeaderLen:] {
		msg[wire.ICMPHeaderLen+i] = byte(i)
	}
	wire.EncodeICMPv4(msg, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: uint32(id)<<16 | uint32(seq)})
	s.stats.IcmpOutMsgs++
	s.stats.IcmpOutEchos++
	_, err := s.sendIPv4Locked(wire.ProtoICMP, netip.Addr{}, dst, len(msg), 0)
	if err != nil {
		delete(s.pings, id)
		s.unlock()
		return nil, fmt.Errorf("ping %v: %w", dst, err)
	}
	s.unlock()
	return &Echo{s: s, id: id, w: w}, nil
}

// Result returns the reply's round-trip time (on the stack's clock) and
// TTL, and whether it came.
func (e *Echo) Result() (PingResult, bool) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	select {
	case <-e.w.done:
		return PingResult{RTT: e.w.rtt, TTL: e.w.ttl}, true
	default:
		return PingResult{}, false
	}
}

// Cancel forgets the request: a reply that comes later is ignored.
func (e *Echo) Cancel() {
	e.s.mu.Lock()
	if e.s.pings[e.id] == e.w {
		delete(e.s.pings, e.id)
	}
	e.s.unlock()
}
