package stack

import (
	"net/netip"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/wire"
)

// maxARPQueue bounds the packets held per unresolved address (RFC 1122
// §2.3.2.2 asks for at least one).
const maxARPQueue = 32

type arpEntry struct {
	nic      *NIC
	ip       netip.Addr
	mac      wire.MAC
	resolved bool
	expires  time.Time
	tries    int
	pending  [][]byte // whole frames waiting for the MAC (Ethernet header to fill)
	timer    clock.Timer
}

// ARPEntry is one row of the neighbour table.
type ARPEntry struct {
	IP       netip.Addr
	MAC      string
	NIC      string
	Resolved bool
}

// Neighbors returns the ARP cache.
func (s *Stack) Neighbors() []ARPEntry {
	s.mu.Lock()
	defer s.unlock()
	out := make([]ARPEntry, 0, len(s.arp))
	for _, e := range s.arp {
		out = append(out, ARPEntry{IP: e.ip, MAC: e.mac.String(), NIC: e.nic.name, Resolved: e.resolved})
	}
	return out
}

func (s *Stack) handleARPLocked(n *NIC, b []byte) {
	a, err := wire.ParseARP(b)
	if err != nil {
		s.stats.ArpInErrors++
		return
	}
	s.stats.ArpInPkts++
	// RFC 826 merge: update an existing entry for the sender; add one when
	// the request is for us.
	forUs := n.hasAddr(a.TargetIP)
	if e, ok := s.arp[a.SenderIP]; ok {
		s.arpResolvedLocked(e, a.SenderMAC)
	} else if forUs && a.SenderIP.IsValid() && !a.SenderIP.IsUnspecified() {
		e := &arpEntry{nic: n, ip: a.SenderIP}
		s.arp[a.SenderIP] = e
		s.arpResolvedLocked(e, a.SenderMAC)
	}
	if a.Op == wire.ARPRequest && forUs {
		frame := s.txbuf[:wire.EthernetHeaderLen+wire.ARPLen]
		wire.EncodeARP(frame[wire.EthernetHeaderLen:], &wire.ARPFields{
			Op: wire.ARPReply, SenderMAC: n.mac, SenderIP: a.TargetIP, TargetMAC: a.SenderMAC, TargetIP: a.SenderIP,
		})
		s.stats.ArpOutReplies++
		n.writeFrame(frame, a.SenderMAC, wire.EtherTypeARP)
	}
}

func (s *Stack) arpResolvedLocked(e *arpEntry, mac wire.MAC) {
	e.mac = mac
	e.resolved = true
	e.tries = 0
	e.expires = s.now().Add(s.opts.ARPTimeout)
	s.armARPLocked(e, s.opts.ARPTimeout)
	pending := e.pending
	e.pending = nil
	for _, f := range pending {
		e.nic.writeFrame(f, mac, wire.EtherTypeIPv4)
	}
}

func (s *Stack) armARPLocked(e *arpEntry, d time.Duration) {
	if e.timer == nil {
		e.timer = s.clock.AfterFunc(d, func() { s.arpTimer(e) })
		return
	}
	e.timer.Reset(d)
}

func (s *Stack) arpTimer(e *arpEntry) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed || s.arp[e.ip] != e {
		return
	}
	if e.resolved {
		if !s.now().Before(e.expires) {
			delete(s.arp, e.ip) // stale: resolved again on next use
		}
		return
	}
	if e.tries >= s.opts.ARPRetries {
		delete(s.arp, e.ip)
		s.stats.ArpFailures++
		for _, f := range e.pending {
			// Tell the local sender, as a received host-unreachable would.
			if len(f) > wire.EthernetHeaderLen {
				s.localUnreachableLocked(f[wire.EthernetHeaderLen:])
			}
		}
		e.pending = nil
		return
	}
	s.sendARPRequestLocked(e)
}

func (s *Stack) sendARPRequestLocked(e *arpEntry) {
	n := e.nic
	src := netip.Addr{}
	if len(n.addrs) > 0 {
		src = n.addrs[0].Addr()
		for _, p := range n.addrs {
			if p.Contains(e.ip) {
				src = p.Addr()
				break
			}
		}
	}
	e.tries++
	frame := make([]byte, wire.EthernetHeaderLen+wire.ARPLen)
	wire.EncodeARP(frame[wire.EthernetHeaderLen:], &wire.ARPFields{
		Op: wire.ARPRequest, SenderMAC: n.mac, SenderIP: src, TargetIP: e.ip,
	})
	s.stats.ArpOutRequests++
	n.writeFrame(frame, wire.BroadcastMAC(), wire.EtherTypeARP)
	s.armARPLocked(e, time.Second)
}

// sendGratuitousARPLocked announces addr on n (RFC 5227 §3: an ARP request
// with sender and target IP both set to the address).
func (s *Stack) sendGratuitousARPLocked(n *NIC, addr netip.Addr) {
	frame := make([]byte, wire.EthernetHeaderLen+wire.ARPLen)
	wire.EncodeARP(frame[wire.EthernetHeaderLen:], &wire.ARPFields{
		Op: wire.ARPRequest, SenderMAC: n.mac, SenderIP: addr, TargetIP: addr,
	})
	s.stats.ArpOutRequests++
	n.writeFrame(frame, wire.BroadcastMAC(), wire.EtherTypeARP)
}

// resolveAndSendLocked sends an IPv4 packet held in frame (Ethernet header
// space at the front) to nextHop on n, resolving its MAC first if needed.
func (s *Stack) resolveAndSendLocked(n *NIC, nextHop netip.Addr, frame []byte) {
	if isBroadcast(n, nextHop) {
		n.writeFrame(frame, wire.BroadcastMAC(), wire.EtherTypeIPv4)
		return
	}
	e, ok := s.arp[nextHop]
	if ok && e.resolved && s.now().Before(e.expires) {
		n.writeFrame(frame, e.mac, wire.EtherTypeIPv4)
		return
	}
	if !ok || e.nic != n {
		e = &arpEntry{nic: n, ip: nextHop}
		s.arp[nextHop] = e
	}
	if e.resolved { // stale: send anyway and refresh (RFC 1122 §2.3.2.1)
		n.writeFrame(frame, e.mac, wire.EtherTypeIPv4)
		e.resolved = false
		e.tries = 0
		s.sendARPRequestLocked(e)
		return
	}
	if len(e.pending) < maxARPQueue {
		e.pending = append(e.pending, append([]byte(nil), frame...))
	} else {
		s.stats.ArpQueueDrops++
	}
	if e.tries == 0 {
		s.sendARPRequestLocked(e)
	}
}

func isBroadcast(n *NIC, a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range n.addrs {
		if p.Bits() < 31 && a == lastAddr(p) {
			return true
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
