package wire_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

var update = flag.Bool("update", false, "rewrite the seed corpora in testdata/fuzz from the seeds in fuzz_test.go")

// seed is one named fuzz seed.
type seed struct {
	name string
	b    []byte
}

// fuzzSeeds returns the seeds of each fuzz target. They are added with f.Add
// and also kept as files in testdata/fuzz/<target>/ (go test -update
// rewrites them), so `go test` runs them even without -fuzz.
func fuzzSeeds() map[string][]seed {
	frames := []seed{
		{"syn", synFrame()}, {"data", dataFrame()}, {"arp", arpFrame()}, {"icmp", icmpFrame()}, {"udp", udpFrame()},
	}
	ipOpts := []byte{
		0x46, 0x00, 0x00, 0x1c, 0x00, 0x07, 0x00, 0x00, 0x40, 0xfd, 0x00, 0x00,
		0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x00, 'd', 'a', 't', 'a',
	}
	fixIPv4Checksum(ipOpts)
	frag := ipFrame(wire.IPv4Fields{Protocol: wire.ProtoUDP, ID: 77, Flags: wire.IPv4FlagMF, FragmentOffset: 1480}, udpDatagram())
	unreach := icmpMsg(wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPFragNeeded, Rest: 1400}, synFrame()[ipOff:l4Off+8])
	noXsum := udpDatagram()
	noXsum[6], noXsum[7] = 0, 0
	badOpts := synFrame()[l4Off:]
	copy(badOpts[20:], []byte{0x05, 0x0b, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0x03, 0x01, 0xff, 0x08, 0x0a})
	return map[string][]seed{
		"FuzzParseEthernet": frames,
		"FuzzParseARP":      {{"request", arpFrame()[ipOff:]}, {"short", arpFrame()[ipOff : ipOff+27]}},
		"FuzzParseIPv4": {
			{"syn", synFrame()[ipOff:]}, {"icmp", icmpFrame()[ipOff:]}, {"udp-padded", udpFrame()[ipOff:]},
			{"options", ipOpts}, {"fragment", frag[ipOff:]},
		},
		"FuzzParseICMPv4": {{"echo", icmpFrame()[l4Off:]}, {"frag-needed", unreach}},
		"FuzzParseUDP":    {{"hello", udpDatagram()}, {"no-checksum", noXsum}, {"padded", udpFrame()[l4Off:]}},
		"FuzzParseTCP":    {{"syn", synFrame()[l4Off:]}, {"data-sack", dataFrame()[l4Off:]}, {"bad-options", badOpts}},
		"FuzzSummary":     append(frames, seed{"fragment", frag}, seed{"garbage", []byte("garbage")}),
	}
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds()[f.Name()] {
		f.Add(s.b)
	}
}

// TestWriteFuzzSeeds rewrites testdata/fuzz from fuzzSeeds under -update,
// and otherwise checks that the files are there.
func TestWriteFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds() {
		for _, s := range seeds {
			path := filepath.Join("testdata", "fuzz", target, s.name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.b)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("seed file %s is missing or stale (err %v): run go test -run TestWriteFuzzSeeds -update", path, err)
			}
		}
	}
}

// withTCPChecksum returns a copy of b with a valid TCP checksum from A to B,
// so the fuzzer reaches the option parser. Inputs too short are returned as
// they are.
func withTCPChecksum(b []byte) []byte {
	if len(b) < 20 || len(b) > 0xffff {
		return b
	}
	c := bytes.Clone(b)
	c[16], c[17] = 0, 0
	binary.BigEndian.PutUint16(c[16:], wire.Checksum(c, wire.PseudoHeaderSum(ipA, ipB, wire.ProtoTCP, uint16(len(c)))))
	return c
}

// withUDPChecksum does the same for UDP, over the Length the header claims.
func withUDPChecksum(b []byte) []byte {
	if len(b) < 8 {
		return b
	}
	l := int(binary.BigEndian.Uint16(b[4:]))
	if l < 8 || l > len(b) {
		return b
	}
	c := bytes.Clone(b)
	c[6], c[7] = 0, 0
	binary.BigEndian.PutUint16(c[6:], wire.Checksum(c[:l], wire.PseudoHeaderSum(ipA, ipB, wire.ProtoUDP, uint16(l))))
	return c
}

// withIPv4Checksum fixes the header checksum of an IPv4 header whose IHL
// fits in b.
func withIPv4Checksum(b []byte) []byte {
	if len(b) < 20 {
		return b
	}
	hl := int(b[0]&0xf) * 4
	if hl < 20 || hl > len(b) {
		return b
	}
	c := bytes.Clone(b)
	c[10], c[11] = 0, 0
	binary.BigEndian.PutUint16(c[10:], wire.Checksum(c[:hl], 0))
	return c
}

// withICMPChecksum fixes an ICMP message's checksum.
func withICMPChecksum(b []byte) []byte {
	if len(b) < 8 {
		return b
	}
	c := bytes.Clone(b)
	c[2], c[3] = 0, 0
	binary.BigEndian.PutUint16(c[2:], wire.Checksum(c, 0))
	return c
}

func FuzzParseEthernet(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, payload, err := wire.ParseEthernet(b)
		if err != nil {
			return
		}
		out := make([]byte, wire.EthernetHeaderLen)
		wire.EncodeEthernet(out, &e)
		if !bytes.Equal(out, b[:14]) || !bytes.Equal(payload, b[14:]) {
			t.Errorf("EncodeEthernet(ParseEthernet(%x)) = %x, want %x", b, out, b[:14])
		}
	})
}

func FuzzParseARP(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := wire.ParseARP(b)
		if err != nil {
			return
		}
		out := make([]byte, wire.ARPLen)
		wire.EncodeARP(out, &a)
		if !bytes.Equal(out, b[:wire.ARPLen]) {
			t.Errorf("EncodeARP(ParseARP(%x)) = %x, want %x", b, out, b[:wire.ARPLen])
		}
		a2, err := wire.ParseARP(out)
		if err != nil || a2 != a {
			t.Errorf("ParseARP(EncodeARP(%+v)) = %+v, %v, want the same", a, a2, err)
		}
		_ = a.Op.String()
	})
}

func FuzzParseIPv4(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withIPv4Checksum(b)} {
			ip, payload, err := wire.ParseIPv4(in)
			if err != nil {
				continue
			}
			h := wire.IPv4(in)
			if !bytes.Equal(h.Payload(), payload) || h.HeaderLen() != ip.HeaderLen {
				t.Fatalf("IPv4(%x) view payload %x, want %x", in, h.Payload(), payload)
			}
			// Re-encoding keeps every field (options are dropped, so the
			// header and total lengths and the checksum are recomputed).
			want := ip
			want.TotalLength = uint16(20 + len(payload))
			out := make([]byte, 20+len(payload))
			copy(out[20:], payload)
			wire.EncodeIPv4(out, &want)
			got, payload2, err := wire.ParseIPv4(out)
			if err != nil {
				t.Fatalf("ParseIPv4(EncodeIPv4(%+v)) = %v", want, err)
			}
			if diff := cmp.Diff(want, got, addrEqual()); diff != "" || !bytes.Equal(payload, payload2) {
				t.Fatalf("ParseIPv4(EncodeIPv4(%+v)) mismatch (-want +got):\n%s", want, diff)
			}
			// The router's TTL decrement keeps the header valid.
			wire.IPv4(out).DecrementTTL()
			if _, _, err := wire.ParseIPv4(out); err != nil {
				t.Fatalf("ParseIPv4 after DecrementTTL = %v", err)
			}
		}
	})
}

func FuzzParseICMPv4(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withICMPChecksum(b)} {
			c, body, err := wire.ParseICMPv4(in)
			if err != nil {
				continue
			}
			out := append(make([]byte, 8), body...)
			want := c
			wire.EncodeICMPv4(out, &want)
			got, body2, err := wire.ParseICMPv4(out)
			if err != nil || got.Type != c.Type || got.Code != c.Code || got.Rest != c.Rest || !bytes.Equal(body, body2) {
				t.Fatalf("ParseICMPv4(EncodeICMPv4(%+v)) = %+v, %v, want the same", c, got, err)
			}
		}
	})
}

func FuzzParseUDP(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withUDPChecksum(b)} {
			u, payload, err := wire.ParseUDP(in, ipA, ipB)
			if err != nil {
				continue
			}
			out := append(make([]byte, 8), payload...)
			want := u
			wire.EncodeUDP(out, &want, ipA, ipB)
			got, payload2, err := wire.ParseUDP(out, ipA, ipB)
			if err != nil || got != want || !bytes.Equal(payload, payload2) {
				t.Fatalf("ParseUDP(EncodeUDP(%+v)) = %+v, %v, want %+v", u, got, err, want)
			}
			if got.SrcPort != u.SrcPort || got.DstPort != u.DstPort || got.Length != u.Length {
				t.Fatalf("EncodeUDP(ParseUDP(%x)) = %+v, want the ports and length of %+v", in, got, u)
			}
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withTCPChecksum(b)} {
			tf, payload, err := wire.ParseTCP(in, ipA, ipB)
			if err != nil {
				continue
			}
			v := wire.TCP(in)
			if !bytes.Equal(v.Payload(), payload) || v.DataOffset() != tf.DataOffset || v.Flags() != tf.Flags {
				t.Fatalf("TCP(%x) view disagrees with ParseTCP", in)
			}
			_ = tf.Flags.String()
			// Re-encoding keeps every field; options come back in the
			// canonical layout, with SACK blocks that no longer fit dropped.
			want := tf
			out := make([]byte, want.HeaderLen()+len(payload))
			copy(out[want.HeaderLen():], payload)
			wire.EncodeTCP(out, &want, ipA, ipB)
			got, payload2, err := wire.ParseTCP(out, ipA, ipB)
			if err != nil {
				t.Fatalf("ParseTCP(EncodeTCP(%+v)) = %v", want, err)
			}
			want.Options = canonical(want.Options)
			if diff := cmp.Diff(want, got); diff != "" || !bytes.Equal(payload, payload2) {
				t.Fatalf("ParseTCP(EncodeTCP(%+v)) mismatch (-want +got):\n%s", want, diff)
			}
		}
	})
}

func FuzzSummary(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if wire.Summary(b) == "" {
			t.Fatalf("Summary(%x) is empty", b)
		}
		// Fix the checksums so that garbage reaches the deeper layers too.
		if len(b) < l4Off || b[12] != 0x08 || b[13] != 0x00 {
			return
		}
		c := bytes.Clone(b)
		ip := withIPv4Checksum(c[ipOff:])
		copy(c[ipOff:], ip)
		hdr, _, err := wire.ParseIPv4(c[ipOff:])
		if err != nil {
			return
		}
		seg := c[ipOff+hdr.HeaderLen : ipOff+int(hdr.TotalLength)]
		switch hdr.Protocol {
		case wire.ProtoTCP:
			if len(seg) >= 20 {
				seg[16], seg[17] = 0, 0
				binary.BigEndian.PutUint16(seg[16:], wire.Checksum(seg, wire.PseudoHeaderSum(hdr.Src, hdr.Dst, wire.ProtoTCP, uint16(len(seg)))))
			}
		case wire.ProtoICMP:
			copy(seg, withICMPChecksum(seg))
		}
		if wire.Summary(c) == "" {
			t.Fatalf("Summary(%x) is empty", c)
		}
	})
}
