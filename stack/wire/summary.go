package wire

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Summary describes a whole Ethernet frame in one line, the way tcpdump -n
// does, for test failure messages and traces. For example:
//
//	10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 100, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//	ARP, Request who-has 10.0.0.2 tell 10.0.0.1
//	10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64
//	10.0.0.1.5353 > 10.0.0.2.53: UDP, length 5
//
// As in tcpdump, TCP shows seq only for segments with data, SYN, FIN or RST,
// and "length" is the TCP or UDP data length, or the whole ICMP message
// length. Fragments show their IP fields only. A frame that does not parse
// gives "malformed: <layer>: <reason>", prefixed with the addresses when the
// IPv4 header parsed but the transport did not. Summary never panics.
func Summary(frame []byte) string {
	eth, payload, err := ParseEthernet(frame)
	if err != nil {
		return malformed("ethernet", err)
	}
	switch eth.Type {
	case EtherTypeARP:
		return summaryARP(payload)
	case EtherTypeIPv4:
		return summaryIPv4(payload)
	case EtherTypeIPv6:
		return "IPv6, length " + strconv.Itoa(len(payload))
	}
	return "ethertype " + eth.Type.String() + ", length " + strconv.Itoa(len(payload))
}

// malformed formats a parse failure of one layer.
func malformed(layer string, err error) string {
	return "malformed: " + layer + ": " + strings.TrimPrefix(err.Error(), "wire: ")
}

func summaryARP(b []byte) string {
	a, err := ParseARP(b)
	if err != nil {
		return malformed("arp", err)
	}
	switch a.Op {
	case ARPRequest:
		return "ARP, Request who-has " + a.TargetIP.String() + " tell " + a.SenderIP.String()
	case ARPReply:
		return "ARP, Reply " + a.SenderIP.String() + " is-at " + a.SenderMAC.String()
	}
	return "ARP, " + a.Op.String() + " sender " + a.SenderIP.String() + " " + a.SenderMAC.String() +
		" target " + a.TargetIP.String() + " " + a.TargetMAC.String()
}

// protoName names an IP protocol as tcpdump does.
func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoICMP:
		return "ICMP"
	}
	return "ip-proto-" + strconv.Itoa(int(p))
}

func summaryIPv4(b []byte) string {
	ip, payload, err := ParseIPv4(b)
	if err != nil {
		return malformed("ipv4", err)
	}
	var s strings.Builder
	src, dst := ip.Src.String(), ip.Dst.String()
	if ip.IsFragment() {
		// A fragment's transport header is incomplete (or absent): show the
		// RFC 791 §3.2 fields instead.
		s.WriteString(src + " > " + dst + ": " + protoName(ip.Protocol) + " fragment, id ")
		s.WriteString(strconv.Itoa(int(ip.ID)) + ", offset " + strconv.Itoa(int(ip.FragmentOffset)))
		s.WriteString(", length " + strconv.Itoa(len(payload)))
		if ip.Flags&IPv4FlagMF != 0 {
			s.WriteString(", MF")
		}
		return s.String()
	}
	switch ip.Protocol {
	case ProtoTCP:
		t, data, err := ParseTCP(payload, ip.Src, ip.Dst)
		if err != nil {
			return src + " > " + dst + ": " + malformed("tcp", err)
		}
		s.WriteString(src + "." + strconv.Itoa(int(t.SrcPort)) + " > " + dst + "." + strconv.Itoa(int(t.DstPort)))
		s.WriteString(": Flags [" + t.Flags.String() + "]")
		if len(data) > 0 || t.Flags&(TCPFlagSYN|TCPFlagFIN|TCPFlagRST) != 0 {
			s.WriteString(", seq " + strconv.FormatUint(uint64(t.Seq), 10))
			if len(data) > 0 {
				s.WriteString(":" + strconv.FormatUint(uint64(t.Seq+uint32(len(data))), 10))
			}
		}
		if t.Flags.Has(TCPFlagACK) {
			s.WriteString(", ack " + strconv.FormatUint(uint64(t.Ack), 10))
		}
		s.WriteString(", win " + strconv.Itoa(int(t.Window)))
		if t.Flags.Has(TCPFlagURG) {
			s.WriteString(", urg " + strconv.Itoa(int(t.Urgent)))
		}
		if opts := TCP(payload).Options(); len(opts) > 0 {
			s.WriteString(", options [")
			writeTCPOptions(&s, opts)
			s.WriteString("]")
		}
		s.WriteString(", length " + strconv.Itoa(len(data)))
	case ProtoUDP:
		u, data, err := ParseUDP(payload, ip.Src, ip.Dst)
		if err != nil {
			return src + " > " + dst + ": " + malformed("udp", err)
		}
		s.WriteString(src + "." + strconv.Itoa(int(u.SrcPort)) + " > " + dst + "." + strconv.Itoa(int(u.DstPort)))
		s.WriteString(": UDP, length " + strconv.Itoa(len(data)))
	case ProtoICMP:
		c, _, err := ParseICMPv4(payload)
		if err != nil {
			return src + " > " + dst + ": " + malformed("icmp", err)
		}
		s.WriteString(src + " > " + dst + ": ICMP " + icmpText(&c))
		s.WriteString(", length " + strconv.Itoa(len(payload)))
	default:
		s.WriteString(src + " > " + dst + ": " + protoName(ip.Protocol) + ", length " + strconv.Itoa(len(payload)))
	}
	return s.String()
}

// icmpText describes an ICMP message's type and code as tcpdump does.
func icmpText(c *ICMPv4Fields) string {
	echo := func(name string) string {
		return name + ", id " + strconv.Itoa(int(c.ID())) + ", seq " + strconv.Itoa(int(c.Seq()))
	}
	switch c.Type {
	case ICMPEchoRequest:
		return echo("echo request")
	case ICMPEchoReply:
		return echo("echo reply")
	case ICMPDestUnreachable:
		switch c.Code {
		case ICMPNetUnreachable:
			return "net unreachable"
		case ICMPHostUnreachable:
			return "host unreachable"
		case ICMPProtoUnreachable:
			return "protocol unreachable"
		case ICMPPortUnreachable:
			return "port unreachable"
		case ICMPFragNeeded:
			return "unreachable - need to frag (mtu " + strconv.Itoa(int(c.NextHopMTU())) + ")"
		}
		return "unreachable code " + strconv.Itoa(int(c.Code))
	case ICMPTimeExceeded:
		switch c.Code {
		case ICMPTTLExceeded:
			return "time exceeded in-transit"
		case ICMPFragReassemblyExceeded:
			return "ip reassembly time exceeded"
		}
		return "time exceeded code " + strconv.Itoa(int(c.Code))
	}
	return "type " + strconv.Itoa(int(c.Type)) + " code " + strconv.Itoa(int(c.Code))
}

// writeTCPOptions lists raw TCP options in wire order, as tcpdump does
// ("mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"). Options with a bad
// length show as "bad opt" and end the list.
func writeTCPOptions(s *strings.Builder, b []byte) {
	for i := 0; i < len(b); {
		if i > 0 {
			s.WriteByte(',')
		}
		kind := b[i]
		switch kind {
		case TCPOptionEOL:
			s.WriteString("eol")
			return
		case TCPOptionNOP:
			s.WriteString("nop")
			i++
			continue
		}
		if i+1 >= len(b) {
			s.WriteString("bad opt")
			return
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			s.WriteString("bad opt")
			return
		}
		data := b[i+2 : i+l]
		switch {
		case kind == TCPOptionMSS && l == 4:
			s.WriteString("mss " + strconv.Itoa(int(binary.BigEndian.Uint16(data))))
		case kind == TCPOptionWindowScale && l == 3:
			s.WriteString("wscale " + strconv.Itoa(int(data[0])))
		case kind == TCPOptionSACKPermitted && l == 2:
			s.WriteString("sackOK")
		case kind == TCPOptionSACK && (l-2)%8 == 0:
			s.WriteString("sack " + strconv.Itoa((l-2)/8) + " ")
			for j := 0; j+8 <= len(data); j += 8 {
				s.WriteString("{" + strconv.FormatUint(uint64(binary.BigEndian.Uint32(data[j:])), 10) + ":" +
					strconv.FormatUint(uint64(binary.BigEndian.Uint32(data[j+4:])), 10) + "}")
			}
		case kind == TCPOptionTimestamps && l == 10:
			s.WriteString("TS val " + strconv.FormatUint(uint64(binary.BigEndian.Uint32(data)), 10) +
				" ecr " + strconv.FormatUint(uint64(binary.BigEndian.Uint32(data[4:])), 10))
		default:
			s.WriteString("opt-" + strconv.Itoa(int(kind)) + ":" + strconv.Itoa(l))
		}
		i += l
	}
}
