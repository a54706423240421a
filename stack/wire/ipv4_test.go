package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

// fixIPv4Checksum recomputes the header checksum of the IPv4 header at the
// start of b after a test edited it.
func fixIPv4Checksum(b []byte) {
	hl := int(b[0]&0xf) * 4
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], wire.Checksum(b[:hl], 0))
}

func TestParseIPv4(t *testing.T) {
	udpIP := wire.IPv4Fields{HeaderLen: 20, TotalLength: 33, ID: 1, TTL: 64, Protocol: wire.ProtoUDP, Checksum: 0x66c9, Src: ipA, Dst: ipB}
	icmpIP := wire.IPv4Fields{HeaderLen: 20, TotalLength: 84, ID: 0x4d2e, Flags: wire.IPv4FlagDF, TTL: 64, Protocol: wire.ProtoICMP, Checksum: 0xd978, Src: ipA, Dst: ipB}
	tests := []struct {
		name    string
		packet  []byte
		want    wire.IPv4Fields
		payload []byte
	}{
		{"syn", synFrame()[ipOff:], synIP(), synFrame()[l4Off:]},
		{"icmp", icmpFrame()[ipOff:], icmpIP, icmpFrame()[l4Off:]},
		// The frame is padded to 60 bytes: the payload stops at Total Length.
		{"udp padded", udpFrame()[ipOff:], udpIP, udpFrame()[l4Off : l4Off+13]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, payload, err := wire.ParseIPv4(tc.packet)
			if err != nil {
				t.Fatalf("ParseIPv4(%x) = %v, want nil error", tc.packet, err)
			}
			if diff := cmp.Diff(tc.want, got, addrEqual()); diff != "" {
				t.Errorf("ParseIPv4(%x) mismatch (-want +got):\n%s", tc.packet, diff)
			}
			if !bytes.Equal(payload, tc.payload) {
				t.Errorf("ParseIPv4(%x) payload = %x, want %x", tc.packet, payload, tc.payload)
			}
			if got.IsFragment() {
				t.Errorf("ParseIPv4(%x).IsFragment() = true, want false", tc.packet)
			}
			// The view agrees.
			h := wire.IPv4(tc.packet)
			view := wire.IPv4Fields{
				HeaderLen: h.HeaderLen(), TOS: h.TOS(), TotalLength: h.TotalLength(), ID: h.ID(),
				Flags: h.Flags(), FragmentOffset: h.FragmentOffset(), TTL: h.TTL(), Protocol: h.Protocol(),
				Checksum: h.Checksum(), Src: h.Src(), Dst: h.Dst(),
			}
			if diff := cmp.Diff(tc.want, view, addrEqual()); diff != "" {
				t.Errorf("IPv4(%x) view mismatch (-want +got):\n%s", tc.packet, diff)
			}
			if h.Version() != 4 || !bytes.Equal(h.Payload(), tc.payload) {
				t.Errorf("IPv4(%x) view version %d payload %x, want 4 and %x", tc.packet, h.Version(), h.Payload(), tc.payload)
			}
		})
	}
}

func TestParseIPv4Options(t *testing.T) {
	// A header with 4 bytes of options (NOP NOP NOP EOL): IHL 6.
	p := append([]byte{
		0x46, 0x00, 0x00, 0x1c, 0x00, 0x07, 0x00, 0x00, 0x40, 0xfd, 0x00, 0x00,
		0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
		0x01, 0x01, 0x01, 0x00,
	}, 'd', 'a', 't', 'a')
	fixIPv4Checksum(p)
	got, payload, err := wire.ParseIPv4(p)
	if err != nil {
		t.Fatalf("ParseIPv4(%x) = %v, want nil error", p, err)
	}
	if got.HeaderLen != 24 || got.TotalLength != 28 || got.Protocol != 253 || string(payload) != "data" {
		t.Errorf("ParseIPv4(%x) = %+v, %q, want HeaderLen 24, TotalLength 28, Protocol 253, \"data\"", p, got, payload)
	}
}

func TestParseIPv4Fragment(t *testing.T) {
	p := synFrame()[ipOff:]
	binary.BigEndian.PutUint16(p[6:], 0x2000|1480/8) // MF, offset 1480
	fixIPv4Checksum(p)
	got, _, err := wire.ParseIPv4(p)
	if err != nil {
		t.Fatalf("ParseIPv4(%x) = %v, want nil error", p, err)
	}
	if got.Flags != wire.IPv4FlagMF || got.FragmentOffset != 1480 || !got.IsFragment() {
		t.Errorf("ParseIPv4(%x) = flags %d offset %d fragment %v, want MF, 1480, true", p, got.Flags, got.FragmentOffset, got.IsFragment())
	}
	for _, tc := range []struct {
		flags  uint8
		offset uint16
		want   bool
	}{{0, 0, false}, {wire.IPv4FlagDF, 0, false}, {wire.IPv4FlagMF, 0, true}, {0, 8, true}, {wire.IPv4FlagDF, 65528, true}} {
		f := wire.IPv4Fields{Flags: tc.flags, FragmentOffset: tc.offset}
		if got := f.IsFragment(); got != tc.want {
			t.Errorf("IPv4Fields{Flags: %d, FragmentOffset: %d}.IsFragment() = %v, want %v", tc.flags, tc.offset, got, tc.want)
		}
	}
}

func TestParseIPv4Errors(t *testing.T) {
	tests := []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"version 6", func(b []byte) []byte { b[0] = 0x65; fixIPv4Checksum(b[:20]); return b }, wire.ErrMalformed},
		{"IHL 4", func(b []byte) []byte { b[0] = 0x44; return b }, wire.ErrMalformed},
		{"IHL 0", func(b []byte) []byte { b[0] = 0x40; return b }, wire.ErrMalformed},
		{"IHL past the packet", func(b []byte) []byte { b[0] = 0x4f; return b[:40] }, wire.ErrTruncated},
		{"total length below header", func(b []byte) []byte { b[3] = 19; fixIPv4Checksum(b); return b }, wire.ErrMalformed},
		{"total length past the packet", func(b []byte) []byte { b[3] = 61; fixIPv4Checksum(b); return b }, wire.ErrTruncated},
		{"bad checksum", func(b []byte) []byte { b[11] ^= 1; return b }, wire.ErrBadChecksum},
		{"header bit flip", func(b []byte) []byte { b[8]--; return b }, wire.ErrBadChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(synFrame()[ipOff:])
			if _, _, err := wire.ParseIPv4(b); !errors.Is(err, tc.want) {
				t.Errorf("ParseIPv4(%x) = %v, want %v", b, err, tc.want)
			}
		})
	}
}

// TestParseIPv4Truncated cuts every fixture's IP packet at every length
// short of its Total Length.
func TestParseIPv4Truncated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{{"syn", synFrame()}, {"data", dataFrame()}, {"icmp", icmpFrame()}, {"udp", udpFrame()}} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.frame[ipOff:]
			tl := int(binary.BigEndian.Uint16(p[2:]))
			for n := range tl {
				if _, _, err := wire.ParseIPv4(p[:n]); !errors.Is(err, wire.ErrTruncated) {
					t.Errorf("ParseIPv4(%d of %d bytes) = %v, want %v", n, tl, err, wire.ErrTruncated)
				}
			}
		})
	}
}

func TestEncodeIPv4(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{{"syn", synFrame()}, {"data", dataFrame()}, {"icmp", icmpFrame()}, {"udp", udpFrame()}} {
		t.Run(tc.name, func(t *testing.T) {
			want, _, err := wire.ParseIPv4(tc.frame[ipOff:])
			if err != nil {
				t.Fatalf("ParseIPv4 = %v", err)
			}
			f := want
			f.HeaderLen, f.Checksum = 0, 0 // EncodeIPv4 must fill these in
			b := filled(24)
			if n := wire.EncodeIPv4(b, &f); n != wire.IPv4MinHeaderLen {
				t.Errorf("EncodeIPv4() = %d, want %d", n, wire.IPv4MinHeaderLen)
			}
			wantBytes := append(tc.frame[ipOff:l4Off:l4Off], filled(4)...)
			if !bytes.Equal(b, wantBytes) {
				t.Errorf("EncodeIPv4(%+v) wrote\n%x, want\n%x", want, b, wantBytes)
			}
			if diff := cmp.Diff(want, f, addrEqual()); diff != "" {
				t.Errorf("EncodeIPv4 left fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIPv4RoundTrip encodes random headers and parses them back.
func TestIPv4RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	b := make([]byte, 100)
	for range 1000 {
		f := wire.IPv4Fields{
			TOS:            uint8(r.Uint32()),
			TotalLength:    uint16(20 + r.IntN(81)),
			ID:             uint16(r.Uint32()),
			Flags:          uint8(r.IntN(8)),
			FragmentOffset: uint16(r.Uint32()) &^ 7,
			TTL:            uint8(r.Uint32()),
			Protocol:       uint8(r.Uint32()),
			Src:            randAddr4(r),
			Dst:            randAddr4(r),
		}
		wire.EncodeIPv4(b, &f)
		got, payload, err := wire.ParseIPv4(b)
		if err != nil {
			t.Fatalf("ParseIPv4(EncodeIPv4(%+v)) = %v", f, err)
		}
		if diff := cmp.Diff(f, got, addrEqual()); diff != "" {
			t.Fatalf("ParseIPv4(EncodeIPv4(%+v)) mismatch (-want +got):\n%s", f, diff)
		}
		if len(payload) != int(f.TotalLength)-20 {
			t.Fatalf("ParseIPv4(EncodeIPv4(%+v)) payload %d bytes, want %d", f, len(payload), f.TotalLength-20)
		}
	}
}

func TestIPv4DecrementTTL(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 20)
	for range 2000 {
		f := wire.IPv4Fields{
			TOS: uint8(r.Uint32()), TotalLength: 20, ID: uint16(r.Uint32()), TTL: uint8(r.Uint32()),
			Protocol: uint8(r.Uint32()), Src: randAddr4(r), Dst: randAddr4(r),
		}
		wire.EncodeIPv4(b, &f)
		h := wire.IPv4(b)
		h.DecrementTTL()
		want := f.TTL
		if want > 0 {
			want--
		}
		if h.TTL() != want {
			t.Fatalf("DecrementTTL() from %d left TTL %d, want %d", f.TTL, h.TTL(), want)
		}
		got, _, err := wire.ParseIPv4(b)
		if err != nil {
			t.Fatalf("ParseIPv4 after DecrementTTL() from %d = %v, want a valid checksum", f.TTL, err)
		}
		// The incremental result equals a full recomputation.
		f.TTL = want
		wire.EncodeIPv4(b, &f)
		if got.Checksum != f.Checksum {
			t.Fatalf("DecrementTTL() checksum = %#04x, want %#04x", got.Checksum, f.Checksum)
		}
		// SetTTL to any value keeps the checksum valid too.
		ttl := uint8(r.Uint32())
		h.SetTTL(ttl)
		if got, _, err := wire.ParseIPv4(b); err != nil || got.TTL != ttl {
			t.Fatalf("ParseIPv4 after SetTTL(%d) = TTL %d, %v, want %d, nil", ttl, got.TTL, err, ttl)
		}
	}
}
