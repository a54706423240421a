package impair

import (
	"slices"
	"testing"
	"time"
)

// everything turns every feature on at once.
func everything(seed uint64) Config {
	return Config{
		Delay: 20 * time.Millisecond, Jitter: 8 * time.Millisecond, DelayCorrelation: 0.3, Distribution: ParetoNormalTable(),
		Loss:      GELoss(0.02, 0.3, 0.7, 0.01),
		Duplicate: 0.02, Corrupt: 0.02, CorruptCorrelation: 0.1, Reorder: 0.1, Gap: 3,
		Rate: 20_000_000, Overhead: 24, Limit: 30, CoDel: true, ECN: true,
		DropEveryNth: 97, DropPackets: []uint64{5}, DropMatch: []Match{{Proto: 17, Skip: 10, Count: 2}},
		Outage: Outage{Every: 700 * time.Millisecond, For: 30 * time.Millisecond},
		Seed:   seed,
	}
}

// traceRun offers n frames with the given send gaps and returns the trace
// and the arrivals.
func traceRun(t *testing.T, cfg Config, n int, gap func(i int) time.Duration) ([]Verdict, []arrival) {
	t.Helper()
	h := newTracingHarness(t, cfg)
	for i := range n {
		tos := uint8(0)
		if i%2 == 0 {
			tos = tosECT0
		}
		h.d.Send(udpFrame(uint64(i), 200+i%1000, tos))
		h.clk.Advance(gap(i))
	}
	h.drain()
	checkConservation(t, h.d.Stats())
	return h.trace, h.got
}

// TestDeterminism: the same seed and the same frames at the same times give
// the same decisions, verdict for verdict; another seed gives others.
func TestDeterminism(t *testing.T) {
	const n = 20_000
	gap := func(i int) time.Duration { return time.Duration(50+i%200) * time.Microsecond }
	t1, a1 := traceRun(t, everything(42), n, gap)
	t2, a2 := traceRun(t, everything(42), n, gap)
	if !slices.Equal(t1, t2) {
		for i := range min(len(t1), len(t2)) {
			if t1[i] != t2[i] {
				t.Fatalf("same seed: verdict %d differs: %v vs %v", i, t1[i], t2[i])
			}
		}
		t.Fatalf("same seed: %d verdicts vs %d", len(t1), len(t2))
	}
	if !slices.EqualFunc(a1, a2, func(x, y arrival) bool { return x.id == y.id && x.at == y.at }) {
		t.Fatal("same seed: different arrivals")
	}
	kinds := map[string]bool{}
	for _, v := range t1 {
		kinds[v.Event.String()+" "+v.Reason.String()] = true
		for name, on := range map[string]bool{"copy": v.Copy, "corrupted": v.Corrupted, "ce": v.Marked, "ahead": v.Ahead} {
			if on {
				kinds[name] = true
			}
		}
	}
	for _, k := range []string{"drop loss", "drop queue", "drop codel", "drop schedule", "drop outage", "queue none", "send none", "copy", "corrupted", "ce", "ahead"} {
		if !kinds[k] {
			t.Errorf("no %q verdict: the test does not exercise it", k)
		}
	}
	t3, _ := traceRun(t, everything(43), n, gap)
	if slices.Equal(t1, t3) {
		t.Fatal("seeds 42 and 43 gave the same decisions")
	}
}

// TestDeterminismTimingFree: the random draws depend on the frames alone,
// not on when they are offered, so the same frames at other times get the
// same loss, corruption, copies and delays (with no rate, queue or outage,
// which are about time).
func TestDeterminismTimingFree(t *testing.T) {
	const n = 5000
	cfg := Config{
		Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, DelayCorrelation: 0.25, Distribution: NormalTable(),
		Loss: StateLoss(0.02, 0.3, 0.2, 0.5, 0.01), Duplicate: 0.03, Corrupt: 0.03, Reorder: 0.2, Gap: 2, Seed: 7,
	}
	type decided struct {
		seq       uint64
		reason    DropReason
		delay     time.Duration
		copy, bad bool
		ahead     bool
	}
	decisions := func(trace []Verdict) []decided {
		var d []decided
		for _, v := range trace {
			if v.Event == EventSend && !v.Ahead {
				continue // the time it leaves depends on the time it came
			}
			d = append(d, decided{v.Seq, v.Reason, v.Delay, v.Copy, v.Corrupted, v.Ahead})
		}
		return d
	}
	regular, _ := traceRun(t, cfg, n, func(int) time.Duration { return time.Millisecond })
	bursty, _ := traceRun(t, cfg, n, func(i int) time.Duration {
		if i%50 == 0 {
			return 300 * time.Millisecond
		}
		return 0
	})
	if a, b := decisions(regular), decisions(bursty); !slices.Equal(a, b) {
		t.Fatalf("decisions depend on timing: %d vs %d", len(a), len(b))
	}
}

// TestSetConfig changes a running Direction.
func TestSetConfig(t *testing.T) {
	t.Run("held frames keep their delay", func(t *testing.T) {
		h := newHarness(t, Config{Delay: 100 * time.Millisecond})
		for i := range 5 {
			h.send(uint64(i), 100)
		}
		h.d.SetConfig(Config{Delay: 10 * time.Millisecond})
		for i := 5; i < 10; i++ {
			h.send(uint64(i), 100)
		}
		h.drain()
		lat := h.latencyByID()
		for id, l := range lat {
			want := 100 * time.Millisecond
			if id >= 5 {
				want = 10 * time.Millisecond
			}
			if l != want {
				t.Errorf("frame %d latency %v, want %v", id, l, want)
			}
		}
		if s := h.d.Stats(); s.Late != 5 || s.Passed != 10 {
			t.Errorf("late %d passed %d, want 5 and 10", s.Late, s.Passed)
		}
		if c := h.d.Config(); c.Delay != 10*time.Millisecond {
			t.Errorf("Config().Delay = %v, want 10ms", c.Delay)
		}
	})
	t.Run("rate change applies to queued frames", func(t *testing.T) {
		h := newHarness(t, Config{Rate: 10_000_000})
		for i := range 4 {
			h.send(uint64(i), 1250) // 1 ms each at 10 Mbit/s
		}
		h.clk.Advance(1500 * time.Microsecond) // frame 0 out, frame 1 half sent
		h.d.SetConfig(Config{Rate: 100_000_000})
		h.drain()
		want := []time.Duration{1000, 2000, 2100, 2200}
		for i, a := range h.got {
			if a.at != want[i]*time.Microsecond {
				t.Errorf("frame %d left at %v, want %vµs", a.id, a.at, want[i])
			}
		}
	})
	t.Run("lower limit drops nothing queued", func(t *testing.T) {
		h := newHarness(t, Config{Rate: 10_000_000, Limit: 100})
		for i := range 50 {
			h.send(uint64(i), 1250)
		}
		h.d.SetConfig(Config{Rate: 10_000_000, Limit: 10})
		h.send(50, 1250)
		h.drain()
		if s := h.d.Stats(); s.Passed != 50 || s.DroppedQueue != 1 {
			t.Errorf("passed %d, queue drops %d; want 50 and the new frame dropped", s.Passed, s.DroppedQueue)
		}
	})
	t.Run("same seed continues the stream", func(t *testing.T) {
		cfg := Config{Loss: RandomLoss(0.1, 0), Seed: 9}
		whole := lossSequence(t, cfg, 2000)
		h := newHarness(t, cfg)
		var lost []bool
		for i := range 2000 {
			if i == 1000 {
				c := cfg
				c.Delay = 0
				c.Duplicate = 0
				c.Down = false
				h.d.SetConfig(c)
			}
			before := len(h.got)
			h.send(uint64(i), 100)
			lost = append(lost, len(h.got) == before)
		}
		if !slices.Equal(whole, lost) {
			t.Error("SetConfig with the same seed changed later decisions")
		}
		c := cfg
		c.Seed = 10
		h.d.SetConfig(c)
		var after []bool
		for i := range 1000 {
			before := len(h.got)
			h.send(uint64(i), 100)
			after = append(after, len(h.got) == before)
		}
		h2 := newHarness(t, c)
		var fresh []bool
		for i := range 1000 {
			before := len(h2.got)
			h2.send(uint64(i), 100)
			fresh = append(fresh, len(h2.got) == before)
		}
		if !slices.Equal(after, fresh) {
			t.Error("a new seed does not restart the stream as New does")
		}
	})
	t.Run("schedule restarts only when changed", func(t *testing.T) {
		h := newTracingHarness(t, Config{DropPackets: []uint64{3}})
		for i := range 5 {
			h.send(uint64(i), 100)
		}
		set := func(k uint64) {
			c := h.d.Config() // keeps the Trace
			c.DropPackets = []uint64{k}
			h.d.SetConfig(c)
		}
		set(3) // unchanged: frame 3 was dropped already
		for i := 5; i < 10; i++ {
			h.send(uint64(i), 100)
		}
		set(2) // changed: counts from here
		for i := 10; i < 15; i++ {
			h.send(uint64(i), 100)
		}
		var drops []uint64
		for _, v := range h.trace {
			if v.Event == EventDrop {
				drops = append(drops, v.Seq)
			}
		}
		if want := []uint64{3, 12}; !slices.Equal(drops, want) {
			t.Errorf("dropped frames %v, want %v", drops, want)
		}
	})
	t.Run("outage restarts when changed", func(t *testing.T) {
		h := newHarness(t, Config{Outage: Outage{Every: 100 * time.Millisecond, For: 10 * time.Millisecond}})
		h.clk.Advance(50 * time.Millisecond)
		h.send(0, 100)
		h.d.SetConfig(Config{Outage: Outage{Every: 100 * time.Millisecond, For: 10 * time.Millisecond}})
		h.send(1, 100) // same outage: still up at 50 ms
		h.d.SetConfig(Config{Outage: Outage{Every: 100 * time.Millisecond, For: 20 * time.Millisecond}})
		h.send(2, 100) // new outage starts now
		if s := h.d.Stats(); s.Passed != 2 || s.DroppedOutage != 1 {
			t.Errorf("passed %d, outage drops %d; want 2 and 1", s.Passed, s.DroppedOutage)
		}
	})
}

// TestClose: a closed Direction holds nothing and ignores frames.
func TestClose(t *testing.T) {
	h := newHarness(t, Config{Delay: 10 * time.Millisecond, Rate: 1_000_000})
	for i := range 10 {
		h.send(uint64(i), 1000)
	}
	h.d.Close()
	h.d.Close()
	h.send(10, 100)
	h.d.SetConfig(Config{})
	h.drain()
	s := h.d.Stats()
	if len(h.got) != 0 || s.QueueLen != 0 || s.InFlight != 0 || s.Offered != 10 {
		t.Errorf("after Close: %d arrived, stats %+v", len(h.got), s)
	}
}
