package stack

import (
	"net/netip"

	"github.com/netlab/netlab/stack/wire"
)

type udpState struct {
	connected bool
	remote    netip.AddrPort
	queue     []datagram
	queued    int // bytes in queue
}

type datagram struct {
	from netip.AddrPort
	data []byte
}

func (s *Stack) udpLookupLocked(local netip.AddrPort) *socket {
	if so, ok := s.udp[local]; ok {
		return so
	}
	if so, ok := s.udp[netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())]; ok {
		return so
	}
	return nil
}

func (s *Stack) handleUDPLocked(n *NIC, ip *wire.IPv4Fields, b []byte, pkt []byte) {
	h, payload, err := wire.ParseUDP(b, ip.Src, ip.Dst)
	if err != nil {
		s.stats.UdpInErrors++
		if errorsIsChecksum(err) {
			s.stats.UdpInCsumErrors++
		}
		return
	}
	so := s.udpLookupLocked(netip.AddrPortFrom(ip.Dst, h.DstPort))
	from := netip.AddrPortFrom(ip.Src, h.SrcPort)
	if so == nil || (so.udp.connected && so.udp.remote != from) {
		s.stats.UdpNoPorts++
		if !isBroadcast(n, ip.Dst) {
			s.sendICMPErrorLocked(pkt, wire.ICMPDestUnreachable, wire.ICMPPortUnreachable, 0)
		}
		return
	}
	if so.udp.queued+len(payload) > so.opts.ReceiveBuffer {
		s.stats.UdpRcvbufErrors++
		s.stats.UdpInErrors++
		return
	}
	so.udp.queue = append(so.udp.queue, datagram{from: from, data: append([]byte(nil), payload...)})
	so.udp.queued += len(payload)
	s.stats.UdpInDatagrams++
	so.notifyRead()
}

// SendTo sends one UDP datagram from fd to the given address. An unbound
// socket is bound to an ephemeral port first.
func (s *Stack) SendTo(fd int, p []byte, to netip.AddrPort) (int, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return 0, opErr("sendto", fd, err)
	}
	n, err := s.sendToLocked(so, p, to)
	return n, opErr("sendto", fd, err)
}

func (s *Stack) sendToLocked(so *socket, p []byte, to netip.AddrPort) (int, error) {
	if so.typ != SockDgram {
		return 0, EOPNOTSUPP
	}
	if !to.IsValid() {
		if !so.udp.connected {
			return 0, EDESTADDRREQ
		}
		to = so.udp.remote
	}
	if len(p) > 65507 {
		return 0, EMSGSIZE
	}
	if err := so.softErr; err != nil {
		so.softErr = nil
		return 0, err
	}
	if !so.bound {
		if err := s.bindLocked(so, netip.AddrPort{}); err != nil {
			return 0, err
		}
	}
	_, _, src, err := s.routeLocked(to.Addr())
	if err != nil {
		return 0, err
	}
	if !so.local.Addr().IsUnspecified() {
		src = so.local.Addr()
	}
	seg := s.txbuf[wire.EthernetHeaderLen+ipHdr : wire.EthernetHeaderLen+ipHdr+wire.UDPHeaderLen+len(p)]
	copy(seg[wire.UDPHeaderLen:], p)
	wire.EncodeUDP(seg, &wire.UDPFields{SrcPort: so.local.Port(), DstPort: to.Port()}, src, to.Addr())
	if _, err := s.sendIPv4Locked(wire.ProtoUDP, src, to.Addr(), len(seg), 0); err != nil {
		return 0, err
	}
	s.stats.UdpOutDatagrams++
	return len(p), nil
}

// RecvFrom receives one UDP datagram on fd; a datagram longer than p is
// truncated, as recvfrom(2) does.
func (s *Stack) RecvFrom(fd int, p []byte) (int, netip.AddrPort, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return 0, netip.AddrPort{}, opErr("recvfrom", fd, err)
	}
	if so.typ != SockDgram {
		return 0, netip.AddrPort{}, opErr("recvfrom", fd, EOPNOTSUPP)
	}
	for len(so.udp.queue) == 0 {
		if err := so.softErr; err != nil {
			so.softErr = nil
			return 0, netip.AddrPort{}, opErr("recvfrom", fd, err)
		}
		if err := s.waitLocked(so, so.rd, so.rdDL); err != nil {
			return 0, netip.AddrPort{}, opErr("recvfrom", fd, err)
		}
	}
	d := so.udp.queue[0]
	so.udp.queue[0] = datagram{}
	so.udp.queue = so.udp.queue[1:]
	so.udp.queued -= len(d.data)
	return copy(p, d.data), d.from, nil
}
