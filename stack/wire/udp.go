package wire

import (
	"encoding/binary"
	"net/netip"
)

// UDP header (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|                 |                 |
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
//	|
//	|          data octets ...
//	+---------------- ...
const (
	// UDPSrcPortOffset is the offset of Source Port.
	UDPSrcPortOffset = 0
	// UDPDstPortOffset is the offset of Destination Port.
	UDPDstPortOffset = 2
	// UDPLengthOffset is the offset of Length, header plus data in bytes.
	UDPLengthOffset = 4
	// UDPChecksumOffset is the offset of Checksum.
	UDPChecksumOffset = 6
	// UDPHeaderLen is the length of the UDP header.
	UDPHeaderLen = 8
)

// UDPFields is the parsed form of a UDP header.
type UDPFields struct {
	// SrcPort is the source port.
	SrcPort uint16
	// DstPort is the destination port.
	DstPort uint16
	// Length is header plus data in bytes.
	Length uint16
	// Checksum is the checksum as received (0: none was computed), or as
	// EncodeUDP wrote it.
	Checksum uint16
}

// ParseUDP parses the UDP datagram b (the whole IP payload) sent from src to
// dst and returns its header fields and data, b[8:Length]; bytes after
// Length are ignored. It fails with ErrTruncated if b is shorter than 8
// bytes or than Length, with ErrMalformed if Length is below 8, and with
// ErrBadChecksum if the checksum over the pseudo-header and b[:Length] does
// not verify. A zero checksum means the sender computed none and is not
// checked (RFC 768, "Checksum"; RFC 1122 §4.1.3.4).
func ParseUDP(b []byte, src, dst netip.Addr) (UDPFields, []byte, error) {
	if len(b) < UDPHeaderLen {
		return UDPFields{}, nil, ErrTruncated
	}
	f := UDPFields{
		SrcPort:  binary.BigEndian.Uint16(b[UDPSrcPortOffset:]),
		DstPort:  binary.BigEndian.Uint16(b[UDPDstPortOffset:]),
		Length:   binary.BigEndian.Uint16(b[UDPLengthOffset:]),
		Checksum: binary.BigEndian.Uint16(b[UDPChecksumOffset:]),
	}
	if f.Length < UDPHeaderLen {
		return UDPFields{}, nil, ErrMalformed
	}
	if int(f.Length) > len(b) {
		return UDPFields{}, nil, ErrTruncated
	}
	b = b[:f.Length]
	if f.Checksum != 0 && Fold(Sum(b, PseudoHeaderSum(src, dst, ProtoUDP, f.Length))) != 0xffff {
		return UDPFields{}, nil, ErrBadChecksum
	}
	return f, b[UDPHeaderLen:], nil
}

// EncodeUDP writes the UDP header for the datagram b sent from src to dst: b
// is the whole datagram, with its data already in b[8:]. It sets f.Length to
// len(b), computes the checksum over the pseudo-header and b (a computed 0
// is sent as 0xffff, RFC 768), stores both in b[:8] and f, and returns 8. It
// panics if len(b) < 8; len(b) must not exceed 65535.
func EncodeUDP(b []byte, f *UDPFields, src, dst netip.Addr) int {
	_ = b[UDPHeaderLen-1]
	f.Length = uint16(len(b))
	binary.BigEndian.PutUint16(b[UDPSrcPortOffset:], f.SrcPort)
	binary.BigEndian.PutUint16(b[UDPDstPortOffset:], f.DstPort)
	binary.BigEndian.PutUint16(b[UDPLengthOffset:], f.Length)
	b[UDPChecksumOffset] = 0
	b[UDPChecksumOffset+1] = 0
	xsum := Checksum(b, PseudoHeaderSum(src, dst, ProtoUDP, f.Length))
	if xsum == 0 {
		xsum = 0xffff
	}
	f.Checksum = xsum
	binary.BigEndian.PutUint16(b[UDPChecksumOffset:], xsum)
	return UDPHeaderLen
}
