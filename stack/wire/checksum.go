package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum adds b, read as big-endian 16-bit words, to initial in one's-complement
// arithmetic (RFC 1071 §1). An odd trailing byte is padded on the right with
// a zero byte (RFC 1071 §4.1), so only the last piece of a message split over
// several calls may have an odd length.
//
// The result is not complemented. It is congruent to initial plus the plain
// sum of the words modulo 0xffff and, for speed, already reduced to at most
// 0xffff (carries folded back in, RFC 1071 §2(B)), so Fold of it is the RFC
// sum and up to 65537 results can be added in a uint32 before calling Fold.
// Sum is zero only if initial and every word are zero.
//
// Sum reads eight bytes at a time (RFC 1071 §2(C), "parallel summation"):
// because 2^64-1 is a multiple of 2^16-1, a one's-complement sum of 64-bit
// words folds to the same 16-bit sum as the words it holds.
func Sum(b []byte, initial uint32) uint32 {
	acc := uint64(initial)
	var carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[:8]), carry)
		b = b[8:]
	}
	var tail uint64
	switch len(b) {
	case 7:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(binary.BigEndian.Uint16(b[4:]))<<16 | uint64(b[6])<<8
	case 6:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(binary.BigEndian.Uint16(b[4:]))<<16
	case 5:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(b[4])<<24
	case 4:
		tail = uint64(binary.BigEndian.Uint32(b)) << 32
	case 3:
		tail = uint64(binary.BigEndian.Uint16(b))<<48 | uint64(b[2])<<40
	case 2:
		tail = uint64(binary.BigEndian.Uint16(b)) << 48
	case 1:
		tail = uint64(b[0]) << 56
	}
	// The tail sits in the high bytes of one more 64-bit word, at the same
	// 16-bit alignment as a full word; 2^48, 2^32 and 2^16 are all 1 mod
	// 0xffff.
	acc, carry = bits.Add64(acc, tail, carry)
	// End-around carry (RFC 1071 §1, "the carry bits are added back"). If
	// adding it overflows, acc was all ones and is now 0, so a second add of
	// the carry cannot overflow.
	acc, carry = bits.Add64(acc, 0, carry)
	acc += carry
	return uint32(foldTo16(acc))
}

// foldTo16 reduces a 64-bit one's-complement sum to 16 bits, keeping it
// nonzero if it was nonzero.
func foldTo16(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff) // <= 2^33-2
	s = (s >> 32) + (s & 0xffffffff) // <= 2^32-1
	s = (s >> 16) + (s & 0xffff)     // <= 0x1fffe
	s = (s >> 16) + (s & 0xffff)     // <= 0xffff
	return uint16(s)
}

// Fold folds the carries of a 32-bit one's-complement sum back into its low
// 16 bits (RFC 1071 §4.1, "fold 32-bit sum to 16 bits"). It does not
// complement the result: a packet is valid when Fold of its sum is 0xffff.
func Fold(sum uint32) uint16 {
	return foldTo16(uint64(sum))
}

// Checksum returns the Internet checksum of b on top of initial, the value
// to store in a checksum field: ^Fold(Sum(b, initial)) (RFC 1071 §1). The
// checksum field itself must be zero in b while it is computed.
func Checksum(b []byte, initial uint32) uint16 {
	return ^Fold(Sum(b, initial))
}

// PseudoHeaderSum returns the one's-complement sum of the pseudo-header that
// TCP (RFC 9293 §3.1) and UDP (RFC 768) checksums cover: source and
// destination address, a zero byte, the protocol number and the TCP or UDP
// length (header plus data). Pass it as initial to Sum or Checksum.
//
// For IPv4 addresses (and IPv4-mapped IPv6 ones) this is the IPv4
// pseudo-header. IPv6 addresses contribute their 16 bytes, as in the RFC 8200
// §8.1 pseudo-header; an invalid (zero) Addr contributes nothing. It never
// panics.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length uint16) uint32 {
	s := addrSum(src) + addrSum(dst) + uint32(proto) + uint32(length)
	return uint32(Fold(s))
}

// addrSum is the unfolded sum of an address's 16-bit words; at most
// 8*0xffff, so two of them and two 16-bit values fit in a uint32.
func addrSum(a netip.Addr) uint32 {
	switch {
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		return (uint32(b[0])<<8 | uint32(b[1])) + (uint32(b[2])<<8 | uint32(b[3]))
	case a.Is6():
		b := a.As16()
		var s uint32
		for i := 0; i < 16; i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		return s
	}
	return 0
}

// UpdateChecksum returns a checksum field value updated for one 16-bit word
// of the covered data changing from old to new, without summing the rest
// again: HC' = ~(~HC + ~m + m'), RFC 1624 §3 equation 3. The word must sit
// at an even offset of the covered data.
func UpdateChecksum(checksum, old, new uint16) uint16 {
	s := uint32(^checksum) + uint32(^old) + uint32(new)
	return ^Fold(s)
}
