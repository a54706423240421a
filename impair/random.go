package impair

import (
	"math/bits"
	"math/rand/v2"
)

// seedStream is the PCG stream selector mixed with Config.Seed ("netlab" in
// ASCII), so that a Seed gives the same sequence on every machine.
const seedStream = 0x6e65746c6162

// source is a direction's random source: PCG from math/rand/v2, drawn 32
// bits at a time as netem's prandom_u32_state is.
type source struct {
	pcg rand.PCG
}

func (s *source) seed(seed uint64) { s.pcg.Seed(seed, seed^seedStream) }

// u32 returns a uniform 32-bit value.
func (s *source) u32() uint32 { return uint32(s.pcg.Uint64() >> 32) }

// chance reports whether an event of threshold thr happens on one draw.
func (s *source) chance(thr uint64) bool {
	return uint64(s.u32()) < thr
}

// correlated is netem's crndstate: the last value and the correlation rho
// on a 2^32 scale.
type correlated struct {
	last uint32
	rho  uint64
}

// next returns netem's get_crandom: (1-rho)·U + rho·last, a NIST Net
// approximation of a correlated uniform value (its spread shrinks as rho
// grows, see the package doc).
func (c *correlated) next(s *source) uint32 {
	v := s.u32()
	if c.rho == 0 {
		return v
	}
	// (v·(2^32-rho) + last·rho) >> 32 never overflows: both terms are below
	// 2^32·(2^32-rho) and 2^32·rho.
	hi1, lo1 := bits.Mul64(uint64(v), (1<<32)-c.rho)
	hi2, lo2 := bits.Mul64(uint64(c.last), c.rho)
	lo, carry := bits.Add64(lo1, lo2, 0)
	hi := hi1 + hi2 + carry
	ans := uint32(hi<<32 | lo>>32)
	c.last = ans
	return ans
}

// States of the loss models.
const (
	// 4-state model (netem's TX_IN_GAP_PERIOD ... LOST_IN_GAP_PERIOD, here
	// numbered as in the model's paper and tc-netem(8)).
	stateGap      = 0 // 1: transmitting in a gap
	stateBurstTx  = 1 // 2: transmitting within a burst
	stateBurstBad = 2 // 3: lost within a burst
	stateIsolated = 3 // 4: isolated loss

	// Gilbert-Elliott.
	geGood = 0
	geBad  = 1
)

// lossState4 moves the 4-state chain one frame on and reports whether the
// frame is lost: it is lost when the chain enters (or stays in) state 3 or
// enters state 4. One draw decides the transition out of the current state
// (thr holds p13, p31, p32, p23, p14).
//
// This is the model as tc-netem(8) and the NetemCLG report define it.
// Kernel versions differ in how they map the draw to transitions (the
// "probability gaps" fixed in 2026), so this is where parity means the
// documented model rather than one kernel's code.
func lossState4(st *uint8, thr *[5]uint64, rnd uint32) bool {
	r := uint64(rnd)
	p13, p31, p32, p23, p14 := thr[0], thr[1], thr[2], thr[3], thr[4]
	switch *st {
	case stateGap:
		switch {
		case r < p14:
			*st = stateIsolated
			return true
		case r < p14+p13:
			*st = stateBurstBad
			return true
		}
		return false
	case stateBurstTx:
		if r < p23 {
			*st = stateBurstBad
			return true
		}
		return false
	case stateBurstBad:
		switch {
		case r < p32:
			*st = stateBurstTx
			return false
		case r < p32+p31:
			*st = stateGap
			return false
		}
		return true
	default: // stateIsolated: always back to the gap
		*st = stateGap
		return false
	}
}

// lossGE moves the Gilbert-Elliott chain one frame on and reports whether
// the frame is lost: a first draw moves good to bad with p or bad to good
// with r, a second decides the loss with the new state's probability (1-k
// good, 1-h bad), as netem.md describes netem's loss_gilb_ell. (The kernel
// code tests the loss with the state it was in before the move; that is the
// same chain seen one frame earlier, with the same statistics.) thr holds
// p, r, 1-h, 1-k.
func lossGE(st *uint8, thr *[5]uint64, s *source) bool {
	move := s.chance
	p, r, lossBad, lossGood := thr[0], thr[1], thr[2], thr[3]
	if *st == geGood {
		if move(p) {
			*st = geBad
		}
	} else if move(r) {
		*st = geGood
	}
	if *st == geBad {
		return s.chance(lossBad)
	}
	return s.chance(lossGood)
}
