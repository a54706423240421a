package stack

import (
	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

// scoreboard is the sender's record of SACKed ranges above SND.UNA
// (RFC 6675 §3), sorted and merged.
type scoreboard struct {
	blocks []seqRange
}

const dupThresh = 3

func (sb *scoreboard) clear() { sb.blocks = sb.blocks[:0] }

// update adds the peer's SACK blocks that lie within (una, max].
func (sb *scoreboard) update(blocks []wire.SACKBlock, una, sndMax seqnum.Value) {
	for _, b := range blocks {
		r := seqRange{seqnum.Value(b.Start), seqnum.Value(b.End)}
		if !r.start.LessThan(r.end) || r.end.LessThanEq(una) || r.end.GreaterThan(sndMax) {
			continue // D-SACK, stale or bogus
		}
		if r.start.LessThan(una) {
			r.start = una
		}
		sb.insert(r)
	}
}

func (sb *scoreboard) insert(r seqRange) {
	i := 0
	for i < len(sb.blocks) && sb.blocks[i].end.LessThan(r.start) {
		i++
	}
	j := i
	for j < len(sb.blocks) && sb.blocks[j].start.LessThanEq(r.end) {
		r.start = seqnum.Min(r.start, sb.blocks[j].start)
		r.end = seqnum.Max(r.end, sb.blocks[j].end)
		j++
	}
	if i == j {
		sb.blocks = append(sb.blocks, seqRange{})
		copy(sb.blocks[i+1:], sb.blocks[i:])
		sb.blocks[i] = r
		return
	}
	sb.blocks[i] = r
	sb.blocks = append(sb.blocks[:i+1], sb.blocks[j:]...)
}

// trim forgets everything below una.
func (sb *scoreboard) trim(una seqnum.Value) {
	k := 0
	for _, b := range sb.blocks {
		if b.end.LessThanEq(una) {
			continue
		}
		if b.start.LessThan(una) {
			b.start = una
		}
		sb.blocks[k] = b
		k++
	}
	sb.blocks = sb.blocks[:k]
}

func (sb *scoreboard) sackedBytes() uint32 {
	var n uint32
	for _, b := range sb.blocks {
		n += b.size()
	}
	return n
}

// lostBoundary returns the sequence number below which every un-SACKed byte
// counts as lost: IsLost (RFC 6675 §4) holds when DupThresh discontiguous
// SACKed blocks, or more than (DupThresh-1)*SMSS SACKed bytes, lie above.
func (sb *scoreboard) lostBoundary(una seqnum.Value, mss int) seqnum.Value {
	var bytes uint32
	for i := len(sb.blocks) - 1; i >= 0; i-- {
		bytes += sb.blocks[i].size()
		if bytes > uint32((dupThresh-1)*mss) || len(sb.blocks)-i >= dupThresh {
			return sb.blocks[i].start
		}
	}
	return una
}

func (sb *scoreboard) isLost(seq seqnum.Value, mss int) bool {
	return seq.LessThan(sb.lostBoundary(seq, mss))
}

// pipe estimates the bytes in flight (RFC 6675 §4 SetPipe): un-SACKed bytes
// not deemed lost, plus lost bytes already retransmitted (below highRxt).
func (sb *scoreboard) pipe(una, sndMax, highRxt seqnum.Value, mss int) uint32 {
	lb := sb.lostBoundary(una, mss)
	var pipe uint32
	holeStart := una
	visit := func(a, b seqnum.Value) {
		if !a.LessThan(b) {
			return
		}
		// [a, lb) lost: count what was retransmitted; [lb, b) in flight.
		if a.LessThan(lb) {
			le := seqnum.Min(b, lb)
			re := seqnum.Min(le, highRxt)
			if a.LessThan(re) {
				pipe += uint32(re - a)
			}
			a = le
		}
		if a.LessThan(b) {
			pipe += uint32(b - a)
		}
	}
	for _, blk := range sb.blocks {
		visit(holeStart, blk.start)
		holeStart = blk.end
	}
	visit(holeStart, sndMax)
	return pipe
}

// nextLost returns the first lost, not yet retransmitted hole at or above
// highRxt (RFC 6675 NextSeg rule 1).
func (sb *scoreboard) nextLost(una, sndMax, highRxt seqnum.Value, mss int) (seqnum.Value, seqnum.Value, bool) {
	lb := sb.lostBoundary(una, mss)
	from := seqnum.Max(una, highRxt)
	holeStart := una
	for _, blk := range sb.blocks {
		a, b := seqnum.Max(holeStart, from), seqnum.Min(blk.start, lb)
		if a.LessThan(b) {
			return a, b, true
		}
		holeStart = blk.end
	}
	return 0, 0, false
}
