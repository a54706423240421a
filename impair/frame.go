package impair

import (
	"encoding/binary"

	"github.com/netlab/netlab/stack/wire"
)

// ECN codepoints, the two low bits of the IPv4 TOS byte and of the IPv6
// Traffic Class (RFC 3168 §5).
const (
	ecnMask   = 0x3
	ecnNotECT = 0x0
	ecnCE     = 0x3
)

// ipv6HeaderLen is the fixed IPv6 header length (RFC 8200 §3).
const ipv6HeaderLen = 40

// ecnCapable reports whether frame is an IPv4 or IPv6 packet marked ECT(0),
// ECT(1) or CE, which can be marked CE instead of dropped.
func ecnCapable(frame []byte) bool {
	const tos = wire.EthernetHeaderLen + wire.IPv4TOSOffset
	switch etherType(frame) {
	case wire.EtherTypeIPv4:
		return len(frame) >= wire.EthernetHeaderLen+wire.IPv4MinHeaderLen && frame[wire.EthernetHeaderLen]>>4 == 4 &&
			frame[tos]&ecnMask != ecnNotECT
	case wire.EtherTypeIPv6:
		// The Traffic Class spans bytes 0 and 1: its ECN bits are bits 4-5
		// of byte 1.
		return len(frame) >= wire.EthernetHeaderLen+ipv6HeaderLen && frame[wire.EthernetHeaderLen]>>4 == 6 &&
			(frame[wire.EthernetHeaderLen+1]>>4)&ecnMask != ecnNotECT
	}
	return false
}

// markCE sets the ECN field of an ECN-capable frame (ecnCapable) to CE. For
// IPv4 it updates the header checksum incrementally (RFC 1624), so a valid
// checksum stays valid. It reports whether the frame changed (false when it
// was CE already).
func markCE(frame []byte) bool {
	ip := frame[wire.EthernetHeaderLen:]
	if etherType(frame) == wire.EtherTypeIPv6 {
		if (ip[1]>>4)&ecnMask == ecnCE {
			return false
		}
		ip[1] |= ecnCE << 4
		return true
	}
	if ip[wire.IPv4TOSOffset]&ecnMask == ecnCE {
		return false
	}
	old := binary.BigEndian.Uint16(ip[0:])
	ip[wire.IPv4TOSOffset] |= ecnCE
	sum := binary.BigEndian.Uint16(ip[wire.IPv4ChecksumOffset:])
	binary.BigEndian.PutUint16(ip[wire.IPv4ChecksumOffset:], wire.UpdateChecksum(sum, old, binary.BigEndian.Uint16(ip[0:])))
	return true
}

func etherType(frame []byte) wire.EtherType {
	if len(frame) < wire.EthernetHeaderLen {
		return 0
	}
	return wire.EtherType(binary.BigEndian.Uint16(frame[wire.EthernetTypeOffset:]))
}

// corruptSpan returns the byte range [lo, hi) a corrupting bit flip is drawn
// from: the IP datagram of an IPv4 or IPv6 frame (checksummed, unlike the
// Ethernet header and any padding after the datagram), everything after the
// Ethernet header for other frames, the whole frame for a runt.
func corruptSpan(frame []byte) (lo, hi int) {
	const eth = wire.EthernetHeaderLen
	if len(frame) <= eth {
		return 0, len(frame)
	}
	hi = len(frame)
	switch etherType(frame) {
	case wire.EtherTypeIPv4:
		if len(frame) >= eth+wire.IPv4MinHeaderLen {
			n := int(binary.BigEndian.Uint16(frame[eth+wire.IPv4TotalLengthOffset:]))
			if n >= wire.IPv4MinHeaderLen && eth+n <= len(frame) {
				hi = eth + n
			}
		}
	case wire.EtherTypeIPv6:
		if len(frame) >= eth+ipv6HeaderLen {
			n := ipv6HeaderLen + int(binary.BigEndian.Uint16(frame[eth+4:]))
			if eth+n <= len(frame) {
				hi = eth + n
			}
		}
	}
	return eth, hi
}

// segment is what DropMatch looks at in a frame.
type segment struct {
	isIP          bool
	proto         uint8
	srcPort       uint16
	dstPort       uint16
	hasPorts      bool
	isTCP         bool
	flags         wire.TCPFlags
	seq, ack      uint32
	payloadLen    int
	nonFirstFrag  bool
	transportRead bool
}

// parseSegment reads the IPv4 header and the TCP or UDP header of frame,
// bounds-checked and without verifying checksums (a frame is matched on
// what it claims). Fragments other than the first have no transport header.
func parseSegment(frame []byte) segment {
	var s segment
	const eth = wire.EthernetHeaderLen
	if etherType(frame) != wire.EtherTypeIPv4 || len(frame) < eth+wire.IPv4MinHeaderLen {
		return s
	}
	ip := frame[eth:]
	if ip[0]>>4 != 4 {
		return s
	}
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[wire.IPv4TotalLengthOffset:]))
	if ihl < wire.IPv4MinHeaderLen || total < ihl || len(ip) < ihl {
		return s
	}
	s.isIP = true
	s.proto = ip[wire.IPv4ProtocolOffset]
	if binary.BigEndian.Uint16(ip[wire.IPv4FlagsFragOffset:])&0x1fff != 0 {
		s.nonFirstFrag = true
		return s
	}
	l4 := ip[ihl:min(total, len(ip))]
	switch s.proto {
	case wire.ProtoTCP:
		if len(l4) < wire.TCPMinHeaderLen {
			return s
		}
		t := wire.TCP(l4)
		off := t.DataOffset()
		if off < wire.TCPMinHeaderLen || off > len(l4) {
			return s
		}
		s.isTCP, s.hasPorts, s.transportRead = true, true, true
		s.srcPort, s.dstPort = t.SrcPort(), t.DstPort()
		s.flags, s.seq, s.ack = t.Flags(), t.Seq(), t.Ack()
		s.payloadLen = len(l4) - off
	case wire.ProtoUDP:
		if len(l4) < 8 {
			return s
		}
		s.hasPorts, s.transportRead = true, true
		s.srcPort, s.dstPort = binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		s.payloadLen = len(l4) - 8
	}
	return s
}
