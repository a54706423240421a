package stack

// ring is a byte ring whose capacity is limit bytes but whose memory grows
// on demand, from 4 KiB up to limit: a connection that moves little holds
// little (a new connection does not allocate and zero megabytes). Bytes
// [0, n) from start are valid; writeAt may also place bytes beyond n
// (out-of-order data) without making them valid until advance.
type ring struct {
	buf   []byte
	start int
	n     int
	limit int
}

const ringMinAlloc = 4 << 10

func newRing(limit int) ring { return ring{limit: limit} }

func (r *ring) cap() int  { return r.limit }
func (r *ring) free() int { return r.limit - r.n }

// ensure makes the memory hold need bytes from start, keeping every byte's
// place relative to start (out-of-order data included).
func (r *ring) ensure(need int) {
	if need <= len(r.buf) {
		return
	}
	// Four times at a step: a bulk connection's buffer fills as fast as
	// it grows, and each step copies all it holds (on the way from 4 KiB
	// to 1 MiB, 340 KiB copied instead of 1020 KiB).
	size := max(len(r.buf)*4, ringMinAlloc)
	for size < need {
		size *= 4
	}
	size = min(size, r.limit)
	nb := make([]byte, size)
	if len(r.buf) > 0 {
		c := copy(nb, r.buf[r.start:])
		copy(nb[c:], r.buf[:r.start])
	}
	r.buf, r.start = nb, 0
}

// append copies as much of p as fits after the valid bytes.
func (r *ring) append(p []byte) int {
	m := min(len(p), r.free())
	r.writeAt(0, p[:m])
	r.n += m
	return m
}

// writeAt copies p to offset off past the valid bytes. The caller keeps
// off+len(p) <= free().
func (r *ring) writeAt(off int, p []byte) {
	if len(p) == 0 {
		return
	}
	r.ensure(r.n + off + len(p))
	pos := (r.start + r.n + off) % len(r.buf)
	c := copy(r.buf[pos:], p)
	if c < len(p) {
		copy(r.buf, p[c:])
	}
}

// peek copies valid bytes from offset off into p and returns how many.
func (r *ring) peek(off int, p []byte) int {
	if off >= r.n {
		return 0
	}
	m := min(len(p), r.n-off)
	pos := (r.start + off) % len(r.buf)
	c := copy(p[:m], r.buf[pos:])
	if c < m {
		copy(p[c:m], r.buf)
	}
	return m
}

// read copies valid bytes into p and consumes them.
func (r *ring) read(p []byte) int {
	m := r.peek(0, p)
	r.discard(m)
	return m
}

// discard drops m valid bytes from the front.
func (r *ring) discard(m int) {
	if m == 0 {
		return
	}
	r.start = (r.start + m) % len(r.buf)
	r.n -= m
}

// rewind moves an empty ring's start back to the front of its memory, so
// that a buffer its reader keeps empty uses the same few cache lines over
// and over instead of walking all its memory. The caller keeps no bytes
// beyond the valid ones (out-of-order data) when it calls this.
func (r *ring) rewind() {
	if r.n == 0 {
		r.start = 0
	}
}

// advance makes m bytes past the valid ones (written with writeAt) valid.
func (r *ring) advance(m int) { r.n += m }
