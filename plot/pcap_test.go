package plot

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/netlab/netlab/stack/wire"
	"github.com/netlab/netlab/trace"
)

// pkt is one TCP segment of a made-up capture.
type pkt struct {
	us       int64
	fromA    bool // from pa to pb, else back
	flags    wire.TCPFlags
	seq, ack uint32
	n        int
}

var (
	pa = netip.MustParseAddrPort("10.0.0.1:40000")
	pb = netip.MustParseAddrPort("10.0.0.2:80")
)

// capture writes pkts as a pcapng capture of Ethernet frames.
func capture(t testing.TB, pkts []pkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		src, dst := pa, pb
		if !p.fromA {
			src, dst = pb, pa
		}
		f := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: p.seq, Ack: p.ack, Flags: p.flags, Window: 1000}
		if p.flags.Has(wire.TCPFlagSYN) {
			f.Options = wire.TCPOptions{HasMSS: true, MSS: 1460, HasWindowScale: true, WindowScale: 2}
		}
		tl := f.HeaderLen() + p.n
		frame := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+tl)
		wire.EncodeEthernet(frame, &wire.EthernetFields{Type: wire.EtherTypeIPv4})
		ip := frame[wire.EthernetHeaderLen:]
		wire.EncodeIPv4(ip, &wire.IPv4Fields{TotalLength: uint16(wire.IPv4MinHeaderLen + tl), TTL: 64, Protocol: wire.ProtoTCP, Src: src.Addr(), Dst: dst.Addr()})
		wire.EncodeTCP(ip[wire.IPv4MinHeaderLen:], &f, src.Addr(), dst.Addr())
		ci := gopacket.CaptureInfo{Timestamp: time.UnixMicro(1e12 + p.us), CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// session is a connection from pa to pb with ISN isn: handshake, two data
// segments of 100 bytes, the close.
func session(t0 int64, isn uint32) []pkt {
	const peer = 5000
	S, SA, A, PA, FA := wire.TCPFlagSYN, wire.TCPFlagSYN|wire.TCPFlagACK, wire.TCPFlagACK, wire.TCPFlagPSH|wire.TCPFlagACK, wire.TCPFlagFIN|wire.TCPFlagACK
	return []pkt{
		{t0, true, S, isn, 0, 0},
		{t0 + 10, false, SA, peer, isn + 1, 0},
		{t0 + 20, true, A, isn + 1, peer + 1, 0},
		{t0 + 30, true, PA, isn + 1, peer + 1, 100},
		{t0 + 40, true, PA, isn + 101, peer + 1, 100},
		{t0 + 50, false, A, peer + 1, isn + 201, 0},
		{t0 + 60, true, FA, isn + 201, peer + 1, 0},
		{t0 + 70, false, FA, peer + 1, isn + 202, 0},
		{t0 + 80, true, A, isn + 202, peer + 2, 0},
	}
}

// TestFromPcapReusedTuple: a capture of two connections on one 4-tuple, the
// second with the same ISN (a seeded rerun): two connections, neither with
// retransmissions, each with its own bytes.
func TestFromPcapReusedTuple(t *testing.T) {
	for _, isn2 := range []uint32{7, 9_000_000} {
		pk := append(session(0, 7), session(1_000_000, isn2)...)
		evs, err := FromPcap(bytes.NewReader(capture(t, pk)), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(pk) {
			t.Fatalf("FromPcap = %d events, want %d", len(evs), len(pk))
		}
		conns := trace.Conns(evs)
		if len(conns) != 2 {
			t.Fatalf("isn %d: trace.Conns = %d connections, want 2:\n%s", isn2, len(conns), dumpConns(conns))
		}
		for i, want := range []uint32{7, isn2} {
			c := conns[i]
			if c.Local != pa || c.Remote != pb || c.ISN != want || !c.SYN || c.BytesSent != 200 || c.Retransmits != 0 || c.Events != len(pk)/2 {
				t.Errorf("isn %d: connection #%d = %s, %d bytes sent, %d retransmits, %d events; want isn %d, 200 bytes, none, %d",
					isn2, i, c.Label(), c.BytesSent, c.Retransmits, c.Events, want, len(pk)/2)
			}
		}
		g := Goodput(evs, conns[1], DirSent, 0)
		if g.Bytes != 200 {
			t.Errorf("isn %d: goodput of the second connection counts %d bytes, want 200", isn2, g.Bytes)
		}
	}
	// A retransmitted SYN is not a new connection.
	pk := session(0, 7)
	pk = append(pk[:1], append([]pkt{{5, true, wire.TCPFlagSYN, 7, 0, 0}}, pk[1:]...)...)
	evs, err := FromPcap(bytes.NewReader(capture(t, pk)), "")
	if err != nil {
		t.Fatal(err)
	}
	if conns := trace.Conns(evs); len(conns) != 1 {
		t.Errorf("SYN retransmitted: %d connections, want 1", len(conns))
	}
}

// FuzzFromPcap: no capture makes FromPcap panic, and what it returns splits
// into connections that hold every event.
func FuzzFromPcap(f *testing.F) {
	f.Add(capture(f, append(session(0, 7), session(1000, 7)...)))
	f.Add(capture(f, session(0, 1<<32-50)))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := FromPcap(bytes.NewReader(b), "")
		if err != nil {
			return
		}
		n := 0
		for _, c := range trace.Conns(evs) {
			n += c.Events
		}
		if n != len(evs) {
			t.Fatalf("the connections hold %d of the %d events", n, len(evs))
		}
	})
}
