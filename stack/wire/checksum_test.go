package wire_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/netlab/netlab/stack/wire"
)

// refSum is RFC 1071 §4.1 done the slow way: 16 bits at a time, carries
// folded at the end.
func refSum(b []byte, initial uint32) uint16 {
	s := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3, "Numerical Examples": the bytes 00 01 f2 03 f4 f5 f6 f7
	// sum to 2ddf0, which folds to ddf2; the checksum is its complement.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := wire.Fold(wire.Sum(b, 0)); got != 0xddf2 {
		t.Errorf("Fold(Sum(%x, 0)) = %#04x, want 0xddf2", b, got)
	}
	if got := wire.Checksum(b, 0); got != 0x220d {
		t.Errorf("Checksum(%x, 0) = %#04x, want 0x220d", b, got)
	}
	// The data with its checksum appended verifies.
	v := append(b, 0x22, 0x0d)
	if got := wire.Fold(wire.Sum(v, 0)); got != 0xffff {
		t.Errorf("Fold(Sum(%x, 0)) = %#04x, want 0xffff", v, got)
	}
}

func TestSum(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		initial uint32
		want    uint16 // Fold(Sum(b, initial))
	}{
		{"empty", nil, 0, 0},
		{"empty with initial", nil, 0x1234, 0x1234},
		{"initial carries", nil, 0x0001_ffff, 0x0001},
		{"initial all ones", nil, 0xffffffff, 0xffff},
		{"one byte pads right", []byte{0xab}, 0, 0xab00},
		{"three bytes", []byte{0x01, 0x02, 0x03}, 0, 0x0402},
		{"five bytes", []byte{1, 2, 3, 4, 5}, 0, 0x0102 + 0x0304 + 0x0500},
		{"seven bytes", []byte{1, 2, 3, 4, 5, 6, 7}, 0, 0x0102 + 0x0304 + 0x0506 + 0x0700},
		{"nine bytes", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, 0x0102 + 0x0304 + 0x0506 + 0x0708 + 0x0900},
		{"carry", []byte{0xff, 0xff, 0x00, 0x01}, 0, 0x0001},
		{"zeros", make([]byte, 100), 0, 0},
		{"negative zero stays", []byte{0xff, 0xff}, 0, 0xffff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire.Fold(wire.Sum(tc.b, tc.initial)); got != tc.want {
				t.Errorf("Fold(Sum(%x, %#x)) = %#04x, want %#04x", tc.b, tc.initial, got, tc.want)
			}
		})
	}
}

// TestSumMatchesReference compares the 8-bytes-at-a-time Sum with refSum on
// random data of every length up to 300, at odd and even start addresses.
func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 301)
	for n := range 300 {
		for _, start := range []int{0, 1} {
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			b := buf[start : start+n]
			initial := r.Uint32()
			if n%7 == 0 {
				initial = 0xffffffff
			}
			sum := wire.Sum(b, initial)
			if got, want := wire.Fold(sum), refSum(b, initial); got != want {
				t.Fatalf("Fold(Sum(%d random bytes, %#x)) = %#04x, want %#04x", n, initial, got, want)
			}
			if sum > 0xffff {
				t.Fatalf("Sum(%d random bytes, %#x) = %#x, want at most 0xffff", n, initial, sum)
			}
		}
	}
}

func TestSumLarge(t *testing.T) {
	// 64 KiB of 0xff must not overflow: the sum is one's-complement -0.
	b := make([]byte, 65536)
	for i := range b {
		b[i] = 0xff
	}
	if got := wire.Fold(wire.Sum(b, 0xffffffff)); got != 0xffff {
		t.Errorf("Fold(Sum(64 KiB of 0xff, 0xffffffff)) = %#04x, want 0xffff", got)
	}
	if got := wire.Checksum(b, 0); got != 0 {
		t.Errorf("Checksum(64 KiB of 0xff, 0) = %#04x, want 0", got)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if got, want := wire.Fold(wire.Sum(b, 0)), refSum(b, 0); got != want {
		t.Errorf("Fold(Sum(64 KiB random, 0)) = %#04x, want %#04x", got, want)
	}
}

// TestSumChained checks that a message summed in even-length pieces, each
// result passed on as initial, gives the sum of the whole.
func TestSumChained(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 1001)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	want := refSum(b, 0)
	for split := 0; split <= len(b); split += 2 {
		if got := wire.Fold(wire.Sum(b[split:], wire.Sum(b[:split], 0))); got != want {
			t.Fatalf("Fold(Sum(b[%d:], Sum(b[:%d], 0))) = %#04x, want %#04x", split, split, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		in   uint32
		want uint16
	}{
		{0, 0},
		{0xffff, 0xffff},
		{0x1_0000, 0x0001},
		{0x1_ffff, 0x0001},
		{0x2_ddf0, 0xddf2},
		{0xffff_ffff, 0xffff},
		{0xfffe_0001, 0xffff},
	}
	for _, tc := range tests {
		if got := wire.Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%#x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	v4 := func(a, b, c, d byte) uint64 { return (uint64(a)<<8 | uint64(b)) + (uint64(c)<<8 | uint64(d)) }
	want := func(parts ...uint64) uint16 {
		var s uint64
		for _, p := range parts {
			s += p
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		return uint16(s)
	}
	v6 := func(a netip.Addr) uint64 {
		b := a.As16()
		var s uint64
		for i := 0; i < 16; i += 2 {
			s += uint64(binary.BigEndian.Uint16(b[i:]))
		}
		return s
	}
	six1 := netip.MustParseAddr("2001:db8::1")
	six2 := netip.MustParseAddr("fe80::ffff:ffff:ffff:ffff")
	tests := []struct {
		name     string
		src, dst netip.Addr
		proto    uint8
		length   uint16
		want     uint16
	}{
		{"ipv4 tcp", ipA, ipB, wire.ProtoTCP, 40, want(v4(10, 0, 0, 1), v4(10, 0, 0, 2), 6, 40)},
		{"ipv4 high", netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("192.168.255.254"), wire.ProtoUDP, 0xffff,
			want(v4(255, 255, 255, 255), v4(192, 168, 255, 254), 17, 0xffff)},
		{"ipv4-mapped is ipv4", netip.MustParseAddr("::ffff:10.0.0.1"), ipB, wire.ProtoTCP, 40, want(v4(10, 0, 0, 1), v4(10, 0, 0, 2), 6, 40)},
		{"ipv6", six1, six2, wire.ProtoTCP, 1000, want(v6(six1), v6(six2), 6, 1000)},
		{"invalid addrs add nothing", netip.Addr{}, netip.Addr{}, wire.ProtoUDP, 8, 17 + 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire.Fold(wire.PseudoHeaderSum(tc.src, tc.dst, tc.proto, tc.length)); got != tc.want {
				t.Errorf("Fold(PseudoHeaderSum(%v, %v, %d, %d)) = %#04x, want %#04x", tc.src, tc.dst, tc.proto, tc.length, got, tc.want)
			}
		})
	}
}

// TestUpdateChecksum checks RFC 1624's incremental update against summing
// again, over random 20-byte headers and random word changes.
func TestUpdateChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	h := make([]byte, 20)
	for range 10000 {
		for i := range h {
			h[i] = byte(r.Uint32())
		}
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], wire.Checksum(h, 0))
		w := 2 * r.IntN(10)
		if w == 10 {
			continue // the checksum word itself
		}
		old := binary.BigEndian.Uint16(h[w:])
		nw := uint16(r.Uint32())
		if r.IntN(4) == 0 {
			nw = old - 0x100 // a TTL decrement
		}
		got := wire.UpdateChecksum(binary.BigEndian.Uint16(h[10:]), old, nw)
		binary.BigEndian.PutUint16(h[w:], nw)
		h[10], h[11] = 0, 0
		want := wire.Checksum(h, 0)
		binary.BigEndian.PutUint16(h[10:], got)
		// RFC 1624 §3: equation 3 may give 0xffff where a full sum gives 0
		// (both are zero in one's complement); either way it must verify.
		if got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("UpdateChecksum(_, %#04x, %#04x) = %#04x, want %#04x (header %x)", old, nw, got, want, h)
		}
		if v := wire.Fold(wire.Sum(h, 0)); v != 0xffff {
			t.Fatalf("header %x after UpdateChecksum sums to %#04x, want 0xffff", h, v)
		}
	}
}

func BenchmarkSum(b *testing.B) {
	for _, n := range []int{20, 1500, 65535} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i)
		}
		b.Run(itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				wire.Sum(buf, 0)
			}
		})
	}
}
