package stack

import (
	"time"

	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

// armTimer points the connection's one clock timer at its earliest
// deadline. A timer that would fire early is left alone: it re-arms itself
// when it fires (deadlines are checked against now, not trusted).
func (c *tcpConn) armTimer() {
	var next time.Time
	for _, t := range [...]time.Time{c.rtoAt, c.delackAt, c.persistAt, c.keepAt, c.flushAt, c.closeAt} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		return
	}
	if !c.timerAt.IsZero() && !c.timerAt.After(next) {
		return // already due no later than needed
	}
	d := next.Sub(c.s.now())
	c.timerAt = next
	if c.timer == nil {
		c.timer = c.s.clock.AfterFunc(d, c.onTimer)
		return
	}
	c.timer.Reset(d)
}

func (c *tcpConn) onTimer() {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	c.timerAt = time.Time{}
	if s.closed || c.state == StateClosed {
		return
	}
	now := s.now()
	due := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	if due(c.closeAt) {
		c.closeAt = time.Time{}
		if c.state == StateTimeWait {
			c.probeTimer(TimerTimeWait)
		} else {
			c.probeTimer(TimerFinWait2)
		}
		c.free()
		return
	}
	if due(c.rtoAt) {
		c.rtoAt = time.Time{}
		c.onRTO()
		if c.state == StateClosed {
			return
		}
	}
	if due(c.persistAt) {
		c.persistAt = time.Time{}
		c.onPersist()
	}
	if due(c.delackAt) {
		c.delackAt = time.Time{}
		c.s.stats.TcpExtTCPDelayedACKs++
		c.probeTimer(TimerDelayedACK)
		c.sendACK()
	}
	if due(c.flushAt) {
		c.probeTimer(TimerFlush)
		c.output() // sends the held data: flushAt has passed
		c.flushAt = time.Time{}
	}
	if due(c.keepAt) {
		c.keepAt = time.Time{}
		c.onKeepalive()
	}
	if c.state != StateClosed {
		c.armTimer()
	}
}

// onRTO is the retransmission timeout (RFC 6298 §5.4-5.7, RFC 5681 §3.1).
func (c *tcpConn) onRTO() {
	s := c.s
	now := s.now()
	if c.sndUna == c.sndMax {
		return
	}
	c.probeTimer(TimerRTO)
	s.stats.TcpExtTCPTimeouts++
	c.stats.timeouts++
	c.retries++
	limit := c.opts.Retries
	if c.state == StateSynSent || c.state == StateSynRcvd {
		limit = c.opts.SynRetries
	}
	userTimedOut := c.opts.UserTimeout > 0 && !c.firstUnackedAt.IsZero() && now.Sub(c.firstUnackedAt) >= c.opts.UserTimeout
	if c.retries > limit || userTimedOut {
		s.stats.TcpExtTCPAbortOnTimeout++
		if c.state == StateSynSent {
			s.stats.TcpAttemptFails++
		}
		err := error(ETIMEDOUT)
		if c.softErr != nil && c.state == StateSynSent {
			err = c.softErr
		}
		c.abort(err, false)
		return
	}
	c.backoff++
	c.computeRTO()
	switch c.state {
	case StateSynSent, StateSynRcvd:
		c.sendSYN(true)
		return
	}
	// Congestion response and go-back-N from SND.UNA.
	if c.caState != CALoss {
		c.ssthresh = c.cc.ssthreshOnLoss(c)
	}
	c.cwnd = uint32(c.mss) // loss window
	c.cc.onRTO(c)
	c.caState = CALoss
	c.recover = c.sndMax
	c.dupAcks = 0
	c.sacked.clear()
	c.stats.lost += uint64((c.sndMax - c.sndUna) / seqnum.Value(max(c.mss, 1)))
	c.sndNxt = c.sndUna
	c.rttTiming = false
	c.rtoAt = now.Add(c.rto)
	if c.finSent && c.sndUna == c.finSeq {
		c.sendSegment(c.sndUna, 0, wire.TCPFlagFIN, true)
		c.sndNxt = c.finSeq.Add(1)
		return
	}
	c.output()
	if c.sndNxt == c.sndUna {
		// Nothing could go (zero window): retransmit the head anyway.
		c.retransmitHead()
	}
}

func (c *tcpConn) armPersist() {
	d := c.rto << c.persistN
	if d > c.opts.MaxRTO || d <= 0 {
		d = c.opts.MaxRTO
	}
	c.persistAt = c.s.now().Add(d)
}

// onPersist sends a zero-window probe (RFC 9293 §3.8.6.1), as Linux does:
// an ACK with SEG.SEQ = SND.UNA-1 and no data, which makes the peer answer
// with its current window. Probes back off exponentially.
func (c *tcpConn) onPersist() {
	dataEnd := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
	if c.sndNxt == dataEnd {
		c.persistN = 0
		return
	}
	if c.sndWnd > 0 {
		// A window too small for SWS avoidance: fill it anyway.
		c.forceSmall = true
		c.output()
		c.forceSmall = false
		return
	}
	c.probeTimer(TimerPersist)
	c.s.stats.TcpExtTCPZeroWindowProbes++
	c.stats.probes++
	now := c.s.now()
	if c.opts.UserTimeout > 0 && !c.firstUnackedAt.IsZero() && now.Sub(c.firstUnackedAt) >= c.opts.UserTimeout {
		c.abort(ETIMEDOUT, true)
		return
	}
	if c.firstUnackedAt.IsZero() {
		c.firstUnackedAt = now
	}
	c.sendSegment(c.sndUna.Add(^seqnum.Size(0)), 0, 0, false)
	c.persistN++
	c.armPersist()
}

func (c *tcpConn) resetKeepalive() {
	if !c.opts.Keepalive || !c.state.synchronized() {
		c.keepAt = time.Time{}
		return
	}
	c.keepN = 0
	c.keepAt = c.s.now().Add(c.opts.KeepIdle)
}

// onKeepalive probes an idle connection (RFC 1122 §4.2.3.6) and gives up
// after KeepCount unanswered probes.
func (c *tcpConn) onKeepalive() {
	if !c.opts.Keepalive {
		return
	}
	now := c.s.now()
	idle := now.Sub(c.lastRecv)
	if c.lastRecv.IsZero() || idle < c.opts.KeepIdle && c.keepN == 0 {
		base := c.lastRecv
		if base.IsZero() {
			base = now
		}
		c.keepAt = base.Add(c.opts.KeepIdle)
		return
	}
	// Anything received since the first probe went out (at the same
	// instant included) answers it.
	if c.keepN > 0 && now.Sub(c.lastRecv) <= c.opts.KeepInterval*time.Duration(c.keepN) {
		c.keepN = 0
		c.keepAt = c.lastRecv.Add(c.opts.KeepIdle)
		return
	}
	if c.keepN >= c.opts.KeepCount {
		c.abort(ETIMEDOUT, true)
		return
	}
	c.probeTimer(TimerKeepalive)
	c.s.stats.TcpExtTCPKeepAlive++
	c.sendSegment(c.sndUna.Add(^seqnum.Size(0)), 0, 0, false)
	c.keepN++
	c.keepAt = now.Add(c.opts.KeepInterval)
}
