package wire

import "encoding/binary"

// Ethernet II header (IEEE 802.3 §3.1.1, as used by RFC 894; no preamble and
// no FCS, which the link strips):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Destination MAC address                       |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                    Source MAC address                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          EtherType            |   Payload ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// EthernetDstOffset is the offset of the destination MAC address.
	EthernetDstOffset = 0
	// EthernetSrcOffset is the offset of the source MAC address.
	EthernetSrcOffset = 6
	// EthernetTypeOffset is the offset of the EtherType.
	EthernetTypeOffset = 12
	// EthernetHeaderLen is the length of an Ethernet II header.
	EthernetHeaderLen = 14
)

// EthernetFields is the parsed form of an Ethernet II header.
type EthernetFields struct {
	// Dst is the destination MAC address.
	Dst MAC
	// Src is the source MAC address.
	Src MAC
	// Type names the payload's protocol. An 802.1Q tag shows as
	// EtherTypeVLAN: tags are not parsed.
	Type EtherType
}

// ParseEthernet parses the Ethernet II header at the start of b and returns
// its fields and the payload b[14:], which keeps any link padding. It fails
// with ErrTruncated if b is shorter than 14 bytes.
func ParseEthernet(b []byte) (EthernetFields, []byte, error) {
	if len(b) < EthernetHeaderLen {
		return EthernetFields{}, nil, ErrTruncated
	}
	e := Ethernet(b)
	return EthernetFields{Dst: e.Dst(), Src: e.Src(), Type: e.Type()}, b[EthernetHeaderLen:], nil
}

// EncodeEthernet writes the 14-byte header f into b[:14] and returns 14. It
// panics if len(b) < 14.
func EncodeEthernet(b []byte, f *EthernetFields) int {
	_ = b[EthernetHeaderLen-1] // one bounds check for the whole header
	copy(b[EthernetDstOffset:], f.Dst[:])
	copy(b[EthernetSrcOffset:], f.Src[:])
	binary.BigEndian.PutUint16(b[EthernetTypeOffset:], uint16(f.Type))
	return EthernetHeaderLen
}

// Ethernet is a view of an Ethernet II frame. Its accessors do not check
// bounds: use it only on a frame ParseEthernet accepted.
type Ethernet []byte

// Dst returns the destination MAC address.
func (e Ethernet) Dst() MAC {
	return MAC(e[EthernetDstOffset : EthernetDstOffset+6])
}

// Src returns the source MAC address.
func (e Ethernet) Src() MAC {
	return MAC(e[EthernetSrcOffset : EthernetSrcOffset+6])
}

// Type returns the EtherType.
func (e Ethernet) Type() EtherType {
	return EtherType(binary.BigEndian.Uint16(e[EthernetTypeOffset:]))
}

// Payload returns the bytes after the header, aliasing e.
func (e Ethernet) Payload() []byte {
	return e[EthernetHeaderLen:]
}
