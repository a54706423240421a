package wire

import "strconv"

// MAC is an IEEE 802 48-bit MAC address, as carried in Ethernet and ARP.
type MAC [6]byte

// BroadcastMAC returns ff:ff:ff:ff:ff:ff, the Ethernet broadcast address.
func BroadcastMAC() MAC {
	return MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool {
	return m == BroadcastMAC()
}

// IsMulticast reports whether m is a group address: the I/G bit, the least
// significant bit of the first octet, is set (IEEE 802-2014 §8.2). The
// broadcast address is a multicast address too.
func (m MAC) IsMulticast() bool {
	return m[0]&1 != 0
}

// String formats m as six lower-case hex pairs separated by colons, such as
// "02:00:00:00:00:01".
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, o := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hex[o>>4]
		b[3*i+1] = hex[o&0xf]
	}
	return string(b[:])
}

// EtherType is the 16-bit type field of an Ethernet II frame, which names the
// protocol of its payload (IEEE 802.3 §3.2.6; registry at IANA).
type EtherType uint16

// EtherType values the stack knows.
const (
	// EtherTypeIPv4 is Internet Protocol version 4 (RFC 894).
	EtherTypeIPv4 EtherType = 0x0800
	// EtherTypeARP is the Address Resolution Protocol (RFC 826).
	EtherTypeARP EtherType = 0x0806
	// EtherTypeIPv6 is Internet Protocol version 6 (RFC 2464).
	EtherTypeIPv6 EtherType = 0x86dd
	// EtherTypeVLAN is an IEEE 802.1Q tag; this package does not parse it.
	EtherTypeVLAN EtherType = 0x8100
)

// String returns "IPv4", "ARP", "IPv6" or "802.1Q" for the known types and
// "0x" followed by four hex digits otherwise.
func (t EtherType) String() string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeIPv6:
		return "IPv6"
	case EtherTypeVLAN:
		return "802.1Q"
	}
	s := strconv.FormatUint(uint64(t), 16)
	return "0x" + "0000"[len(s):] + s
}

// IP protocol numbers (the IPv4 Protocol field, RFC 791 §3.1; registry at
// IANA, "Assigned Internet Protocol Numbers").
const (
	// ProtoICMP is the Internet Control Message Protocol (RFC 792).
	ProtoICMP uint8 = 1
	// ProtoTCP is the Transmission Control Protocol (RFC 9293).
	ProtoTCP uint8 = 6
	// ProtoUDP is the User Datagram Protocol (RFC 768).
	ProtoUDP uint8 = 17
)
