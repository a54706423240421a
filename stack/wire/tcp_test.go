package wire_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

// mustHex decodes hex written with optional spaces.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// canonical returns o as it parses back after Encode: SACK blocks that did
// not fit dropped, unused blocks zero, window scale clamped to 14.
func canonical(o wire.TCPOptions) wire.TCPOptions {
	n := o.EncodedSACKBlocks()
	blocks := o.SACKBlocks
	o.SACKBlocks = [4]wire.SACKBlock{}
	copy(o.SACKBlocks[:n], blocks[:n])
	o.NumSACKBlocks = n
	o.WindowScale = min(o.WindowScale, 14)
	return o
}

func TestParseTCP(t *testing.T) {
	tests := []struct {
		name     string
		frame    []byte
		src, dst string
		want     wire.TCPFields
		payload  string
	}{
		{"syn", synFrame(), "10.0.0.1", "10.0.0.2", synTCP(), ""},
		{"data with sack", dataFrame(), "10.0.0.2", "10.0.0.1", dataTCP(), "hello, world"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seg := tc.frame[l4Off:]
			got, payload, err := wire.ParseTCP(seg, mustAddr(tc.src), mustAddr(tc.dst))
			if err != nil {
				t.Fatalf("ParseTCP(%x) = %v, want nil error", seg, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTCP(%x) mismatch (-want +got):\n%s", seg, diff)
			}
			if string(payload) != tc.payload {
				t.Errorf("ParseTCP(%x) payload = %q, want %q", seg, payload, tc.payload)
			}
			// The view agrees.
			v := wire.TCP(seg)
			view := wire.TCPFields{
				SrcPort: v.SrcPort(), DstPort: v.DstPort(), Seq: v.Seq(), Ack: v.Ack(), DataOffset: v.DataOffset(),
				Flags: v.Flags(), Window: v.Window(), Checksum: v.Checksum(), Urgent: v.Urgent(),
				Options: wire.ParseTCPOptions(v.Options()),
			}
			if diff := cmp.Diff(tc.want, view); diff != "" {
				t.Errorf("TCP(%x) view mismatch (-want +got):\n%s", seg, diff)
			}
			if string(v.Payload()) != tc.payload {
				t.Errorf("TCP(%x).Payload() = %q, want %q", seg, v.Payload(), tc.payload)
			}
		})
	}
}

func TestParseTCPErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(b []byte) []byte
		dst  string
		want error
	}{
		{"data offset 4", func(b []byte) []byte { b[12] = 0x40; return b }, "", wire.ErrMalformed},
		{"data offset 0", func(b []byte) []byte { b[12] = 0x00; return b }, "", wire.ErrMalformed},
		{"data offset past the end", func(b []byte) []byte { b[12] = 0xb0; return b }, "", wire.ErrTruncated},
		{"checksum", func(b []byte) []byte { b[17] ^= 1; return b }, "", wire.ErrBadChecksum},
		{"option byte", func(b []byte) []byte { b[23]++; return b }, "", wire.ErrBadChecksum},
		{"wrong destination", func(b []byte) []byte { return b }, "10.0.0.3", wire.ErrBadChecksum},
		{"extra byte", func(b []byte) []byte { return append(b, 1) }, "", wire.ErrBadChecksum},
		{"longer than 65535", func(b []byte) []byte { return append(b, make([]byte, 65536)...) }, "", wire.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := ipB
			if tc.dst != "" {
				dst = mustAddr(tc.dst)
			}
			b := tc.edit(synFrame()[l4Off:])
			if _, _, err := wire.ParseTCP(b, ipA, dst); !errors.Is(err, tc.want) {
				t.Errorf("ParseTCP(%x, %v, %v) = %v, want %v", b[:min(len(b), 60)], ipA, dst, err, tc.want)
			}
		})
	}
}

// TestParseTCPTruncated cuts both TCP fixtures at every length.
func TestParseTCPTruncated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seg      []byte
		src, dst string
	}{
		{"syn", synFrame()[l4Off:], "10.0.0.1", "10.0.0.2"},
		{"data", dataFrame()[l4Off:], "10.0.0.2", "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hl := wire.TCP(tc.seg).DataOffset()
			for n := range len(tc.seg) {
				_, _, err := wire.ParseTCP(tc.seg[:n], mustAddr(tc.src), mustAddr(tc.dst))
				switch {
				case err == nil:
					t.Errorf("ParseTCP(%d of %d bytes) = nil error, want an error", n, len(tc.seg))
				case n < hl && !errors.Is(err, wire.ErrTruncated):
					t.Errorf("ParseTCP(%d of %d bytes) = %v, want %v", n, len(tc.seg), err, wire.ErrTruncated)
				}
			}
		})
	}
}

func TestParseTCPOptions(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want wire.TCPOptions
	}{
		{"empty", "", wire.TCPOptions{}},
		{"linux syn", "020405b4 0402080a 00000001 00000000 01030307", synTCP().Options},
		{"zero mss is present", "02040000", wire.TCPOptions{HasMSS: true}},
		{"zero window scale is present", "010303 00", wire.TCPOptions{HasWindowScale: true}},
		{"window scale 15 clamped", "03030f", wire.TCPOptions{WindowScale: 14, HasWindowScale: true}},
		{"window scale 255 clamped", "0303ff", wire.TCPOptions{WindowScale: 14, HasWindowScale: true}},
		{"eol ends", "00 020405b4", wire.TCPOptions{}},
		{"eol after mss", "020405b4 00 030307", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"nops skipped", "01010101 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"mss wrong length ignored", "020305 030307", wire.TCPOptions{WindowScale: 7, HasWindowScale: true}},
		{"mss length 6 ignored", "020605b40000 030307", wire.TCPOptions{WindowScale: 7, HasWindowScale: true}},
		{"ws wrong length ignored", "03040700 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"sackok wrong length ignored", "040300 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"ts wrong length ignored", "0808 00000001 0000 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"length 0 stops", "020405b4 0300 030307", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"length 1 stops", "020405b4 0301 030307", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"length past the end stops", "020405b4 080a0000", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"kind without length stops", "020405b4 02", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"unknown kind skipped", "1e04abcd 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"unknown 2-byte kind skipped", "fe02 0402", wire.TCPOptions{SACKPermitted: true}},
		{"later mss wins", "020405b4 02040218", wire.TCPOptions{MSS: 536, HasMSS: true}},
		{"sack 1 block", "0101050a 00000001 00000002", wire.TCPOptions{SACKBlocks: [4]wire.SACKBlock{{1, 2}}, NumSACKBlocks: 1}},
		{"sack 4 blocks", "0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008",
			wire.TCPOptions{SACKBlocks: [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}, NumSACKBlocks: 4}},
		{"sack 5 blocks ignored", "052a" + strings.Repeat("00000009", 10) + "020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"sack no blocks ignored", "0502 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"sack odd length ignored", "050b 0000000100000002ff 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}},
		{"later sack replaces all blocks", "0512 0000000100000002 0000000300000004 050a 0000000500000006",
			wire.TCPOptions{SACKBlocks: [4]wire.SACKBlock{{5, 6}}, NumSACKBlocks: 1}},
		{"timestamps", "0101080a ffffffff 00000000", wire.TCPOptions{HasTimestamps: true, TSVal: 0xffffffff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(tc.b)
			got := wire.ParseTCPOptions(b)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTCPOptions(%x) mismatch (-want +got):\n%s", b, diff)
			}
			// In a segment, bad options never fail the parse.
			if len(b) > 40 || len(b)%4 != 0 {
				return
			}
			seg := make([]byte, 20+len(b)+3)
			copy(seg[20:], b)
			seg[12] = byte(5+len(b)/4) << 4
			binary.BigEndian.PutUint16(seg[16:], wire.Checksum(seg, wire.PseudoHeaderSum(ipA, ipB, wire.ProtoTCP, uint16(len(seg)))))
			f, payload, err := wire.ParseTCP(seg, ipA, ipB)
			if err != nil || len(payload) != 3 {
				t.Fatalf("ParseTCP(%x) = %v, %d bytes of payload, want nil error and 3", seg, err, len(payload))
			}
			if diff := cmp.Diff(tc.want, f.Options); diff != "" {
				t.Errorf("ParseTCP(%x).Options mismatch (-want +got):\n%s", seg, diff)
			}
		})
	}
}

func TestTCPOptionsEncode(t *testing.T) {
	ts := func(o wire.TCPOptions) wire.TCPOptions {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, 0x01020304, 0x05060708
		return o
	}
	blocks := [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	const (
		tsHex = "080a 01020304 05060708"
		b1    = "00000001 00000002"
		b2    = b1 + "00000003 00000004"
		b3    = b2 + "00000005 00000006"
		b4    = b3 + "00000007 00000008"
	)
	tests := []struct {
		name string
		o    wire.TCPOptions
		want string
	}{
		{"none", wire.TCPOptions{}, ""},
		{"mss", wire.TCPOptions{MSS: 1460, HasMSS: true}, "020405b4"},
		{"window scale", wire.TCPOptions{WindowScale: 14, HasWindowScale: true}, "0103030e"},
		{"window scale not clamped", wire.TCPOptions{WindowScale: 200, HasWindowScale: true}, "010303c8"},
		{"sackok", wire.TCPOptions{SACKPermitted: true}, "01010402"},
		{"linux syn", ts(wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, WindowScale: 7, HasWindowScale: true}),
			"020405b4 0402" + tsHex + "01030307"},
		{"syn without sack", ts(wire.TCPOptions{MSS: 1460, HasMSS: true, WindowScale: 7, HasWindowScale: true}),
			"020405b4 0101" + tsHex + "01030307"},
		{"syn without timestamps", wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, WindowScale: 7, HasWindowScale: true},
			"020405b4 01010402 01030307"},
		{"syn without timestamps or ws", wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true}, "020405b4 01010402"},
		{"data timestamps", ts(wire.TCPOptions{}), "0101" + tsHex},
		{"timestamps and 2 blocks", ts(wire.TCPOptions{SACKBlocks: blocks, NumSACKBlocks: 2}),
			"0101" + tsHex + "01010512" + b2},
		{"timestamps and 4 blocks keep 3", ts(wire.TCPOptions{SACKBlocks: blocks, NumSACKBlocks: 4}),
			"0101" + tsHex + "0101051a" + b3},
		{"4 blocks without timestamps", wire.TCPOptions{SACKBlocks: blocks, NumSACKBlocks: 4}, "01010522" + b4},
		{"too many blocks clamped to 4", wire.TCPOptions{SACKBlocks: blocks, NumSACKBlocks: 7}, "01010522" + b4},
		{"negative blocks are none", wire.TCPOptions{SACKBlocks: blocks, NumSACKBlocks: -1}, ""},
		{"everything keeps 2 blocks", ts(wire.TCPOptions{MSS: 1, HasMSS: true, SACKPermitted: true, WindowScale: 1, HasWindowScale: true,
			SACKBlocks: blocks, NumSACKBlocks: 4}), "02040001 0402" + tsHex + "01030301 01010512" + b2},
		{"mss ws keep 3 blocks", wire.TCPOptions{MSS: 1, HasMSS: true, WindowScale: 1, HasWindowScale: true, SACKBlocks: blocks, NumSACKBlocks: 4},
			"02040001 01030301 0101051a" + b3},
		{"sackok and 1 block", wire.TCPOptions{SACKPermitted: true, SACKBlocks: blocks, NumSACKBlocks: 1}, "01010402 0101050a" + b1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(tc.want)
			if got := tc.o.Len(); got != len(want) {
				t.Errorf("Len() = %d, want %d", got, len(want))
			}
			b := filled(44)
			if n := tc.o.Encode(b); n != len(want) {
				t.Errorf("Encode() = %d, want %d", n, len(want))
			}
			if wantB := append(want, filled(44-len(want))...); !bytes.Equal(b, wantB) {
				t.Errorf("Encode() wrote\n%x, want\n%x", b, wantB)
			}
			f := wire.TCPFields{Options: tc.o}
			if got := f.HeaderLen(); got != 20+len(want) {
				t.Errorf("HeaderLen() = %d, want %d", got, 20+len(want))
			}
			if diff := cmp.Diff(canonical(tc.o), wire.ParseTCPOptions(want)); diff != "" {
				t.Errorf("ParseTCPOptions(Encode()) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeTCP(t *testing.T) {
	tests := []struct {
		name     string
		frame    []byte
		f        wire.TCPFields
		src, dst string
	}{
		{"syn", synFrame(), synTCP(), "10.0.0.1", "10.0.0.2"},
		{"data with sack", dataFrame(), dataTCP(), "10.0.0.2", "10.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.frame[l4Off:]
			f := tc.f
			f.DataOffset, f.Checksum = 0, 0 // EncodeTCP fills these in
			hl := f.HeaderLen()
			b := filled(len(want))
			copy(b[hl:], want[hl:])
			wire.EncodeTCP(b, &f, mustAddr(tc.src), mustAddr(tc.dst))
			if !bytes.Equal(b, want) {
				t.Errorf("EncodeTCP() wrote\n%x, want\n%x", b, want)
			}
			if diff := cmp.Diff(tc.f, f); diff != "" {
				t.Errorf("EncodeTCP() left fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTCPRoundTrip encodes random segments and parses them back.
func TestTCPRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	buf := make([]byte, 60+100)
	for range 2000 {
		o := wire.TCPOptions{
			MSS: uint16(r.Uint32()), HasMSS: r.IntN(2) == 0,
			WindowScale: uint8(r.IntN(16)), HasWindowScale: r.IntN(2) == 0,
			SACKPermitted: r.IntN(2) == 0,
			HasTimestamps: r.IntN(2) == 0, TSVal: r.Uint32(), TSEcr: r.Uint32(),
			NumSACKBlocks: r.IntN(5),
		}
		if !o.HasMSS {
			o.MSS = 0
		}
		if !o.HasWindowScale {
			o.WindowScale = 0
		}
		if !o.HasTimestamps {
			o.TSVal, o.TSEcr = 0, 0
		}
		for i := range o.NumSACKBlocks {
			o.SACKBlocks[i] = wire.SACKBlock{Start: r.Uint32(), End: r.Uint32()}
		}
		f := wire.TCPFields{
			SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
			Flags: wire.TCPFlags(r.Uint32()), Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32()), Options: o,
		}
		b := buf[:f.HeaderLen()+r.IntN(100)]
		for i := f.HeaderLen(); i < len(b); i++ {
			b[i] = byte(r.Uint32())
		}
		src, dst := randAddr4(r), randAddr4(r)
		wire.EncodeTCP(b, &f, src, dst)
		got, payload, err := wire.ParseTCP(b, src, dst)
		if err != nil {
			t.Fatalf("ParseTCP(EncodeTCP(%+v)) = %v", f, err)
		}
		want := f
		want.Options = canonical(f.Options)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ParseTCP(EncodeTCP(%+v)) mismatch (-want +got):\n%s", f, diff)
		}
		if !bytes.Equal(payload, b[f.HeaderLen():]) {
			t.Fatalf("ParseTCP(EncodeTCP(%+v)) payload = %x, want %x", f, payload, b[f.HeaderLen():])
		}
	}
}

func TestTCPFlagsString(t *testing.T) {
	tests := []struct {
		f    wire.TCPFlags
		want string
	}{
		{0, "none"},
		{wire.TCPFlagFIN, "F"},
		{wire.TCPFlagSYN, "S"},
		{wire.TCPFlagRST, "R"},
		{wire.TCPFlagPSH, "P"},
		{wire.TCPFlagACK, "."},
		{wire.TCPFlagURG, "U"},
		{wire.TCPFlagECE, "E"},
		{wire.TCPFlagCWR, "W"},
		{wire.TCPFlagSYN | wire.TCPFlagACK, "S."},
		{wire.TCPFlagPSH | wire.TCPFlagACK, "P."},
		{wire.TCPFlagFIN | wire.TCPFlagACK, "F."},
		{wire.TCPFlagRST | wire.TCPFlagACK, "R."},
		{wire.TCPFlagSYN | wire.TCPFlagECE | wire.TCPFlagCWR, "SEW"},
		{wire.TCPFlagURG | wire.TCPFlagACK, ".U"},
		{0xff, "FSRP.UEW"},
	}
	for _, tc := range tests {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("TCPFlags(%#02x).String() = %q, want %q", uint8(tc.f), got, tc.want)
		}
	}
}

func TestTCPFlagsHas(t *testing.T) {
	synAck := wire.TCPFlagSYN | wire.TCPFlagACK
	tests := []struct {
		t, f wire.TCPFlags
		want bool
	}{
		{synAck, wire.TCPFlagSYN, true},
		{synAck, wire.TCPFlagACK, true},
		{synAck, synAck, true},
		{synAck, wire.TCPFlagFIN, false},
		{wire.TCPFlagSYN, synAck, false},
		{0, 0, true},
	}
	for _, tc := range tests {
		if got := tc.t.Has(tc.f); got != tc.want {
			t.Errorf("TCPFlags(%v).Has(%v) = %v, want %v", tc.t, tc.f, got, tc.want)
		}
	}
}
