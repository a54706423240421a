package wire_test

import (
	"strings"
	"testing"

	"github.com/netlab/netlab/stack/wire"
)

// ipFrame wraps an IP payload into an Ethernet frame from A to B.
func ipFrame(ip wire.IPv4Fields, payload []byte) []byte {
	b := make([]byte, l4Off+len(payload))
	wire.EncodeEthernet(b, &wire.EthernetFields{Dst: macB, Src: macA, Type: wire.EtherTypeIPv4})
	if ip.TotalLength == 0 {
		ip.TotalLength = uint16(20 + len(payload))
	}
	if ip.TTL == 0 {
		ip.TTL = 64
	}
	if !ip.Src.IsValid() {
		ip.Src, ip.Dst = ipA, ipB
	}
	wire.EncodeIPv4(b[ipOff:], &ip)
	copy(b[l4Off:], payload)
	return b
}

// tcpFrame builds a whole frame holding a TCP segment from A to B.
func tcpFrame(f wire.TCPFields, payload string) []byte {
	seg := make([]byte, f.HeaderLen()+len(payload))
	copy(seg[f.HeaderLen():], payload)
	wire.EncodeTCP(seg, &f, ipA, ipB)
	return ipFrame(wire.IPv4Fields{Protocol: wire.ProtoTCP}, seg)
}

// icmpMsg builds an ICMP message with the given body.
func icmpMsg(f wire.ICMPv4Fields, body []byte) []byte {
	b := append(make([]byte, 8), body...)
	wire.EncodeICMPv4(b, &f)
	return b
}

func TestSummary(t *testing.T) {
	arpReply := make([]byte, 42)
	wire.EncodeEthernet(arpReply, &wire.EthernetFields{Dst: macA, Src: macB, Type: wire.EtherTypeARP})
	wire.EncodeARP(arpReply[14:], &wire.ARPFields{Op: wire.ARPReply, SenderMAC: macB, SenderIP: ipB, TargetMAC: macA, TargetIP: ipA})
	arpOdd := arpFrame()
	arpOdd[21] = 9
	arpIPv6 := arpFrame()
	arpIPv6[16], arpIPv6[17] = 0x86, 0xdd

	badVersion := synFrame()
	badVersion[ipOff] = 0x55
	badTCP := synFrame()
	badTCP[l4Off+4] ^= 0x80
	badUDP := udpFrame()
	badUDP[l4Off+8] = 'j'
	badICMP := icmpFrame()
	badICMP[len(badICMP)-1]++

	quote := synFrame()[ipOff : l4Off+8]
	frag := ipFrame(wire.IPv4Fields{Protocol: wire.ProtoUDP, ID: 77, Flags: wire.IPv4FlagMF}, udpDatagram())
	lastFrag := ipFrame(wire.IPv4Fields{Protocol: wire.ProtoUDP, ID: 77, FragmentOffset: 1480}, []byte("tail"))
	badOpt := tcpFrame(wire.TCPFields{Flags: wire.TCPFlagSYN, Options: wire.TCPOptions{MSS: 1460, HasMSS: true, HasWindowScale: true, WindowScale: 2}}, "")
	badOpt[l4Off+20+6] = 0x09 // NOP WS(len 9): runs past the header
	badOpt = fixTCP(badOpt)

	rawOpts := func(opts string) []byte {
		fr := tcpFrame(wire.TCPFields{Flags: wire.TCPFlagACK, Options: wire.TCPOptions{MSS: 1, HasMSS: true}}, "")
		copy(fr[l4Off+20:], mustHex(opts))
		return fixTCP(fr)
	}
	unreach := func(code uint8) []byte {
		return ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: code}, quote))
	}

	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"unknown option and eol", rawOpts("fe020100"), "10.0.0.1.0 > 10.0.0.2.0: Flags [.], ack 0, win 0, options [opt-254:2,nop,eol], length 0"},
		{"kind without length", rawOpts("01010102"), "10.0.0.1.0 > 10.0.0.2.0: Flags [.], ack 0, win 0, options [nop,nop,nop,bad opt], length 0"},
		{"icmp net unreachable", unreach(wire.ICMPNetUnreachable), "10.0.0.1 > 10.0.0.2: ICMP net unreachable, length 36"},
		{"icmp host unreachable", unreach(wire.ICMPHostUnreachable), "10.0.0.1 > 10.0.0.2: ICMP host unreachable, length 36"},
		{"icmp protocol unreachable", unreach(wire.ICMPProtoUnreachable), "10.0.0.1 > 10.0.0.2: ICMP protocol unreachable, length 36"},
		{"icmp unreachable other code", unreach(13), "10.0.0.1 > 10.0.0.2: ICMP unreachable code 13, length 36"},
		{"icmp time exceeded other code", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPTimeExceeded, Code: 7}, nil)),
			"10.0.0.1 > 10.0.0.2: ICMP time exceeded code 7, length 8"},
		{"tcp fragment", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoTCP, ID: 1, FragmentOffset: 8}, []byte("12345678")),
			"10.0.0.1 > 10.0.0.2: TCP fragment, id 1, offset 8, length 8"},
		{"icmp fragment", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP, ID: 2, Flags: wire.IPv4FlagMF}, []byte("12345678")),
			"10.0.0.1 > 10.0.0.2: ICMP fragment, id 2, offset 0, length 8, MF"},
		{"other protocol fragment", ipFrame(wire.IPv4Fields{Protocol: 99, ID: 3, FragmentOffset: 16}, nil),
			"10.0.0.1 > 10.0.0.2: ip-proto-99 fragment, id 3, offset 16, length 0"},
		{"syn", synFrame(), "10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 100, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"},
		{"data with sack", dataFrame(), "10.0.0.2.80 > 10.0.0.1.40000: Flags [P.], seq 1001:1013, ack 201, win 502, options [nop,nop,TS val 1000 ecr 2000,nop,nop,sack 2 {3001:4001}{5001:6001}], length 12"},
		{"pure ack has no seq", tcpFrame(wire.TCPFields{Seq: 7, Ack: 1, Flags: wire.TCPFlagACK, Window: 502}, ""), "10.0.0.1.0 > 10.0.0.2.0: Flags [.], ack 1, win 502, length 0"},
		{"rst", tcpFrame(wire.TCPFields{SrcPort: 1, DstPort: 2, Seq: 5, Flags: wire.TCPFlagRST}, ""), "10.0.0.1.1 > 10.0.0.2.2: Flags [R], seq 5, win 0, length 0"},
		{"fin with data and urg", tcpFrame(wire.TCPFields{Seq: 4294967295, Ack: 9, Flags: wire.TCPFlagFIN | wire.TCPFlagACK | wire.TCPFlagURG, Urgent: 3}, "ab"),
			"10.0.0.1.0 > 10.0.0.2.0: Flags [F.U], seq 4294967295:1, ack 9, win 0, urg 3, length 2"},
		{"no flags", tcpFrame(wire.TCPFields{}, ""), "10.0.0.1.0 > 10.0.0.2.0: Flags [none], win 0, length 0"},
		{"bad option", badOpt, "10.0.0.1.0 > 10.0.0.2.0: Flags [S], seq 0, win 0, options [mss 1460,nop,bad opt], length 0"},
		{"arp request", arpFrame(), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"},
		{"arp reply", arpReply, "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02"},
		{"arp other op", arpOdd, "ARP, op9 sender 10.0.0.1 02:00:00:00:00:01 target 10.0.0.2 00:00:00:00:00:00"},
		{"icmp echo", icmpFrame(), "10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64"},
		{"icmp echo reply", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPEchoReply, Rest: 7<<16 | 9}, nil)),
			"10.0.0.1 > 10.0.0.2: ICMP echo reply, id 7, seq 9, length 8"},
		{"icmp port unreachable", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPPortUnreachable}, quote)),
			"10.0.0.1 > 10.0.0.2: ICMP port unreachable, length 36"},
		{"icmp frag needed", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPFragNeeded, Rest: 1400}, quote)),
			"10.0.0.1 > 10.0.0.2: ICMP unreachable - need to frag (mtu 1400), length 36"},
		{"icmp reassembly time exceeded", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPTimeExceeded, Code: wire.ICMPFragReassemblyExceeded}, quote)),
			"10.0.0.1 > 10.0.0.2: ICMP ip reassembly time exceeded, length 36"},
		{"icmp ttl exceeded", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPTimeExceeded}, quote)),
			"10.0.0.1 > 10.0.0.2: ICMP time exceeded in-transit, length 36"},
		{"icmp other", ipFrame(wire.IPv4Fields{Protocol: wire.ProtoICMP}, icmpMsg(wire.ICMPv4Fields{Type: 13, Code: 2}, nil)),
			"10.0.0.1 > 10.0.0.2: ICMP type 13 code 2, length 8"},
		{"udp", udpFrame(), "10.0.0.1.5353 > 10.0.0.2.53: UDP, length 5"},
		{"first fragment", frag, "10.0.0.1 > 10.0.0.2: UDP fragment, id 77, offset 0, length 13, MF"},
		{"last fragment", lastFrag, "10.0.0.1 > 10.0.0.2: UDP fragment, id 77, offset 1480, length 4"},
		{"other protocol", ipFrame(wire.IPv4Fields{Protocol: 47}, []byte("gre!")), "10.0.0.1 > 10.0.0.2: ip-proto-47, length 4"},
		{"ipv6", append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd}, make([]byte, 40)...), "IPv6, length 40"},
		{"unknown ethertype", append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xcc}, make([]byte, 46)...), "ethertype 0x88cc, length 46"},
		{"empty", nil, "malformed: ethernet: truncated"},
		{"garbage", []byte("garbage"), "malformed: ethernet: truncated"},
		{"ipv4 bad version", badVersion, "malformed: ipv4: invalid header field"},
		{"ipv4 truncated", synFrame()[:40], "malformed: ipv4: truncated"},
		{"arp unsupported", arpIPv6, "malformed: arp: unsupported"},
		{"tcp bad checksum", badTCP, "10.0.0.1 > 10.0.0.2: malformed: tcp: bad checksum"},
		{"udp bad checksum", badUDP, "10.0.0.1 > 10.0.0.2: malformed: udp: bad checksum"},
		{"icmp bad checksum", badICMP, "10.0.0.1 > 10.0.0.2: malformed: icmp: bad checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire.Summary(tc.frame); got != tc.want {
				t.Errorf("Summary(%x) =\n%q, want\n%q", tc.frame, got, tc.want)
			}
		})
	}
}

// fixTCP recomputes the TCP checksum of a frame built by tcpFrame after a
// test edited its header.
func fixTCP(frame []byte) []byte {
	seg := frame[l4Off:]
	seg[16], seg[17] = 0, 0
	x := wire.Checksum(seg, wire.PseudoHeaderSum(ipA, ipB, wire.ProtoTCP, uint16(len(seg))))
	seg[16], seg[17] = byte(x>>8), byte(x)
	return frame
}

// TestSummaryTruncated cuts every fixture at every length: Summary must not
// panic, and a frame cut inside its IP packet is malformed.
func TestSummaryTruncated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		end   int // where the meaningful bytes end
	}{
		{"syn", synFrame(), 74}, {"data", dataFrame(), 98}, {"arp", arpFrame(), 42}, {"icmp", icmpFrame(), 98}, {"udp", udpFrame(), 47},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := range len(tc.frame) {
				got := wire.Summary(tc.frame[:n])
				if n < tc.end && !strings.HasPrefix(got, "malformed: ") {
					t.Errorf("Summary(%d of %d bytes) = %q, want malformed", n, len(tc.frame), got)
				}
			}
		})
	}
}
