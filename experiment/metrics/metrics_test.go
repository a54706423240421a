package metrics

import (
	"math"
	"slices"
	"testing"
	"time"
)

func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

func TestJain(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, nan},
		{"single", []float64{7}, 1},
		{"equal shares", []float64{3, 3, 3, 3, 3}, 1},
		{"one of two takes all", []float64{0, 10}, 0.5},
		{"one of four takes all", []float64{5, 0, 0, 0}, 0.25},
		{"one of ten takes all", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1e9}, 0.1},
		{"1..4", []float64{1, 2, 3, 4}, 100.0 / (4 * 30)},
		{"all zero", []float64{0, 0, 0}, nan},
		{"nan propagates", []float64{1, nan}, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Jain(tc.xs); !near(got, tc.want, 1e-12) {
				t.Errorf("Jain(%v) = %v, want %v", tc.xs, got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	nan := math.NaN()
	oneToTen := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"1..10 p0", oneToTen, 0, 1},
		{"1..10 p25", oneToTen, 25, 3.25},
		{"1..10 p50", oneToTen, 50, 5.5},
		{"1..10 p90", oneToTen, 90, 9.1},
		{"1..10 p95", oneToTen, 95, 9.55},
		{"1..10 p99", oneToTen, 99, 9.91},
		{"1..10 p100", oneToTen, 100, 10},
		{"single p0", []float64{42}, 0, 42},
		{"single p50", []float64{42}, 50, 42},
		{"single p99", []float64{42}, 99, 42},
		// numpy.percentile([15, 20, 35, 40, 50], [40, 75]) = [29, 40]
		{"odd p40", []float64{15, 20, 35, 40, 50}, 40, 29},
		{"odd p75", []float64{15, 20, 35, 40, 50}, 75, 40},
		{"unsorted p50", []float64{10, 1, 7, 3}, 50, 5},
		{"nan skipped", []float64{nan, 1, 2, nan, 3}, 50, 2},
		{"duplicates", []float64{2, 2, 2, 5}, 50, 2},
		{"infinity", []float64{1, math.Inf(1), math.Inf(1)}, 75, math.Inf(1)},
		{"empty", nil, 50, nan},
		{"only nan", []float64{nan}, 50, nan},
		{"p below 0", oneToTen, -1, nan},
		{"p above 100", oneToTen, 100.5, nan},
		{"p nan", oneToTen, nan, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.xs, tc.p); !near(got, tc.want, 1e-9) {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileDoesNotModifyInput(t *testing.T) {
	xs := []float64{5, 3, 9, 1, 7}
	orig := slices.Clone(xs)
	if got := Percentile(xs, 50); got != 5 {
		t.Errorf("Percentile = %v, want 5", got)
	}
	if !slices.Equal(xs, orig) {
		t.Errorf("input modified: %v, want %v", xs, orig)
	}
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	sd := math.Sqrt(32.0 / 7) // 2.1380899…
	tests := []struct {
		name string
		xs   []float64
		want Summary
	}{
		{"classic", []float64{2, 4, 4, 4, 5, 5, 7, 9},
			Summary{N: 8, Mean: 5, StdDev: sd, CI95: 2.364624252 * sd / math.Sqrt(8), Min: 2, Max: 9}},
		{"nan skipped", []float64{nan, 2, 4, 4, nan, 4, 5, 5, 7, 9, nan},
			Summary{N: 8, Mean: 5, StdDev: sd, CI95: 2.364624252 * sd / math.Sqrt(8), Min: 2, Max: 9}},
		{"two", []float64{1, 3},
			Summary{N: 2, Mean: 2, StdDev: math.Sqrt2, CI95: 12.706204736 * math.Sqrt2 / math.Sqrt2, Min: 1, Max: 3}},
		{"constant", []float64{4, 4, 4},
			Summary{N: 3, Mean: 4, StdDev: 0, CI95: 0, Min: 4, Max: 4}},
		{"negative", []float64{-3, -1},
			Summary{N: 2, Mean: -2, StdDev: math.Sqrt2, CI95: 12.706204736, Min: -3, Max: -1}},
		{"one", []float64{3.5},
			Summary{N: 1, Mean: 3.5, StdDev: nan, CI95: nan, Min: 3.5, Max: 3.5}},
		{"one plus nan", []float64{nan, 3.5},
			Summary{N: 1, Mean: 3.5, StdDev: nan, CI95: nan, Min: 3.5, Max: 3.5}},
		{"empty", nil,
			Summary{N: 0, Mean: nan, StdDev: nan, CI95: nan, Min: nan, Max: nan}},
		{"only nan", []float64{nan, nan},
			Summary{N: 0, Mean: nan, StdDev: nan, CI95: nan, Min: nan, Max: nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.xs)
			w := tc.want
			if got.N != w.N || !near(got.Mean, w.Mean, 1e-12) || !near(got.StdDev, w.StdDev, 1e-12) ||
				!near(got.CI95, w.CI95, 1e-9) || !near(got.Min, w.Min, 0) || !near(got.Max, w.Max, 0) {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.xs, got, w)
			}
		})
	}
}

func TestSummarizeClassicRounded(t *testing.T) {
	// The README-style figures: sd 2.138, CI95 = 2.365·sd/√8 ≈ 1.788.
	s := Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if !near(s.StdDev, 2.138, 5e-4) || !near(s.CI95, 2.365*2.138/math.Sqrt(8), 1e-3) {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestTQuantile975(t *testing.T) {
	tests := []struct {
		df   int
		want float64
		tol  float64
	}{
		// Exact table.
		{1, 12.706, 5e-4},
		{2, 4.303, 5e-4},
		{3, 3.182, 5e-4},
		{4, 2.776, 5e-4},
		{5, 2.571, 5e-4},
		{7, 2.365, 5e-4},
		{10, 2.228, 5e-4},
		{20, 2.086, 5e-4},
		{29, 2.045, 5e-4},
		{30, 2.042, 5e-4},
		// Approximation, against the textbook values.
		{40, 2.021, 0.002},
		{60, 2.000, 0.002},
		{120, 1.980, 0.002},
		// Approximation, against quantiles computed by numerical integration.
		{31, 2.039513446, 1e-5},
		{35, 2.030107928, 1e-5},
		{40, 2.021075390, 1e-5},
		{60, 2.000297822, 1e-6},
		{120, 1.979930405, 1e-6},
		{1000, 1.962339081, 1e-6},
		{1 << 30, z975, 1e-8},
		// Invalid.
		{0, math.NaN(), 0},
		{-3, math.NaN(), 0},
	}
	for _, tc := range tests {
		if got := TQuantile975(tc.df); !near(got, tc.want, tc.tol) {
			t.Errorf("TQuantile975(%d) = %.9f, want %.9f ± %g", tc.df, got, tc.want, tc.tol)
		}
	}
}

func TestTQuantile975Decreasing(t *testing.T) {
	prev := math.Inf(1)
	for df := 1; df <= 2000; df++ {
		q := TQuantile975(df)
		if !(q < prev) || q <= z975 {
			t.Fatalf("TQuantile975(%d) = %v, previous %v: not strictly decreasing towards %v", df, q, prev, z975)
		}
		prev = q
	}
}

// series is a hand-built cumulative counter: 1000 B in the first second,
// 2000 B in the second, nothing in the third and fourth.
var series = []Sample{
	{0, 0},
	{1 * time.Second, 1000},
	{2 * time.Second, 3000},
	{4 * time.Second, 3000},
}

func TestBytesAt(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []Sample
		t       time.Duration
		want    float64
	}{
		{"at first", series, 0, 0},
		{"before first clamps", series, -time.Second, 0},
		{"interpolated", series, 500 * ms, 500},
		{"at sample", series, time.Second, 1000},
		{"interpolated second", series, 1250 * ms, 1500},
		{"flat segment", series, 3 * time.Second, 3000},
		{"at last", series, 4 * time.Second, 3000},
		{"after last clamps", series, time.Hour, 3000},
		{"late start clamps to first", []Sample{{2 * time.Second, 100}, {3 * time.Second, 300}}, time.Second, 100},
		{"late start interpolated", []Sample{{2 * time.Second, 100}, {3 * time.Second, 300}}, 2500 * ms, 200},
		{"single sample", []Sample{{time.Second, 77}}, 5 * time.Second, 77},
		{"duplicate T, later wins", []Sample{{0, 0}, {time.Second, 10}, {time.Second, 20}, {2 * time.Second, 40}}, time.Second, 20},
		{"duplicate T, after", []Sample{{0, 0}, {time.Second, 10}, {time.Second, 20}, {2 * time.Second, 40}}, 1500 * ms, 30},
		{"empty", nil, 0, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BytesAt(tc.samples, tc.t); !near(got, tc.want, 1e-9) {
				t.Errorf("BytesAt(%v) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}

func TestGoodput(t *testing.T) {
	ms := time.Millisecond
	s := time.Second
	tests := []struct {
		name     string
		samples  []Sample
		from, to time.Duration
		want     float64
	}{
		{"first second", series, 0, s, 8000},
		{"second second", series, s, 2 * s, 16000},
		{"idle", series, 2 * s, 4 * s, 0},
		{"whole", series, 0, 4 * s, 3000 * 8 / 4.0},
		{"straddling", series, 500 * ms, 1500 * ms, (2000 - 500) * 8},
		{"beyond samples", series, 0, 8 * s, 3000 * 8 / 8.0},
		{"empty interval", series, s, s, math.NaN()},
		{"reversed", series, 2 * s, s, math.NaN()},
		{"no samples", nil, 0, s, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Goodput(tc.samples, tc.from, tc.to); !near(got, tc.want, 1e-9) {
				t.Errorf("Goodput(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestRates(t *testing.T) {
	ms := time.Millisecond
	s := time.Second
	nan := math.NaN()
	tests := []struct {
		name           string
		samples        []Sample
		from, to, step time.Duration
		want           []float64
	}{
		{"whole seconds", series, 0, 4 * s, s, []float64{8000, 16000, 0, 0}},
		{"partial last step", series, 0, 2500 * ms, s, []float64{8000, 16000, 0}},
		{"partial last step with data", series, 0, 1500 * ms, s, []float64{8000, 1000 * 8 / 0.5}},
		{"offset start", series, 500 * ms, 2500 * ms, s, []float64{(2000 - 500) * 8, (3000 - 2000) * 8}},
		{"half-second steps", series, 0, 2 * s, 500 * ms, []float64{8000, 8000, 16000, 16000}},
		{"step longer than span", series, 0, 2 * s, 10 * s, []float64{3000 * 8 / 2.0}},
		{"no samples", nil, 0, 2 * s, s, []float64{nan, nan}},
		{"zero step", series, 0, 2 * s, 0, nil},
		{"negative step", series, 0, 2 * s, -s, nil},
		{"empty span", series, s, s, ms, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rates(tc.samples, tc.from, tc.to, tc.step)
			if len(got) != len(tc.want) || (tc.want == nil) != (got == nil) {
				t.Fatalf("Rates = %v, want %v", got, tc.want)
			}
			for i := range got {
				if !near(got[i], tc.want[i], 1e-9) {
					t.Errorf("Rates[%d] = %v, want %v (all %v)", i, got[i], tc.want[i], got)
				}
			}
		})
	}
}

func TestIdealFCT(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		size int64
		rtt  time.Duration
		rate float64
		want time.Duration
	}{
		{"1 Gbit/s 125 kB", 125_000, ms, 1e9, 2 * ms},
		{"zero size", 0, 3 * ms, 1e9, 3 * ms},
		{"no rtt", 1_250_000, 0, 1e8, 100 * ms},
		{"rounded to ns", 1, 0, 3, 2666666667}, // 8/3 s
		{"saturates", math.MaxInt64, 0, 1, time.Duration(math.MaxInt64)},
		{"zero rate", 1000, ms, 0, 0},
		{"negative rate", 1000, ms, -1, 0},
		{"nan rate", 1000, ms, math.NaN(), 0},
		{"infinite rate", 1000, ms, math.Inf(1), 0},
		{"negative size", -1, ms, 1e9, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IdealFCT(tc.size, tc.rtt, tc.rate); got != tc.want {
				t.Errorf("IdealFCT(%d, %v, %v) = %v, want %v", tc.size, tc.rtt, tc.rate, got, tc.want)
			}
		})
	}
}

func TestSlowdown(t *testing.T) {
	ms := time.Millisecond
	us := time.Microsecond
	nan := math.NaN()
	tests := []struct {
		name string
		fct  time.Duration
		size int64
		rtt  time.Duration
		rate float64
		want float64
	}{
		{"twice ideal", 4 * ms, 125_000, ms, 1e9, 2},
		{"equal to ideal", 2 * ms, 125_000, ms, 1e9, 1},
		{"ten times", 20 * ms, 125_000, ms, 1e9, 10},
		{"fractional", 2500 * us, 125_000, ms, 1e9, 1.25},
		{"faster than ideal clamps", ms, 125_000, ms, 1e9, 1},
		{"zero fct clamps", 0, 125_000, ms, 1e9, 1},
		{"zero size, rtt only", 3 * ms, 0, ms, 1e9, 3},
		{"zero rate", 4 * ms, 125_000, ms, 0, nan},
		{"negative rate", 4 * ms, 125_000, ms, -1e9, nan},
		{"zero ideal", 4 * ms, 0, 0, 1e9, nan},
		{"negative ideal", 4 * ms, 0, -ms, 1e9, nan},
		{"negative fct", -ms, 125_000, ms, 1e9, nan},
		{"negative size", 4 * ms, -5, ms, 1e9, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Slowdown(tc.fct, tc.size, tc.rtt, tc.rate); !near(got, tc.want, 1e-12) {
				t.Errorf("Slowdown(%v, %d, %v, %v) = %v, want %v", tc.fct, tc.size, tc.rtt, tc.rate, got, tc.want)
			}
		})
	}
}

func TestSizeBucket(t *testing.T) {
	tests := []struct {
		size int64
		want string
	}{
		{-1, "<=10KB"},
		{0, "<=10KB"},
		{1, "<=10KB"},
		{10_000, "<=10KB"},
		{10_001, "<=100KB"},
		{10_240, "<=100KB"}, // 10 KiB is above 10 KB
		{100_000, "<=100KB"},
		{100_001, "<=10MB"},
		{10_000_000, "<=10MB"},
		{10_000_001, ">10MB"},
		{math.MaxInt64, ">10MB"},
	}
	for _, tc := range tests {
		if got := SizeBucket(tc.size); got != tc.want {
			t.Errorf("SizeBucket(%d) = %q, want %q", tc.size, got, tc.want)
		}
	}
}

func TestSizeBuckets(t *testing.T) {
	want := []string{"<=10KB", "<=100KB", "<=10MB", ">10MB"}
	got := SizeBuckets()
	if !slices.Equal(got, want) {
		t.Fatalf("SizeBuckets() = %q, want %q", got, want)
	}
	// Each bucket is produced by SizeBucket, in order.
	for i, size := range []int64{1, 50_000, 1_000_000, 1e9} {
		if b := SizeBucket(size); b != got[i] {
			t.Errorf("SizeBucket(%d) = %q, want bucket %d %q", size, b, i, got[i])
		}
	}
	got[0] = "mutated"
	if SizeBuckets()[0] != "<=10KB" {
		t.Error("SizeBuckets returns shared storage")
	}
}

func TestDiff(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		a, b Summary
		want Difference
	}{
		{"overlapping", Summary{N: 5, Mean: 100, CI95: 10}, Summary{N: 5, Mean: 105, CI95: 10},
			Difference{Delta: 5, Relative: 0.05, Overlap: true}},
		{"disjoint", Summary{N: 5, Mean: 100, CI95: 2}, Summary{N: 5, Mean: 110, CI95: 3},
			Difference{Delta: 10, Relative: 0.1, Overlap: false}},
		{"disjoint decrease", Summary{N: 5, Mean: 200, CI95: 5}, Summary{N: 5, Mean: 150, CI95: 5},
			Difference{Delta: -50, Relative: -0.25, Overlap: false}},
		{"touching counts as overlap", Summary{N: 5, Mean: 10, CI95: 1}, Summary{N: 5, Mean: 12, CI95: 1},
			Difference{Delta: 2, Relative: 0.2, Overlap: true}},
		{"nan CI overlaps", Summary{N: 1, Mean: 10, CI95: nan}, Summary{N: 5, Mean: 1000, CI95: 1},
			Difference{Delta: 990, Relative: 99, Overlap: true}},
		{"zero baseline", Summary{N: 5, Mean: 0, CI95: 0.1}, Summary{N: 5, Mean: 1, CI95: 0.1},
			Difference{Delta: 1, Relative: nan, Overlap: false}},
		{"empty summary", Summarize(nil), Summary{N: 5, Mean: 1, CI95: 0.1},
			Difference{Delta: nan, Relative: nan, Overlap: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(tc.a, tc.b)
			if !near(got.Delta, tc.want.Delta, 1e-12) || !near(got.Relative, tc.want.Relative, 1e-12) || got.Overlap != tc.want.Overlap {
				t.Errorf("Diff = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDiffFromSummaries(t *testing.T) {
	a := Summarize([]float64{10, 11, 9, 10, 10})
	b := Summarize([]float64{20, 21, 19, 20, 20})
	if d := Diff(a, b); d.Overlap || d.Delta != 10 || !near(d.Relative, 1, 1e-12) {
		t.Errorf("Diff(clearly different) = %+v", d)
	}
	c := Summarize([]float64{10.2, 11.1, 9.3, 10.4, 9.9})
	if d := Diff(a, c); !d.Overlap {
		t.Errorf("Diff(similar) = %+v, want overlap", d)
	}
}
