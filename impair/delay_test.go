package impair

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestDelayDistribution checks the mean and standard deviation of the
// delays each distribution gives against the table's own moments (uniform:
// Jitter/√3).
func TestDelayDistribution(t *testing.T) {
	const (
		n      = 100_000
		delay  = 100 * time.Millisecond
		jitter = 10 * time.Millisecond
	)
	for _, tc := range []struct {
		name  string
		table DistTable
	}{
		{"uniform", nil},
		{"normal", NormalTable()},
		{"pareto", ParetoTable()},
		{"paretonormal", ParetoNormalTable()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Delay: delay, Jitter: jitter, Distribution: tc.table, Seed: 1})
			h.run(n, 50*time.Microsecond, 100)
			if len(h.got) != n {
				t.Fatalf("%d frames arrived, want %d", len(h.got), n)
			}
			mean, std := meanStd(seconds(h.latencies()))
			wantMean, wantStd := delay.Seconds(), jitter.Seconds()/math.Sqrt(3)
			if tc.table != nil {
				m, s := tableMoments(tc.table)
				wantMean += m * jitter.Seconds()
				wantStd = s * jitter.Seconds()
			}
			within(t, "mean", mean, wantMean, 5*wantStd/math.Sqrt(n))
			within(t, "std", std, wantStd, 0.02*wantStd)
			checkConservation(t, h.d.Stats())
		})
	}
}

// TestDelayTruncatedAtZero: with Jitter > Delay the negative delays are
// zero (netem sends them at once).
func TestDelayTruncatedAtZero(t *testing.T) {
	const n = 20_000
	h := newHarness(t, Config{Delay: time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 2})
	h.run(n, 100*time.Microsecond, 100)
	lat := h.latencies()
	zero := 0
	for _, l := range lat {
		if l < 0 || l >= 6*time.Millisecond {
			t.Fatalf("latency %v outside [0, 6ms)", l)
		}
		if l == 0 {
			zero++
		}
	}
	// U[-5ms, 5ms) + 1ms < 0 with probability 0.4.
	within(t, "fraction sent at once", float64(zero)/n, 0.4, binomialTol(0.4, n))
}

// autocorr returns the lag-1 autocorrelation of x.
func autocorr(x []float64) float64 {
	m, s := meanStd(x)
	var c float64
	for i := 1; i < len(x); i++ {
		c += (x[i] - m) * (x[i-1] - m)
	}
	return c / float64(len(x)-1) / (s * s)
}

// TestDelayCorrelation: netem's correlation next = (1-ρ)U + ρ·last makes the
// delays an AR(1) process: lag-1 autocorrelation ρ, spread narrowed by
// √((1-ρ)/(1+ρ)).
func TestDelayCorrelation(t *testing.T) {
	const (
		n      = 50_000
		jitter = 10 * time.Millisecond
	)
	for _, rho := range []float64{0, 0.25, 0.5, 0.75, 0.95} {
		t.Run("", func(t *testing.T) {
			h := newHarness(t, Config{Delay: 50 * time.Millisecond, Jitter: jitter, DelayCorrelation: rho, Seed: 3, Order: KeepOrder})
			// KeepOrder with frames far apart never holds one back, so the
			// latency is the drawn delay.
			h.run(n, 200*time.Millisecond, 100)
			byID := h.latencyByID()
			x := make([]float64, n)
			for i := range x {
				x[i] = byID[uint64(i)].Seconds()
			}
			within(t, "lag-1 autocorrelation", autocorr(x), rho, 0.02)
			_, std := meanStd(x)
			want := jitter.Seconds() / math.Sqrt(3) * math.Sqrt((1-rho)/(1+rho))
			within(t, "std", std, want, 0.03*want)
		})
	}
	t.Run("normal table", func(t *testing.T) {
		h := newHarness(t, Config{Delay: 50 * time.Millisecond, Jitter: jitter, DelayCorrelation: 0.5, Distribution: NormalTable(), Seed: 3, Order: KeepOrder})
		h.run(n, 200*time.Millisecond, 100)
		byID := h.latencyByID()
		x := make([]float64, n)
		for i := range x {
			x[i] = byID[uint64(i)].Seconds()
		}
		if r := autocorr(x); r < 0.4 {
			t.Errorf("lag-1 autocorrelation = %.3f, want about 0.5 (the table maps draws monotonically)", r)
		}
	})
}

// TestOrder: jitter larger than the gap between frames reorders them under
// ReorderLikeNetem (netem's tfifo) and never under KeepOrder.
func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		order     Order
		wantLate  bool
		wantOrder bool
	}{
		{ReorderLikeNetem, true, false},
		{KeepOrder, false, true},
	} {
		t.Run(tc.order.String(), func(t *testing.T) {
			h := newHarness(t, Config{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Order: tc.order, Seed: 4})
			h.run(10_000, time.Millisecond, 100)
			ids := make([]uint64, len(h.got))
			for i, a := range h.got {
				ids[i] = a.id
			}
			s := h.d.Stats()
			if got := slices.IsSorted(ids); got != tc.wantOrder {
				t.Errorf("arrivals in order = %v, want %v", got, tc.wantOrder)
			}
			if got := s.Late > 0; got != tc.wantLate {
				t.Errorf("Late = %d, want >0: %v", s.Late, tc.wantLate)
			}
			if tc.order == KeepOrder {
				// The arrival times are the running maximum of send time +
				// drawn delay, never before the drawn delay.
				for i := 1; i < len(h.got); i++ {
					if h.got[i].at < h.got[i-1].at {
						t.Fatalf("arrival %d at %v before arrival %d at %v", i, h.got[i].at, i-1, h.got[i-1].at)
					}
				}
			}
			// Uniform ±5 ms around 10 ms.
			for _, l := range h.latencies() {
				if l < 5*time.Millisecond || (tc.order == ReorderLikeNetem && l >= 15*time.Millisecond) {
					t.Fatalf("latency %v out of range", l)
				}
			}
		})
	}
}

// TestReorder checks netem's reorder semantics: after Gap-1 delayed
// frames, the next is sent at once with probability Reorder.
func TestReorder(t *testing.T) {
	const n = 20_000
	const delay = 10 * time.Millisecond
	for _, tc := range []struct {
		name     string
		reorder  float64
		gap      int
		wantFrac float64 // fraction of frames sent at once
		exact    bool    // every gap-th frame, no randomness
	}{
		{"every 5th", 1, 5, 0.2, true},
		{"gap alone means 100%", 0, 3, 1.0 / 3, true},
		{"25% without gap", 0.25, 0, 0.25, false},
		// A cycle is gap-1 delayed frames plus a geometric number of tries:
		// 1/((gap-1) + 1/P) of the frames go at once.
		{"50% gap 3", 0.5, 3, 1.0 / (2 + 2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Delay: delay, Reorder: tc.reorder, Gap: tc.gap, Seed: 5})
			h.run(n, time.Millisecond, 100)
			byID := h.latencyByID()
			var ahead []uint64
			for id := range uint64(n) {
				switch byID[id] {
				case 0:
					ahead = append(ahead, id)
				case delay:
				default:
					t.Fatalf("frame %d latency %v, want 0 or %v", id, byID[id], delay)
				}
			}
			s := h.d.Stats()
			if s.Reordered != uint64(len(ahead)) {
				t.Errorf("Reordered = %d, want %d", s.Reordered, len(ahead))
			}
			if s.Late == 0 {
				t.Error("Late = 0: no frame overtaken")
			}
			gap := max(tc.gap, 1)
			for i := 1; i < len(ahead); i++ {
				if d := ahead[i] - ahead[i-1]; d < uint64(gap) || (tc.exact && d != uint64(gap)) {
					t.Fatalf("frames %d and %d sent at once: %d apart, gap %d", ahead[i-1], ahead[i], d, gap)
				}
			}
			if tc.exact {
				if ahead[0] != uint64(gap-1) {
					t.Errorf("first frame sent at once is %d, want %d", ahead[0], gap-1)
				}
				return
			}
			within(t, "fraction sent at once", float64(len(ahead))/n, tc.wantFrac, binomialTol(tc.wantFrac, n))
		})
	}
}
