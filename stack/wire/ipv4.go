package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv4 header (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// IPv4VersionIHLOffset is the offset of the byte holding Version (high
	// nibble) and IHL, the header length in 32-bit words (low nibble).
	IPv4VersionIHLOffset = 0
	// IPv4TOSOffset is the offset of Type of Service (DSCP and ECN, RFC 2474
	// and RFC 3168).
	IPv4TOSOffset = 1
	// IPv4TotalLengthOffset is the offset of Total Length, header plus data in
	// bytes.
	IPv4TotalLengthOffset = 2
	// IPv4IDOffset is the offset of Identification.
	IPv4IDOffset = 4
	// IPv4FlagsFragOffset is the offset of the 16 bits holding Flags (3 high
	// bits) and Fragment Offset (13 low bits, in 8-byte units).
	IPv4FlagsFragOffset = 6
	// IPv4TTLOffset is the offset of Time to Live.
	IPv4TTLOffset = 8
	// IPv4ProtocolOffset is the offset of Protocol.
	IPv4ProtocolOffset = 9
	// IPv4ChecksumOffset is the offset of Header Checksum.
	IPv4ChecksumOffset = 10
	// IPv4SrcOffset is the offset of Source Address.
	IPv4SrcOffset = 12
	// IPv4DstOffset is the offset of Destination Address.
	IPv4DstOffset = 16
	// IPv4MinHeaderLen is the length of a header without options (IHL 5).
	IPv4MinHeaderLen = 20
	// IPv4MaxHeaderLen is the length of a header with the most options (IHL
	// 15).
	IPv4MaxHeaderLen = 60
	// IPv4Version is the Version of every IPv4 header.
	IPv4Version = 4
)

// IPv4 flags, the 3 high bits of the 16-bit word at IPv4FlagsFragOffset,
// shifted down (RFC 791 §3.1, "Flags"). Bit 2, reserved, must be zero but is
// kept as received.
const (
	// IPv4FlagDF is Don't Fragment.
	IPv4FlagDF uint8 = 2
	// IPv4FlagMF is More Fragments.
	IPv4FlagMF uint8 = 1
)

// IPv4Fields is the parsed form of an IPv4 header. Options are not parsed:
// ParseIPv4 skips them and EncodeIPv4 writes none.
type IPv4Fields struct {
	// HeaderLen is the header length in bytes, IHL*4 (20 to 60).
	HeaderLen int
	// TOS is the Type of Service byte (DSCP and ECN).
	TOS uint8
	// TotalLength is the datagram length, header and data, in bytes.
	TotalLength uint16
	// ID is Identification, which groups the fragments of one datagram.
	ID uint16
	// Flags holds IPv4FlagDF and IPv4FlagMF (and the reserved bit, 4).
	Flags uint8
	// FragmentOffset is where this fragment's data goes in the original
	// datagram's data, in bytes: the Fragment Offset field times 8.
	FragmentOffset uint16
	// TTL is Time to Live.
	TTL uint8
	// Protocol is the payload's protocol, such as ProtoTCP.
	Protocol uint8
	// Checksum is the Header Checksum as received, or as EncodeIPv4 wrote it.
	Checksum uint16
	// Src is the source address.
	Src netip.Addr
	// Dst is the destination address.
	Dst netip.Addr
}

// IsFragment reports whether the datagram is a fragment of a larger one:
// More Fragments is set or the offset is not zero (RFC 791 §3.2,
// "Fragmentation and Reassembly").
func (f *IPv4Fields) IsFragment() bool {
	return f.Flags&IPv4FlagMF != 0 || f.FragmentOffset != 0
}

// ParseIPv4 parses the IPv4 header at the start of b and returns its fields
// and the payload b[HeaderLen:TotalLength]. Bytes after TotalLength, such as
// Ethernet padding of short frames, are allowed and dropped.
//
// It fails with ErrTruncated if b is shorter than 20 bytes, than the header
// or than TotalLength; with ErrMalformed if Version is not 4, IHL is below 5
// or TotalLength is below the header length; and with ErrBadChecksum if the
// header checksum does not verify (RFC 791 §3.1, "Header Checksum"). Options
// are covered by the checksum but otherwise skipped.
func ParseIPv4(b []byte) (IPv4Fields, []byte, error) {
	if len(b) < IPv4MinHeaderLen {
		return IPv4Fields{}, nil, ErrTruncated
	}
	h := IPv4(b)
	if h.Version() != IPv4Version {
		return IPv4Fields{}, nil, ErrMalformed
	}
	hl := h.HeaderLen()
	if hl < IPv4MinHeaderLen {
		return IPv4Fields{}, nil, ErrMalformed
	}
	if hl > len(b) {
		return IPv4Fields{}, nil, ErrTruncated
	}
	tl := int(h.TotalLength())
	if tl < hl {
		return IPv4Fields{}, nil, ErrMalformed
	}
	if tl > len(b) {
		return IPv4Fields{}, nil, ErrTruncated
	}
	if Fold(Sum(b[:hl], 0)) != 0xffff {
		return IPv4Fields{}, nil, ErrBadChecksum
	}
	return IPv4Fields{
		HeaderLen:      hl,
		TOS:            h.TOS(),
		TotalLength:    uint16(tl),
		ID:             h.ID(),
		Flags:          h.Flags(),
		FragmentOffset: h.FragmentOffset(),
		TTL:            h.TTL(),
		Protocol:       h.Protocol(),
		Checksum:       h.Checksum(),
		Src:            h.Src(),
		Dst:            h.Dst(),
	}, b[hl:tl], nil
}

// EncodeIPv4 writes a 20-byte header without options into b[:20] from f
// (TotalLength, ID, Flags, FragmentOffset and the rest are taken as they
// are), computes the header checksum, sets f.HeaderLen to 20 and f.Checksum
// to the checksum, and returns 20. FragmentOffset is written in 8-byte
// units, so its low 3 bits are dropped; only the low 3 bits of Flags are
// written; an address that is not IPv4 is written as 0.0.0.0. It panics if
// len(b) < 20.
func EncodeIPv4(b []byte, f *IPv4Fields) int {
	_ = b[IPv4MinHeaderLen-1]
	b[IPv4VersionIHLOffset] = IPv4Version<<4 | IPv4MinHeaderLen/4
	b[IPv4TOSOffset] = f.TOS
	binary.BigEndian.PutUint16(b[IPv4TotalLengthOffset:], f.TotalLength)
	binary.BigEndian.PutUint16(b[IPv4IDOffset:], f.ID)
	binary.BigEndian.PutUint16(b[IPv4FlagsFragOffset:], uint16(f.Flags&7)<<13|f.FragmentOffset>>3)
	b[IPv4TTLOffset] = f.TTL
	b[IPv4ProtocolOffset] = f.Protocol
	b[IPv4ChecksumOffset] = 0
	b[IPv4ChecksumOffset+1] = 0
	putIPv4(b[IPv4SrcOffset:], f.Src)
	putIPv4(b[IPv4DstOffset:], f.Dst)
	xsum := Checksum(b[:IPv4MinHeaderLen], 0)
	binary.BigEndian.PutUint16(b[IPv4ChecksumOffset:], xsum)
	f.HeaderLen = IPv4MinHeaderLen
	f.Checksum = xsum
	return IPv4MinHeaderLen
}

// IPv4 is a view of an IPv4 packet. Its accessors do not check bounds: use
// it only on a packet ParseIPv4 accepted or EncodeIPv4 wrote.
type IPv4 []byte

// Version returns the Version field (4 for a valid header).
func (h IPv4) Version() uint8 {
	return h[IPv4VersionIHLOffset] >> 4
}

// HeaderLen returns the header length in bytes, IHL*4.
func (h IPv4) HeaderLen() int {
	return int(h[IPv4VersionIHLOffset]&0xf) * 4
}

// TOS returns the Type of Service byte.
func (h IPv4) TOS() uint8 {
	return h[IPv4TOSOffset]
}

// TotalLength returns Total Length, header plus data in bytes.
func (h IPv4) TotalLength() uint16 {
	return binary.BigEndian.Uint16(h[IPv4TotalLengthOffset:])
}

// ID returns Identification.
func (h IPv4) ID() uint16 {
	return binary.BigEndian.Uint16(h[IPv4IDOffset:])
}

// Flags returns the 3 flag bits (IPv4FlagDF, IPv4FlagMF, reserved 4).
func (h IPv4) Flags() uint8 {
	return h[IPv4FlagsFragOffset] >> 5
}

// FragmentOffset returns the fragment offset in bytes (the field times 8).
func (h IPv4) FragmentOffset() uint16 {
	return binary.BigEndian.Uint16(h[IPv4FlagsFragOffset:]) << 3
}

// TTL returns Time to Live.
func (h IPv4) TTL() uint8 {
	return h[IPv4TTLOffset]
}

// Protocol returns the Protocol field.
func (h IPv4) Protocol() uint8 {
	return h[IPv4ProtocolOffset]
}

// Checksum returns Header Checksum.
func (h IPv4) Checksum() uint16 {
	return binary.BigEndian.Uint16(h[IPv4ChecksumOffset:])
}

// Src returns the source address.
func (h IPv4) Src() netip.Addr {
	return netip.AddrFrom4([4]byte(h[IPv4SrcOffset : IPv4SrcOffset+4]))
}

// Dst returns the destination address.
func (h IPv4) Dst() netip.Addr {
	return netip.AddrFrom4([4]byte(h[IPv4DstOffset : IPv4DstOffset+4]))
}

// Payload returns the data, h[HeaderLen:TotalLength], aliasing h.
func (h IPv4) Payload() []byte {
	return h[h.HeaderLen():h.TotalLength()]
}

// SetTTL sets Time to Live and updates Header Checksum incrementally (RFC
// 1624 §3, equation 3) rather than summing the header again. TTL shares its
// 16-bit word with Protocol.
func (h IPv4) SetTTL(ttl uint8) {
	old := binary.BigEndian.Uint16(h[IPv4TTLOffset:])
	h[IPv4TTLOffset] = ttl
	updated := binary.BigEndian.Uint16(h[IPv4TTLOffset:])
	binary.BigEndian.PutUint16(h[IPv4ChecksumOffset:], UpdateChecksum(h.Checksum(), old, updated))
}

// DecrementTTL lowers Time to Live by one and fixes Header Checksum
// incrementally (RFC 1624 §3; RFC 1812 §5.3.1, the forwarding path). A TTL
// of 0 stays 0: the router must check TTL (and drop with ICMP Time Exceeded
// when it would reach 0) before forwarding.
func (h IPv4) DecrementTTL() {
	if ttl := h.TTL(); ttl > 0 {
		h.SetTTL(ttl - 1)
	}
}
