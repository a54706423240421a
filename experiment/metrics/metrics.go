// Package metrics is the pure math behind netlab's experiment metrics:
// fairness, percentiles, summaries of repeated measurements with Student-t
// confidence intervals, goodput from cumulative byte counters, flow
// completion time slowdown and flow-size buckets.
//
// Everything here is deterministic and free of I/O and wall-clock time; each
// function states its definition, including what it returns for degenerate
// input (empty, all-zero, NaN), so that the definitions can be quoted as is.
package metrics

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Jain returns Jain's fairness index of xs,
//
//	J = (Σx)² / (n · Σx²),
//
// which is 1 when all n shares are equal and 1/n when one share takes
// everything and the others get nothing. Jain returns NaN when xs is empty
// and when Σx² is 0 (all shares zero: nobody got anything, so fairness is
// undefined). A NaN in xs makes the result NaN.
func Jain(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum, sumSq float64
	for _, x := range xs {
		sum += x
		sumSq += x * x
	}
	if sumSq == 0 {
		return math.NaN()
	}
	return sum * sum / (float64(len(xs)) * sumSq)
}

// Percentile returns the p-th percentile (p in 0..100) of xs by linear
// interpolation between closest ranks, the "R-7" method that is numpy's and
// R's default: with the n values sorted ascending as x[0..n−1] and
// h = (n−1)·p/100, the result is x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
// So p=0 is the minimum, p=100 the maximum and p=50 the median.
//
// xs need not be sorted and is not modified. NaN values in xs are ignored.
// Percentile returns NaN when no non-NaN value remains and when p is NaN or
// outside 0..100.
func Percentile(xs []float64, p float64) float64 {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return math.NaN()
	}
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	h := float64(len(s)-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := h - float64(lo)
	if frac == 0 || s[lo] == s[lo+1] {
		return s[lo]
	}
	return s[lo] + frac*(s[lo+1]-s[lo])
}

// Summary describes repeated measurements of one quantity (for example one
// metric over the repetitions of an experiment cell).
type Summary struct {
	// N is the number of measurements summarized (NaN values excluded).
	N int
	// Mean is the arithmetic mean Σx/N; NaN when N is 0.
	Mean float64
	// StdDev is the sample standard deviation √(Σ(x−Mean)²/(N−1));
	// NaN when N < 2.
	StdDev float64
	// CI95 is the half-width of the 95% confidence interval of the mean,
	// t₀.₉₇₅,N−1 · StdDev/√N with Student's t quantile (see TQuantile975),
	// so the interval is Mean ± CI95; NaN when N < 2.
	CI95 float64
	// Min and Max are the smallest and largest measurement; NaN when N is 0.
	Min, Max float64
}

// Summarize returns the Summary of xs. NaN values in xs are skipped and not
// counted; infinities are kept and propagate into the result.
func Summarize(xs []float64) Summary {
	nan := math.NaN()
	s := Summary{Mean: nan, StdDev: nan, CI95: nan, Min: nan, Max: nan}
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		if s.N == 0 || x < s.Min {
			s.Min = x
		}
		if s.N == 0 || x > s.Max {
			s.Max = x
		}
		s.N++
		sum += x
	}
	if s.N == 0 {
		return s
	}
	s.Mean = sum / float64(s.N)
	if s.N < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		d := x - s.Mean
		ss += d * d
	}
	s.StdDev = math.Sqrt(ss / float64(s.N-1))
	s.CI95 = TQuantile975(s.N-1) * s.StdDev / math.Sqrt(float64(s.N))
	return s
}

// tTable975 holds Student's t 0.975 quantiles for 1..30 degrees of freedom.
var tTable975 = [...]float64{
	12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836,
	2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852,
	2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546,
	2.119905299, 2.109815578, 2.100922040, 2.093024054, 2.085963447,
	2.079613845, 2.073873068, 2.068657610, 2.063898562, 2.059538553,
	2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
}

// z975 is the standard normal 0.975 quantile, the limit of TQuantile975.
const z975 = 1.959963984540054

// TQuantile975 returns the 0.975 quantile of Student's t distribution with df
// degrees of freedom, the factor of a two-sided 95% confidence interval. For
// df 1..30 it is an exact table (12.706, 4.303, 3.182, …, 2.042); above 30 it
// is the Cornish–Fisher expansion of t in powers of 1/df around the normal
// quantile z = 1.959964 (Abramowitz & Stegun 26.7.5, four correction terms),
// whose error there is below 1e-5 and which converges to z as df grows.
// df < 1 → NaN.
func TQuantile975(df int) float64 {
	if df < 1 {
		return math.NaN()
	}
	if df <= len(tTable975) {
		return tTable975[df-1]
	}
	z := z975
	z2 := z * z
	z3 := z2 * z
	z5 := z3 * z2
	z7 := z5 * z2
	z9 := z7 * z2
	g1 := (z3 + z) / 4
	g2 := (5*z5 + 16*z3 + 3*z) / 96
	g3 := (3*z7 + 19*z5 + 17*z3 - 15*z) / 384
	g4 := (79*z9 + 776*z7 + 1482*z5 - 1920*z3 - 945*z) / 92160
	v := float64(df)
	return z + g1/v + g2/(v*v) + g3/(v*v*v) + g4/(v*v*v*v)
}

// Sample is one reading of a cumulative byte counter at time T (an offset
// from the experiment cell's start).
type Sample struct {
	T     time.Duration
	Bytes int64
}

// BytesAt returns the value of a cumulative byte counter at time t, given its
// samples sorted by T. Between two samples the value is interpolated
// linearly. Outside the sampled range it is clamped: for t at or before the
// first sample it is the first sample's Bytes, for t at or after the last it
// is the last sample's Bytes. No implicit zero point is assumed; a caller
// whose counter starts at 0 passes that reading as the first sample.
// With several samples at the same T, the last of them counts for times from
// T on. Empty samples → NaN.
func BytesAt(samples []Sample, t time.Duration) float64 {
	n := len(samples)
	if n == 0 {
		return math.NaN()
	}
	// i is the first sample strictly after t.
	i := sort.Search(n, func(k int) bool { return samples[k].T > t })
	if i == 0 {
		return float64(samples[0].Bytes)
	}
	if i == n {
		return float64(samples[n-1].Bytes)
	}
	a, b := samples[i-1], samples[i]
	frac := float64(t-a.T) / float64(b.T-a.T)
	return float64(a.Bytes) + frac*float64(b.Bytes-a.Bytes)
}

// Goodput returns the rate in bit/s at which a cumulative byte counter grew
// over [from, to]:
//
//	(BytesAt(to) − BytesAt(from)) · 8 / (to − from in seconds).
//
// to <= from or empty samples → NaN.
func Goodput(samples []Sample, from, to time.Duration) float64 {
	if to <= from || len(samples) == 0 {
		return math.NaN()
	}
	return (BytesAt(samples, to) - BytesAt(samples, from)) * 8 / (to - from).Seconds()
}

// Rates returns the Goodput of a cumulative byte counter over consecutive
// intervals [from, from+step), [from+step, from+2·step), … covering
// [from, to), for goodput-over-time plots and per-interval fairness. The last
// interval is cut at to and its rate uses its own (shorter) length, so the
// result has ⌈(to−from)/step⌉ entries. step <= 0 or to <= from → nil; empty
// samples → every entry NaN.
func Rates(samples []Sample, from, to, step time.Duration) []float64 {
	if step <= 0 || to <= from {
		return nil
	}
	span := to - from
	n := span / step
	if span%step != 0 {
		n++
	}
	out := make([]float64, 0, n)
	for i := time.Duration(0); i < n; i++ {
		s := from + i*step
		e := s + step
		if e > to || e < s { // cut at to; e < s guards overflow
			e = to
		}
		out = append(out, Goodput(samples, s, e))
	}
	return out
}

// idealSeconds is baseRTT + size·8/rate in seconds, or NaN when rate is not
// a positive finite number or size is negative.
func idealSeconds(size int64, baseRTT time.Duration, rateBps float64) float64 {
	if !(rateBps > 0) || math.IsInf(rateBps, 1) || size < 0 {
		return math.NaN()
	}
	return baseRTT.Seconds() + float64(size)*8/rateBps
}

// IdealFCT returns the ideal flow completion time of a flow of size bytes on
// an otherwise idle path: one base round-trip time plus the serialization
// time at the bottleneck rate, baseRTT + size·8/rateBps (rateBps in bit/s),
// rounded to the nanosecond and saturating at the largest Duration.
// IdealFCT returns 0 (an invalid ideal, on which Slowdown gives NaN) when
// rateBps is not a positive finite number or size is negative.
func IdealFCT(size int64, baseRTT time.Duration, rateBps float64) time.Duration {
	s := idealSeconds(size, baseRTT, rateBps)
	if math.IsNaN(s) {
		return 0
	}
	ns := math.Round(s * 1e9)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	if ns <= math.MinInt64 {
		return time.Duration(math.MinInt64)
	}
	return time.Duration(ns)
}

// Slowdown returns a flow's FCT slowdown, fct / ideal with ideal =
// baseRTT + size·8/rateBps (as IdealFCT, but computed without rounding),
// clamped to at least 1 — the definition of HPCC's fct_analysis.py. It
// returns NaN when rateBps is not a positive finite number, size or fct is
// negative, or ideal <= 0.
func Slowdown(fct time.Duration, size int64, baseRTT time.Duration, rateBps float64) float64 {
	ideal := idealSeconds(size, baseRTT, rateBps)
	if !(ideal > 0) || fct < 0 {
		return math.NaN()
	}
	return math.Max(1, fct.Seconds()/ideal)
}

// Flow-size bucket names, in increasing order of size; KB and MB are decimal
// (1 KB = 1000 bytes, 1 MB = 1000000 bytes), as in PIAS.
const (
	BucketTiny   = "<=10KB"  // size <= 10000 bytes (including 0 and negative sizes)
	BucketSmall  = "<=100KB" // 10000 < size <= 100000
	BucketMedium = "<=10MB"  // 100000 < size <= 10000000
	BucketLarge  = ">10MB"   // size > 10000000
)

// SizeBucket names the flow-size bucket of a flow of size bytes: "<=10KB",
// "<=100KB", "<=10MB" or ">10MB", the PIAS buckets, with decimal units
// (KB = 1000 bytes, MB = 1000000 bytes) and inclusive upper bounds, so
// 10000 is "<=10KB" and 10001 is "<=100KB".
func SizeBucket(size int64) string {
	switch {
	case size <= 10_000:
		return BucketTiny
	case size <= 100_000:
		return BucketSmall
	case size <= 10_000_000:
		return BucketMedium
	default:
		return BucketLarge
	}
}

// SizeBuckets returns all SizeBucket names from smallest to largest, in a new
// slice the caller may modify.
func SizeBuckets() []string {
	return []string{BucketTiny, BucketSmall, BucketMedium, BucketLarge}
}

// Difference is the comparison of two Summaries a (baseline) and b.
type Difference struct {
	// Delta is b.Mean − a.Mean.
	Delta float64
	// Relative is Delta / a.Mean, the relative change from a to b
	// (0.1 = 10% higher); NaN when a.Mean is 0 or either mean is NaN.
	Relative float64
	// Overlap reports whether the 95% confidence intervals Mean ± CI95 of
	// a and b overlap (touching counts), that is |Delta| <= a.CI95 + b.CI95.
	// Overlap true means the two are not distinguishable at this level.
	// A NaN CI95 or mean counts as overlapping.
	Overlap bool
}

// Diff compares b against a: the difference of their means, its relative
// change, and whether their 95% confidence intervals overlap (see
// Difference).
func Diff(a, b Summary) Difference {
	d := Difference{Delta: b.Mean - a.Mean, Relative: math.NaN()}
	if a.Mean != 0 && !math.IsNaN(d.Delta) {
		d.Relative = d.Delta / a.Mean
	}
	d.Overlap = !(math.Abs(d.Delta) > a.CI95+b.CI95)
	return d
}
