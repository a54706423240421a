package stack

import (
	"errors"
	"net/netip"

	"github.com/netlab/netlab/stack/wire"
)

const ipHdr = wire.IPv4MinHeaderLen

func (s *Stack) handleIPv4Locked(n *NIC, b []byte) {
	s.stats.IpInReceives++
	h, payload, err := wire.ParseIPv4(b)
	if err != nil {
		if errors.Is(err, wire.ErrBadChecksum) {
			s.stats.IpInCsumErrors++
		}
		s.stats.IpInHdrErrors++
		return
	}
	local := n.hasAddr(h.Dst) || s.isLocalLocked(h.Dst) || isBroadcast(n, h.Dst)
	if !local {
		if s.opts.Forwarding {
			s.forwardLocked(n, &h, b[:h.TotalLength])
			return
		}
		s.stats.IpInAddrErrors++
		return
	}
	if h.IsFragment() {
		s.stats.IpReasmReqds++
		whole, done, err := s.reasm.Process(s.clock.Now(), &h, payload)
		s.armReassemblyLocked()
		if err != nil {
			s.stats.IpReasmFails++
			return
		}
		if !done {
			return
		}
		s.stats.IpReasmOKs++
		payload = whole
	}
	s.stats.IpInDelivers++
	switch h.Protocol {
	case wire.ProtoTCP:
		s.handleTCPLocked(n, &h, payload)
	case wire.ProtoUDP:
		s.handleUDPLocked(n, &h, payload, b)
	case wire.ProtoICMP:
		s.handleICMPLocked(n, &h, payload, b)
	default:
		s.stats.IpInUnknownProtos++
		s.sendICMPErrorLocked(b, wire.ICMPDestUnreachable, wire.ICMPProtoUnreachable, 0)
	}
}

// armReassemblyLocked points the reassembly timer at the oldest datagram's
// expiry, so a stream of new fragments cannot postpone it.
func (s *Stack) armReassemblyLocked() {
	at, ok := s.reasm.NextExpiry()
	if !ok {
		return
	}
	d := max(at.Sub(s.clock.Now()), 0)
	if s.reasmTm == nil {
		s.reasmTm = s.clock.AfterFunc(d, s.reassemblyTimer)
	} else {
		s.reasmTm.Reset(d)
	}
}

func (s *Stack) reassemblyTimer() {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return
	}
	for _, x := range s.reasm.Expire(s.clock.Now()) {
		s.stats.IpReasmTimeout++
		s.stats.IpReasmFails++
		if x.FirstFragment != nil {
			s.sendICMPErrorLocked(x.FirstFragment, wire.ICMPTimeExceeded, wire.ICMPFragReassemblyExceeded, 0)
		}
	}
	s.armReassemblyLocked()
}

// forwardLocked routes a packet that is not for this stack (RFC 1812 §5.2).
func (s *Stack) forwardLocked(in *NIC, h *wire.IPv4Fields, pkt []byte) {
	if h.TTL <= 1 {
		s.sendICMPErrorLocked(pkt, wire.ICMPTimeExceeded, wire.ICMPTTLExceeded, 0)
		return
	}
	out, nextHop, _, err := s.routeLocked(h.Dst)
	if err != nil {
		s.stats.IpOutNoRoutes++
		s.sendICMPErrorLocked(pkt, wire.ICMPDestUnreachable, wire.ICMPNetUnreachable, 0)
		return
	}
	if len(pkt) > out.mtu {
		if h.Flags&wire.IPv4FlagDF != 0 {
			s.stats.IpFragFails++
			s.sendICMPErrorLocked(pkt, wire.ICMPDestUnreachable, wire.ICMPFragNeeded, uint32(out.mtu))
			return
		}
		frame := make([]byte, wire.EthernetHeaderLen+len(pkt))
		copy(frame[wire.EthernetHeaderLen:], pkt)
		wire.IPv4(frame[wire.EthernetHeaderLen:]).DecrementTTL()
		s.stats.IpForwDatagrams++
		s.fragmentAndSendLocked(out, nextHop, frame[wire.EthernetHeaderLen:])
		return
	}
	frame := s.txbuf[:wire.EthernetHeaderLen+len(pkt)]
	copy(frame[wire.EthernetHeaderLen:], pkt)
	wire.IPv4(frame[wire.EthernetHeaderLen:]).DecrementTTL()
	s.stats.IpForwDatagrams++
	s.resolveAndSendLocked(out, nextHop, frame)
}

// sendIPv4Locked sends a packet whose transport payload (payloadLen bytes)
// is already in s.txbuf after the Ethernet and IPv4 headers. src may be
// zero to use the route's source. It returns the source used.
func (s *Stack) sendIPv4Locked(proto uint8, src, dst netip.Addr, payloadLen int, ttl uint8) (netip.Addr, error) {
	n, nextHop, rsrc, err := s.routeLocked(dst)
	if err != nil {
		s.stats.IpOutNoRoutes++
		return netip.Addr{}, err
	}
	if !src.IsValid() || src.IsUnspecified() {
		src = rsrc
	}
	return src, s.sendIPv4ViaLocked(n, nextHop, proto, src, dst, payloadLen, ttl)
}

func (s *Stack) sendIPv4ViaLocked(n *NIC, nextHop netip.Addr, proto uint8, src, dst netip.Addr, payloadLen int, ttl uint8) error {
	if ttl == 0 {
		ttl = s.opts.DefaultTTL
	}
	total := ipHdr + payloadLen
	if total > 65535 {
		return EMSGSIZE
	}
	s.ipID++
	frame := s.txbuf[:wire.EthernetHeaderLen+total]
	h := wire.IPv4Fields{TotalLength: uint16(total), ID: s.ipID, TTL: ttl, Protocol: proto, Src: src, Dst: dst}
	if proto == wire.ProtoTCP {
		h.Flags = wire.IPv4FlagDF
	}
	wire.EncodeIPv4(frame[wire.EthernetHeaderLen:], &h)
	s.stats.IpOutRequests++
	if total > n.mtu {
		if h.Flags&wire.IPv4FlagDF != 0 {
			return EMSGSIZE
		}
		s.fragmentAndSendLocked(n, nextHop, frame[wire.EthernetHeaderLen:])
		return nil
	}
	s.resolveAndSendLocked(n, nextHop, frame)
	return nil
}

// fragmentAndSendLocked splits pkt (a whole IPv4 packet without options)
// into fragments that fit n's MTU (RFC 791 §3.2).
func (s *Stack) fragmentAndSendLocked(n *NIC, nextHop netip.Addr, pkt []byte) {
	h, payload, err := wire.ParseIPv4(pkt)
	if err != nil {
		return
	}
	chunk := (n.mtu - ipHdr) &^ 7
	baseOff := int(h.FragmentOffset)
	lastMF := h.Flags&wire.IPv4FlagMF != 0
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		frame := make([]byte, wire.EthernetHeaderLen+ipHdr+end-off)
		copy(frame[wire.EthernetHeaderLen+ipHdr:], payload[off:end])
		f := h
		f.HeaderLen = ipHdr
		f.TotalLength = uint16(ipHdr + end - off)
		f.FragmentOffset = uint16(baseOff + off)
		f.Flags = h.Flags &^ wire.IPv4FlagMF
		if end < len(payload) || lastMF {
			f.Flags |= wire.IPv4FlagMF
		}
		wire.EncodeIPv4(frame[wire.EthernetHeaderLen:], &f)
		s.stats.IpFragCreates++
		s.resolveAndSendLocked(n, nextHop, frame)
	}
	s.stats.IpFragOKs++
}
