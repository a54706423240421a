package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netlab/netlab/stack/wire"
)

// udpDatagram is udpFrame's UDP datagram without the padding.
func udpDatagram() []byte { return udpFrame()[l4Off : l4Off+13] }

func TestParseUDP(t *testing.T) {
	want := wire.UDPFields{SrcPort: 5353, DstPort: 53, Length: 13, Checksum: 0x92e1}
	tests := []struct {
		name string
		b    []byte
	}{
		{"exact", udpDatagram()},
		{"trailing bytes ignored", udpFrame()[l4Off:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, payload, err := wire.ParseUDP(tc.b, ipA, ipB)
			if err != nil {
				t.Fatalf("ParseUDP(%x) = %v, want nil error", tc.b, err)
			}
			if got != want || string(payload) != "hello" {
				t.Errorf("ParseUDP(%x) = %+v, %q, want %+v, \"hello\"", tc.b, got, payload, want)
			}
		})
	}
}

func TestParseUDPErrors(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(b []byte) []byte
		src, dst string // "": the fixture's
		want     error
	}{
		{"length 7", func(b []byte) []byte { b[5] = 7; return b }, "", "", wire.ErrMalformed},
		{"length 0", func(b []byte) []byte { b[5] = 0; return b }, "", "", wire.ErrMalformed},
		{"length past the end", func(b []byte) []byte { b[5] = 14; return b }, "", "", wire.ErrTruncated},
		{"bad checksum", func(b []byte) []byte { b[8] = 'j'; return b }, "", "", wire.ErrBadChecksum},
		{"wrong destination", func(b []byte) []byte { return b }, "", "10.0.0.3", wire.ErrBadChecksum},
		{"swapped addresses still verify", func(b []byte) []byte { return b }, "10.0.0.2", "10.0.0.1", nil},
		{"zero checksum is not checked", func(b []byte) []byte { b[6], b[7], b[8] = 0, 0, 'j'; return b }, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := ipA, ipB
			if tc.src != "" {
				src = mustAddr(tc.src)
			}
			if tc.dst != "" {
				dst = mustAddr(tc.dst)
			}
			b := tc.edit(udpDatagram())
			if _, _, err := wire.ParseUDP(b, src, dst); !errors.Is(err, tc.want) {
				t.Errorf("ParseUDP(%x, %v, %v) = %v, want %v", b, src, dst, err, tc.want)
			}
		})
	}
	b := udpDatagram()
	for n := range len(b) {
		if _, _, err := wire.ParseUDP(b[:n], ipA, ipB); err == nil {
			t.Errorf("ParseUDP(%d of %d bytes) = nil error, want an error", n, len(b))
		}
	}
}

func TestEncodeUDP(t *testing.T) {
	want := udpDatagram()
	b := filled(len(want))
	copy(b[8:], "hello")
	f := wire.UDPFields{SrcPort: 5353, DstPort: 53, Length: 999, Checksum: 999}
	if n := wire.EncodeUDP(b, &f, ipA, ipB); n != wire.UDPHeaderLen {
		t.Errorf("EncodeUDP() = %d, want %d", n, wire.UDPHeaderLen)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("EncodeUDP() wrote %x, want %x", b, want)
	}
	if f.Length != 13 || f.Checksum != 0x92e1 {
		t.Errorf("EncodeUDP() set Length %d Checksum %#04x, want 13, 0x92e1", f.Length, f.Checksum)
	}
}

// TestEncodeUDPZeroChecksum builds a datagram whose checksum computes to 0,
// which RFC 768 says to send as all ones.
func TestEncodeUDPZeroChecksum(t *testing.T) {
	b := make([]byte, 10)
	f := wire.UDPFields{SrcPort: 1, DstPort: 2}
	wire.EncodeUDP(b, &f, ipA, ipB)
	// Choose the 2 data bytes so that the whole sums to 0xffff with a zero
	// checksum field: then the checksum is ^0xffff = 0.
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[8:], wire.Checksum(b, wire.PseudoHeaderSum(ipA, ipB, wire.ProtoUDP, 10)))
	f = wire.UDPFields{SrcPort: 1, DstPort: 2}
	wire.EncodeUDP(b, &f, ipA, ipB)
	if f.Checksum != 0xffff || binary.BigEndian.Uint16(b[6:]) != 0xffff {
		t.Errorf("EncodeUDP(%x) checksum = %#04x, want 0xffff", b, f.Checksum)
	}
	if _, _, err := wire.ParseUDP(b, ipA, ipB); err != nil {
		t.Errorf("ParseUDP(%x) = %v, want nil error", b, err)
	}
}
