package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// ARP packet for IPv4 over Ethernet (RFC 826, "Packet format"; hardware
// type 1, protocol type 0x0800, so 6-byte and 4-byte addresses):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware Type         |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HW Addr Len  | Proto Addr Len|           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Sender Hardware Address (6)                   |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |  Sender Protocol Address (4)  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |  Target Hardware Address (6)  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Target Protocol Address (4)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// ARPHardwareTypeOffset is the offset of ar$hrd, the hardware type.
	ARPHardwareTypeOffset = 0
	// ARPProtocolTypeOffset is the offset of ar$pro, the protocol type.
	ARPProtocolTypeOffset = 2
	// ARPHardwareLenOffset is the offset of ar$hln, the hardware address
	// length.
	ARPHardwareLenOffset = 4
	// ARPProtocolLenOffset is the offset of ar$pln, the protocol address
	// length.
	ARPProtocolLenOffset = 5
	// ARPOpOffset is the offset of ar$op, the operation.
	ARPOpOffset = 6
	// ARPSenderMACOffset is the offset of ar$sha, the sender's MAC.
	ARPSenderMACOffset = 8
	// ARPSenderIPOffset is the offset of ar$spa, the sender's IPv4 address.
	ARPSenderIPOffset = 14
	// ARPTargetMACOffset is the offset of ar$tha, the target's MAC.
	ARPTargetMACOffset = 18
	// ARPTargetIPOffset is the offset of ar$tpa, the target's IPv4 address.
	ARPTargetIPOffset = 24
	// ARPLen is the length of an ARP packet for IPv4 over Ethernet.
	ARPLen = 28

	// ARPHardwareEthernet is ar$hrd for Ethernet (RFC 826; IANA "Hardware
	// Types").
	ARPHardwareEthernet = 1
)

// ARPOp is the ARP operation code, ar$op.
type ARPOp uint16

// ARP operations (RFC 826).
const (
	// ARPRequest asks who has the target protocol address.
	ARPRequest ARPOp = 1
	// ARPReply answers a request with the sender's hardware address.
	ARPReply ARPOp = 2
)

// String returns "Request", "Reply", or "op" and the number.
func (o ARPOp) String() string {
	switch o {
	case ARPRequest:
		return "Request"
	case ARPReply:
		return "Reply"
	}
	return "op" + strconv.Itoa(int(o))
}

// ARPFields is the parsed form of an ARP packet for IPv4 over Ethernet.
type ARPFields struct {
	// Op is the operation: ARPRequest, ARPReply, or another code as received.
	Op ARPOp
	// SenderMAC is the sender hardware address, ar$sha.
	SenderMAC MAC
	// SenderIP is the sender protocol address, ar$spa.
	SenderIP netip.Addr
	// TargetMAC is the target hardware address, ar$tha (zero in a request).
	TargetMAC MAC
	// TargetIP is the target protocol address, ar$tpa.
	TargetIP netip.Addr
}

// ParseARP parses an ARP packet at the start of b; bytes after the 28 of the
// packet (Ethernet padding) are ignored. It fails with ErrTruncated if b is
// shorter than 28 bytes, and with ErrUnsupported unless the hardware type is
// Ethernet (1) with 6-byte addresses and the protocol type is IPv4 (0x0800)
// with 4-byte addresses. Any operation code is accepted.
func ParseARP(b []byte) (ARPFields, error) {
	if len(b) < ARPLen {
		return ARPFields{}, ErrTruncated
	}
	if binary.BigEndian.Uint16(b[ARPHardwareTypeOffset:]) != ARPHardwareEthernet ||
		binary.BigEndian.Uint16(b[ARPProtocolTypeOffset:]) != uint16(EtherTypeIPv4) ||
		b[ARPHardwareLenOffset] != 6 || b[ARPProtocolLenOffset] != 4 {
		return ARPFields{}, ErrUnsupported
	}
	return ARPFields{
		Op:        ARPOp(binary.BigEndian.Uint16(b[ARPOpOffset:])),
		SenderMAC: MAC(b[ARPSenderMACOffset : ARPSenderMACOffset+6]),
		SenderIP:  netip.AddrFrom4([4]byte(b[ARPSenderIPOffset : ARPSenderIPOffset+4])),
		TargetMAC: MAC(b[ARPTargetMACOffset : ARPTargetMACOffset+6]),
		TargetIP:  netip.AddrFrom4([4]byte(b[ARPTargetIPOffset : ARPTargetIPOffset+4])),
	}, nil
}

// EncodeARP writes f as a 28-byte ARP packet for IPv4 over Ethernet into
// b[:28] and returns 28. An address that is not IPv4 is written as 0.0.0.0.
// It panics if len(b) < 28.
func EncodeARP(b []byte, f *ARPFields) int {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[ARPHardwareTypeOffset:], ARPHardwareEthernet)
	binary.BigEndian.PutUint16(b[ARPProtocolTypeOffset:], uint16(EtherTypeIPv4))
	b[ARPHardwareLenOffset] = 6
	b[ARPProtocolLenOffset] = 4
	binary.BigEndian.PutUint16(b[ARPOpOffset:], uint16(f.Op))
	copy(b[ARPSenderMACOffset:], f.SenderMAC[:])
	putIPv4(b[ARPSenderIPOffset:], f.SenderIP)
	copy(b[ARPTargetMACOffset:], f.TargetMAC[:])
	putIPv4(b[ARPTargetIPOffset:], f.TargetIP)
	return ARPLen
}

// putIPv4 writes a as four bytes into b[:4]: an IPv4 or IPv4-mapped address
// as itself, anything else as 0.0.0.0.
func putIPv4(b []byte, a netip.Addr) {
	var v [4]byte
	if a.Is4() || a.Is4In6() {
		v = a.Unmap().As4()
	}
	copy(b[:4], v[:])
}
