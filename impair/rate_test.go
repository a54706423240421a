package impair

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestRate checks the wire rate and goodput of a saturated link against
// the configured Rate, with Ethernet's 24 bytes of per-frame overhead.
func TestRate(t *testing.T) {
	const overhead = 24
	for _, tc := range []struct {
		name string
		rate uint64
		size int
	}{
		{"10mbit 1500", 10_000_000, 1500},
		{"100mbit 1500", 100_000_000, 1500},
		{"1gbit 1500", 1_000_000_000, 1500},
		{"1gbit 64", 1_000_000_000, 64},
		{"100mbit 777", 100_000_000, 777},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 5000
			h := newHarness(t, Config{Rate: tc.rate, Overhead: overhead, Seed: 20})
			// Offer 1.5 times the rate; nothing is lost (no limit).
			wire := time.Duration(float64((tc.size+overhead)*8) / float64(tc.rate) * 1e9)
			h.run(n, wire*2/3, tc.size)
			if len(h.got) != n {
				t.Fatalf("%d frames arrived, want %d", len(h.got), n)
			}
			// Every frame leaves at the end of its transmission, so the
			// first frame's transmission time is from 0.
			elapsed := h.got[n-1].at.Seconds()
			wireRate := float64(n*(tc.size+overhead)*8) / elapsed
			goodput := float64(n*tc.size*8) / elapsed
			within(t, "wire rate", wireRate, float64(tc.rate), 0.02*float64(tc.rate))
			wantGoodput := float64(tc.rate) * float64(tc.size) / float64(tc.size+overhead)
			within(t, "goodput", goodput, wantGoodput, 0.02*wantGoodput)
			// Exact to the nanosecond: the remainder carries.
			want := time.Duration(math.Round(float64(n*(tc.size+overhead)*8) / float64(tc.rate) * 1e9))
			if d := h.got[n-1].at - want; d < -time.Nanosecond || d > time.Nanosecond {
				t.Errorf("last frame left at %v, want %v", h.got[n-1].at, want)
			}
		})
	}
}

// TestRateCells checks netem's cell rounding: (len+overhead) rounded up to
// whole cells of CellSize, each counting CellSize+CellOverhead.
func TestRateCells(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		size, overhead, cell, ovh int
		wantBytes                 int
	}{
		{"atm 100", 100, 0, 48, 5, 3 * 53},
		{"atm exact", 96, 0, 48, 5, 2 * 53},
		{"atm with overhead", 90, 10, 48, 5, 3 * 53},
		{"negative overhead", 100, -14, 0, 0, 86},
		{"overhead below zero", 50, -100, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rate = 8_000_000 // one byte per microsecond
			h := newHarness(t, Config{Rate: rate, Overhead: tc.overhead, CellSize: tc.cell, CellOverhead: tc.ovh})
			h.d.Send(make([]byte, tc.size))
			h.drain()
			if len(h.got) != 1 || h.got[0].at != time.Duration(tc.wantBytes)*time.Microsecond {
				t.Fatalf("arrivals %+v, want one at %dµs", h.got, tc.wantBytes)
			}
		})
	}
}

// TestRateWithDelay: a constant delay adds to the transmission time; the
// queue forms before the delay line, as on a real path.
func TestRateWithDelay(t *testing.T) {
	h := newHarness(t, Config{Rate: 10_000_000, Delay: 20 * time.Millisecond})
	for i := range 3 {
		h.send(uint64(i), 1250) // 1 ms each at 10 Mbit/s
	}
	h.drain()
	want := []time.Duration{21 * time.Millisecond, 22 * time.Millisecond, 23 * time.Millisecond}
	for i, a := range h.got {
		if a.at != want[i] || a.id != uint64(i) {
			t.Errorf("arrival %d: frame %d at %v, want frame %d at %v", i, a.id, a.at, i, want[i])
		}
	}
}

// TestQueueLimit: at twice the link rate the queue fills to Limit (or
// LimitBytes), then tail-drops; the queueing delay grows until then and
// stays at the full queue's drain time: bufferbloat.
func TestQueueLimit(t *testing.T) {
	const (
		n     = 2000
		size  = 1250 // 1 ms at 10 Mbit/s
		limit = 50
	)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"packets", Config{Rate: 10_000_000, Limit: limit}},
		{"bytes", Config{Rate: 10_000_000, LimitBytes: limit * size}},
		{"both", Config{Rate: 10_000_000, Limit: limit, LimitBytes: 1000 * size}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			h.run(n, 500*time.Microsecond, size)
			s := h.d.Stats()
			checkConservation(t, s)
			if s.MaxQueueLen != limit || s.MaxQueueBytes != limit*size {
				t.Errorf("max queue %d frames %d bytes, want %d and %d", s.MaxQueueLen, s.MaxQueueBytes, limit, limit*size)
			}
			// The link sends 1000 frames a second for the 1 s of offered
			// load plus the drain of the last full queue.
			if want := uint64(n/2 + limit + 1); s.Passed < want-2 || s.Passed > want+2 {
				t.Errorf("passed %d, want about %d", s.Passed, want)
			}
			if s.DroppedQueue != uint64(n)-s.Passed {
				t.Errorf("queue drops %d, want %d", s.DroppedQueue, uint64(n)-s.Passed)
			}
			lat := h.latencies()
			// Growing: frame k waits about k/2 ms while the queue fills.
			if lat[0] != time.Millisecond {
				t.Errorf("first latency %v, want 1ms (its transmission)", lat[0])
			}
			for i := 1; i < 2*limit-10; i++ {
				if lat[i] <= lat[i-1] {
					t.Fatalf("latency %d = %v not above latency %d = %v while the queue fills", i, lat[i], i-1, lat[i-1])
				}
			}
			// Then the full queue's drain time, limit+1 transmissions.
			for _, l := range lat[2*limit+10:] {
				if l < time.Duration(limit)*time.Millisecond || l > time.Duration(limit+1)*time.Millisecond {
					t.Fatalf("latency %v with the queue full, want %d to %d ms", l, limit, limit+1)
				}
			}
		})
	}
}

// TestCoDel: a sender above the link rate fills a tail-drop queue to its
// limit (a second of queueing delay), while CoDel keeps the sojourn time
// short: near its 5 ms target for a sender that backs off on loss as TCP
// does, within a few times the target for one that does not (its queue
// regrows during each interval CoDel waits before dropping again).
func TestCoDel(t *testing.T) {
	const (
		size = 1250 // 1 ms at 10 Mbit/s
		dur  = 30 * time.Second
	)
	for _, tc := range []struct {
		name       string
		codel      bool
		responsive bool
		p50, p95   time.Duration
	}{
		{"taildrop unresponsive", false, false, 0, 0},
		{"codel unresponsive", true, false, 6 * DefaultCoDelTarget, 10 * DefaultCoDelTarget},
		{"codel responsive", true, true, 2 * DefaultCoDelTarget, 4 * DefaultCoDelTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Rate: 10_000_000, Limit: 1000, CoDel: tc.codel})
			// rate is in frames per millisecond; the link does 1. The
			// unresponsive sender offers 10% too much; the responsive one
			// adds 0.01 every 10 ms and halves on a drop, at most once per
			// 100 ms (an AIMD sender with a 100 ms RTT).
			rate, lastCut, drops := 1.1, time.Duration(0), uint64(0)
			var id uint64
			for h.now() < dur {
				h.send(id, size)
				id++
				if tc.responsive {
					if d := h.d.Stats().DroppedCoDel; d > drops {
						drops = d
						if h.now()-lastCut > 100*time.Millisecond {
							rate, lastCut = rate/2, h.now()
						}
					}
				}
				gap := time.Duration(float64(time.Millisecond) / rate)
				if tc.responsive {
					rate += 0.01 * gap.Seconds() * 100
				}
				h.clk.Advance(gap)
			}
			h.drain()
			s := h.d.Stats()
			checkConservation(t, s)
			var sojourn []time.Duration
			for _, a := range h.got {
				if h.sentAt[a.id] >= dur/3 {
					sojourn = append(sojourn, a.at-h.sentAt[a.id]-time.Millisecond)
				}
			}
			slices.Sort(sojourn)
			p50, p95 := sojourn[len(sojourn)/2], sojourn[len(sojourn)*95/100]
			t.Logf("%d frames; sojourn p50 %v p95 %v; max queue %d; drops codel %d queue %d", id, p50, p95, s.MaxQueueLen, s.DroppedCoDel, s.DroppedQueue)
			if !tc.codel {
				if p50 < 900*time.Millisecond || s.DroppedQueue == 0 || s.DroppedCoDel != 0 {
					t.Errorf("tail drop: p50 sojourn %v, queue drops %d, codel drops %d; want ~1s, >0, 0", p50, s.DroppedQueue, s.DroppedCoDel)
				}
				return
			}
			if p50 > tc.p50 || p95 > tc.p95 {
				t.Errorf("sojourn p50 %v p95 %v, want at most %v and %v", p50, p95, tc.p50, tc.p95)
			}
			if s.DroppedQueue != 0 {
				t.Errorf("queue drops %d, want 0: CoDel keeps the queue short", s.DroppedQueue)
			}
			if !tc.responsive {
				// The link carries 1000 frames/s of the 1100 offered.
				within(t, "CoDel drop fraction", float64(s.DroppedCoDel)/float64(id), 0.09, 0.02)
			}
		})
	}
}

// TestCoDelIdle: a queue that empties resets CoDel, so a later burst is not
// punished for an old one.
func TestCoDelIdle(t *testing.T) {
	h := newHarness(t, Config{Rate: 10_000_000, CoDel: true})
	burst := func(base uint64) {
		for i := range uint64(300) {
			h.send(base+i, 1250)
		}
	}
	burst(0) // 300 ms of queue: CoDel starts dropping after 100 ms above target
	h.drain()
	first := h.d.Stats().DroppedCoDel
	if first == 0 {
		t.Fatal("no CoDel drop in a 300 ms standing queue")
	}
	h.clk.Advance(time.Second)
	for i := range uint64(3) { // a short burst, under target
		h.send(1000+i, 1250)
	}
	h.drain()
	if got := h.d.Stats().DroppedCoDel; got != first {
		t.Errorf("CoDel dropped %d frames of a 3 ms burst after an idle second", got-first)
	}
}
