package impair

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// ECN codepoints in the IPv4 TOS byte (RFC 3168 §5).
const (
	tosECT0 = 0x2
	tosECT1 = 0x1
	tosCE   = 0x3
)

// ipv6Frame returns an IPv6 frame with the given Traffic Class and a
// payload of n bytes.
func ipv6Frame(tc uint8, n int) []byte {
	b := make([]byte, wire.EthernetHeaderLen+ipv6HeaderLen+n)
	wire.EncodeEthernet(b, &wire.EthernetFields{Type: wire.EtherTypeIPv6})
	ip := b[wire.EthernetHeaderLen:]
	binary.BigEndian.PutUint32(ip, 6<<28|uint32(tc)<<20|0x12345)
	binary.BigEndian.PutUint16(ip[4:], uint16(n))
	ip[6], ip[7] = 59, 64 // no next header
	return b
}

// TestECN: with ECN on, loss-model drops of ECT frames become CE marks with
// a valid IPv4 checksum; other frames are still dropped.
func TestECN(t *testing.T) {
	const n, p = 20_000, 0.1
	for _, tc := range []struct {
		name      string
		frame     func(id uint64) []byte
		ecn       bool
		wantMark  bool
		changedCE bool // the mark changes the frame
	}{
		{"ect0", func(id uint64) []byte { return udpFrame(id, 200, tosECT0) }, true, true, true},
		{"ect1 with dscp", func(id uint64) []byte { return udpFrame(id, 200, 0xb8|tosECT1) }, true, true, true},
		{"ce already", func(id uint64) []byte { return udpFrame(id, 200, tosCE) }, true, true, false},
		{"not ect", func(id uint64) []byte { return udpFrame(id, 200, 0) }, true, false, false},
		{"ect0 without ecn", func(id uint64) []byte { return udpFrame(id, 200, tosECT0) }, false, false, false},
		{"ipv6 ect0", func(id uint64) []byte { return ipv6Frame(tosECT0, 100) }, true, true, true},
		{"ipv6 ce", func(id uint64) []byte { return ipv6Frame(tosCE, 100) }, true, true, false},
		{"arp", func(id uint64) []byte { return make([]byte, 42) }, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var marked, sent int
			h := newHarness(t, Config{Loss: RandomLoss(p, 0), ECN: tc.ecn, Seed: 30})
			h.d.out = func(f []byte) {
				sent++
				orig := tc.frame(0)
				if bytes.Equal(f, orig) {
					return
				}
				marked++
				if !tc.changedCE {
					t.Fatalf("frame changed: % x", f)
				}
				if etherType(f) == wire.EtherTypeIPv6 {
					if f[15]>>4&3 != tosCE {
						t.Fatalf("IPv6 traffic class % x not CE", f[14:16])
					}
					return
				}
				if f[15]&3 != tosCE || f[15]&^3 != orig[15]&^3 {
					t.Fatalf("TOS %#x, want %#x with CE", f[15], orig[15])
				}
				if err := checkFrame(f); err != nil {
					t.Fatalf("marked frame does not parse: %v", err)
				}
			}
			for range n {
				h.d.Send(tc.frame(0))
			}
			s := h.d.Stats()
			checkConservation(t, s)
			if tc.wantMark {
				if s.DroppedLoss != 0 {
					t.Errorf("DroppedLoss = %d, want 0", s.DroppedLoss)
				}
				within(t, "marked fraction", float64(s.ECNMarked)/n, p, binomialTol(p, n))
				if tc.changedCE && marked != int(s.ECNMarked) {
					t.Errorf("%d frames changed, %d counted marked", marked, s.ECNMarked)
				}
				return
			}
			if s.ECNMarked != 0 || marked != 0 {
				t.Errorf("ECNMarked = %d, changed %d; want 0", s.ECNMarked, marked)
			}
			within(t, "dropped fraction", float64(s.DroppedLoss)/n, p, binomialTol(p, n))
		})
	}
}

// TestECNCoDel: with ECN, CoDel marks ECT frames instead of dropping them.
func TestECNCoDel(t *testing.T) {
	h := newHarness(t, Config{Rate: 10_000_000, CoDel: true, ECN: true})
	h.keep = true
	for i := range 300 {
		h.d.Send(udpFrame(uint64(i), 1250, tosECT0))
	}
	h.drain()
	s := h.d.Stats()
	if s.DroppedCoDel != 0 || s.ECNMarked == 0 || s.Passed != 300 {
		t.Fatalf("codel drops %d, marks %d, passed %d; want 0, >0, 300", s.DroppedCoDel, s.ECNMarked, s.Passed)
	}
	var ce uint64
	for _, a := range h.got {
		if a.frame[15]&3 == tosCE {
			ce++
		}
		if err := checkFrame(a.frame); err != nil {
			t.Fatalf("frame %d: %v", a.id, err)
		}
	}
	if ce != s.ECNMarked {
		t.Errorf("%d frames CE, %d counted", ce, s.ECNMarked)
	}
}

// TestCorrupt: one bit flips, inside the IP datagram, so the receiver's
// checksum check fails.
func TestCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		p     float64
		n     int
	}{
		{"tcp data", tcpFrame(wire.TCPFlagACK|wire.TCPFlagPSH, 1000, 2000, 1000, 0), 0.05, 20_000},
		{"udp", udpFrame(7, 300, 0), 0.05, 20_000},
		// A pure ACK padded to Ethernet's 60 bytes: the padding is not
		// checksummed, so it is never chosen.
		{"padded ack", append(tcpFrame(wire.TCPFlagACK, 1, 2, 0, 0), 0, 0, 0, 0, 0, 0), 1, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkFrame(tc.frame); err != nil {
				t.Fatal(err)
			}
			lo, hi := wire.EthernetHeaderLen, wire.EthernetHeaderLen+int(binary.BigEndian.Uint16(tc.frame[16:]))
			var changed int
			h := newHarness(t, Config{Corrupt: tc.p, Seed: 31})
			h.d.out = func(f []byte) {
				diff, at := 0, -1
				for i := range f {
					if d := bits.OnesCount8(f[i] ^ tc.frame[i]); d > 0 {
						diff += d
						at = i
					}
				}
				switch diff {
				case 0:
					return
				case 1:
				default:
					t.Fatalf("%d bits differ, want 1", diff)
				}
				changed++
				if at < lo || at >= hi {
					t.Fatalf("flipped bit at byte %d, outside the datagram [%d, %d)", at, lo, hi)
				}
				if checkFrame(f) == nil {
					t.Fatalf("corrupted frame (byte %d) passes the checksum checks", at)
				}
			}
			for range tc.n {
				h.d.Send(tc.frame)
			}
			s := h.d.Stats()
			if int(s.Corrupted) != changed || s.Passed != uint64(tc.n) {
				t.Errorf("Corrupted = %d, %d changed; passed %d of %d", s.Corrupted, changed, s.Passed, tc.n)
			}
			within(t, "corrupted fraction", float64(changed)/float64(tc.n), tc.p, binomialTol(tc.p, tc.n))
		})
	}
}

func TestCorruptSpan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  []byte
		lo, hi int
	}{
		{"empty", nil, 0, 0},
		{"runt", make([]byte, 10), 0, 10},
		{"arp", append(make([]byte, 12), 0x08, 0x06, 1, 2, 3), 14, 17},
		{"ipv4 padded", append(udpFrame(1, 50, 0), 0, 0), 14, 50},
		{"ipv4 bad length", func() []byte { f := udpFrame(1, 50, 0); f[16] = 0xff; return f }(), 14, 50},
		{"ipv6", ipv6Frame(0, 10), 14, 64},
		{"ipv6 truncated", ipv6Frame(0, 10)[:60], 14, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lo, hi := corruptSpan(tc.frame); lo != tc.lo || hi != tc.hi {
				t.Errorf("corruptSpan = [%d, %d), want [%d, %d)", lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

// TestDuplicate: copies are exact, counted, and follow their own delay.
func TestDuplicate(t *testing.T) {
	const n, p = 20_000, 0.05
	for _, corr := range []float64{0, 0.5} {
		t.Run("", func(t *testing.T) {
			h := newHarness(t, Config{Duplicate: p, DuplicateCorrelation: corr, Seed: 32})
			h.keep = true
			h.run(n, time.Microsecond, 200)
			s := h.d.Stats()
			checkConservation(t, s)
			if s.Passed != n+s.Duplicated || len(h.got) != int(s.Passed) {
				t.Fatalf("passed %d, arrived %d; want %d + %d copies", s.Passed, len(h.got), n, s.Duplicated)
			}
			seen := map[uint64]int{}
			for _, a := range h.got {
				seen[a.id]++
				if !bytes.Equal(a.frame, udpFrame(a.id, 200, 0)) {
					t.Fatalf("frame %d altered", a.id)
				}
			}
			dups := 0
			for _, c := range seen {
				if c == 2 {
					dups++
				} else if c != 1 {
					t.Fatalf("a frame arrived %d times", c)
				}
			}
			if dups != int(s.Duplicated) {
				t.Errorf("%d frames arrived twice, Duplicated = %d", dups, s.Duplicated)
			}
			if corr == 0 {
				within(t, "duplicated fraction", float64(dups)/n, p, binomialTol(p, n))
			} else if dups == 0 {
				t.Error("no copies")
			}
		})
	}
}
