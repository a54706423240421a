package stack

import (
	"encoding/binary"
	"net/netip"

	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

type listener struct {
	backlog  int
	synRcvd  int        // half-open children
	children []*tcpConn // all children not yet accepted, in arrival order
	ready    []*tcpConn // established, waiting for Accept
}

func (l *listener) remove(c *tcpConn) {
	for i, x := range l.children {
		if x == c {
			l.children = append(l.children[:i], l.children[i+1:]...)
			break
		}
	}
	for i, x := range l.ready {
		if x == c {
			l.ready = append(l.ready[:i], l.ready[i+1:]...)
			break
		}
	}
	if c.state == StateSynRcvd || (c.state == StateClosed && l.synRcvd > 0 && !c.sndUna.GreaterThan(c.iss)) {
		l.synRcvd--
	}
	c.parent = nil
}

// Listen makes fd accept connections, with at most backlog established
// connections waiting for Accept and backlog half-open ones; beyond that,
// SYN cookies answer new SYNs.
func (s *Stack) Listen(fd int, backlog int) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("listen", fd, err)
	}
	if so.typ != SockStream || so.tcp != nil {
		return opErr("listen", fd, EINVAL)
	}
	if backlog <= 0 {
		backlog = 1
	}
	if backlog > 4096 {
		backlog = 4096
	}
	if so.lsn != nil {
		so.lsn.backlog = backlog
		return nil
	}
	if !so.bound {
		if err := s.bindLocked(so, netip.AddrPort{}); err != nil {
			return opErr("listen", fd, err)
		}
	}
	so.lsn = &listener{backlog: backlog}
	s.tcpLsn[so.local] = so
	return nil
}

// Accept waits for an established connection on listening fd and returns
// its new descriptor and the peer's address.
func (s *Stack) Accept(fd int) (int, netip.AddrPort, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return -1, netip.AddrPort{}, opErr("accept", fd, err)
	}
	if so.lsn == nil {
		return -1, netip.AddrPort{}, opErr("accept", fd, EINVAL)
	}
	for len(so.lsn.ready) == 0 {
		if err := s.waitLocked(so, so.rd, so.rdDL); err != nil {
			return -1, netip.AddrPort{}, opErr("accept", fd, err)
		}
		if so.lsn == nil {
			return -1, netip.AddrPort{}, opErr("accept", fd, EINVAL)
		}
	}
	c := so.lsn.ready[0]
	so.lsn.remove(c)
	nso, err := s.newSocketLocked(SockStream)
	if err != nil {
		c.abort(ECONNABORTED, true)
		return -1, netip.AddrPort{}, opErr("accept", fd, err)
	}
	nso.opts = c.opts
	nso.tcp = c
	nso.local = c.id.local
	c.so = nso
	if len(so.lsn.ready) > 0 {
		so.notifyRead()
	}
	if c.rcvBuf.n > 0 || c.finRcvd {
		nso.notifyRead()
	}
	return nso.fd, c.id.remote, nil
}

func (s *Stack) closeListenerLocked(so *socket) {
	l := so.lsn
	if l == nil {
		return
	}
	so.lsn = nil
	if s.tcpLsn[so.local] == so {
		delete(s.tcpLsn, so.local)
	}
	// Children nobody accepted are reset (RFC 9293 §3.10.4; gVisor
	// tcp_noaccept_close_rst, packetdrill listen_close_before_handshake).
	for _, c := range append([]*tcpConn(nil), l.children...) {
		c.parent = nil
		c.abort(ECONNRESET, true)
	}
	so.notify()
}

func (s *Stack) findListenerLocked(local netip.AddrPort) *socket {
	if so, ok := s.tcpLsn[local]; ok {
		return so
	}
	if so, ok := s.tcpLsn[netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())]; ok {
		return so
	}
	return nil
}

// handleListenLocked processes a segment for a listening socket (RFC 9293
// §3.10.7.2).
func (s *Stack) handleListenLocked(so *socket, n *NIC, id connKey, h *wire.TCPFields, payload []byte) {
	l := so.lsn
	switch {
	case h.Flags.Has(wire.TCPFlagRST):
		return
	case h.Flags.Has(wire.TCPFlagACK):
		if h.Flags.Has(wire.TCPFlagSYN) {
			s.sendRSTForLocked(id, h, len(payload))
			return
		}
		// An ACK for a SYN we answered with a cookie?
		mss, ok := s.checkCookieLocked(id, seqnum.Value(h.Ack-1), seqnum.Value(h.Seq-1))
		if !ok {
			if s.cookieRecentLocked() {
				s.stats.TcpExtSyncookiesFailed++
			}
			s.sendRSTForLocked(id, h, len(payload))
			return
		}
		if len(l.ready) >= l.backlog {
			s.stats.TcpExtListenOverflows++
			s.stats.TcpExtListenDrops++
			return
		}
		s.stats.TcpExtSyncookiesRecv++
		c := s.newConnLocked(id, n, so.opts)
		c.initBuffers()
		c.parent = so
		c.iss = seqnum.Value(h.Ack - 1)
		c.sndUna, c.sndNxt, c.sndMax = c.iss.Add(1), c.iss.Add(1), c.iss.Add(1)
		c.sndBase = c.sndUna
		c.irs = seqnum.Value(h.Seq - 1)
		c.rcvNxt = c.irs.Add(1)
		c.rcvAdv = c.rcvNxt.Add(seqnum.Size(min(65535, c.opts.ReceiveBuffer))) // what the cookie SYN-ACK offered
		c.peerMSS = mss
		c.setMSS()
		c.rcvWS, c.sndWS = 0, 0 // a cookie does not remember window scaling
		c.sndWnd = uint32(h.Window)
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = seqnum.Value(h.Seq), seqnum.Value(h.Ack)
		c.cwnd = c.initialCwnd()
		s.tcpConn[id] = c
		l.children = append(l.children, c)
		s.stats.TcpPassiveOpens++
		c.setState(StateEstablished)
		l.ready = append(l.ready, c)
		so.notifyRead()
		c.processData(h, payload)
		return
	case !h.Flags.Has(wire.TCPFlagSYN):
		return
	}
	// A SYN.
	if len(l.ready) >= l.backlog {
		s.stats.TcpExtListenOverflows++
		s.stats.TcpExtListenDrops++
		return
	}
	if l.synRcvd >= l.backlog {
		s.sendCookieSynAckLocked(n, id, h, min(65535, so.opts.ReceiveBuffer))
		return
	}
	c := s.newConnLocked(id, n, so.opts)
	c.initBuffers()
	c.parent = so
	c.irs = seqnum.Value(h.Seq)
	c.rcvNxt = c.irs.Add(1)
	c.applySynOptions(h)
	c.sndWnd = uint32(h.Window) // never scaled in a SYN (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1 = seqnum.Value(h.Seq)
	s.tcpConn[id] = c
	l.children = append(l.children, c)
	l.synRcvd++
	c.setState(StateSynRcvd)
	c.sendSYN(false)
}

// SYN cookies (after Linux's layout): ISS = hash(4-tuple, t, peer ISN) in
// the low 24 bits and t (64 s units, 5 bits) and an MSS index (3 bits)
// above. Window scale, SACK and timestamps are not remembered.
var cookieMSS = [8]int{536, 1200, 1300, 1360, 1400, 1440, 1452, 1460}

func (s *Stack) cookieHashLocked(id connKey, t uint32, peerISN seqnum.Value) uint32 {
	a := id.local.Addr().As4()
	r := id.remote.Addr().As4()
	x := uint64(binary.BigEndian.Uint32(a[:]))<<32 | uint64(binary.BigEndian.Uint32(r[:]))
	y := uint64(id.local.Port())<<48 | uint64(id.remote.Port())<<32 | uint64(uint32(peerISN))
	h := mix64(x^s.cookieSecret[0]) ^ mix64(y^s.cookieSecret[1]) ^ mix64(uint64(t)+s.cookieSecret[0])
	return uint32(h ^ h>>32)
}

// issLocked is the initial sequence number of RFC 6528: a 4 µs clock plus
// a keyed hash of the 4-tuple. Outsiders cannot guess it, and a new
// connection on the same 4-tuple starts above the old one, so a SYN can
// reopen TIME-WAIT (RFC 1122 §4.2.2.13).
func (s *Stack) issLocked(id connKey) seqnum.Value {
	a, r := id.local.Addr().As4(), id.remote.Addr().As4()
	x := uint64(binary.BigEndian.Uint32(a[:]))<<32 | uint64(binary.BigEndian.Uint32(r[:]))
	y := uint64(id.local.Port())<<16 | uint64(id.remote.Port())
	h := mix64(x+s.cookieSecret[0]) ^ mix64(y^s.cookieSecret[1]^0x5bd1e995)
	return seqnum.Value(uint32(s.elapsed().Microseconds()/4) + uint32(h))
}

// tsOffsetLocked is the connection's timestamp offset: a keyed hash of the
// 4-tuple (Linux's secure_tcp_ts_off), so a new connection on the same
// 4-tuple carries newer timestamps than the old one (RFC 6191 needs that)
// while different connections reveal nothing about the stack's clock.
func (s *Stack) tsOffsetLocked(id connKey) uint32 {
	a, r := id.local.Addr().As4(), id.remote.Addr().As4()
	x := uint64(binary.BigEndian.Uint32(a[:]))<<32 | uint64(binary.BigEndian.Uint32(r[:]))
	y := uint64(id.local.Port())<<16 | uint64(id.remote.Port())
	return uint32(mix64(x^s.cookieSecret[1]) ^ mix64(y+s.cookieSecret[0]))
}

// mix64 is SplitMix64's finalizer: a keyed hash good enough to make cookies
// unguessable without the stack's secret, and deterministic for a seed.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (s *Stack) cookieTime() uint32 { return uint32(s.elapsed().Seconds() / 64) }

func (s *Stack) makeCookieLocked(id connKey, peerISN seqnum.Value, mss int) seqnum.Value {
	idx := 0
	for i, m := range cookieMSS {
		if m <= mss {
			idx = i
		}
	}
	t := s.cookieTime()
	v := (t&0x1f)<<27 | uint32(idx)<<24 | s.cookieHashLocked(id, t, peerISN)&0xffffff
	s.lastCookie = s.clock.Now()
	return seqnum.Value(v)
}

func (s *Stack) checkCookieLocked(id connKey, cookie, peerISN seqnum.Value) (int, bool) {
	v := uint32(cookie)
	now := s.cookieTime()
	tc := v >> 27
	for age := uint32(0); age < 2; age++ {
		t := now - age
		if t&0x1f != tc {
			continue
		}
		if s.cookieHashLocked(id, t, peerISN)&0xffffff == v&0xffffff {
			return cookieMSS[(v>>24)&7], true
		}
	}
	return 0, false
}

func (s *Stack) cookieRecentLocked() bool {
	return !s.lastCookie.IsZero() && s.clock.Now().Sub(s.lastCookie) < 128e9
}

func (s *Stack) sendCookieSynAckLocked(n *NIC, id connKey, h *wire.TCPFields, wnd int) {
	mss := 536
	if h.Options.HasMSS {
		mss = int(h.Options.MSS)
	}
	if m := n.mtu - ipHdr - wire.TCPMinHeaderLen; mss > m {
		mss = m
	}
	iss := s.makeCookieLocked(id, seqnum.Value(h.Seq), mss)
	f := wire.TCPFields{SrcPort: id.local.Port(), DstPort: id.remote.Port(), Seq: uint32(iss), Ack: h.Seq + 1,
		Flags: wire.TCPFlagSYN | wire.TCPFlagACK, Window: uint16(wnd)}
	f.Options.HasMSS = true
	f.Options.MSS = uint16(mss)
	s.stats.TcpExtSyncookiesSent++
	s.sendRawTCPLocked(id, &f)
}

// sendRSTForLocked answers a segment that belongs to no connection (RFC
// 9293 §3.10.7.1): never an RST for an RST.
func (s *Stack) sendRSTForLocked(id connKey, h *wire.TCPFields, dataLen int) {
	if h.Flags.Has(wire.TCPFlagRST) {
		return
	}
	f := wire.TCPFields{SrcPort: id.local.Port(), DstPort: id.remote.Port()}
	if h.Flags.Has(wire.TCPFlagACK) {
		f.Seq = h.Ack
		f.Flags = wire.TCPFlagRST
	} else {
		segLen := uint32(dataLen)
		if h.Flags.Has(wire.TCPFlagSYN) {
			segLen++
		}
		if h.Flags.Has(wire.TCPFlagFIN) {
			segLen++
		}
		f.Ack = h.Seq + segLen
		f.Flags = wire.TCPFlagRST | wire.TCPFlagACK
	}
	s.stats.TcpOutRsts++
	s.sendRawTCPLocked(id, &f)
}

// sendRawTCPLocked sends a segment with no payload outside any connection.
func (s *Stack) sendRawTCPLocked(id connKey, f *wire.TCPFields) {
	hl := f.HeaderLen()
	seg := s.txbuf[wire.EthernetHeaderLen+ipHdr : wire.EthernetHeaderLen+ipHdr+hl]
	wire.EncodeTCP(seg, f, id.local.Addr(), id.remote.Addr())
	s.stats.TcpOutSegs++
	s.sendIPv4Locked(wire.ProtoTCP, id.local.Addr(), id.remote.Addr(), hl, 0)
}

// handleTCPLocked demultiplexes an inbound segment (RFC 9293 §3.10.7).
func (s *Stack) handleTCPLocked(n *NIC, ip *wire.IPv4Fields, b []byte) {
	h, payload, err := wire.ParseTCP(b, ip.Src, ip.Dst)
	if err != nil {
		s.stats.TcpInErrs++
		if errorsIsChecksum(err) {
			s.stats.TcpInCsumErrors++
		}
		return
	}
	s.stats.TcpInSegs++
	id := connKey{local: netip.AddrPortFrom(ip.Dst, h.DstPort), remote: netip.AddrPortFrom(ip.Src, h.SrcPort)}
	if c, ok := s.tcpConn[id]; ok {
		c.input(&h, payload)
		return
	}
	if lso := s.findListenerLocked(id.local); lso != nil {
		s.handleListenLocked(lso, n, id, &h, payload)
		return
	}
	s.sendRSTForLocked(id, &h, len(payload))
}
