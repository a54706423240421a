package stack

import (
	"time"

	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

// input processes one segment for this connection (RFC 9293 §3.10.7).
func (c *tcpConn) input(h *wire.TCPFields, payload []byte) {
	s := c.s
	now := s.now()
	c.stats.segsIn++
	if len(payload) > 0 {
		c.stats.dataSegsIn++
	}
	c.lastRecv = now
	if s.opts.Probe != nil {
		e := c.probeEvent(ProbeSegmentIn)
		e.Flags, e.Seq, e.Ack, e.DataLen = h.Flags, h.Seq, h.Ack, len(payload)
		e.Window = uint32(h.Window) << c.sndWS
		if h.Flags.Has(wire.TCPFlagSYN) {
			e.Window = uint32(h.Window)
		}
		e.SACKBlocks = h.Options.NumSACKBlocks
		e.SACK = h.Options.SACKBlocks
		if h.Flags.Has(wire.TCPFlagSYN) {
			o := h.Options
			e.Options = &o
		}
		s.opts.Probe(e)
	}
	switch c.state {
	case StateSynSent:
		c.inputSynSent(h, payload)
		c.armTimer()
		return
	case StateClosed:
		return
	}
	c.inputSynchronizedOrSynRcvd(h, payload)
	if c.state != StateClosed {
		c.armTimer()
	}
}

// inputSynSent is RFC 9293 §3.10.7.3.
func (c *tcpConn) inputSynSent(h *wire.TCPFields, payload []byte) {
	s := c.s
	ack := seqnum.Value(h.Ack)
	if h.Flags.Has(wire.TCPFlagACK) {
		if ack.LessThanEq(c.iss) || ack.GreaterThan(c.sndMax) {
			if !h.Flags.Has(wire.TCPFlagRST) {
				c.sendRST(ack, 0, false)
			}
			return
		}
	}
	if h.Flags.Has(wire.TCPFlagRST) {
		if h.Flags.Has(wire.TCPFlagACK) {
			s.stats.TcpAttemptFails++
			c.abort(ECONNREFUSED, false)
		}
		return
	}
	if !h.Flags.Has(wire.TCPFlagSYN) {
		return
	}
	c.irs = seqnum.Value(h.Seq)
	c.rcvNxt = c.irs.Add(1)
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(c.synWnd)) // the window our SYN offered
	c.applySynOptions(h)
	c.sndWnd = uint32(h.Window)
	c.maxSndWnd = c.sndWnd
	c.sndWl1 = seqnum.Value(h.Seq)
	c.sndWl2 = ack
	if h.Flags.Has(wire.TCPFlagACK) {
		// Our SYN is acknowledged: ESTABLISHED.
		c.sndUna = ack
		c.sndBase = ack
		c.takeRTTSample(ack, h)
		c.rtoAt = time.Time{}
		c.backoff, c.retries = 0, 0
		c.cwnd = c.initialCwnd()
		c.setState(StateEstablished)
		c.resetKeepalive()
		c.sendACK()
		c.processData(h, payload)
		c.output()
		return
	}
	// Simultaneous open (RFC 9293 §3.5, figure 8).
	c.setState(StateSynRcvd)
	c.sndNxt = c.iss
	c.sendSYN(true)
}

// applySynOptions takes the options of the peer's SYN (RFC 9293 §3.7.1,
// RFC 7323 §§2-3, RFC 2018 §2).
func (c *tcpConn) applySynOptions(h *wire.TCPFields) {
	o := &h.Options
	c.peerMSS = 536 // RFC 9293 §3.7.1 default
	if o.HasMSS && o.MSS > 0 {
		c.peerMSS = int(o.MSS)
	}
	if o.HasWindowScale && !c.opts.DisableWS {
		c.wsOK = true
		c.sndWS = o.WindowScale
	} else {
		c.wsOK = false
		c.sndWS, c.rcvWS = 0, 0
	}
	c.sackOK = o.SACKPermitted && !c.opts.DisableSACK
	c.tsOK = o.HasTimestamps && !c.opts.DisableTS
	if c.tsOK {
		c.tsRecent = o.TSVal
	}
	c.setMSS()
}

func (c *tcpConn) setMSS() {
	m := min(c.peerMSS, c.nic.mtu-ipHdr-wire.TCPMinHeaderLen)
	c.rcvMSS = min(c.advMSS, c.peerMSS)
	if c.tsOK {
		c.rcvMSS -= 12
		m -= 12 // NOP NOP TS: 1448 on a 1500-byte MTU, as Linux reports
	}
	if m < 64 {
		m = 64
	}
	c.mss = m
}

func (c *tcpConn) initialCwnd() uint32 {
	return uint32(c.opts.InitialWindow * c.mss) // RFC 6928
}

// acceptable is the segment acceptability test (RFC 9293 §3.10.7.4).
func (c *tcpConn) acceptable(seq seqnum.Value, segLen uint32) bool {
	wnd := uint32(c.rcvWindowNow())
	if segLen == 0 {
		if wnd == 0 {
			return seq == c.rcvNxt
		}
		return seq.InWindow(c.rcvNxt, seqnum.Size(wnd))
	}
	if wnd == 0 {
		return false
	}
	last := seq.Add(seqnum.Size(segLen - 1))
	return seq.InWindow(c.rcvNxt, seqnum.Size(wnd)) || last.InWindow(c.rcvNxt, seqnum.Size(wnd))
}

// newIncarnation reports whether a SYN arriving in TIME-WAIT is clearly from
// a new connection: its timestamp is newer, or (without timestamps) its
// sequence number is beyond the old connection's (RFC 6191 §2).
func (c *tcpConn) newIncarnation(h *wire.TCPFields) bool {
	if c.tsOK && h.Options.HasTimestamps {
		return int32(h.Options.TSVal-c.tsRecent) > 0
	}
	return seqnum.Value(h.Seq).GreaterThan(c.rcvNxt)
}

// rcvWindowNow is RCV.WND, the window last advertised (what remains of
// it): the acceptability test uses it (RFC 9293 §3.10.7.4).
func (c *tcpConn) rcvWindowNow() int {
	if c.rcvAdv.GreaterThan(c.rcvNxt) {
		return int(c.rcvAdv - c.rcvNxt)
	}
	return 0
}

func (c *tcpConn) inputSynchronizedOrSynRcvd(h *wire.TCPFields, payload []byte) {
	s := c.s
	if c.state == StateSynRcvd && h.Flags.Has(wire.TCPFlagSYN) && seqnum.Value(h.Seq) == c.irs {
		if !h.Flags.Has(wire.TCPFlagACK) {
			c.sendSYN(true) // the peer retransmitted its SYN: our SYN-ACK was lost
			return
		}
		if seqnum.Value(h.Ack) != c.iss.Add(1) {
			c.sendRST(seqnum.Value(h.Ack), 0, false)
			return
		}
		// Simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK acks our
		// SYN; its SYN is already ours. Take it as the ACK it also is.
		hh := *h
		hh.Flags &^= wire.TCPFlagSYN
		hh.Seq++
		h = &hh
		defer c.sendACK()
	}
	seq := seqnum.Value(h.Seq)
	segLen := uint32(len(payload))
	if h.Flags.Has(wire.TCPFlagSYN) {
		segLen++
	}
	if h.Flags.Has(wire.TCPFlagFIN) {
		segLen++
	}

	// TIME-WAIT: a retransmitted FIN is ACKed again and restarts the timer;
	// an RST closes (Linux, tcp_rfc1337=0).
	if c.state == StateTimeWait {
		switch {
		case h.Flags.Has(wire.TCPFlagSYN) && !h.Flags.Has(wire.TCPFlagACK) && c.newIncarnation(h):
			// A new connection reusing the 4-tuple (RFC 1122 §4.2.2.13,
			// RFC 6191): end TIME-WAIT and let the listener take the SYN.
			if lso := s.findListenerLocked(c.id.local); lso != nil {
				c.free()
				s.handleListenLocked(lso, c.nic, c.id, h, payload)
				return
			}
			c.sendACK()
		case h.Flags.Has(wire.TCPFlagRST):
			c.free()
		case h.Flags.Has(wire.TCPFlagFIN):
			c.sendACK()
			c.closeAt = s.now().Add(c.opts.TimeWait)
		case segLen > 0 || seq != c.rcvNxt:
			c.sendACK()
		}
		return
	}

	// PAWS (RFC 7323 §5.3).
	if c.tsOK && h.Options.HasTimestamps && !h.Flags.Has(wire.TCPFlagRST) {
		if int32(h.Options.TSVal-c.tsRecent) < 0 {
			s.stats.TcpExtPAWSEstab++
			c.sendOutOfWindowACK()
			return
		}
	}

	// 1. Sequence number check.
	if !c.acceptable(seq, segLen) {
		if h.Flags.Has(wire.TCPFlagRST) {
			return
		}
		if c.state == StateSynRcvd && h.Flags.Has(wire.TCPFlagSYN) && seq == c.irs {
			c.sendSYN(true) // the peer lost our SYN-ACK
			return
		}
		c.sendOutOfWindowACK()
		return
	}

	// 2. RST (RFC 5961 §3.2): exact match resets, in-window draws a
	// challenge ACK.
	if h.Flags.Has(wire.TCPFlagRST) {
		if seq != c.rcvNxt {
			c.sendChallengeACK()
			return
		}
		switch c.state {
		case StateSynRcvd:
			if c.parent != nil { // passive open: back to LISTEN, i.e. gone
				c.free()
				return
			}
			s.stats.TcpAttemptFails++
			c.abort(ECONNREFUSED, false)
		case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
			s.stats.TcpEstabResets++
			c.abort(ECONNRESET, false)
		default:
			c.free()
		}
		return
	}

	// 3. SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
	if h.Flags.Has(wire.TCPFlagSYN) {
		if c.state == StateSynRcvd && c.parent != nil && seq == c.irs {
			return
		}
		c.sendChallengeACK()
		return
	}

	// 4. ACK.
	if !h.Flags.Has(wire.TCPFlagACK) {
		return
	}
	ack := seqnum.Value(h.Ack)
	if c.state == StateSynRcvd {
		if ack.LessThanEq(c.sndUna) || ack.GreaterThan(c.sndMax) {
			c.sendRST(ack, 0, false)
			return
		}
		if c.parent != nil && c.parent.lsn != nil && len(c.parent.lsn.ready) >= c.parent.lsn.backlog {
			s.stats.TcpExtListenOverflows++
			s.stats.TcpExtListenDrops++
			return // keep SYN-RECEIVED; our SYN-ACK retransmission retries
		}
		c.sndWnd = uint32(h.Window) << c.sndWS
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		c.sndWl1, c.sndWl2 = seq, ack
		c.cwnd = c.initialCwnd()
		if c.parent != nil && c.parent.lsn != nil {
			l := c.parent.lsn
			l.synRcvd--
			s.stats.TcpPassiveOpens++
			c.setState(StateEstablished)
			l.ready = append(l.ready, c)
			c.parent.notifyRead()
		} else {
			c.setState(StateEstablished)
		}
		c.resetKeepalive()
		if c.finQueued {
			c.setState(StateFinWait1)
		}
	}
	if ack.GreaterThan(c.sndMax) {
		s.stats.TcpExtTCPACKSkippedSeq++
		c.sendOutOfWindowACK() // acks something not yet sent
		return
	}
	c.processACK(h, seq, ack, len(payload))
	if c.state == StateClosed {
		return
	}

	// Update tsRecent (RFC 7323 §4.3).
	if c.tsOK && h.Options.HasTimestamps && seq.LessThanEq(c.lastAckSent) {
		c.tsRecent = h.Options.TSVal
	}

	// 5-7. Data and FIN.
	c.processData(h, payload)
	if c.state != StateClosed {
		c.output()
	}
}

// processACK handles the acknowledgment field of a segment in a
// synchronized state (RFC 9293 §3.10.7.4 fifth, RFC 5681, 6582, 6675).
func (c *tcpConn) processACK(h *wire.TCPFields, seq, ack seqnum.Value, dataLen int) {
	s := c.s
	now := s.now()
	wnd := uint32(h.Window) << c.sndWS
	// sackedBefore is what the scoreboard held above SND.UNA before this
	// ACK: bytes this ACK acknowledges cumulatively that were SACKed
	// already were delivered before, and do not grow cwnd again.
	var sackedBefore uint32
	if len(c.sacked.blocks) > 0 {
		sackedBefore = c.sacked.sackedBytes()
	}
	if c.sackOK && h.Options.NumSACKBlocks > 0 {
		c.sacked.update(h.Options.SACKBlocks[:h.Options.NumSACKBlocks], c.sndUna, c.sndMax)
	}
	acked := uint32(0)
	if ack.GreaterThan(c.sndUna) {
		acked = uint32(ack - c.sndUna)
	}
	// Was the window the limit? Grow cwnd only then (RFC 7661; Linux's
	// tcp_is_cwnd_limited: in slow start while cwnd < 2 * flight).
	if flight := c.inFlight(); c.cwnd < c.ssthresh {
		c.cwndLimited = c.cwnd < 2*flight
	} else {
		c.cwndLimited = flight+uint32(c.mss) >= c.cwnd
	}

	// Window update (RFC 9293 §3.10.7.4: SND.WL1/WL2).
	windowChanged := false
	if c.sndWl1.LessThan(seq) || (c.sndWl1 == seq && c.sndWl2.LessThanEq(ack)) {
		windowChanged = c.sndWnd != wnd
		wasZero := c.sndWnd == 0
		c.sndWnd = wnd
		c.maxSndWnd = max(c.maxSndWnd, wnd)
		c.sndWl1, c.sndWl2 = seq, ack
		if wasZero && wnd > 0 {
			c.persistAt = time.Time{}
			c.persistN = 0
		}
	}

	if acked == 0 {
		// Duplicate ACK (RFC 5681 §2): nothing new acked, no data, same
		// window, data outstanding.
		if ack == c.sndUna && dataLen == 0 && !windowChanged && c.sndMax != c.sndUna &&
			!h.Flags.Has(wire.TCPFlagFIN) {
			c.onDupAck()
		}
		return
	}

	// New data acknowledged.
	c.eifelJudge(ack, h)
	c.takeRTTSample(ack, h)
	finAcked := c.finSent && ack.GreaterThan(c.finSeq)
	dataAcked := acked
	if finAcked {
		dataAcked--
	}
	if c.sndUna == c.iss { // our SYN was outstanding
		dataAcked--
	}
	c.sndBuf.discard(min(int(dataAcked), c.sndBuf.n))
	c.sndBuf.rewind()
	c.sndBase = c.sndBase.Add(seqnum.Size(dataAcked))
	c.sndUna = ack
	if c.sndNxt.LessThan(ack) {
		c.sndNxt = ack
	}
	c.stats.bytesAcked += uint64(dataAcked)
	c.updateDeliveryRate(now)
	c.retries = 0
	c.backoff = 0
	c.computeRTO()
	c.persistN = 0
	c.sacked.trim(c.sndUna)
	// delivered is what this ACK newly tells delivered, as Linux's
	// tp->delivered counts: the bytes it acknowledges, less those SACKed
	// before, plus those it SACKs above the new SND.UNA. A cumulative
	// ACK that a retransmission unblocks covers every SACKed byte above
	// the hole; counted whole it would open cwnd to all of them at once.
	delivered := acked
	if sackedBefore > 0 || len(c.sacked.blocks) > 0 {
		delivered = uint32(max(int64(acked)+int64(c.sacked.sackedBytes())-int64(sackedBefore), 0))
	}

	switch c.caState {
	case CARecovery:
		if ack.GreaterThanEq(c.recover) {
			c.exitRecovery()
		} else if c.sackOK {
			// RFC 6675 §5 (C): continue loss recovery.
		} else {
			// NewReno partial ACK (RFC 6582 §3.2 step 5).
			c.retransmitHead()
			if c.cwnd > acked {
				c.cwnd -= acked
			} else {
				c.cwnd = 0
			}
			c.cwnd += uint32(c.mss)
			c.rtoAt = now.Add(c.rto)
		}
	case CALoss:
		if ack.GreaterThanEq(c.recover) {
			c.caState = CAOpen
		}
		c.cc.onAck(c, delivered, now)
	default:
		c.caState = CAOpen
		c.dupAcks = 0
		c.cc.onAck(c, delivered, now)
	}
	if c.caState != CARecovery {
		c.dupAcks = 0
	}

	// Retransmission timer (RFC 6298 §5.2-5.3).
	if c.sndUna == c.sndMax {
		c.rtoAt = time.Time{}
		c.firstUnackedAt = time.Time{}
	} else {
		c.rtoAt = now.Add(c.rto)
		c.firstUnackedAt = now
	}
	if c.so != nil && c.sndBuf.free() > 0 {
		c.so.notifyWrite()
	}

	if finAcked {
		switch c.state {
		case StateFinWait1:
			c.setState(StateFinWait2)
			if c.so == nil {
				c.closeAt = now.Add(c.opts.FinWait2)
			}
		case StateClosing:
			c.enterTimeWait()
		case StateLastAck:
			c.free()
		}
	}
}

func (c *tcpConn) onDupAck() {
	c.dupAcks++
	s := c.s
	switch c.caState {
	case CARecovery:
		if !c.sackOK {
			c.cwnd += uint32(c.mss) // RFC 6582 §3.2 step 4: inflate
		}
		return
	case CALoss:
		return
	}
	c.caState = CADisorder
	lost := c.sackOK && c.sacked.isLost(c.sndUna, c.mss)
	if c.dupAcks >= 3 || lost {
		c.enterRecovery()
		return
	}
	// Limited transmit (RFC 3042): one new segment per of the first two
	// duplicate ACKs.
	_ = s
	c.limitedTransmit = c.dupAcks
}

func (c *tcpConn) enterRecovery() {
	s := c.s
	c.caState = CARecovery
	c.recover = c.sndMax
	c.highRxt = c.sndUna
	c.ssthresh = c.cc.ssthreshOnLoss(c)
	s.stats.TcpExtTCPFastRetrans++
	c.stats.fastRetrans++
	if c.sackOK {
		s.stats.TcpExtTCPSackRecovery++
		c.cwnd = c.ssthresh
	} else {
		s.stats.TcpExtTCPRenoRecovery++
		c.cwnd = c.ssthresh + 3*uint32(c.mss)
	}
	c.retransmitHead()
	c.rtoAt = s.now().Add(c.rto)
}

func (c *tcpConn) exitRecovery() {
	if c.sackOK {
		c.cwnd = c.ssthresh
	} else {
		// RFC 6582 §3.2 step 6, option 1.
		c.cwnd = min(c.ssthresh, max(c.inFlight(), uint32(c.mss))+uint32(c.mss))
	}
	c.caState = CAOpen
	c.dupAcks = 0
	c.cc.afterRecovery(c)
}

// retransmitHead resends the first unacknowledged segment.
func (c *tcpConn) retransmitHead() {
	n := min(c.mss, int(c.sndMax-c.sndUna))
	if c.finSent && c.sndUna == c.finSeq {
		c.sendSegment(c.sndUna, 0, wire.TCPFlagFIN, true)
		return
	}
	dataEnd := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
	n = min(n, int(dataEnd-c.sndUna))
	if n <= 0 {
		return
	}
	flags := wire.TCPFlags(0)
	if c.finSent && c.sndUna.Add(seqnum.Size(n)) == c.finSeq && c.sndUna.Add(seqnum.Size(n)+1) == c.sndMax {
		flags = wire.TCPFlagFIN
	}
	c.sendSegment(c.sndUna, n, flags, true)
	if c.highRxt.LessThan(c.sndUna.Add(seqnum.Size(n))) {
		c.highRxt = c.sndUna.Add(seqnum.Size(n))
	}
}

// eifelRetransmitted notes a retransmitted segment for Eifel detection
// (RFC 3522): the first of an episode keeps its start and timestamp.
// Without timestamps nothing is judged.
func (c *tcpConn) eifelRetransmitted(seq seqnum.Value, f *wire.TCPFields) {
	st := &c.stats
	if !c.tsOK || !f.Options.HasTimestamps {
		return
	}
	if !st.eifelOn {
		st.eifelOn, st.eifelSeq, st.eifelTS, st.eifelSegs = true, seq, f.Options.TSVal, 0
	}
	st.eifelSegs++
}

// eifelJudge ends the episode on the first ACK for its first
// retransmitted segment: an echoed timestamp older than the
// retransmission's says the original arrived, so the episode's
// retransmissions were spurious. The connection's response is unchanged
// (no undo); the verdict is counted.
func (c *tcpConn) eifelJudge(ack seqnum.Value, h *wire.TCPFields) {
	st := &c.stats
	if !st.eifelOn || !ack.GreaterThan(st.eifelSeq) {
		return
	}
	st.eifelOn = false
	if h.Options.HasTimestamps && h.Options.TSEcr != 0 && int32(h.Options.TSEcr-st.eifelTS) < 0 {
		st.spurious += st.eifelSegs
	}
}

// takeRTTSample measures the RTT from the timed segment (Karn's rule: the
// timing is dropped when anything is retransmitted) or, failing that, from
// the echoed timestamp (RFC 7323 §4).
func (c *tcpConn) takeRTTSample(ack seqnum.Value, h *wire.TCPFields) {
	now := c.s.now()
	var r time.Duration
	switch {
	case c.rttTiming && ack.GreaterThanEq(c.rttSeq):
		r = now.Sub(c.rttTime)
		c.rttTiming = false
	case c.tsOK && h.Options.HasTimestamps && h.Options.TSEcr != 0 && c.backoff > 0:
		d := c.tsNow() - h.Options.TSEcr
		if int32(d) < 0 {
			return
		}
		r = time.Duration(d) * time.Millisecond
	default:
		return
	}
	c.rttSample(r)
}

// rttSample feeds one RTT measurement into SRTT and RTTVAR (RFC 6298 §2).
func (c *tcpConn) rttSample(r time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
	if c.minRTT == 0 || r < c.minRTT {
		c.minRTT = r
	}
	if !c.hasRTT {
		c.srtt = r
		c.rttvar = r / 2
		c.hasRTT = true
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.backoff = 0
	c.computeRTO()
}

// computeRTO sets RTO = max(SRTT + max(G, 4*RTTVAR), min), doubled per
// backoff, at most max (RFC 6298 §§2, 5.5).
func (c *tcpConn) computeRTO() {
	base := c.opts.InitialRTO
	if c.hasRTT {
		base = c.srtt + max(time.Millisecond, 4*c.rttvar)
	}
	base = max(base, c.opts.MinRTO)
	c.rto = c.opts.MaxRTO
	if c.backoff < 32 && base<<c.backoff < c.opts.MaxRTO && base<<c.backoff > 0 {
		c.rto = base << c.backoff
	}
}

func (c *tcpConn) updateDeliveryRate(now time.Time) {
	if c.stats.deliveredAt.IsZero() {
		c.stats.deliveredAt = now
		c.stats.lastDelivered = c.stats.bytesAcked
		return
	}
	if d := now.Sub(c.stats.deliveredAt); d >= max(c.srtt, time.Millisecond) {
		c.stats.deliveryRate = uint64(float64(c.stats.bytesAcked-c.stats.lastDelivered) / d.Seconds())
		c.stats.deliveredAt = now
		c.stats.lastDelivered = c.stats.bytesAcked
	}
}

// processData takes the segment's text and FIN (RFC 9293 §3.10.7.4 seventh
// and eighth), keeping out-of-order data for reassembly.
func (c *tcpConn) processData(h *wire.TCPFields, payload []byte) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2, StateSynRcvd:
	default:
		if len(payload) > 0 {
			c.sendACK() // data after the peer's FIN: nothing to do but ACK
		}
		return
	}
	seq := seqnum.Value(h.Seq)
	fin := h.Flags.Has(wire.TCPFlagFIN)
	if len(payload) == 0 && !fin {
		return
	}
	if c.so == nil && (c.state == StateFinWait1 || c.state == StateFinWait2) &&
		c.rcvNxt.LessThan(seq.Add(seqnum.Size(len(payload)))) {
		// New data for a connection the application closed: nobody
		// will read it. Reset, so the peer learns it was lost (RFC 1122
		// §4.2.2.13; Linux's TCPAbortOnData).
		c.s.stats.TcpExtTCPAbortOnData++
		c.abort(ECONNABORTED, true)
		return
	}
	// Trim what we already have.
	if seq.LessThan(c.rcvNxt) {
		skip := int(c.rcvNxt - seq)
		if skip > len(payload) {
			if fin && seq.Add(seqnum.Size(len(payload))) == c.rcvNxt {
				payload = nil
				seq = c.rcvNxt
			} else {
				c.sendACK() // a full duplicate: ACK at once (RFC 5681 §4.2)
				return
			}
		} else {
			payload = payload[skip:]
			seq = c.rcvNxt
		}
	}
	// Trim to the buffer space.
	room := c.rcvBuf.free() - int(seq-c.rcvNxt)
	if room < 0 {
		room = 0
	}
	if len(payload) > room {
		c.s.stats.TcpExtTCPRcvQDrop++
		payload = payload[:room]
		fin = false
	}
	c.stats.bytesReceived += uint64(len(payload))
	if len(payload) > c.rcvMSS && len(payload) <= c.advMSS {
		c.rcvMSS = len(payload) // as Linux's rcv_mss estimate
	}
	if seq != c.rcvNxt {
		// Out of order: keep it and ACK at once with SACK (RFC 5681 §4.2).
		if len(payload) > 0 {
			c.s.stats.TcpExtTCPOFOQueue++
			c.rcvBuf.writeAt(int(seq-c.rcvNxt), payload)
			c.addOOO(seqRange{seq, seq.Add(seqnum.Size(len(payload)))})
		}
		if fin {
			c.oooFin = true
			c.oooFinSeq = seq.Add(seqnum.Size(len(payload)))
		}
		c.sendACK()
		return
	}
	hadHoles := len(c.ooo) > 0
	if len(payload) > 0 {
		c.rcvBuf.writeAt(0, payload)
		next := seq.Add(seqnum.Size(len(payload)))
		for len(c.ooo) > 0 && c.ooo[0].start.LessThanEq(next) {
			next = seqnum.Max(next, c.ooo[0].end)
			c.ooo = c.ooo[1:]
			c.oooLast = 0
		}
		c.rcvBuf.advance(int(next - c.rcvNxt))
		c.rcvNxt = next
		c.pendingAck += len(payload)
		if c.so != nil {
			c.so.notifyRead()
		}
	}
	if c.oooFin && c.oooFinSeq == c.rcvNxt {
		fin = true
		c.oooFin = false
	}
	if fin {
		c.rcvNxt = c.rcvNxt.Add(1)
		c.finRcvd = true
		switch c.state {
		case StateSynRcvd, StateEstablished:
			c.setState(StateCloseWait)
		case StateFinWait1:
			if c.finAcked() {
				c.enterTimeWait()
			} else {
				c.setState(StateClosing)
			}
		case StateFinWait2:
			c.enterTimeWait()
		}
		c.sendACK()
		return
	}
	c.ackAfterData(hadHoles)
}

// ackAfterData decides between an immediate and a delayed ACK (RFC 1122
// §4.2.3.2, RFC 5681 §4.2): at least every second full-sized segment, at
// once while quick-ACKing and when a hole was filled.
// maxStretchACK bounds the data one ACK of a batch answers, as GRO
// bounds what it merges.
const maxStretchACK = 64 << 10

// batchACKMaxRTT is the path below which BatchACKs act when the stack is
// not told that no link is impaired (SetLinksUnimpaired): a connection
// whose smallest RTT is under it runs on links nothing slows, where an ACK
// per burst saves a third of the frames at gigabits and slow start lasts
// microseconds. Where a link delays, every second segment is ACKed as RFC
// 5681 says, which is what a lab there shows.
const batchACKMaxRTT = time.Millisecond

// batchACKs reports whether an ACK may wait for the end of the batch.
func (c *tcpConn) batchACKs() bool {
	return c.opts.BatchACKs && c.s.inBatch && (c.s.unimpaired || c.hasRTT && c.minRTT < batchACKMaxRTT)
}

func (c *tcpConn) ackAfterData(filledHole bool) {
	switch {
	case c.opts.DelayedACK < 0, filledHole, c.quickAcks > 0:
		if c.quickAcks > 0 {
			c.quickAcks--
		}
		c.sendACK()
	case c.pendingAck >= 2*c.rcvMSS:
		if c.pendingAck < maxStretchACK && c.batchACKs() {
			// More frames of this batch may follow: one ACK at its end
			// answers them all, as Linux's GRO makes one of a burst of
			// up to 64 KiB.
			c.s.ackAtBatchEnd(c)
			return
		}
		c.sendACK()
	default:
		if c.delackAt.IsZero() {
			c.delackAt = c.s.now().Add(c.opts.DelayedACK)
		}
	}
}

func (c *tcpConn) addOOO(r seqRange) {
	// Insert keeping order, merging overlaps.
	i := 0
	for i < len(c.ooo) && c.ooo[i].end.LessThan(r.start) {
		i++
	}
	j := i
	for j < len(c.ooo) && c.ooo[j].start.LessThanEq(r.end) {
		r.start = seqnum.Min(r.start, c.ooo[j].start)
		r.end = seqnum.Max(r.end, c.ooo[j].end)
		j++
	}
	c.ooo = append(c.ooo[:i], append([]seqRange{r}, c.ooo[j:]...)...)
	c.oooLast = i
}

func (c *tcpConn) enterTimeWait() {
	if c.opts.TimeWait < 0 { // configured off: free at once
		c.free()
		return
	}
	c.setState(StateTimeWait)
	c.s.stats.TcpExtTW++
	c.rtoAt, c.persistAt, c.keepAt, c.flushAt, c.delackAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.closeAt = c.s.now().Add(c.opts.TimeWait)
}

// afterRead sends a window update when reading opened the window enough
// (receiver SWS avoidance, RFC 9293 §3.8.6.2.2).
func (c *tcpConn) afterRead() {
	if !c.state.synchronized() || c.finRcvd {
		return
	}
	advertised := int(c.rcvAdv - c.rcvNxt)
	if c.rcvAdv.LessThan(c.rcvNxt) {
		advertised = 0
	}
	// The window field cannot say more than 65535<<rcvWS: past that, a
	// read changes nothing the peer can see.
	now := min(c.rcvBuf.free(), 65535<<c.rcvWS)
	// A window update of its own only when the window grew by what RFC
	// 1122 §4.2.3.3 asks (SWS avoidance) and at least doubled, as Linux
	// (tcp_cleanup_rbuf): while the peer still has half of what it could
	// send, the next ACK of data tells it the rest, and a reader keeping
	// up does not send a segment per read.
	if now-advertised >= min(c.rcvBuf.cap()/2, c.rcvMSS) && now >= 2*advertised {
		c.sendACK()
	}
}

func (c *tcpConn) sendOutOfWindowACK() {
	now := c.s.now()
	if !c.lastOOWAck.IsZero() && now.Sub(c.lastOOWAck) < 500*time.Millisecond {
		return // rate-limited, as Linux's tcp_invalid_ratelimit
	}
	c.lastOOWAck = now
	c.sendACK()
}

func (c *tcpConn) sendChallengeACK() {
	s := c.s
	if !s.challenge.allow(s.now()) {
		return
	}
	s.stats.TcpExtTCPChallengeACK++
	c.sendACK()
}
