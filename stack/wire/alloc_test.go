package wire_test

import (
	"testing"

	"github.com/netlab/netlab/stack/wire"
)

// TestZeroAllocs checks that the Parse and Encode paths never allocate.
func TestZeroAllocs(t *testing.T) {
	syn, data, arp, icmp, udp := synFrame(), dataFrame(), arpFrame(), icmpFrame(), udpFrame()
	synF, dataF := synTCP(), dataTCP()
	ipF := synIP()
	arpF := arpFields()
	icmpF := wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 1<<16 | 1}
	udpF := wire.UDPFields{SrcPort: 5353, DstPort: 53}
	ethF := wire.EthernetFields{Dst: macB, Src: macA, Type: wire.EtherTypeIPv4}
	out := make([]byte, 200)
	var sink error
	tests := []struct {
		name string
		f    func()
	}{
		{"ParseTCP", func() { _, _, sink = wire.ParseTCP(syn[l4Off:], ipA, ipB) }},
		{"ParseTCP sack", func() { _, _, sink = wire.ParseTCP(data[l4Off:], ipB, ipA) }},
		{"EncodeTCP", func() { wire.EncodeTCP(out[:synF.HeaderLen()], &synF, ipA, ipB) }},
		{"EncodeTCP sack", func() { wire.EncodeTCP(out[:dataF.HeaderLen()+12], &dataF, ipB, ipA) }},
		{"ParseTCP error", func() { _, _, sink = wire.ParseTCP(syn[l4Off:l4Off+30], ipA, ipB) }},
		{"ParseEthernet", func() { _, _, sink = wire.ParseEthernet(syn) }},
		{"EncodeEthernet", func() { wire.EncodeEthernet(out, &ethF) }},
		{"ParseARP", func() { _, sink = wire.ParseARP(arp[ipOff:]) }},
		{"EncodeARP", func() { wire.EncodeARP(out, &arpF) }},
		{"ParseIPv4", func() { _, _, sink = wire.ParseIPv4(syn[ipOff:]) }},
		{"EncodeIPv4", func() { wire.EncodeIPv4(out, &ipF) }},
		{"IPv4.DecrementTTL", func() { wire.IPv4(syn[ipOff:]).DecrementTTL() }},
		{"ParseICMPv4", func() { _, _, sink = wire.ParseICMPv4(icmp[l4Off:]) }},
		{"EncodeICMPv4", func() { wire.EncodeICMPv4(out[:64], &icmpF) }},
		{"ParseUDP", func() { _, _, sink = wire.ParseUDP(udp[l4Off:], ipA, ipB) }},
		{"EncodeUDP", func() { wire.EncodeUDP(out[:13], &udpF, ipA, ipB) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Errorf("%s allocates %v times per run, want 0", tc.name, n)
			}
		})
	}
	_ = sink
}

func BenchmarkParseTCP(b *testing.B) {
	seg := dataFrame()[l4Off:]
	for b.Loop() {
		if _, _, err := wire.ParseTCP(seg, ipB, ipA); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeTCP(b *testing.B) {
	f := dataTCP()
	buf := make([]byte, f.HeaderLen()+1448)
	for b.Loop() {
		wire.EncodeTCP(buf, &f, ipB, ipA)
	}
}
