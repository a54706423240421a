package impair

import "math"

// codelState is CoDel's state (RFC 8289 §5, the Linux variant the RFC's
// pseudocode follows). Times are nanoseconds since the Direction's epoch.
type codelState struct {
	// firstAbove is when the sojourn time will have been above target for
	// an interval; 0 when it is below target.
	firstAbove int64
	// dropNext is when the next drop is due in the dropping state.
	dropNext int64
	// count is the number of drops since entering the dropping state, and
	// lastCount its value when the state was last entered.
	count, lastCount uint32
	// dropping says CoDel is in the dropping state.
	dropping bool
	// maxPacket is the largest frame seen: below that much backlog CoDel
	// never drops (the RFC's MAXPACKET).
	maxPacket int
}

// idle is what a dequeue from an empty queue does: the sojourn time cannot
// be above target, and the dropping state ends.
func (c *codelState) idle() {
	c.firstAbove = 0
	c.dropping = false
}

// codelPop removes the head of the rate queue at time now (RFC 8289
// dodequeue) and reports whether CoDel may drop it: its sojourn time has
// been at or above target for at least an interval and more than a frame's
// worth of bytes remains queued.
func (d *Direction) codelPop(now int64) (p packet, ok, okToDrop bool) {
	c := &d.codel
	if d.q.n == 0 {
		c.firstAbove = 0
		return packet{}, false, false
	}
	p = d.q.pop()
	d.qBytes -= len(p.buf)
	c.maxPacket = max(c.maxPacket, len(p.buf))
	if now-p.enq < d.s.codelTarget || d.qBytes <= c.maxPacket {
		c.firstAbove = 0
		return p, true, false
	}
	if c.firstAbove == 0 {
		c.firstAbove = now + d.s.codelInterval
	} else if now >= c.firstAbove {
		okToDrop = true
	}
	return p, true, okToDrop
}

// controlLaw returns t + interval/sqrt(count) (RFC 8289 §5.4), computed in
// floating point rather than Linux's Newton step.
func (d *Direction) controlLaw(t int64) int64 {
	return t + int64(float64(d.s.codelInterval)/math.Sqrt(float64(max(d.codel.count, 1))))
}

// codelDequeue returns the frame the link sends next at time now, after
// CoDel dropped (or, with ECN, marked) the frames its control law says
// (RFC 8289 §5.5 dequeue, Linux's codel_dequeue). ok is false when it
// dropped the queue empty.
func (d *Direction) codelDequeue(now int64) (packet, bool) {
	c := &d.codel
	p, ok, drop := d.codelPop(now)
	if !ok {
		c.dropping = false
		return p, false
	}
	switch {
	case c.dropping:
		if !drop {
			c.dropping = false
			break
		}
		for c.dropping && now >= c.dropNext {
			c.count++
			if d.s.ecn && ecnCapable(p.buf) {
				d.markHeld(&p)
				c.dropNext = d.controlLaw(c.dropNext)
				return p, true
			}
			d.dropHeld(p, DropCoDel, now)
			if p, ok, drop = d.codelPop(now); !ok {
				c.dropping = false
				return p, false
			}
			if !drop {
				c.dropping = false
			} else {
				c.dropNext = d.controlLaw(c.dropNext)
			}
		}
	case drop:
		if d.s.ecn && ecnCapable(p.buf) {
			d.markHeld(&p)
		} else {
			d.dropHeld(p, DropCoDel, now)
			p, ok, _ = d.codelPop(now)
		}
		c.dropping = true
		// If the queue went back above target soon after the last dropping
		// state, start from the drop rate that controlled it then.
		if delta := c.count - c.lastCount; delta > 1 && now-c.dropNext < 16*d.s.codelInterval {
			c.count = delta
		} else {
			c.count = 1
		}
		c.lastCount = c.count
		c.dropNext = d.controlLaw(now)
		if !ok {
			return p, false
		}
	}
	return p, true
}

// markHeld marks a queued ECN-capable frame CE instead of dropping it.
func (d *Direction) markHeld(p *packet) {
	markCE(p.buf)
	p.flags |= flagMarked
	d.stats.ECNMarked++
}
