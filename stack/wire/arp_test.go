package wire_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

func TestParseARP(t *testing.T) {
	f := arpFrame()
	got, err := wire.ParseARP(f[14:])
	if err != nil {
		t.Fatalf("ParseARP(%x) = %v, want nil error", f[14:], err)
	}
	if diff := cmp.Diff(arpFields(), got, addrEqual()); diff != "" {
		t.Errorf("ParseARP(%x) mismatch (-want +got):\n%s", f[14:], diff)
	}
	// Without the padding too.
	if got2, err := wire.ParseARP(f[14 : 14+wire.ARPLen]); err != nil || got2 != got {
		t.Errorf("ParseARP(unpadded) = %+v, %v, want %+v, nil", got2, err, got)
	}
}

func TestParseARPErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"hardware type 6", func(b []byte) []byte { b[1] = 6; return b }, wire.ErrUnsupported},
		{"protocol IPv6", func(b []byte) []byte { b[2], b[3] = 0x86, 0xdd; return b }, wire.ErrUnsupported},
		{"hlen 8", func(b []byte) []byte { b[4] = 8; return b }, wire.ErrUnsupported},
		{"plen 16", func(b []byte) []byte { b[5] = 16; return b }, wire.ErrUnsupported},
		{"empty", func(b []byte) []byte { return nil }, wire.ErrTruncated},
		{"27 bytes", func(b []byte) []byte { return b[:27] }, wire.ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(arpFrame()[14:])
			if _, err := wire.ParseARP(b); !errors.Is(err, tc.want) {
				t.Errorf("ParseARP(%x) = %v, want %v", b, err, tc.want)
			}
		})
	}
	// Every truncation fails.
	b := arpFrame()[14 : 14+wire.ARPLen]
	for n := range len(b) {
		if _, err := wire.ParseARP(b[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("ParseARP(%d bytes) = %v, want %v", n, err, wire.ErrTruncated)
		}
	}
}

func TestEncodeARP(t *testing.T) {
	tests := []struct {
		name string
		f    wire.ARPFields
		want []byte
	}{
		{"request fixture", arpFields(), arpFrame()[14 : 14+wire.ARPLen]},
		{"reply", wire.ARPFields{Op: wire.ARPReply, SenderMAC: macB, SenderIP: ipB, TargetMAC: macA, TargetIP: ipA}, []byte{
			0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
			0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
			0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
		}},
		{"non-IPv4 addresses as zero", wire.ARPFields{Op: wire.ARPRequest, SenderIP: netip.MustParseAddr("::1")}, []byte{
			0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := filled(wire.ARPLen + 4)
			if n := wire.EncodeARP(b, &tc.f); n != wire.ARPLen {
				t.Errorf("EncodeARP() = %d, want %d", n, wire.ARPLen)
			}
			want := append(append([]byte(nil), tc.want...), filled(4)...)
			if !bytes.Equal(b, want) {
				t.Errorf("EncodeARP(%+v) wrote\n%x, want\n%x", tc.f, b, want)
			}
			got, err := wire.ParseARP(b)
			if err != nil {
				t.Fatalf("ParseARP(EncodeARP(%+v)) = %v", tc.f, err)
			}
			if tc.f.SenderIP.Is4() && got != tc.f {
				t.Errorf("ParseARP(EncodeARP(%+v)) = %+v, want the same", tc.f, got)
			}
		})
	}
}

func TestARPOpString(t *testing.T) {
	for _, tc := range []struct {
		op   wire.ARPOp
		want string
	}{{wire.ARPRequest, "Request"}, {wire.ARPReply, "Reply"}, {3, "op3"}} {
		if got := tc.op.String(); got != tc.want {
			t.Errorf("ARPOp(%d).String() = %q, want %q", uint16(tc.op), got, tc.want)
		}
	}
}
