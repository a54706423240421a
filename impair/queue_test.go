package impair

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestLine checks the delay line against sorting: frames leave by release
// time, ties in Seq order, however they were pushed.
func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spread int64 // release times are seq*10 + [0, spread)
	}{
		{"in order", 1},
		{"ties", 0},
		{"mostly in order", 15},
		{"shuffled", 100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var l line
			var last packet
			popped := 0
			check := func(p packet) {
				if popped > 0 && before(&p, &last) {
					t.Fatalf("popped (%d, #%d) after (%d, #%d)", p.at, p.seq, last.at, last.seq)
				}
				last = p
				popped++
			}
			for seq := range uint64(5000) {
				at := int64(seq) * 10
				if tc.spread > 0 {
					at += r.Int64N(tc.spread)
				}
				l.push(packet{seq: seq, at: at})
				// Pop what is due at a time that lags the pushes, as the
				// engine does.
				for l.len() > 0 && l.head().at <= int64(seq)*10-tc.spread {
					h := *l.head()
					if p := l.pop(); p.seq != h.seq || p.at != h.at {
						t.Fatal("head() is not what pop() returns")
					}
					check(h)
				}
			}
			for l.len() > 0 {
				check(l.pop())
			}
			if popped != 5000 {
				t.Fatalf("popped %d, want 5000", popped)
			}
		})
	}
	var l line
	l.push(packet{seq: 2, at: 5})
	l.push(packet{seq: 1, at: 1})
	n := 0
	l.drain(func(packet) { n++ })
	if n != 2 || l.len() != 0 {
		t.Errorf("drain saw %d frames, %d left", n, l.len())
	}
}

// TestRateToZero: frames queued when the rate is removed leave as soon as
// the link finishes the frame it is sending.
func TestRateToZero(t *testing.T) {
	h := newHarness(t, Config{Rate: 10_000_000})
	for i := range 5 {
		h.send(uint64(i), 1250) // 1 ms each
	}
	h.clk.Advance(500 * time.Microsecond)
	h.d.SetConfig(Config{})
	h.send(5, 1250) // joins the queue behind the others
	h.drain()
	want := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	for i, a := range h.got {
		if a.at != want[i] || a.id != uint64(i) {
			t.Errorf("arrival %d: frame %d at %v, want frame %d at %v", i, a.id, a.at, i, want[i])
		}
	}
}
