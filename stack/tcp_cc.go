package stack

import (
	"math"
	"time"
)

// congestionControl is a congestion-control algorithm. The connection keeps
// cwnd and ssthresh (bytes); the algorithm adjusts them.
type congestionControl interface {
	name() string
	// onAck is called when acked new bytes were acknowledged outside
	// fast recovery.
	onAck(c *tcpConn, acked uint32, now time.Time)
	// ssthreshOnLoss returns the slow-start threshold after a loss.
	ssthreshOnLoss(c *tcpConn) uint32
	// onRTO is called after a retransmission timeout set cwnd to one MSS.
	onRTO(c *tcpConn)
	// afterRecovery is called when fast recovery ends.
	afterRecovery(c *tcpConn)
}

func newCongestionControl(name string) (congestionControl, bool) {
	switch name {
	case "reno", "newreno":
		return &reno{}, true
	case "cubic":
		return &cubic{}, true
	}
	return nil, false
}

// CongestionControls lists the algorithm names SetOption accepts.
func CongestionControls() []string { return []string{"reno", "cubic"} }

// slowStart grows cwnd in slow start by every byte newly delivered, up
// to ssthresh, and returns what is left for congestion avoidance: RFC 3465
// byte counting without its per-ACK limit L, as Linux (tcp_slow_start). A
// stretch ACK — a receiver answering a burst at once, as Linux's GRO and
// netlab's batch ACKs do — then grows cwnd as much as ACKs of its
// segments one by one would have, and slow start still doubles cwnd
// every round trip. What the caller counts is delivered bytes, not the
// ACK's span (processACK): bytes SACKed before are not counted again
// when a filled hole lets the cumulative ACK jump over them.
func (c *tcpConn) slowStart(acked uint32) uint32 {
	if c.cwnd >= c.ssthresh {
		return acked
	}
	grow := min(acked, c.ssthresh-c.cwnd)
	c.cwnd += grow
	return acked - grow
}

// reno is RFC 5681 slow start and congestion avoidance; with the
// connection's fast recovery this is NewReno (RFC 6582).
type reno struct{}

func (*reno) name() string { return "reno" }

func (*reno) onAck(c *tcpConn, acked uint32, _ time.Time) {
	if !c.cwndLimited {
		return // RFC 7661: do not grow a window the sender does not use
	}
	mss := uint32(c.mss)
	if acked = c.slowStart(acked); acked == 0 {
		return
	}
	c.bytesAckedCA += acked // RFC 5681 §3.1 byte counting
	if c.bytesAckedCA >= c.cwnd {
		c.bytesAckedCA -= c.cwnd
		c.cwnd += mss
	}
}

func (*reno) ssthreshOnLoss(c *tcpConn) uint32 {
	return max(c.inFlight()/2, 2*uint32(c.mss)) // RFC 5681 eq. (4)
}

func (*reno) onRTO(c *tcpConn)         { c.bytesAckedCA = 0 }
func (*reno) afterRecovery(c *tcpConn) { c.bytesAckedCA = 0 }

// cubic is CUBIC (RFC 9438): W(t) = C(t-K)^3 + Wmax, with the Reno-friendly
// region and fast convergence.
type cubic struct {
	wMax      float64 // segments
	k         float64 // seconds
	epoch     time.Time
	wEst      float64
	cwndStart float64
}

const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

func (*cubic) name() string { return "cubic" }

func (cu *cubic) onAck(c *tcpConn, acked uint32, now time.Time) {
	if !c.cwndLimited {
		return
	}
	mss := float64(c.mss)
	if acked = c.slowStart(acked); acked == 0 {
		return
	}
	cwnd := float64(c.cwnd) / mss
	if cu.epoch.IsZero() {
		cu.epoch = now
		cu.cwndStart = cwnd
		if cwnd < cu.wMax {
			cu.k = math.Cbrt((cu.wMax - cwnd) / cubicC) // RFC 9438 eq. (2)
		} else {
			cu.k = 0
			cu.wMax = cwnd
		}
		cu.wEst = cwnd
	}
	t := now.Sub(cu.epoch).Seconds() + c.srtt.Seconds()
	target := cubicC*math.Pow(t-cu.k, 3) + cu.wMax // eq. (1) at t+RTT
	target = min(max(target, cwnd), 1.5*cwnd)
	// Reno-friendly estimate (eq. 4), alpha = 3(1-beta)/(1+beta).
	alpha := 3 * (1 - cubicBeta) / (1 + cubicBeta)
	if cu.wEst >= cu.wMax {
		alpha = 1
	}
	cu.wEst += alpha * float64(acked) / mss / cwnd
	if cu.wEst > target {
		target = cu.wEst
	}
	inc := (target - cwnd) / cwnd * float64(acked)
	c.bytesAckedCA += uint32(inc)
	if c.bytesAckedCA >= c.cwnd/uint32(max(1, int(cwnd))) && inc > 0 {
		c.cwnd += c.bytesAckedCA
		c.bytesAckedCA = 0
	}
}

func (cu *cubic) ssthreshOnLoss(c *tcpConn) uint32 {
	cwnd := float64(c.cwnd) / float64(c.mss)
	if cwnd < cu.wMax { // fast convergence (RFC 9438 §4.7)
		cu.wMax = cwnd * (1 + cubicBeta) / 2
	} else {
		cu.wMax = cwnd
	}
	cu.epoch = time.Time{}
	return max(uint32(float64(c.cwnd)*cubicBeta), 2*uint32(c.mss))
}

func (cu *cubic) onRTO(c *tcpConn) {
	cu.epoch = time.Time{}
	c.bytesAckedCA = 0
}

func (cu *cubic) afterRecovery(c *tcpConn) {
	cu.epoch = time.Time{}
	c.bytesAckedCA = 0
}
