package topology

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Limits of the values the file may hold.
const (
	maxIfName   = 15 // IFNAMSIZ - 1
	maxName     = 64 // node, lab, kind and link names
	minMTU      = 68 // RFC 791: every IPv4 module must pass 68-octet datagrams
	maxMTU      = 65535
	defaultMTU  = 1500
	minMSS      = 88 // Linux TCP_MIN_MSS
	maxBuf      = 1 << 30
	defaultPool = "10.0.0.0/16"
	netemLimit  = 1000 // netem's default queue limit in packets

	// Continuous capture: each file of the ring holds at least
	// minCaptureFileSize bytes, and a ring has 1 to maxCaptureFiles files.
	minCaptureFileSize     = 64 << 10
	defaultCaptureFileSize = 16 << 20
	defaultCaptureFiles    = 4
	maxCaptureFiles        = 100
)

// parseDuration parses a Go duration ("50ms", "1.5s", "100us"). Only 0 may
// be written without a unit; negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
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

// parsePercent parses a percentage as netem does: "2%" and "2" both mean
// two percent. It returns a fraction in [0, 1].
func parsePercent(s string) (float64, error) {
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

// parseRate parses a rate with a tc unit ("10mbit", "1gbit", "100kbit";
// "bps" suffixes are bytes per second as in tc) into bits per second. Only 0
// (no limit) may be written without a unit.
func parseRate(s string) (uint64, error) {
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

// parseSize parses a byte count: a plain integer or a number with a unit
// (B, KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers of 1024).
func parseSize(s string) (int64, error) {
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

// checkName checks a lab, node, kind or link name: it becomes part of
// namespace and container names.
func checkName(what, s string) error {
	const allowed = "allowed: letters, digits, '_', '.', '-', starting with a letter or digit"
	if s == "" {
		return fmt.Errorf("%s must not be empty", what)
	}
	if len(s) > maxName {
		return fmt.Errorf("%s %q is %d characters long, at most %d are allowed", what, s, len(s), maxName)
	}
	for i, r := range s {
		switch {
		case isAlnum(r):
		case r == '_' || r == '.' || r == '-':
			if i == 0 {
				return fmt.Errorf("%s %q must start with a letter or digit", what, s)
			}
		default:
			return fmt.Errorf("%s %q has a character that is not allowed: %q (%s)", what, s, r, allowed)
		}
	}
	return nil
}

// checkIfName checks a Linux interface name.
func checkIfName(s string) error {
	const allowed = "allowed: letters, digits, '_', '.', '-'"
	switch {
	case s == "":
		return errors.New("interface name must not be empty")
	case len(s) > maxIfName:
		return fmt.Errorf("interface name %q is %d characters long, Linux allows at most %d", s, len(s), maxIfName)
	case s == "lo":
		return errors.New(`interface name "lo" is the loopback interface`)
	case s == "." || s == "..":
		return fmt.Errorf("interface name %q is not allowed by Linux", s)
	}
	for _, r := range s {
		if !isAlnum(r) && r != '_' && r != '.' && r != '-' {
			return fmt.Errorf("interface name %q has a character that is not allowed: %q (%s)", s, r, allowed)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// parseIfAddr parses an interface address "10.0.0.1/24".
func parseIfAddr(s string) (netip.Prefix, error) {
	const allowed = "allowed: an IPv4 address with a prefix length, e.g. 10.0.0.1/24"
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Is4() {
			return netip.Prefix{}, fmt.Errorf("bad address %q: missing prefix length (%s)", s, allowed)
		}
		return netip.Prefix{}, fmt.Errorf("bad address %q (%s)", s, allowed)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("bad address %q: not IPv4 (%s)", s, allowed)
	}
	if p.Bits() > 31 {
		return netip.Prefix{}, fmt.Errorf("bad address %q: a /32 leaves no room for a neighbor (allowed: /31 or shorter)", s)
	}
	return p, nil
}

// parseSubnet parses a subnet "10.0.0.0/16" whose host bits are zero.
func parseSubnet(s string) (netip.Prefix, error) {
	const allowed = "allowed: an IPv4 subnet, e.g. 10.0.0.0/16"
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("bad subnet %q (%s)", s, allowed)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("bad subnet %q: host bits are set; did you mean %s?", s, m)
	}
	return p, nil
}

// parseMAC parses a unicast Ethernet address "02:00:00:00:00:01".
func parseMAC(s string) (MAC, error) {
	const allowed = "allowed: six hex octets separated by ':', e.g. 02:00:00:00:00:01"
	var m MAC
	parts := strings.Split(s, ":")
	if len(parts) != len(m) {
		return m, fmt.Errorf("bad MAC address %q (%s)", s, allowed)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return m, fmt.Errorf("bad MAC address %q (%s)", s, allowed)
		}
		m[i] = byte(v)
	}
	if m[0]&1 != 0 {
		return m, fmt.Errorf("bad MAC address %q: a multicast address (allowed: unicast, the first octet even)", s)
	}
	if m == (MAC{}) {
		return m, fmt.Errorf("bad MAC address %q: all zeros", s)
	}
	return m, nil
}

// natCompare orders strings with their digit runs compared as numbers, so
// "eth2" sorts before "eth10".
func natCompare(a, b string) int {
	for a != "" && b != "" {
		ca, cb := a[0], b[0]
		if isDigit(ca) && isDigit(cb) {
			na, nb := digitRun(a), digitRun(b)
			ta, tb := strings.TrimLeft(a[:na], "0"), strings.TrimLeft(b[:nb], "0")
			if len(ta) != len(tb) {
				return cmpInt(len(ta), len(tb))
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			if na != nb {
				return cmpInt(na, nb)
			}
			a, b = a[na:], b[nb:]
			continue
		}
		if ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		a, b = a[1:], b[1:]
	}
	return cmpInt(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
