package impair

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// DistScale is the fixed-point scale of a DistTable, iproute2's
// NETEM_DIST_SCALE: a table value of DistScale stands for one Jitter.
const DistScale = 8192

// DistMaxLen is the most values a DistTable may hold, iproute2's
// NETEM_DIST_MAX.
const DistMaxLen = 16384

// DistTable is a delay distribution in iproute2's format: values of a
// quantile function (an inverse CDF) sampled at evenly spaced probabilities,
// scaled by DistScale, so that a value drawn from it times Jitter/DistScale
// is the offset added to Delay. The built-in tables have a mean near 0; the
// normal table's standard deviation is DistScale, pareto's and
// paretonormal's about 0.82 and 0.83 DistScale (their heavy tails are cut at
// the int16 limit, four units), exactly as iproute2's.
type DistTable []int16

// Validate reports an empty table or one longer than DistMaxLen.
func (t DistTable) Validate() error {
	switch {
	case len(t) == 0:
		return errors.New("impair: empty distribution table")
	case len(t) > DistMaxLen:
		return fmt.Errorf("impair: distribution table has %d values, more than %d", len(t), DistMaxLen)
	}
	return nil
}

// sanitized returns a private copy of t cut to DistMaxLen values, or nil
// (uniform) if t is empty.
func (t DistTable) sanitized() DistTable {
	if len(t) == 0 {
		return nil
	}
	return append(DistTable(nil), t[:min(len(t), DistMaxLen)]...)
}

// ParseDistTable reads a table in iproute2's .dist format (what `tc` reads
// from /usr/lib/tc and iproute2's maketable writes): lines starting with '#'
// and empty lines are skipped, every other line holds integers separated by
// white space, in base 10 or with a 0x or 0 prefix as strtol reads them.
// Unlike tc, which truncates silently, a value outside the int16 range or a
// word that is not a number is an error; more than DistMaxLen values is an
// error, as in tc.
func ParseDistTable(r io.Reader) (DistTable, error) {
	var t DistTable
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		for _, w := range strings.Fields(text) {
			v, err := parseCInt(w)
			if err != nil {
				return nil, fmt.Errorf("impair: distribution table line %d: %w", line, err)
			}
			if len(t) >= DistMaxLen {
				return nil, fmt.Errorf("impair: distribution table line %d: more than %d values", line, DistMaxLen)
			}
			t = append(t, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("impair: read distribution table: %w", err)
	}
	if len(t) == 0 {
		return nil, errors.New("impair: distribution table has no values")
	}
	return t, nil
}

// parseCInt parses w as strtol(w, &end, 0) would, into an int16.
func parseCInt(w string) (int16, error) {
	s, neg := w, false
	switch {
	case strings.HasPrefix(s, "-"):
		s, neg = s[1:], true
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	u, err := strconv.ParseUint(s, base, 32)
	if err != nil || s == "" {
		return 0, fmt.Errorf("%q is not an integer in the int16 range", w)
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if v < math.MinInt16 || v > math.MaxInt16 {
		return 0, fmt.Errorf("%q is not an integer in the int16 range", w)
	}
	return int16(v), nil
}

// NamedTable returns the built-in table called name: "normal", "pareto" or
// "paretonormal"; "uniform" and "" give nil, which is uniform jitter.
func NamedTable(name string) (DistTable, error) {
	switch name {
	case "", "uniform":
		return nil, nil
	case "normal":
		return NormalTable(), nil
	case "pareto":
		return ParetoTable(), nil
	case "paretonormal":
		return ParetoNormalTable(), nil
	}
	return nil, fmt.Errorf("impair: unknown distribution %q (want uniform, normal, pareto, paretonormal or a table file)", name)
}

// The built-in tables are iproute2's, value for value: netem/normal.c,
// pareto.c and paretonormal.c produce 4096 values from a 16384-point
// quantile function. Pareto is computed here as pareto.c does (a closed
// form). Normal comes from normal.c's search of a grid of 400,000 points for
// where 16384·Φ(x) rounds to each integer; that takes milliseconds, so its
// output (before the int16 clamp, which paretonormal.c skips) is kept in
// normalGridDist, generated and checked by TestDistTables.

const (
	distLen    = 4096
	paretoA    = 3.0
	paretoMean = 1.5 // a/(a-1) for a = 3 and scale 1
)

// NormalTable returns iproute2's normal.dist: the standard normal quantile
// function at 4096 points, scaled by DistScale and clamped to int16 (so the
// tails stop at about ±4 standard deviations).
func NormalTable() DistTable {
	grid := normalGrid()
	t := make(DistTable, distLen)
	for i, v := range grid {
		t[i] = clamp16(int64(v))
	}
	return t
}

// ParetoTable returns iproute2's pareto.dist: a Pareto distribution with
// shape 3 and scale 1, shifted by its mean 1.5, scaled by 4/3 and capped at
// 32767 (its standard deviation is then about 0.82 DistScale).
func ParetoTable() DistTable {
	t := make(DistTable, distLen)
	for k := range t {
		t[k] = int16(paretoValue(65536 - 16*k))
	}
	return t
}

// ParetoNormalTable returns iproute2's paretonormal.dist: value k is
// (normal + 3·pareto)/4 of the two tables above, the normal one taken
// before its clamp, truncated toward zero as C's integer division does.
func ParetoNormalTable() DistTable {
	grid := normalGrid()
	t := make(DistTable, distLen)
	for k, nv := range grid {
		t[k] = clamp16((int64(nv) + 3*paretoValue(65536-16*k)) / 4)
	}
	return t
}

// paretoValue is pareto.c's value for i in (0, 65536]: the Pareto quantile
// at i/65536 from the top, centred and scaled as described at ParetoTable.
func paretoValue(i int) int64 {
	x := 1 / math.Pow(float64(i)/65536, 1/paretoA)
	x = (x - paretoMean) * (4.0 / 3.0) * DistScale
	if x > math.MaxInt16 {
		x = math.MaxInt16
	}
	return int64(math.RoundToEven(x))
}

func clamp16(v int64) int16 {
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}

// normalGrid parses normalGridDist: 4096 int32 values.
func normalGrid() []int32 {
	out := make([]int32, 0, distLen)
	s := normalGridDist
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\n') {
			i++
		}
		s = s[i:]
		j := 0
		for j < len(s) && s[j] != ' ' && s[j] != '\n' {
			j++
		}
		if j == 0 {
			break
		}
		v, err := strconv.ParseInt(s[:j], 10, 32)
		if err != nil {
			panic("impair: corrupt normalGridDist: " + err.Error())
		}
		out = append(out, int32(v))
		s = s[j:]
	}
	if len(out) != distLen {
		panic("impair: normalGridDist does not hold 4096 values")
	}
	return out
}
