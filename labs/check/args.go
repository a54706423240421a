package check

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
)

// The readers of Args: each returns an *ArgError naming the key.

// scalar returns the text of a scalar argument (strings as they are, ints,
// floats and bools as Go formats them) and whether it was given.
func scalar(a Args, key string) (string, bool, error) {
	v, ok := a[key]
	if !ok {
		return "", false, nil
	}
	s, ok := scalarText(v)
	if !ok {
		return "", true, &ArgError{Key: key, Msg: fmt.Sprintf("want a single value, not %s", describe(v))}
	}
	return s, true, nil
}

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

func describe(v any) string {
	switch v.(type) {
	case []string, []any:
		return "a list"
	case map[string]string, map[string]any:
		return "a map"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a %T", v)
}

// text returns a scalar argument, or def when it is not given.
func text(a Args, key, def string) (string, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return def, err
	}
	return s, nil
}

// list returns a list argument (a lone scalar is a list of one).
func list(a Args, key string) ([]string, error) {
	v, ok := a[key]
	if !ok {
		return nil, nil
	}
	switch v := v.(type) {
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := scalarText(x)
			if !ok {
				return nil, &ArgError{Key: key, Index: i + 1, Msg: fmt.Sprintf("want a single value, not %s", describe(x))}
			}
			out[i] = s
		}
		return out, nil
	}
	if s, ok := scalarText(v); ok {
		return []string{s}, nil
	}
	return nil, &ArgError{Key: key, Msg: fmt.Sprintf("want a list, not %s", describe(v))}
}

// count returns a non-negative integer argument and whether it was given.
func count(a Args, key string) (int, bool, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, true, &ArgError{Key: key, Msg: fmt.Sprintf("want a whole number, 0 or more, not %q", s)}
	}
	return n, true, nil
}

// countDefault is count with a default.
func countDefault(a Args, key string, def int) (int, error) {
	n, ok, err := count(a, key)
	if !ok {
		return def, err
	}
	return n, err
}

// bounds reads min and max: at least one must be given, min <= max. An
// absent max is -1.
func bounds(a Args) (lo, hi int, err error) {
	lo, okLo, err := count(a, "min")
	if err != nil {
		return 0, 0, err
	}
	hi, okHi, err := count(a, "max")
	if err != nil {
		return 0, 0, err
	}
	switch {
	case !okLo && !okHi:
		return 0, 0, &ArgError{Key: "min", Msg: "give min, max or both"}
	case !okHi:
		hi = -1
	case okLo && lo > hi:
		return 0, 0, &ArgError{Key: "max", Msg: fmt.Sprintf("max %d is below min %d", hi, lo)}
	}
	return lo, hi, nil
}

// boundsText says what bounds allow: "between 1 and 3", "at least 1", "at most 0".
func boundsText(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d", lo)
	case lo == hi:
		return fmt.Sprintf("exactly %d", lo)
	case lo == 0:
		return fmt.Sprintf("at most %d", hi)
	}
	return fmt.Sprintf("between %d and %d", lo, hi)
}

func inBounds(n, lo, hi int) bool { return n >= lo && (hi < 0 || n <= hi) }

// sizeArg returns a size argument (units.ParseSize: 65535, 64KiB, 1MB)
// and whether it was given.
func sizeArg(a Args, key string) (int64, bool, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	n, err := units.ParseSize(s)
	if err != nil {
		return 0, true, &ArgError{Key: key, Msg: err.Error()}
	}
	return n, true, nil
}

// duration returns a duration argument (units.ParseDuration: "50ms").
func duration(a Args, key string) (time.Duration, bool, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	d, err := units.ParseDuration(s)
	if err != nil {
		return 0, true, &ArgError{Key: key, Msg: err.Error()}
	}
	return d, true, nil
}

// choice returns an argument that must be one of allowed, or def.
func choice(a Args, key, def string, allowed ...string) (string, error) {
	s, err := text(a, key, def)
	if err != nil {
		return "", err
	}
	for _, x := range allowed {
		if s == x {
			return s, nil
		}
	}
	msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
	if c := suggest.Closest(s, allowed); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", c)
	}
	return "", &ArgError{Key: key, Msg: msg}
}

// regex returns a compiled regular expression argument, or nil.
func regex(a Args, key string) (*regexp.Regexp, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, &ArgError{Key: key, Msg: "bad regular expression: " + err.Error()}
	}
	return re, nil
}

// bytesTol is an amount of bytes given either as a size ("1448", "2KiB")
// or in segments of the connection's MSS ("1mss", "1.5 mss").
type bytesTol struct {
	n   float64
	mss bool // n counts MSS
}

func (b bytesTol) bytes(mss int) int {
	if b.mss {
		return int(math.Round(b.n * float64(mss)))
	}
	return int(b.n)
}

func (b bytesTol) String() string {
	if b.mss {
		return strconv.FormatFloat(b.n, 'f', -1, 64) + " MSS"
	}
	return strconv.FormatFloat(b.n, 'f', -1, 64) + " bytes"
}

// byteTolerance reads a bytesTol argument, or def.
func byteTolerance(a Args, key string, def bytesTol) (bytesTol, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return def, err
	}
	const allowed = "want bytes (1448, 2KiB) or segments of the MSS (1mss, 0.5mss)"
	if num, isMSS := strings.CutSuffix(strings.ToLower(strings.TrimSpace(s)), "mss"); isMSS {
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1e6 {
			return def, &ArgError{Key: key, Msg: fmt.Sprintf("bad tolerance %q: %s", s, allowed)}
		}
		return bytesTol{n: v, mss: true}, nil
	}
	n, err := units.ParseSize(s)
	if err != nil || n > math.MaxInt32 {
		return def, &ArgError{Key: key, Msg: fmt.Sprintf("bad tolerance %q: %s", s, allowed)}
	}
	return bytesTol{n: float64(n)}, nil
}

// numTol is a tolerance on a number: absolute, or a fraction of the
// expected value ("5%").
type numTol struct {
	v   float64
	rel bool
}

func (t numTol) ok(got, want float64) bool {
	d := math.Abs(got - want)
	if t.rel {
		return d <= t.v*math.Abs(want)+1e-9
	}
	return d <= t.v+1e-9*math.Max(1, math.Abs(want))
}

func (t numTol) String() string {
	if t.rel {
		return strconv.FormatFloat(t.v*100, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(t.v, 'f', -1, 64)
}

// numTolerance reads a numTol: "5%" or a plain number ("0.5"); with
// durations allowed, a duration ("20ms") is that many milliseconds.
func numTolerance(a Args, key string, def numTol, durations bool) (numTol, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return def, err
	}
	s = strings.TrimSpace(s)
	if p, isPct := strings.CutSuffix(s, "%"); isPct {
		v, err := units.ParsePercent(p)
		if err != nil {
			return def, &ArgError{Key: key, Msg: err.Error()}
		}
		return numTol{v: v, rel: true}, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
		return numTol{v: v}, nil
	}
	if durations {
		if d, err := units.ParseDuration(s); err == nil {
			return numTol{v: float64(d) / float64(time.Millisecond)}, nil
		}
		return def, &ArgError{Key: key, Msg: fmt.Sprintf("bad tolerance %q: want a duration (20ms) or a percentage (10%%)", s)}
	}
	return def, &ArgError{Key: key, Msg: fmt.Sprintf("bad tolerance %q: want a number (0.5) or a percentage (5%%)", s)}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// plural writes n and the noun, in the plural unless n is 1: "1 loss", "2 losses".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
