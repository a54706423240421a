package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

func TestParseEthernet(t *testing.T) {
	tests := []struct {
		name       string
		frame      []byte
		want       wire.EthernetFields
		payloadLen int
	}{
		{"syn", synFrame(), wire.EthernetFields{Dst: macB, Src: macA, Type: wire.EtherTypeIPv4}, 60},
		{"arp", arpFrame(), wire.EthernetFields{Dst: wire.BroadcastMAC(), Src: macA, Type: wire.EtherTypeARP}, 46},
		{"vlan tag is just a type", append([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00}, 0, 5, 8, 0),
			wire.EthernetFields{Dst: wire.MAC{1, 2, 3, 4, 5, 6}, Src: wire.MAC{7, 8, 9, 10, 11, 12}, Type: wire.EtherTypeVLAN}, 4},
		{"header only", synFrame()[:14], wire.EthernetFields{Dst: macB, Src: macA, Type: wire.EtherTypeIPv4}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, payload, err := wire.ParseEthernet(tc.frame)
			if err != nil {
				t.Fatalf("ParseEthernet(%x) = %v, want nil error", tc.frame, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseEthernet(%x) fields mismatch (-want +got):\n%s", tc.frame, diff)
			}
			if !bytes.Equal(payload, tc.frame[14:]) || len(payload) != tc.payloadLen {
				t.Errorf("ParseEthernet(%x) payload = %x, want %d bytes %x", tc.frame, payload, tc.payloadLen, tc.frame[14:])
			}
			e := wire.Ethernet(tc.frame)
			if e.Dst() != tc.want.Dst || e.Src() != tc.want.Src || e.Type() != tc.want.Type || len(e.Payload()) != tc.payloadLen {
				t.Errorf("Ethernet(%x) view = %v %v %v %d, want %v", tc.frame, e.Dst(), e.Src(), e.Type(), len(e.Payload()), tc.want)
			}
		})
	}
}

func TestParseEthernetTruncated(t *testing.T) {
	f := synFrame()
	for n := range wire.EthernetHeaderLen {
		if _, _, err := wire.ParseEthernet(f[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("ParseEthernet(%d bytes) = %v, want %v", n, err, wire.ErrTruncated)
		}
	}
}

func TestEncodeEthernet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{{"syn", synFrame()}, {"arp", arpFrame()}} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, err := wire.ParseEthernet(tc.frame)
			if err != nil {
				t.Fatalf("ParseEthernet = %v", err)
			}
			b := filled(20)
			if n := wire.EncodeEthernet(b, &f); n != wire.EthernetHeaderLen {
				t.Errorf("EncodeEthernet() = %d, want %d", n, wire.EthernetHeaderLen)
			}
			want := append(tc.frame[:14:14], filled(6)...)
			if !bytes.Equal(b, want) {
				t.Errorf("EncodeEthernet(%+v) wrote %x, want %x", f, b, want)
			}
		})
	}
}

func TestMAC(t *testing.T) {
	tests := []struct {
		mac                  wire.MAC
		str                  string
		broadcast, multicast bool
	}{
		{wire.MAC{0x02, 0, 0, 0, 0, 0x01}, "02:00:00:00:00:01", false, false},
		{wire.BroadcastMAC(), "ff:ff:ff:ff:ff:ff", true, true},
		{wire.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, "01:00:5e:00:00:fb", false, true},
		{wire.MAC{0x33, 0x33, 0, 0, 0, 1}, "33:33:00:00:00:01", false, true},
		{wire.MAC{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, "fe:ff:ff:ff:ff:ff", false, false},
		{wire.MAC{}, "00:00:00:00:00:00", false, false},
	}
	for _, tc := range tests {
		if got := tc.mac.String(); got != tc.str {
			t.Errorf("MAC(%x).String() = %q, want %q", tc.mac[:], got, tc.str)
		}
		if got := tc.mac.IsBroadcast(); got != tc.broadcast {
			t.Errorf("MAC(%v).IsBroadcast() = %v, want %v", tc.mac, got, tc.broadcast)
		}
		if got := tc.mac.IsMulticast(); got != tc.multicast {
			t.Errorf("MAC(%v).IsMulticast() = %v, want %v", tc.mac, got, tc.multicast)
		}
	}
}

func TestEtherTypeString(t *testing.T) {
	tests := []struct {
		t    wire.EtherType
		want string
	}{
		{wire.EtherTypeIPv4, "IPv4"},
		{wire.EtherTypeARP, "ARP"},
		{wire.EtherTypeIPv6, "IPv6"},
		{wire.EtherTypeVLAN, "802.1Q"},
		{0x88cc, "0x88cc"},
		{0x0042, "0x0042"},
		{0, "0x0000"},
	}
	for _, tc := range tests {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("EtherType(%#x).String() = %q, want %q", uint16(tc.t), got, tc.want)
		}
	}
}
