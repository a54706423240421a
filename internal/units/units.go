// Package units reads and writes the values netlab's files and flags
// hold: durations, percentages, rates and sizes, with the units users know
// from Go and tc(8). Each parser's error says what is allowed.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a Go duration ("50ms", "1.5s", "100us"). Only 0 may
// be written without a unit; negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	const allowed = "allowed: a number with a unit ns, us, ms, s, m or h, e.g. 50ms"
	if s == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("bad duration %q: add a unit (%s)", s, allowed)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (%s)", s, allowed)
	}
	if d < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	return d, nil
}

// ParsePercent parses a percentage as netem does: "2%" and "2" both mean
// two percent. It returns a fraction in [0, 1].
func ParsePercent(s string) (float64, error) {
	const allowed = "allowed: 0 to 100, e.g. 2% or 0.5%; a plain number is a percentage, as in netem"
	num := strings.TrimSuffix(s, "%")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num != strings.TrimSpace(num) || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad percentage %q (%s)", s, allowed)
	}
	if v < 0 || v > 100 {
		return 0, fmt.Errorf("bad percentage %q: out of range (%s)", s, allowed)
	}
	return v / 100, nil
}

// ParseRate parses a rate with a tc unit ("10mbit", "1gbit", "100kbit";
// "bps" suffixes are bytes per second as in tc) into bits per second. Only 0
// (no limit) may be written without a unit.
func ParseRate(s string) (uint64, error) {
	const allowed = "allowed: a number with a unit bit, kbit, mbit, gbit, tbit, kibit, mibit, gibit, or bps, kbps, mbps, gbps (bytes/s, as in tc), e.g. 10mbit"
	// tc(8) "RATES": bit-based and byte-based units ("bps" is bytes per
	// second in tc), SI and IEC; longest suffixes first so "kibit" is not
	// read as "bit".
	rateUnits := [...]struct {
		suffix string
		mult   float64
	}{
		{"kibit", 1 << 10}, {"mibit", 1 << 20}, {"gibit", 1 << 30}, {"tibit", 1 << 40},
		{"kibps", 8 << 10}, {"mibps", 8 << 20}, {"gibps", 8 << 30}, {"tibps", 8 << 40},
		{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
		{"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"tbps", 8e12},
		{"bit", 1}, {"bps", 8},
	}
	if s == "0" {
		return 0, nil
	}
	lower := strings.ToLower(s)
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(lower, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || num == "" || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("bad rate %q (%s)", s, allowed)
		}
		bps := v * u.mult
		if bps >= math.MaxUint64 {
			return 0, fmt.Errorf("bad rate %q: too large", s)
		}
		return uint64(bps), nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("bad rate %q: add a unit (%s)", s, allowed)
	}
	return 0, fmt.Errorf("bad rate %q: unknown unit (%s)", s, allowed)
}

// ParseSize parses a byte count: a plain integer or a number with a unit
// (B, KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers of 1024).
func ParseSize(s string) (int64, error) {
	const allowed = "allowed: a number of bytes, or with a unit B, KB, MB, GB, KiB, MiB, GiB, e.g. 256KiB"
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("bad size %q: must not be negative", s)
		}
		return n, nil
	}
	sizeUnits := [...]struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
		{"b", 1},
	}
	lower := strings.ToLower(s)
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(lower, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || num == "" || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			break
		}
		b := v * float64(u.mult)
		if b >= math.MaxInt64 || b != math.Trunc(b) {
			return 0, fmt.Errorf("bad size %q: not a whole number of bytes below 2^63", s)
		}
		return int64(b), nil
	}
	return 0, fmt.Errorf("bad size %q (%s)", s, allowed)
}

// FormatRate formats bits per second with the largest tc unit that divides
// it: 10mbit, 1gbit, 1500bit.
func FormatRate(bps uint64) string {
	for _, u := range []struct {
		name string
		v    uint64
	}{{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bps >= u.v && bps%u.v == 0 {
			return strconv.FormatUint(bps/u.v, 10) + u.name
		}
	}
	return strconv.FormatUint(bps, 10) + "bit"
}
