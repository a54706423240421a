package impair

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
)

// TestQueueStats drives a direction on the manual clock and checks the
// byte counters, the queueing delays and the queue's length integrals,
// which the clock makes exact. At 1 Mbit/s a 1250-byte frame takes 10 ms
// on the link and a 625-byte one 5 ms.
func TestQueueStats(t *testing.T) {
	type send struct {
		at   time.Duration
		size int
	}
	at0 := func(sizes ...int) []send {
		var s []send
		for _, n := range sizes {
			s = append(s, send{0, n})
		}
		return s
	}
	ten := at0(1250, 1250, 1250, 1250, 1250, 1250, 1250, 1250, 1250, 1250)
	for _, tc := range []struct {
		name  string
		cfg   Config
		sends []send
		// The Stats wanted after every frame left.
		offeredBytes, passedBytes uint64
		count                     uint64
		sum, max                  time.Duration
		frameNs, byteNs           float64
		zero                      uint64 // frames that did not wait (bucket 0)
		// Quantiles wanted within their bucket (12.5 %).
		quantiles map[float64]time.Duration
	}{{
		// Frame k waits k×10 ms; 9 frames wait during the first 10 ms, 8
		// the next, ... 1 from 80 to 90 ms.
		name: "ten back to back", cfg: Config{Rate: 1_000_000}, sends: ten,
		offeredBytes: 12500, passedBytes: 12500,
		count: 10, sum: 450 * time.Millisecond, max: 90 * time.Millisecond,
		frameNs: 450e6, byteNs: 450e6 * 1250, zero: 1,
		quantiles: map[float64]time.Duration{0.5: 40 * time.Millisecond, 0.9: 80 * time.Millisecond, 1: 90 * time.Millisecond},
	}, {
		// Starts at 0, 10, 15 and 25 ms. Queued: 3 frames (2500 bytes)
		// for 10 ms, 2 (1875) for 5 ms, 1 (625) for 10 ms.
		name: "mixed sizes", cfg: Config{Rate: 1_000_000}, sends: at0(1250, 625, 1250, 625),
		offeredBytes: 3750, passedBytes: 3750,
		count: 4, sum: 50 * time.Millisecond, max: 25 * time.Millisecond,
		frameNs: 50e6, byteNs: (2500*10 + 1875*5 + 625*10) * 1e6, zero: 1,
		quantiles: map[float64]time.Duration{1: 25 * time.Millisecond},
	}, {
		// The second frame arrives 4 ms into the first's 10.
		name: "arrival while busy", cfg: Config{Rate: 1_000_000}, sends: []send{{0, 1250}, {4 * time.Millisecond, 1250}},
		offeredBytes: 2500, passedBytes: 2500,
		count: 2, sum: 6 * time.Millisecond, max: 6 * time.Millisecond,
		frameNs: 6e6, byteNs: 6e6 * 1250, zero: 1,
		quantiles: map[float64]time.Duration{0.5: 0, 1: 6 * time.Millisecond},
	}, {
		// The link is free whenever a frame comes: nobody waits.
		name: "spaced out", cfg: Config{Rate: 1_000_000, Delay: 3 * time.Millisecond},
		sends:        []send{{0, 1250}, {20 * time.Millisecond, 1250}, {40 * time.Millisecond, 625}, {45 * time.Millisecond, 1250}},
		offeredBytes: 4375, passedBytes: 4375,
		count: 4, zero: 4,
		quantiles: map[float64]time.Duration{0.99: 0, 1: 0},
	}, {
		// No rate, no rate queue: bytes only.
		name: "no rate", cfg: Config{Delay: 10 * time.Millisecond}, sends: at0(1250, 1250, 625),
		offeredBytes: 3125, passedBytes: 3125,
		quantiles: map[float64]time.Duration{0.5: 0},
	}, {
		// Every frame copied: 4 frames through the queue, copies' bytes
		// passed but not offered.
		name: "duplicates", cfg: Config{Rate: 1_000_000, Duplicate: 1}, sends: at0(1250, 1250),
		offeredBytes: 2500, passedBytes: 5000,
		count: 4, sum: 60 * time.Millisecond, max: 30 * time.Millisecond,
		frameNs: 60e6, byteNs: 60e6 * 1250, zero: 1,
	}, {
		// Limit 3: frame 0 goes on the link, 1..3 wait, 4 and 5 are
		// tail-dropped and counted in neither the delays nor the integral.
		name: "tail drops", cfg: Config{Rate: 1_000_000, Limit: 3}, sends: at0(1250, 1250, 1250, 1250, 1250, 1250),
		offeredBytes: 7500, passedBytes: 5000,
		count: 4, sum: 60 * time.Millisecond, max: 30 * time.Millisecond,
		frameNs: 60e6, byteNs: 60e6 * 1250, zero: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			for i, s := range tc.sends {
				h.clk.AdvanceTo(h.start.Add(s.at))
				h.send(uint64(i), s.size)
			}
			h.drain()
			s := h.d.Stats()
			checkConservation(t, s)
			if s.QueueLen != 0 || s.InFlight != 0 {
				t.Fatalf("still held: %d queued, %d in flight", s.QueueLen, s.InFlight)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"OfferedBytes", float64(s.OfferedBytes), float64(tc.offeredBytes)},
				{"PassedBytes", float64(s.PassedBytes), float64(tc.passedBytes)},
				{"QueueDelayCount", float64(s.QueueDelayCount), float64(tc.count)},
				{"QueueDelaySum", float64(s.QueueDelaySum), float64(tc.sum)},
				{"QueueDelayMax", float64(s.QueueDelayMax), float64(tc.max)},
				{"QueueFrameNanos", s.QueueFrameNanos, tc.frameNs},
				{"QueueByteNanos", s.QueueByteNanos, tc.byteNs},
				{"QueueDelayHist[0]", float64(s.QueueDelayHist[0]), float64(tc.zero)},
				{"Elapsed", float64(s.Elapsed), float64(h.now())},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			var n uint64
			for _, k := range s.QueueDelayHist {
				n += k
			}
			if n != s.QueueDelayCount {
				t.Errorf("the histogram counts %d sojourns, QueueDelayCount %d", n, s.QueueDelayCount)
			}
			for q, want := range tc.quantiles {
				got := QueueDelayQuantile(s.QueueDelayHist, q)
				if want == 0 && got != 0 || math.Abs(float64(got-want)) > 0.125*float64(want) {
					t.Errorf("quantile %v = %v, want %v within 12.5%%", q, got, want)
				}
			}
		})
	}
}

// TestQueueStatsInterval differences two snapshots taken on the manual
// clock: the integral of the interval is exact, its histogram is the
// difference of the two.
func TestQueueStatsInterval(t *testing.T) {
	h := newHarness(t, Config{Rate: 1_000_000})
	for i := range 10 {
		h.send(uint64(i), 1250)
	}
	h.clk.Advance(45 * time.Millisecond)
	a := h.d.Stats()
	// Queued 9 frames for [0,10ms), 8 for [10,20)... 5 from 40 to 45 ms.
	if want := float64((9+8+7+6)*10+5*5) * 1e6; a.QueueFrameNanos != want || a.QueueByteNanos != 1250*want {
		t.Errorf("at 45 ms the integrals are %v frame·ns, %v byte·ns, want %v, %v", a.QueueFrameNanos, a.QueueByteNanos, want, 1250*want)
	}
	if a.Elapsed != 45*time.Millisecond || a.QueueLen != 5 || a.QueueDelayCount != 5 || a.QueueDelaySum != 100*time.Millisecond {
		t.Errorf("at 45 ms: elapsed %v, %d queued, %d sojourns summing %v; want 45ms, 5, 5, 100ms",
			a.Elapsed, a.QueueLen, a.QueueDelayCount, a.QueueDelaySum)
	}
	h.clk.Advance(30 * time.Millisecond)
	b := h.d.Stats()
	// Over [45ms, 75ms): 5 frames queued for 5 ms, 4 for 10, 3 for 10, 2
	// for 5: a mean of 3.5 frames; frames 5, 6 and 7 started at 50, 60
	// and 70 ms, having waited that long.
	dt := float64(b.Elapsed - a.Elapsed)
	if mean := (b.QueueFrameNanos - a.QueueFrameNanos) / dt; mean != 3.5 {
		t.Errorf("mean queue length over the interval %v, want 3.5", mean)
	}
	if n, sum := b.QueueDelayCount-a.QueueDelayCount, b.QueueDelaySum-a.QueueDelaySum; n != 3 || sum != 180*time.Millisecond {
		t.Errorf("%d sojourns summing %v in the interval, want 3 summing 180ms", n, sum)
	}
	// The queue held frames all along so far; the last one started on
	// the link at 90 ms.
	if a.BackloggedTime != 45*time.Millisecond || b.BackloggedTime != 75*time.Millisecond {
		t.Errorf("backlogged %v at 45 ms and %v at 75 ms, want all along", a.BackloggedTime, b.BackloggedTime)
	}
	h.clk.Advance(125 * time.Millisecond)
	if c := h.d.Stats(); c.BackloggedTime != 90*time.Millisecond || c.Elapsed != 200*time.Millisecond {
		t.Errorf("at %v backlogged %v, want 90ms (the queue emptied then)", c.Elapsed, c.BackloggedTime)
	}
	var diff [QueueDelayBuckets]uint64
	for i := range diff {
		diff[i] = b.QueueDelayHist[i] - a.QueueDelayHist[i]
	}
	for q, want := range map[float64]time.Duration{0.1: 50 * time.Millisecond, 1: 70 * time.Millisecond} {
		if got := QueueDelayQuantile(diff, q); math.Abs(float64(got-want)) > 0.125*float64(want) {
			t.Errorf("the interval's quantile %v = %v, want %v within 12.5%%", q, got, want)
		}
	}
}

// TestQueueStatsCoDel checks the delays against what the frames' arrival
// times say, CoDel's drops left out, and the integral against each
// frame's time in the queue, the dropped ones' included.
func TestQueueStatsCoDel(t *testing.T) {
	const n, size, tx = 200, 1250, 10 * time.Millisecond
	h := newTracingHarness(t, Config{Rate: 1_000_000, CoDel: true})
	for i := range n {
		h.send(uint64(i), size) // all at 0
	}
	h.drain()
	s := h.d.Stats()
	checkConservation(t, s)
	if s.DroppedCoDel == 0 {
		t.Fatal("CoDel dropped nothing: the test tests nothing")
	}
	if s.QueueDelayCount != s.Passed || s.QueueDelayCount+s.DroppedCoDel != n {
		t.Errorf("%d sojourns, %d passed, %d CoDel drops of %d", s.QueueDelayCount, s.Passed, s.DroppedCoDel, n)
	}
	// No delay: a frame's latency is its sojourn and its transmission.
	var sum, maxSojourn time.Duration
	for _, l := range h.latencies() {
		sum += l - tx
		maxSojourn = max(maxSojourn, l-tx)
	}
	if s.QueueDelaySum != sum || s.QueueDelayMax != maxSojourn {
		t.Errorf("sojourns sum %v, max %v; the arrivals say %v, %v", s.QueueDelaySum, s.QueueDelayMax, sum, maxSojourn)
	}
	inQueue := sum // every frame entered at 0; a dropped one left at its drop
	for _, v := range h.trace {
		if v.Event == EventDrop && v.Reason == DropCoDel {
			inQueue += v.At.Sub(h.start)
		}
	}
	if s.QueueFrameNanos != float64(inQueue) || s.QueueByteNanos != size*float64(inQueue) {
		t.Errorf("integrals %v frame·ns, %v byte·ns; the frames spent %v in the queue", s.QueueFrameNanos, s.QueueByteNanos, inQueue)
	}
}

// lazyClock is a clock whose timers never fire: it stands for a real
// clock whose timer is late.
type lazyClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lazyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lazyClock) set(d time.Duration) {
	c.mu.Lock()
	c.now = clock.Epoch.Add(d)
	c.mu.Unlock()
}

func (*lazyClock) AfterFunc(time.Duration, func()) clock.Timer { return lazyTimer{} }

type lazyTimer struct{}

func (lazyTimer) Stop() bool               { return true }
func (lazyTimer) Reset(time.Duration) bool { return true }

// TestQueueStatsLateTimer: a snapshot is exact as of its time even when
// the timer that would have started frames on the link has not fired, and
// a closed direction's as of Close.
func TestQueueStatsLateTimer(t *testing.T) {
	clk := &lazyClock{now: clock.Epoch}
	d := New(Config{Rate: 1_000_000}, clk, func([]byte) { t.Error("a frame left with no timer firing") })
	for i := range 10 {
		d.Send(udpFrame(uint64(i), 1250, 0))
	}
	clk.set(45 * time.Millisecond)
	check := func(when string, elapsed time.Duration) {
		t.Helper()
		s := d.Stats()
		// Frames 0..4 started at 0..40 ms: 5 queued, 5 on the link or
		// in the delay line, none passed yet.
		if s.Elapsed != elapsed || s.QueueLen != 5 || s.QueueBytes != 5*1250 || s.InFlight != 5 || s.Passed != 0 {
			t.Errorf("%s: elapsed %v, %d queued (%d bytes), %d in flight, %d passed; want %v, 5 (6250), 5, 0",
				when, s.Elapsed, s.QueueLen, s.QueueBytes, s.InFlight, s.Passed, elapsed)
		}
		if s.QueueDelayCount != 5 || s.QueueDelaySum != 100*time.Millisecond || s.QueueDelayMax != 40*time.Millisecond {
			t.Errorf("%s: %d sojourns, sum %v, max %v; want 5, 100ms, 40ms", when, s.QueueDelayCount, s.QueueDelaySum, s.QueueDelayMax)
		}
		if want := 325e6; s.QueueFrameNanos != want || s.QueueByteNanos != 1250*want {
			t.Errorf("%s: integrals %v frame·ns, %v byte·ns, want %v, %v", when, s.QueueFrameNanos, s.QueueByteNanos, want, 1250*want)
		}
	}
	check("at 45 ms", 45*time.Millisecond)
	check("again at 45 ms", 45*time.Millisecond)
	d.Close()
	clk.set(time.Second)
	s := d.Stats()
	if s.Elapsed != 45*time.Millisecond || s.QueueFrameNanos != 325e6 || s.QueueLen != 0 || s.InFlight != 0 {
		t.Errorf("closed at 45 ms, read at 1 s: elapsed %v, integral %v, %d queued, %d in flight; want 45ms, 3.25e8, 0, 0",
			s.Elapsed, s.QueueFrameNanos, s.QueueLen, s.InFlight)
	}
}

// TestQueueStatsLongRun: the integrals stay exact where a float64 sum
// would round, and past what a uint64 holds (1 GB of frames queued for
// 20 s is 2e19 byte·ns).
func TestQueueStatsLongRun(t *testing.T) {
	var a acc128
	for range 20 {
		a.add(1e9, 1e9) // 1e9 bytes for 1 s
	}
	if a.hi != 1 || a.float() != 2e19 {
		t.Errorf("20 × 1e9 × 1e9 = %d·2⁶⁴ + %d = %v, want 2e19", a.hi, a.lo, a.float())
	}
	var b acc128
	b.add(1<<53, 1)
	b.add(1, 1) // lost in a float64 sum
	b.add(1, 1)
	if b.lo != 1<<53+2 {
		t.Errorf("2⁵³ + 1 + 1 = %d", b.lo)
	}
}

func TestQueueDelayBuckets(t *testing.T) {
	if QueueDelayBuckets > 200 {
		t.Errorf("%d buckets, want at most 200", QueueDelayBuckets)
	}
	if b := QueueDelayBucketBound(0); b != 1 {
		t.Errorf("bucket 0 (no wait) ends at %v, want 1ns", b)
	}
	prev := time.Duration(0)
	for i := range QueueDelayBuckets {
		b := QueueDelayBucketBound(i)
		if b <= prev {
			t.Fatalf("bucket %d's bound %v not above %v", i, b, prev)
		}
		if i >= 2 && i < QueueDelayBuckets-1 && float64(b-prev)/float64(prev) > 0.125 {
			t.Errorf("bucket %d spans %v..%v: more than 12.5%%", i, prev, b)
		}
		prev = b
	}
	if QueueDelayBucketBound(QueueDelayBuckets-1) != math.MaxInt64 {
		t.Error("the last bucket is not open-ended")
	}
	if lo, hi := QueueDelayBucketBound(1), QueueDelayBucketBound(QueueDelayBuckets-2); lo > 1100*time.Nanosecond || hi < 10*time.Second {
		t.Errorf("the 12.5%% buckets cover %v..%v, want about 1µs..10s", lo, hi)
	}
	// Every value lands in the bucket whose bounds hold it.
	vals := []int64{0, 1, 2, 999, 1000, 1023, 1e6, 33e6, 1e9, 9e9, 1e10, 1 << 34, 1e12, math.MaxInt64}
	for i := range QueueDelayBuckets - 1 {
		b := int64(QueueDelayBucketBound(i))
		vals = append(vals, b-1, b)
	}
	for _, ns := range vals {
		i := queueDelayBucket(ns)
		if lo, hi := queueDelayLower(i), QueueDelayBucketBound(i); time.Duration(ns) < lo || (time.Duration(ns) >= hi && i < QueueDelayBuckets-1) {
			t.Errorf("%d ns in bucket %d [%v, %v)", ns, i, lo, hi)
		}
	}
	if queueDelayBucket(-5) != 0 {
		t.Error("a negative sojourn is not in bucket 0")
	}
}

func TestQueueDelayQuantile(t *testing.T) {
	hist := func(counts map[time.Duration]uint64) (h [QueueDelayBuckets]uint64) {
		for d, n := range counts {
			h[queueDelayBucket(int64(d))] += n
		}
		return h
	}
	last := QueueDelayBuckets - 1
	var overflow [QueueDelayBuckets]uint64
	overflow[last] = 3
	for _, tc := range []struct {
		name string
		hist [QueueDelayBuckets]uint64
		q    float64
		want time.Duration
	}{
		{"empty", hist(nil), 0.5, 0},
		{"empty max", hist(nil), 1, 0},
		{"no wait", hist(map[time.Duration]uint64{0: 10}), 1, 0},
		// Bucket [1024, 1152) ns holding 4: interpolated linearly.
		{"one bucket quarter", hist(map[time.Duration]uint64{1100: 4}), 0.25, 1056},
		{"one bucket half", hist(map[time.Duration]uint64{1100: 4}), 0.5, 1088},
		{"one bucket top", hist(map[time.Duration]uint64{1100: 4}), 1, 1152},
		// Half waited 0, half 10 ms, in [9<<20, 10<<20) ns.
		{"half no wait", hist(map[time.Duration]uint64{0: 1, 10 * time.Millisecond: 1}), 0.5, 0},
		{"half 10ms", hist(map[time.Duration]uint64{0: 1, 10 * time.Millisecond: 1}), 0.75, 9<<20 + 1<<19},
		{"q above 1", hist(map[time.Duration]uint64{0: 1, 10 * time.Millisecond: 1}), 7, 10 << 20},
		{"q 0", hist(map[time.Duration]uint64{10 * time.Millisecond: 1}), 0, 0},
		{"q NaN", hist(map[time.Duration]uint64{10 * time.Millisecond: 1}), math.NaN(), 0},
		{"p99 of 100", hist(map[time.Duration]uint64{time.Millisecond: 99, time.Second: 1}), 0.99, 16 << 16},
		{"p49.5 of 100", hist(map[time.Duration]uint64{time.Millisecond: 99, time.Second: 1}), 0.495, 15<<16 + 1<<15},
		{"overflow", overflow, 0.5, 1 << 34},
	} {
		if got := QueueDelayQuantile(tc.hist, tc.q); got != tc.want {
			t.Errorf("%s: quantile %v = %v (%d ns), want %v (%d ns)", tc.name, tc.q, got, int64(got), tc.want, int64(tc.want))
		}
	}
}

// TestStatsJSON: the new counters' names, and the histogram left out
// while empty.
func TestStatsJSON(t *testing.T) {
	b, err := json.Marshal(Stats{OfferedBytes: 1, QueueDelaySum: 5 * time.Millisecond, Elapsed: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"offered_bytes":1`, `"passed_bytes":0`, `"queue_delay_count":0`, `"queue_delay_sum_ns":5000000`,
		`"queue_delay_max_ns":0`, `"queue_frame_ns":0`, `"queue_byte_ns":0`, `"elapsed_ns":1000000000`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s has no %s", b, key)
		}
	}
	if strings.Contains(string(b), "queue_delay_hist") {
		t.Errorf("%s has an empty histogram", b)
	}
	var s Stats
	s.QueueDelayHist[2] = 7
	b, _ = json.Marshal(s)
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil || back.QueueDelayHist[2] != 7 {
		t.Errorf("the histogram does not survive JSON: %s, %v", b, err)
	}
}

// TestReleaseLateness: a frame handed out after its time counts how late
// it was; on a manual clock, whose timers fire on time, none is late.
func TestReleaseLateness(t *testing.T) {
	clk := &lazyClock{now: clock.Epoch}
	passed := 0
	d := New(Config{Delay: 10 * time.Millisecond}, clk, func([]byte) { passed++ })
	for i := range 3 {
		d.Send(udpFrame(uint64(i), 100, 0))
	}
	clk.set(25 * time.Millisecond)
	d.Send(udpFrame(3, 100, 0)) // the three due at 10 ms leave now, 15 ms late
	s := d.Stats()
	if passed != 3 || s.Passed != 3 || s.ReleaseLateSum != 45*time.Millisecond {
		t.Errorf("%d passed (stats %d), lateness %v; want 3, 45ms", passed, s.Passed, s.ReleaseLateSum)
	}
	if q := QueueDelayQuantile(s.ReleaseLateHist, 0.99); q < 14*time.Millisecond || q > 16*time.Millisecond {
		t.Errorf("p99 lateness %v, want about 15ms", q)
	}
	d.Close()

	m := clock.NewManual(clock.Epoch)
	d = New(Config{Delay: 10 * time.Millisecond, Rate: 1_000_000}, m, func([]byte) {})
	for i := range 20 {
		d.Send(udpFrame(uint64(i), 1250, 0))
		m.Advance(3 * time.Millisecond)
	}
	m.Advance(time.Second)
	s = d.Stats()
	if s.Passed != 20 || s.ReleaseLateSum != 0 || s.ReleaseLateHist[0] != 20 {
		t.Errorf("manual clock: %d passed, lateness %v, %d on time; want 20, 0, 20", s.Passed, s.ReleaseLateSum, s.ReleaseLateHist[0])
	}
	d.Close()
}
