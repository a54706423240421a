package topology

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	dockerunits "github.com/docker/go-units"
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

	// Continuous capture: each file of the ring holds at least
	// minCaptureFileSize bytes, and a ring has 1 to maxCaptureFiles files.
	minCaptureFileSize     = 64 << 10
	defaultCaptureFileSize = 16 << 20
	defaultCaptureFiles    = 4
	maxCaptureFiles        = 100
)

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

// linuxIfName returns the Linux name of an interface name written in the
// file. containerlab's users write names with '/' (SR Linux's
// ethernet-1/1), which Linux does not allow; netlab maps them by one rule,
// as SR Linux itself does: a leading "ethernet-" becomes "e", and every
// '/' becomes '-' (ethernet-1/1 → e1-1, 1/1/c1 → 1-1-c1). Every other name
// is kept as written, and must be a valid Linux name.
func linuxIfName(s string) (string, error) {
	if !strings.Contains(s, "/") {
		return s, checkIfName(s)
	}
	name := s
	if rest, ok := strings.CutPrefix(name, "ethernet-"); ok {
		name = "e" + rest
	}
	name = strings.ReplaceAll(name, "/", "-")
	if err := checkIfName(name); err != nil {
		return "", fmt.Errorf("interface %q maps to %q (ethernet- → e, / → -), which Linux does not take: %v", s, name, err)
	}
	return name, nil
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

// splitWords splits a command line into words as a POSIX shell would,
// without expanding anything: blanks separate words, single quotes keep
// everything, double quotes keep everything but \" and \\, and a
// backslash outside quotes keeps the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("a single quote at byte %d is not closed", i+1)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("a double quote is not closed")
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseMemory parses a container memory limit as Docker reads it: a
// number of bytes or with a unit b, k, m, g (powers of 1024; "1Gb" and
// "1g" are both 1 GiB).
func parseMemory(s string) (int64, error) {
	n, err := dockerunits.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad memory limit %q (allowed: bytes, or with a unit as Docker reads it: 512m, 1Gb = 1 GiB)", s)
	}
	if n < 6<<20 {
		return 0, fmt.Errorf("memory limit %q is below the 6 MiB Docker allows", s)
	}
	return n, nil
}

// parseCPUs parses a container CPU limit: a positive number of CPUs.
func parseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v > 1024 || math.IsNaN(v) {
		return 0, fmt.Errorf("bad cpu limit %q (allowed: a number of CPUs above 0, e.g. 0.5 or 2)", s)
	}
	return v, nil
}

// checkCapability checks a Linux capability name as Docker takes it
// (NET_ADMIN or CAP_NET_ADMIN). ALL is refused: it is privileged mode by
// another name.
func checkCapability(s string) error {
	name := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
	if name == "ALL" {
		return errors.New("ALL would make the node privileged; name the capabilities it needs")
	}
	if name == "" {
		return errors.New("empty capability name")
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r == '_') {
			return fmt.Errorf("bad capability name %q (allowed: e.g. NET_ADMIN, SYS_ADMIN)", s)
		}
	}
	return nil
}
