package stack

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRingAgainstModel drives a ring and a plain byte-slice model with the
// same random appends, out-of-order writes, advances, reads and discards,
// across wrap-around and growth, and compares them after every step.
func TestRingAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const limit = 100_000
	g := newRing(limit)
	var valid []byte      // the model's valid bytes
	ooo := map[int]byte{} // the model's bytes written past valid, by offset
	for step := 0; step < 20000; step++ {
		switch op := r.IntN(5); {
		case op == 0: // append
			p := make([]byte, r.IntN(3000))
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			n := g.append(p)
			if want := min(len(p), limit-len(valid)); n != want {
				t.Fatalf("step %d: append = %d, want %d", step, n, want)
			}
			valid = append(valid, p[:n]...)
			for k := range ooo {
				delete(ooo, k) // append overwrites what lay past valid
			}
		case op == 1: // out-of-order write
			free := limit - len(valid)
			if free < 2 {
				continue
			}
			off := r.IntN(free / 2)
			p := make([]byte, r.IntN(min(2000, free-off)))
			for i := range p {
				p[i] = byte(r.Uint32())
				ooo[off+i] = p[i]
			}
			g.writeAt(off, p)
		case op == 2: // advance over a contiguous out-of-order prefix
			k := 0
			for {
				if _, ok := ooo[k]; !ok {
					break
				}
				k++
			}
			if k == 0 {
				continue
			}
			for i := 0; i < k; i++ {
				valid = append(valid, ooo[i])
			}
			next := map[int]byte{}
			for o, b := range ooo {
				if o >= k {
					next[o-k] = b
				}
			}
			ooo = next
			g.advance(k)
		case op == 3: // read
			p := make([]byte, r.IntN(4000))
			n := g.read(p)
			if !bytes.Equal(p[:n], valid[:n]) {
				t.Fatalf("step %d: read returned other bytes", step)
			}
			valid = valid[n:] // out-of-order offsets count from the valid end: unchanged
		default: // peek at an offset
			if len(valid) == 0 {
				continue
			}
			off := r.IntN(len(valid))
			p := make([]byte, r.IntN(3000))
			n := g.peek(off, p)
			if !bytes.Equal(p[:n], valid[off:off+n]) {
				t.Fatalf("step %d: peek(%d) returned other bytes", step, off)
			}
		}
		if g.n != len(valid) || g.free() != limit-len(valid) || len(g.buf) > limit {
			t.Fatalf("step %d: n %d free %d alloc %d; model %d", step, g.n, g.free(), len(g.buf), len(valid))
		}
	}
	if len(g.buf) == limit {
		t.Log("the ring grew to its limit")
	}
}

func TestRingStartsSmall(t *testing.T) {
	g := newRing(1 << 20)
	if len(g.buf) != 0 {
		t.Fatalf("a new ring allocated %d bytes", len(g.buf))
	}
	g.append(make([]byte, 100))
	if len(g.buf) != ringMinAlloc {
		t.Fatalf("after 100 bytes the ring holds %d bytes of memory, want %d", len(g.buf), ringMinAlloc)
	}
	g.append(make([]byte, 5000))
	if len(g.buf) != 4*ringMinAlloc {
		t.Fatalf("after 5100 bytes: %d bytes of memory, want %d", len(g.buf), 4*ringMinAlloc)
	}
}

// TestRingRewind: an emptied ring starts again at the front of its memory
// (a buffer its reader keeps empty reuses the same cache lines); one that
// holds bytes keeps its place, and what it holds reads back intact.
func TestRingRewind(t *testing.T) {
	g := newRing(1 << 20)
	g.append(make([]byte, 3000))
	g.read(make([]byte, 1000))
	g.rewind()
	if g.start != 1000 {
		t.Fatalf("a ring holding 2000 bytes rewound to %d, want it left at 1000", g.start)
	}
	want := []byte("after the rewind")
	g.read(make([]byte, 2000))
	g.rewind()
	if g.start != 0 {
		t.Fatalf("an empty ring's start is %d after rewind, want 0", g.start)
	}
	g.append(want)
	got := make([]byte, 64)
	if n := g.read(got); string(got[:n]) != string(want) || string(g.buf[:len(want)]) != string(want) {
		t.Fatalf("read %q (memory front %q), want %q at the front", got[:n], g.buf[:len(want)], want)
	}
}
