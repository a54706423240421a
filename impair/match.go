package impair

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/netlab/netlab/stack/wire"
)

// Match selects frames for Config.DropMatch by what they carry: every field
// that is set must match. The zero Match selects every frame. Setting a TCP
// field (Flags, NotFlags, PureACK, Data, Seq, Ack) selects TCP segments
// only; the ports select TCP or UDP. Of the frames it selects, a Match lets
// the first Skip through and then drops Count of them (every one if Count is
// zero): "the first SYN" is Match{Flags: wire.TCPFlagSYN, Count: 1}.
//
// ParseMatch reads the same thing from text, and String writes it back.
type Match struct {
	// Proto is the IPv4 protocol number (wire.ProtoTCP...); zero means any
	// frame, IP or not, unless another field implies TCP or ports.
	Proto uint8
	// SrcPort is the TCP or UDP source port; zero means any.
	SrcPort uint16
	// DstPort is the TCP or UDP destination port; zero means any.
	DstPort uint16
	// Flags are TCP flags that must all be set.
	Flags wire.TCPFlags
	// NotFlags are TCP flags that must all be clear.
	NotFlags wire.TCPFlags
	// PureACK selects TCP segments with ACK set, no data, and none of SYN,
	// FIN and RST: acknowledgments and nothing else.
	PureACK bool
	// Data selects TCP segments that carry data.
	Data bool
	// Seq, if set, is the TCP sequence number to select.
	Seq *uint32
	// Ack, if set, is the TCP acknowledgment number to select.
	Ack *uint32
	// Skip is how many selected frames pass before dropping starts.
	Skip uint64
	// Count is how many selected frames are dropped after Skip; zero means
	// all of them.
	Count uint64
}

// tcpOnly reports whether m selects TCP segments only.
func (m *Match) tcpOnly() bool {
	return m.Flags != 0 || m.NotFlags != 0 || m.PureACK || m.Data || m.Seq != nil || m.Ack != nil
}

func (m *Match) validate() error {
	if m.Flags&m.NotFlags != 0 {
		return fmt.Errorf("flags %v both required and forbidden", m.Flags&m.NotFlags)
	}
	if m.tcpOnly() && m.Proto != 0 && m.Proto != wire.ProtoTCP {
		return fmt.Errorf("TCP fields with protocol %d", m.Proto)
	}
	if (m.SrcPort != 0 || m.DstPort != 0) && m.Proto != 0 && m.Proto != wire.ProtoTCP && m.Proto != wire.ProtoUDP {
		return fmt.Errorf("ports with protocol %d", m.Proto)
	}
	return nil
}

func (m *Match) equal(o *Match) bool {
	eq := func(a, b *uint32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return m.Proto == o.Proto && m.SrcPort == o.SrcPort && m.DstPort == o.DstPort && m.Flags == o.Flags &&
		m.NotFlags == o.NotFlags && m.PureACK == o.PureACK && m.Data == o.Data && eq(m.Seq, o.Seq) &&
		eq(m.Ack, o.Ack) && m.Skip == o.Skip && m.Count == o.Count
}

// selects reports whether m selects the frame s was parsed from (Skip and
// Count aside).
func (m *Match) selects(s *segment) bool {
	if m.Proto != 0 && (!s.isIP || s.proto != m.Proto) {
		return false
	}
	if m.SrcPort != 0 || m.DstPort != 0 {
		if !s.hasPorts || (m.SrcPort != 0 && s.srcPort != m.SrcPort) || (m.DstPort != 0 && s.dstPort != m.DstPort) {
			return false
		}
	}
	if !m.tcpOnly() {
		return true
	}
	if !s.isTCP {
		return false
	}
	if !s.flags.Has(m.Flags) || s.flags&m.NotFlags != 0 {
		return false
	}
	if m.PureACK && (!s.flags.Has(wire.TCPFlagACK) || s.flags&(wire.TCPFlagSYN|wire.TCPFlagFIN|wire.TCPFlagRST) != 0 || s.payloadLen != 0) {
		return false
	}
	if m.Data && s.payloadLen == 0 {
		return false
	}
	if m.Seq != nil && s.seq != *m.Seq {
		return false
	}
	if m.Ack != nil && s.ack != *m.Ack {
		return false
	}
	return true
}

// flagWords are the TCP flag words of ParseMatch, three letters each, in
// wire.TCPFlags bit order.
const flagWords = "finsynrstpshackurgececwr"

// flagName returns the word for flag bit i.
func flagName(i int) string { return flagWords[3*i : 3*i+3] }

// String writes m in ParseMatch's syntax, words in a fixed order, "first"
// and "nth=N" where they say it: "any" for the zero Match.
func (m Match) String() string {
	var w []string
	switch m.Proto {
	case 0:
	case wire.ProtoTCP:
		w = append(w, "tcp")
	case wire.ProtoUDP:
		w = append(w, "udp")
	case wire.ProtoICMP:
		w = append(w, "icmp")
	default:
		w = append(w, "proto="+strconv.Itoa(int(m.Proto)))
	}
	for i := range 8 {
		if m.Flags&(1<<i) != 0 {
			w = append(w, flagName(i))
		}
	}
	for i := range 8 {
		if m.NotFlags&(1<<i) != 0 {
			w = append(w, "!"+flagName(i))
		}
	}
	if m.PureACK {
		w = append(w, "pure-ack")
	}
	if m.Data {
		w = append(w, "data")
	}
	if m.Seq != nil {
		w = append(w, "seq="+strconv.FormatUint(uint64(*m.Seq), 10))
	}
	if m.Ack != nil {
		w = append(w, "ack="+strconv.FormatUint(uint64(*m.Ack), 10))
	}
	if m.SrcPort != 0 {
		w = append(w, "sport="+strconv.Itoa(int(m.SrcPort)))
	}
	if m.DstPort != 0 {
		w = append(w, "dport="+strconv.Itoa(int(m.DstPort)))
	}
	switch {
	case m.Count == 1 && m.Skip == 0:
		w = append(w, "first")
	case m.Count == 1 && m.Skip < math.MaxUint64:
		w = append(w, "nth="+strconv.FormatUint(m.Skip+1, 10))
	default:
		if m.Skip != 0 {
			w = append(w, "skip="+strconv.FormatUint(m.Skip, 10))
		}
		if m.Count != 0 {
			w = append(w, "count="+strconv.FormatUint(m.Count, 10))
		}
	}
	if len(w) == 0 {
		return "any"
	}
	return strings.Join(w, " ")
}

// ParseMatch reads a Match from words separated by spaces or commas, case
// insensitive:
//
//	tcp, udp, icmp, proto=N      the IPv4 protocol
//	syn fin rst psh ack urg ece cwr   TCP flags that must be set
//	!syn ...                     TCP flags that must be clear
//	pure-ack                     an ACK with no data and no SYN, FIN or RST
//	data                         a TCP segment carrying data
//	seq=N, ack=N                 TCP sequence or acknowledgment number
//	sport=N, dport=N             TCP or UDP ports
//	first                        count=1
//	nth=N                        skip=N-1 count=1: the N-th selected frame
//	skip=N, count=N              see Match
//	any                          no condition
//
// So "syn first" drops the first SYN, "fin" every FIN, "seq=1001 data
// first" the first segment carrying sequence number 1001, "pure-ack" every
// pure ACK, "syn !ack nth=2" the second SYN without ACK.
func ParseMatch(s string) (Match, error) {
	var m Match
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(words) == 0 {
		return m, errors.New("impair: empty match")
	}
	num := func(w, v string, bitSize int) (uint64, error) {
		n, err := strconv.ParseUint(v, 0, bitSize)
		if err != nil {
			return 0, fmt.Errorf("impair: match %q: %q is not a number of %d bits", w, v, bitSize)
		}
		return n, nil
	}
	for _, w := range words {
		key, val, hasVal := strings.Cut(w, "=")
		if !hasVal {
			if f, ok := flagByName(strings.TrimPrefix(key, "!")); ok {
				if strings.HasPrefix(key, "!") {
					m.NotFlags |= f
				} else {
					m.Flags |= f
				}
				continue
			}
			switch key {
			case "tcp":
				m.Proto = wire.ProtoTCP
			case "udp":
				m.Proto = wire.ProtoUDP
			case "icmp":
				m.Proto = wire.ProtoICMP
			case "pure-ack", "pureack":
				m.PureACK = true
			case "data":
				m.Data = true
			case "first":
				m.Count = 1
			case "any":
			default:
				return Match{}, fmt.Errorf("impair: match: unknown word %q", w)
			}
			continue
		}
		var n uint64
		var err error
		switch key {
		case "seq", "ack":
			if n, err = num(w, val, 32); err != nil {
				return Match{}, err
			}
			v := uint32(n)
			if key == "seq" {
				m.Seq = &v
			} else {
				m.Ack = &v
			}
		case "sport", "dport":
			if n, err = num(w, val, 16); err != nil {
				return Match{}, err
			}
			if key == "sport" {
				m.SrcPort = uint16(n)
			} else {
				m.DstPort = uint16(n)
			}
		case "proto":
			if n, err = num(w, val, 8); err != nil {
				return Match{}, err
			}
			m.Proto = uint8(n)
		case "skip", "count":
			if n, err = num(w, val, 64); err != nil {
				return Match{}, err
			}
			if key == "skip" {
				m.Skip = n
			} else {
				m.Count = n
			}
		case "nth":
			if n, err = num(w, val, 64); err != nil {
				return Match{}, err
			}
			if n == 0 {
				return Match{}, fmt.Errorf("impair: match %q: frames are numbered from 1", w)
			}
			m.Skip, m.Count = n-1, 1
		default:
			return Match{}, fmt.Errorf("impair: match: unknown word %q", w)
		}
	}
	if err := m.validate(); err != nil {
		return Match{}, fmt.Errorf("impair: match %q: %w", s, err)
	}
	return m, nil
}

func flagByName(name string) (wire.TCPFlags, bool) {
	for i := range 8 {
		if flagName(i) == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler: String.
func (m Match) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: ParseMatch.
func (m *Match) UnmarshalText(b []byte) error {
	v, err := ParseMatch(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
