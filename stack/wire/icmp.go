package wire

import "encoding/binary"

// ICMPv4 header (RFC 792):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Identifier (echo)         |     Sequence Number (echo)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Data ...
//	+-+-+-+-+-
//
// For Destination Unreachable and Time Exceeded the second word is unused
// (zero), except that Fragmentation Needed carries the next-hop MTU in its
// low 16 bits (RFC 1191 §4); the data is then the original IP header and
// its first 64 bits of data.
const (
	// ICMPTypeOffset is the offset of Type.
	ICMPTypeOffset = 0
	// ICMPCodeOffset is the offset of Code.
	ICMPCodeOffset = 1
	// ICMPChecksumOffset is the offset of Checksum.
	ICMPChecksumOffset = 2
	// ICMPRestOffset is the offset of the type-dependent second word.
	ICMPRestOffset = 4
	// ICMPHeaderLen is the length of the ICMP header, both words.
	ICMPHeaderLen = 8
)

// ICMPv4 message types (RFC 792).
const (
	// ICMPEchoReply is Echo Reply.
	ICMPEchoReply uint8 = 0
	// ICMPDestUnreachable is Destination Unreachable.
	ICMPDestUnreachable uint8 = 3
	// ICMPEchoRequest is Echo.
	ICMPEchoRequest uint8 = 8
	// ICMPTimeExceeded is Time Exceeded.
	ICMPTimeExceeded uint8 = 11
)

// ICMPv4 Destination Unreachable codes (RFC 792; RFC 1191 for the MTU).
const (
	// ICMPNetUnreachable is code 0, net unreachable.
	ICMPNetUnreachable uint8 = 0
	// ICMPHostUnreachable is code 1, host unreachable.
	ICMPHostUnreachable uint8 = 1
	// ICMPProtoUnreachable is code 2, protocol unreachable.
	ICMPProtoUnreachable uint8 = 2
	// ICMPPortUnreachable is code 3, port unreachable.
	ICMPPortUnreachable uint8 = 3
	// ICMPFragNeeded is code 4, fragmentation needed and DF set.
	ICMPFragNeeded uint8 = 4
)

// ICMPv4 Time Exceeded codes (RFC 792).
const (
	// ICMPTTLExceeded is code 0, time to live exceeded in transit.
	ICMPTTLExceeded uint8 = 0
	// ICMPFragReassemblyExceeded is code 1, fragment reassembly time
	// exceeded.
	ICMPFragReassemblyExceeded uint8 = 1
)

// ICMPv4Fields is the parsed form of an ICMPv4 header.
type ICMPv4Fields struct {
	// Type is the message type, such as ICMPEchoRequest.
	Type uint8
	// Code is the type-dependent code, such as ICMPPortUnreachable.
	Code uint8
	// Checksum is the checksum as received, or as EncodeICMPv4 wrote it.
	Checksum uint16
	// Rest is header bytes 4 to 8: Identifier<<16 | Sequence Number for
	// echo, the next-hop MTU for Fragmentation Needed, zero otherwise.
	Rest uint32
}

// ID returns the echo Identifier, the high half of Rest.
func (f *ICMPv4Fields) ID() uint16 {
	return uint16(f.Rest >> 16)
}

// Seq returns the echo Sequence Number, the low half of Rest.
func (f *ICMPv4Fields) Seq() uint16 {
	return uint16(f.Rest)
}

// NextHopMTU returns the next-hop MTU of a Fragmentation Needed message, the
// low half of Rest (RFC 1191 §4).
func (f *ICMPv4Fields) NextHopMTU() uint16 {
	return uint16(f.Rest)
}

// ParseICMPv4 parses the ICMPv4 message b (the whole IP payload) and returns
// its header fields and body, b[8:]. It fails with ErrTruncated if b is
// shorter than 8 bytes and with ErrBadChecksum if the checksum over the whole
// message does not verify (RFC 792, "Checksum"). Types and codes are not
// checked.
func ParseICMPv4(b []byte) (ICMPv4Fields, []byte, error) {
	if len(b) < ICMPHeaderLen {
		return ICMPv4Fields{}, nil, ErrTruncated
	}
	if Fold(Sum(b, 0)) != 0xffff {
		return ICMPv4Fields{}, nil, ErrBadChecksum
	}
	return ICMPv4Fields{
		Type:     b[ICMPTypeOffset],
		Code:     b[ICMPCodeOffset],
		Checksum: binary.BigEndian.Uint16(b[ICMPChecksumOffset:]),
		Rest:     binary.BigEndian.Uint32(b[ICMPRestOffset:]),
	}, b[ICMPHeaderLen:], nil
}

// EncodeICMPv4 writes the 8-byte header f into b[:8], computes the checksum
// over all of b (the body must already be in b[8:]), stores it in b and in
// f.Checksum, and returns 8. It panics if len(b) < 8.
func EncodeICMPv4(b []byte, f *ICMPv4Fields) int {
	_ = b[ICMPHeaderLen-1]
	b[ICMPTypeOffset] = f.Type
	b[ICMPCodeOffset] = f.Code
	b[ICMPChecksumOffset] = 0
	b[ICMPChecksumOffset+1] = 0
	binary.BigEndian.PutUint32(b[ICMPRestOffset:], f.Rest)
	f.Checksum = Checksum(b, 0)
	binary.BigEndian.PutUint16(b[ICMPChecksumOffset:], f.Checksum)
	return ICMPHeaderLen
}
