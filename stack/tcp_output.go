package stack

import (
	"net/netip"
	"time"

	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

// tsNow is our timestamp clock: milliseconds (RFC 7323 §5.4) plus a random
// per-connection offset.
func (c *tcpConn) tsNow() uint32 {
	return uint32(c.s.elapsed()/time.Millisecond) + c.tsOffset
}

// advertisedWindow is the window field to send, and updates rcvAdv. The
// right edge never moves left (RFC 9293 §3.8.6.2.2) and only moves right in
// steps of at least min(buffer/2, MSS) (receiver SWS avoidance). The scaled
// field is rounded up so scaling does not shrink the window; the receive
// ring keeps 1<<rcvWS bytes of slack for that rounding, and the edge never
// passes the ring's real end.
func (c *tcpConn) advertisedWindow() uint16 {
	unit := 1 << c.rcvWS
	free := max(c.rcvBuf.free()-c.rcvSlack, 0)
	cur := 0
	if c.rcvAdv.GreaterThan(c.rcvNxt) {
		cur = int(c.rcvAdv - c.rcvNxt)
	}
	wnd := free
	if wnd < cur || wnd-cur < min(c.rcvBuf.cap()/2, c.rcvMSS) {
		wnd = cur
	}
	field := (wnd + unit - 1) >> c.rcvWS
	if field<<c.rcvWS > c.rcvBuf.free() {
		// Rounding up repeatedly would creep past the buffer: round down.
		field = c.rcvBuf.free() >> c.rcvWS
	}
	if field > 65535 {
		field = 65535
	}
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(field << c.rcvWS))
	return uint16(field)
}

// sendSYN sends our SYN (or SYN-ACK when ack is set or the connection is
// passive) with every option we offer (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
func (c *tcpConn) sendSYN(retrans bool) {
	f := wire.TCPFields{SrcPort: c.id.local.Port(), DstPort: c.id.remote.Port(), Seq: uint32(c.iss), Flags: wire.TCPFlagSYN}
	passive := c.state == StateSynRcvd
	if passive {
		f.Flags |= wire.TCPFlagACK
		f.Ack = uint32(c.rcvNxt)
	}
	o := &f.Options
	o.HasMSS, o.MSS = true, uint16(c.advMSS)
	offerWS := !c.opts.DisableWS && (!passive || c.wsOK)
	if offerWS {
		o.HasWindowScale, o.WindowScale = true, c.rcvWS
	} else {
		c.rcvWS = 0
	}
	if !c.opts.DisableSACK && (!passive || c.sackOK) {
		o.SACKPermitted = true
	}
	if !c.opts.DisableTS && (!passive || c.tsOK) {
		o.HasTimestamps, o.TSVal = true, c.tsNow()
		if passive {
			o.TSEcr = c.tsRecent
		}
	}
	w := c.rcvBuf.free() - c.rcvSlack
	if w > 65535 {
		w = 65535
	}
	f.Window = uint16(w) // a SYN's window is never scaled
	c.synWnd = w
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(w))
	c.sndNxt = c.iss.Add(1)
	if c.sndMax.LessThan(c.sndNxt) {
		c.sndMax = c.sndNxt
	}
	c.sndBase = c.iss.Add(1)
	if retrans {
		c.s.stats.TcpRetransSegs++
		c.stats.retrans++
		c.rttTiming = false
	} else if !c.rttTiming {
		c.rttTiming, c.rttSeq, c.rttTime = true, c.iss.Add(1), c.s.now()
	}
	if c.rtoAt.IsZero() || retrans {
		c.rtoAt = c.s.now().Add(c.rto)
	}
	c.emit(&f, 0, retrans)
	c.armTimer()
}

// sendACK sends a pure ACK now (cancelling any delayed ACK).
func (c *tcpConn) sendACK() {
	if c.state == StateSynSent || c.state == StateClosed {
		return
	}
	c.sendSegment(c.sndNxt, 0, 0, false)
}

// sendRST sends a reset with the given sequence (and ACK if withAck).
func (c *tcpConn) sendRST(seq, ack seqnum.Value, withAck bool) {
	f := wire.TCPFields{SrcPort: c.id.local.Port(), DstPort: c.id.remote.Port(), Seq: uint32(seq), Flags: wire.TCPFlagRST}
	if withAck {
		f.Flags |= wire.TCPFlagACK
		f.Ack = uint32(ack)
	}
	c.s.stats.TcpOutRsts++
	c.emit(&f, 0, false)
}

// sendSegment sends n bytes of buffered data starting at seq (0 for a pure
// ACK or a bare FIN), with the connection's ACK, window and options.
func (c *tcpConn) sendSegment(seq seqnum.Value, n int, extra wire.TCPFlags, retrans bool) {
	f := wire.TCPFields{
		SrcPort: c.id.local.Port(), DstPort: c.id.remote.Port(),
		Seq: uint32(seq), Ack: uint32(c.rcvNxt), Flags: wire.TCPFlagACK | extra,
	}
	if n > 0 {
		// PSH when this segment empties the send buffer (RFC 9293 §3.9.1.2).
		if seq.Add(seqnum.Size(n)) == c.sndBase.Add(seqnum.Size(c.sndBuf.n)) {
			f.Flags |= wire.TCPFlagPSH
		}
	}
	f.Window = c.advertisedWindow()
	c.emit(&f, n, retrans)
	if n > 0 || extra&wire.TCPFlagFIN != 0 {
		if retrans {
			c.eifelRetransmitted(seq, &f)
			c.s.stats.TcpRetransSegs++
			c.stats.retrans++
			c.stats.bytesRetrans += uint64(n)
			c.rttTiming = false
		} else if !c.rttTiming && n > 0 {
			c.rttTiming, c.rttSeq, c.rttTime = true, seq.Add(seqnum.Size(n)), c.s.now()
		}
		if c.rtoAt.IsZero() {
			c.rtoAt = c.s.now().Add(c.rto)
		}
		if c.firstUnackedAt.IsZero() {
			c.firstUnackedAt = c.s.now()
		}
	}
}

// emit fills in the options every segment carries (timestamps, SACK
// blocks), builds the segment in the stack's transmit buffer and sends it.
func (c *tcpConn) emit(f *wire.TCPFields, n int, retrans bool) {
	s := c.s
	if c.tsOK && !f.Flags.Has(wire.TCPFlagSYN) {
		f.Options.HasTimestamps = true
		f.Options.TSVal = c.tsNow()
		f.Options.TSEcr = c.tsRecent
	}
	if c.sackOK && len(c.ooo) > 0 && f.Flags.Has(wire.TCPFlagACK) && !f.Flags.Has(wire.TCPFlagRST) {
		c.fillSACK(&f.Options)
	}
	hl := f.HeaderLen()
	off := wire.EthernetHeaderLen + ipHdr
	seg := s.txbuf[off : off+hl+n]
	if n > 0 {
		c.sndBuf.peek(int(seqnum.Value(f.Seq)-c.sndBase), seg[hl:])
	}
	wire.EncodeTCP(seg, f, c.id.local.Addr(), c.id.remote.Addr())
	if f.Flags.Has(wire.TCPFlagACK) {
		c.lastAckSent = c.rcvNxt
		c.pendingAck = 0
		c.delackAt = time.Time{}
	}
	c.stats.segsOut++
	s.stats.TcpOutSegs++
	if n > 0 {
		c.stats.dataSegsOut++
		c.stats.bytesSent += uint64(n)
	}
	if s.opts.Probe != nil {
		e := c.probeEvent(ProbeSegmentOut)
		e.Flags, e.Seq, e.Ack, e.DataLen, e.Retrans = f.Flags, f.Seq, f.Ack, n, retrans
		e.Window = uint32(f.Window) << c.rcvWS
		if f.Flags.Has(wire.TCPFlagSYN) {
			e.Window = uint32(f.Window)
		}
		e.SACKBlocks = f.Options.NumSACKBlocks
		e.SACK = f.Options.SACKBlocks
		if f.Flags.Has(wire.TCPFlagSYN) {
			o := f.Options
			e.Options = &o
		}
		s.opts.Probe(e)
	}
	s.sendIPv4ViaLocked(c.nic, c.nextHopLocked(), wire.ProtoTCP, c.id.local.Addr(), c.id.remote.Addr(), hl+n, 0)
}

func (c *tcpConn) nextHopLocked() netip.Addr {
	n, hop, _, err := c.s.routeLocked(c.id.remote.Addr())
	if err != nil {
		return c.id.remote.Addr()
	}
	c.nic = n
	return hop
}

// fillSACK puts the out-of-order blocks into the options, the most recently
// changed first (RFC 2018 §4).
func (c *tcpConn) fillSACK(o *wire.TCPOptions) {
	max := 4
	if o.HasTimestamps {
		max = 3
	}
	k := 0
	add := func(r seqRange) {
		if k < max {
			o.SACKBlocks[k] = wire.SACKBlock{Start: uint32(r.start), End: uint32(r.end)}
			k++
		}
	}
	if c.oooLast < len(c.ooo) {
		add(c.ooo[c.oooLast])
	}
	for i := len(c.ooo) - 1; i >= 0; i-- {
		if i != c.oooLast {
			add(c.ooo[i])
		}
	}
	o.NumSACKBlocks = k
}

// output sends what the windows allow: retransmissions first during SACK
// recovery (RFC 6675 §5), then new data, honouring Nagle (RFC 896), sender
// SWS avoidance (RFC 9293 §3.8.6.2.1) and the flush timer, then the FIN.
func (c *tcpConn) output() {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
	default:
		return
	}
	now := c.s.now()
	if c.caState == CARecovery && c.sackOK {
		c.sackRecoveryOutput()
	}
	for {
		dataEnd := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
		unsent := int(dataEnd - c.sndNxt)
		if c.sndNxt.GreaterThan(dataEnd) {
			unsent = 0
		}
		finToSend := c.finQueued && (!c.finSent || c.sndNxt == c.finSeq) && c.sndNxt.LessThanEq(dataEnd)
		if unsent == 0 && !finToSend {
			c.flushAt = time.Time{}
			break
		}
		retrans := c.sndNxt.LessThan(c.sndMax)
		cwnd := c.cwnd
		if c.caState == CADisorder {
			cwnd += uint32(c.limitedTransmit * c.mss)
		}
		inflight := uint32(c.sndNxt - c.sndUna)
		if c.caState == CARecovery && c.sackOK {
			inflight = c.sacked.pipe(c.sndUna, c.sndMax, c.highRxt, c.mss)
		}
		wnd := min(c.sndWnd, cwnd)
		avail := 0
		if c.sndUna.Add(seqnum.Size(c.sndWnd)).GreaterThan(c.sndNxt) {
			avail = int(c.sndUna.Add(seqnum.Size(c.sndWnd)) - c.sndNxt)
		}
		if cw := int(cwnd) - int(inflight); cw < avail {
			avail = cw
		}
		_ = wnd
		n := min(unsent, c.mss, max(avail, 0))
		fin := finToSend && n == unsent
		if n == 0 && !(fin && unsent == 0) {
			if unsent > 0 && c.sndWnd == 0 && c.sndNxt == c.sndUna && c.persistAt.IsZero() && c.rtoAt.IsZero() {
				c.armPersist()
			}
			break
		}
		if n < c.mss && n < unsent && !retrans && !c.forceSmall {
			// Window-limited small segment: sender SWS avoidance (RFC 9293
			// §3.8.6.2.1); with nothing in flight the persist timer is the
			// override timeout that sends it anyway.
			if n < int(c.maxSndWnd/2) {
				if c.sndNxt == c.sndUna && c.persistAt.IsZero() {
					c.armPersist()
				}
				break
			}
		}
		if n > 0 && n < c.mss && n == unsent && !fin && !retrans && !c.opts.NoDelay && c.sndNxt != c.sndUna {
			// Nagle: hold a small segment while data is unacknowledged;
			// the flush timer bounds the hold.
			if c.flushAt.IsZero() {
				c.flushAt = now.Add(c.opts.FlushDelay)
			} else if !now.Before(c.flushAt) {
				goto send
			}
			break
		}
	send:
		flags := wire.TCPFlags(0)
		if fin {
			flags = wire.TCPFlagFIN
			c.finSeq = c.sndNxt.Add(seqnum.Size(n))
			c.finSent = true
		}
		c.sendSegment(c.sndNxt, n, flags, retrans)
		c.sndNxt = c.sndNxt.Add(seqnum.Size(n))
		if fin {
			c.sndNxt = c.sndNxt.Add(1)
		}
		if c.sndMax.LessThan(c.sndNxt) {
			c.sndMax = c.sndNxt
		}
		c.flushAt = time.Time{}
		if fin {
			break
		}
	}
	c.armTimer()
}

// sackRecoveryOutput retransmits lost segments while the pipe leaves room
// (RFC 6675 §5 step (C) and NextSeg rule 1).
func (c *tcpConn) sackRecoveryOutput() {
	for i := 0; i < 64; i++ {
		pipe := c.sacked.pipe(c.sndUna, c.sndMax, c.highRxt, c.mss)
		if int(c.cwnd)-int(pipe) < c.mss {
			return
		}
		start, end, ok := c.sacked.nextLost(c.sndUna, c.sndMax, c.highRxt, c.mss)
		if !ok {
			return
		}
		n := min(int(end-start), c.mss)
		dataEnd := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
		if start.Add(seqnum.Size(n)).GreaterThan(dataEnd) {
			n = int(dataEnd - start)
		}
		if n <= 0 {
			if c.finSent && start == c.finSeq {
				c.sendSegment(start, 0, wire.TCPFlagFIN, true)
				c.highRxt = start.Add(1)
			}
			return
		}
		c.sendSegment(start, n, 0, true)
		c.highRxt = start.Add(seqnum.Size(n))
	}
}
