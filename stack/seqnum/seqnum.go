// Package seqnum is TCP sequence number arithmetic modulo 2^32 (RFC 9293
// §3.4): comparisons are made on the signed difference, so they stay right
// across wrap-around as long as the values are within 2^31 of each other.
package seqnum

// Value is a TCP sequence number.
type Value uint32

// Size is a length in sequence space.
type Size uint32

// LessThan reports v < w in sequence space.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports v <= w in sequence space.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// GreaterThan reports v > w in sequence space.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports v >= w in sequence space.
func (v Value) GreaterThanEq(w Value) bool { return int32(v-w) >= 0 }

// InRange reports a <= v < b.
func (v Value) InRange(a, b Value) bool { return v-a < b-a }

// InWindow reports first <= v < first+size.
func (v Value) InWindow(first Value, size Size) bool { return v.InRange(first, first.Add(size)) }

// Add returns v+s.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns the distance from w to v (v-w), which must not be negative.
func (v Value) Sub(w Value) Size { return Size(v - w) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}

// Overlap reports whether [a, a+as) and [b, b+bs) share any sequence number.
func Overlap(a Value, as Size, b Value, bs Size) bool {
	return a.LessThan(b.Add(bs)) && b.LessThan(a.Add(as))
}
