package wire_test

import (
	"net/netip"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

// The fixtures are whole Ethernet frames, built by hand field by field and
// checked against an independent decoder (gopacket) when they were written.
// Each function returns a fresh copy, so tests may scribble on it.

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
	ipA  = netip.MustParseAddr("10.0.0.1")
	ipB  = netip.MustParseAddr("10.0.0.2")
)

// synFrame is a Linux-style SYN from 10.0.0.1:40000 to 10.0.0.2:80 with the
// usual options: mss 1460, sackOK, TS val 1 ecr 0, nop, wscale 7.
func synFrame() []byte {
	return []byte{
		// Ethernet
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // dst 02:00:00:00:00:02
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src 02:00:00:00:00:01
		0x08, 0x00, // IPv4
		// IPv4
		0x45, 0x00, 0x00, 0x3c, // version 4, IHL 5, TOS 0, total length 60
		0x1c, 0x46, 0x40, 0x00, // ID 0x1c46, DF, offset 0
		0x40, 0x06, 0x0a, 0x74, // TTL 64, TCP, checksum 0x0a74
		0x0a, 0x00, 0x00, 0x01, // src 10.0.0.1
		0x0a, 0x00, 0x00, 0x02, // dst 10.0.0.2
		// TCP
		0x9c, 0x40, 0x00, 0x50, // src port 40000, dst port 80
		0x00, 0x00, 0x00, 0x64, // seq 100
		0x00, 0x00, 0x00, 0x00, // ack 0
		0xa0, 0x02, 0xff, 0xff, // data offset 10 (40 bytes), SYN, window 65535
		0x97, 0x08, 0x00, 0x00, // checksum 0x9708, urgent 0
		0x02, 0x04, 0x05, 0xb4, // MSS 1460
		0x04, 0x02, 0x08, 0x0a, // SACK-permitted, timestamps...
		0x00, 0x00, 0x00, 0x01, // ... TSval 1
		0x00, 0x00, 0x00, 0x00, // ... TSecr 0
		0x01, 0x03, 0x03, 0x07, // NOP, window scale 7
	}
}

// synIP and synTCP are synFrame's IPv4 and TCP fields.
func synIP() wire.IPv4Fields {
	return wire.IPv4Fields{
		HeaderLen: 20, TOS: 0, TotalLength: 60, ID: 0x1c46, Flags: wire.IPv4FlagDF,
		FragmentOffset: 0, TTL: 64, Protocol: wire.ProtoTCP, Checksum: 0x0a74, Src: ipA, Dst: ipB,
	}
}

func synTCP() wire.TCPFields {
	return wire.TCPFields{
		SrcPort: 40000, DstPort: 80, Seq: 100, Ack: 0, DataOffset: 40,
		Flags: wire.TCPFlagSYN, Window: 65535, Checksum: 0x9708, Urgent: 0,
		Options: wire.TCPOptions{
			MSS: 1460, HasMSS: true,
			WindowScale: 7, HasWindowScale: true,
			SACKPermitted: true,
			HasTimestamps: true, TSVal: 1, TSEcr: 0,
		},
	}
}

// dataFrame is a data segment from 10.0.0.2:80 back to 10.0.0.1:40000,
// PSH|ACK with "hello, world", timestamps and two SACK blocks, laid out as
// Linux does: NOP NOP TS, NOP NOP SACK.
func dataFrame() []byte {
	return []byte{
		// Ethernet
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // dst 02:00:00:00:00:01
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // src 02:00:00:00:00:02
		0x08, 0x00, // IPv4
		// IPv4
		0x45, 0x00, 0x00, 0x54, // version 4, IHL 5, TOS 0, total length 84
		0x00, 0x02, 0x40, 0x00, // ID 2, DF
		0x40, 0x06, 0x26, 0xa0, // TTL 64, TCP, checksum 0x26a0
		0x0a, 0x00, 0x00, 0x02, // src 10.0.0.2
		0x0a, 0x00, 0x00, 0x01, // dst 10.0.0.1
		// TCP
		0x00, 0x50, 0x9c, 0x40, // src port 80, dst port 40000
		0x00, 0x00, 0x03, 0xe9, // seq 1001
		0x00, 0x00, 0x00, 0xc9, // ack 201
		0xd0, 0x18, 0x01, 0xf6, // data offset 13 (52 bytes), PSH|ACK, window 502
		0xd6, 0xee, 0x00, 0x00, // checksum 0xd6ee, urgent 0
		0x01, 0x01, 0x08, 0x0a, // NOP, NOP, timestamps...
		0x00, 0x00, 0x03, 0xe8, // ... TSval 1000
		0x00, 0x00, 0x07, 0xd0, // ... TSecr 2000
		0x01, 0x01, 0x05, 0x12, // NOP, NOP, SACK with 2 blocks (length 18)
		0x00, 0x00, 0x0b, 0xb9, // 3001
		0x00, 0x00, 0x0f, 0xa1, // 4001
		0x00, 0x00, 0x13, 0x89, // 5001
		0x00, 0x00, 0x17, 0x71, // 6001
		'h', 'e', 'l', 'l', 'o', ',', ' ', 'w', 'o', 'r', 'l', 'd',
	}
}

func dataTCP() wire.TCPFields {
	return wire.TCPFields{
		SrcPort: 80, DstPort: 40000, Seq: 1001, Ack: 201, DataOffset: 52,
		Flags: wire.TCPFlagPSH | wire.TCPFlagACK, Window: 502, Checksum: 0xd6ee,
		Options: wire.TCPOptions{
			HasTimestamps: true, TSVal: 1000, TSEcr: 2000,
			SACKBlocks:    [4]wire.SACKBlock{{3001, 4001}, {5001, 6001}},
			NumSACKBlocks: 2,
		},
	}
}

// arpFrame is a broadcast ARP request, who-has 10.0.0.2 tell 10.0.0.1,
// padded to the 60-byte Ethernet minimum as it arrives on a real link.
func arpFrame() []byte {
	return []byte{
		// Ethernet
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst broadcast
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src 02:00:00:00:00:01
		0x08, 0x06, // ARP
		// ARP
		0x00, 0x01, 0x08, 0x00, // hardware Ethernet, protocol IPv4
		0x06, 0x04, 0x00, 0x01, // hlen 6, plen 4, request
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender MAC
		0x0a, 0x00, 0x00, 0x01, // sender IP 10.0.0.1
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC (unknown)
		0x0a, 0x00, 0x00, 0x02, // target IP 10.0.0.2
		// padding
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
}

func arpFields() wire.ARPFields {
	return wire.ARPFields{Op: wire.ARPRequest, SenderMAC: macA, SenderIP: ipA, TargetIP: ipB}
}

// icmpFrame is a ping: echo request id 1 seq 1 with 56 bytes of data
// (0x10...0x47), from 10.0.0.1 to 10.0.0.2.
func icmpFrame() []byte {
	b := []byte{
		// Ethernet
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // dst
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
		0x08, 0x00, // IPv4
		// IPv4
		0x45, 0x00, 0x00, 0x54, // total length 84
		0x4d, 0x2e, 0x40, 0x00, // ID 0x4d2e, DF
		0x40, 0x01, 0xd9, 0x78, // TTL 64, ICMP, checksum 0xd978
		0x0a, 0x00, 0x00, 0x01, // src 10.0.0.1
		0x0a, 0x00, 0x00, 0x02, // dst 10.0.0.2
		// ICMP
		0x08, 0x00, 0x3f, 0x29, // echo request, code 0, checksum 0x3f29
		0x00, 0x01, 0x00, 0x01, // id 1, seq 1
	}
	for i := byte(0x10); i < 0x48; i++ {
		b = append(b, i)
	}
	return b
}

// udpFrame is a 5-byte UDP datagram "hello" from 10.0.0.1:5353 to
// 10.0.0.2:53 in a frame padded to 60 bytes (13 bytes of padding after the
// IP packet's 33).
func udpFrame() []byte {
	return []byte{
		// Ethernet
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // dst
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
		0x08, 0x00, // IPv4
		// IPv4
		0x45, 0x00, 0x00, 0x21, // total length 33
		0x00, 0x01, 0x00, 0x00, // ID 1, no flags
		0x40, 0x11, 0x66, 0xc9, // TTL 64, UDP, checksum 0x66c9
		0x0a, 0x00, 0x00, 0x01, // src 10.0.0.1
		0x0a, 0x00, 0x00, 0x02, // dst 10.0.0.2
		// UDP
		0x14, 0xe9, 0x00, 0x35, // src port 5353, dst port 53
		0x00, 0x0d, 0x92, 0xe1, // length 13, checksum 0x92e1
		'h', 'e', 'l', 'l', 'o',
		// padding
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
}

// Offsets of the layers in the fixtures.
const (
	ipOff = wire.EthernetHeaderLen
	l4Off = ipOff + wire.IPv4MinHeaderLen
)

// addrEqual lets cmp compare netip.Addr, whose fields are unexported.
func addrEqual() cmp.Option {
	return cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
}

// filled returns n bytes of 0xa5, so a test sees any byte Encode forgot.
func filled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xa5
	}
	return b
}
