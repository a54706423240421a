package stack

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

var updateCorpus = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzStackFrame from the seeds built in fuzz_test.go")

// fuzzFixture is the stack FuzzStackFrame feeds: a listener on port 80 and
// one established connection to the raw peer with 20000 bytes written, so
// that data is in flight, the peer's ACKs move the send side and SACK
// blocks reach the scoreboard. Every part is deterministic (fixed seed,
// virtual clock), so the seeds below can name its sequence numbers.
type fuzzFixture struct {
	p        *rawPeer
	cfd, lfd int
	first    tcpSeg // the first data segment the stack sent
}

const fuzzReasmMemory = 64 << 10

func newFuzzFixture(t testing.TB) *fuzzFixture {
	t.Helper()
	p := newRawPeer(t, Options{ReassemblyMemory: fuzzReasmMemory, Probe: func(ProbeEvent) {}})
	x := &fuzzFixture{p: p}
	x.lfd = p.listen(t, 80, 4)
	x.cfd, _ = p.connect(t, fullOpts(5000))
	p.s.SetOption(x.cfd, OptNoDelay, true)
	if w, err := p.s.Write(x.cfd, make([]byte, 20000)); w != 20000 || err != nil {
		t.Fatalf("Write = %d, %v", w, err)
	}
	x.first = p.expectTCP(t)
	p.drain()
	return x
}

// seeds returns frames that reach deep into the stack for this fixture.
func (x *fuzzFixture) seeds() map[string][]byte {
	p := x.p
	ts := func(v uint32) wire.TCPOptions { return wire.TCPOptions{HasTimestamps: true, TSVal: v} }
	seg := func(f wire.TCPFields, payload []byte) []byte {
		if f.Window == 0 {
			f.Window = 512
		}
		return p.ipFrame(wire.ProtoTCP, p.tcpBytes(f, payload))
	}
	m := map[string][]byte{}

	m["syn-to-listener"] = seg(wire.TCPFields{SrcPort: 50000, DstPort: 80, Seq: 77, Flags: flagS, Window: 65535,
		Options: *fullOpts(9)}, nil)

	sack := ts(6000)
	mss := uint32(1448)
	sack.NumSACKBlocks = 3
	sack.SACKBlocks[0] = wire.SACKBlock{Start: p.ack + 5*mss, End: p.ack + 7*mss}
	sack.SACKBlocks[1] = wire.SACKBlock{Start: p.ack + 2*mss, End: p.ack + 3*mss}
	sack.SACKBlocks[2] = wire.SACKBlock{Start: p.ack + 8*mss, End: p.ack + 9*mss}
	m["ack-with-sack"] = seg(wire.TCPFields{Seq: p.seq, Ack: p.ack + mss, Flags: flagA, Options: sack}, nil)

	m["data-and-fin"] = seg(wire.TCPFields{Seq: p.seq, Ack: p.ack, Flags: flagFA | flagP, Options: ts(6001)}, []byte("bye"))
	m["out-of-order-data"] = seg(wire.TCPFields{Seq: p.seq + 3000, Ack: p.ack, Flags: flagPA, Options: ts(6002)}, []byte("later"))
	m["rst-in-window"] = seg(wire.TCPFields{Seq: p.seq + 10, Flags: flagR}, nil)

	q := x.first.Packet[:ipHdr+8]
	icmp := make([]byte, wire.ICMPHeaderLen+len(q))
	copy(icmp[wire.ICMPHeaderLen:], q)
	wire.EncodeICMPv4(icmp, &wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPFragNeeded, Rest: 576})
	m["icmp-error-quoting-segment"] = p.ipFrame(wire.ProtoICMP, icmp)

	other := *p
	other.ip, other.mac = netip.MustParseAddr("10.0.0.9"), wire.MAC{2, 0, 0, 0, 0, 9}
	m["arp-request"] = other.arpFrame(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, p.sip)

	udp := make([]byte, 24)
	wire.EncodeUDP(udp, &wire.UDPFields{SrcPort: 9, DstPort: 9}, p.ip, p.sip)
	frag := p.ipFrame(wire.ProtoUDP, udp)
	h, _, _ := wire.ParseIPv4(frag[wire.EthernetHeaderLen:])
	h.Flags = wire.IPv4FlagMF
	wire.EncodeIPv4(frag[wire.EthernetHeaderLen:], &h)
	m["udp-first-fragment"] = frag

	echo := make([]byte, wire.ICMPHeaderLen+8)
	wire.EncodeICMPv4(echo, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 1<<16 | 1})
	m["echo-request"] = p.ipFrame(wire.ProtoICMP, echo)
	return m
}

// checkEmitted takes what the stack sent and checks that every frame is well
// formed at every layer, checksums included.
func checkEmitted(t *testing.T, x *fuzzFixture) {
	t.Helper()
	for _, f := range x.p.ep.Take() {
		eth, b, err := wire.ParseEthernet(f)
		if err != nil {
			t.Fatalf("the stack sent a bad frame: %v", err)
		}
		switch eth.Type {
		case wire.EtherTypeARP:
			if _, err := wire.ParseARP(b); err != nil {
				t.Fatalf("the stack sent a bad ARP packet: %v", err)
			}
		case wire.EtherTypeIPv4:
			ip, b, err := wire.ParseIPv4(b)
			if err != nil {
				t.Fatalf("the stack sent a bad IPv4 packet: %v", err)
			}
			if ip.IsFragment() {
				continue
			}
			switch ip.Protocol {
			case wire.ProtoTCP:
				_, _, err = wire.ParseTCP(b, ip.Src, ip.Dst)
			case wire.ProtoUDP:
				_, _, err = wire.ParseUDP(b, ip.Src, ip.Dst)
			case wire.ProtoICMP:
				_, _, err = wire.ParseICMPv4(b)
			default:
				err = fmt.Errorf("protocol %d", ip.Protocol)
			}
			if err != nil {
				t.Fatalf("the stack sent a bad transport header: %v (%s)", err, wire.Summary(f))
			}
		default:
			t.Fatalf("the stack sent EtherType %v", eth.Type)
		}
	}
}

// FuzzStackFrame feeds one arbitrary frame to a stack with a listener and a
// busy connection, lets 31 s of timers run, and checks that nothing panics,
// that what the stack sends is well formed, and that its state stays
// bounded.
func FuzzStackFrame(f *testing.F) {
	x := newFuzzFixture(f)
	for _, s := range x.seeds() {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		x := newFuzzFixture(t)
		s := x.p.s
		x.p.ep.Inject(frame)
		checkEmitted(t, x)
		x.p.clk.Advance(31 * time.Second)
		checkEmitted(t, x)
		s.mu.Lock()
		defer s.mu.Unlock()
		if n := len(s.arp); n > 3 {
			t.Fatalf("%d ARP entries after one frame", n)
		}
		if n := s.reasm.Bytes(); n > fuzzReasmMemory {
			t.Fatalf("reassembly holds %d bytes, over its %d limit", n, fuzzReasmMemory)
		}
		if n := len(s.tcpConn); n > 2 {
			t.Fatalf("%d TCP connections after one frame", n)
		}
		if n := len(s.fds); n != 2 {
			t.Fatalf("%d descriptors, want the fixture's 2", n)
		}
		for _, c := range s.tcpConn {
			if len(c.ooo) > 1 || len(c.sacked.blocks) > wire.TCPMaxSACKBlocks || c.rcvBuf.n > c.rcvBuf.cap() {
				t.Fatalf("connection state grew: %d out-of-order blocks, %d SACK blocks, %d of %d buffered",
					len(c.ooo), len(c.sacked.blocks), c.rcvBuf.n, c.rcvBuf.cap())
			}
		}
	})
}

// TestStackFrameCorpusMatchesSeeds keeps testdata/fuzz/FuzzStackFrame in
// step with the seeds built above: they name sequence numbers of the
// fixture, so a change to the stack's ISS or to the fixture makes stale
// files. `go test -run StackFrameCorpus -update` rewrites them.
func TestStackFrameCorpusMatchesSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzStackFrame")
	seeds := newFuzzFixture(t).seeds()
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range seeds {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("seed %s not committed (run with -update): %v", name, err)
		}
		lines := strings.SplitN(string(raw), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a go test fuzz v1 file", name)
		}
		got, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil || got != string(b) {
			t.Fatalf("%s: committed seed differs from the one the fixture builds (run with -update)", name)
		}
	}
}

// TestStackFrameSeedsReachTheirTarget checks that each seed gets where its
// name says, so that fuzzing starts from deep inside the stack rather than
// from frames dropped at the first checksum.
func TestStackFrameSeedsReachTheirTarget(t *testing.T) {
	want := map[string]string{
		"syn-to-listener":            "TcpOutSegs",
		"ack-with-sack":              "TcpInSegs",
		"data-and-fin":               "TcpInSegs",
		"out-of-order-data":          "TcpExtTCPOFOQueue",
		"rst-in-window":              "TcpExtTCPChallengeACK",
		"icmp-error-quoting-segment": "IcmpInDestUnreachs",
		"arp-request":                "ArpOutReplies",
		"udp-first-fragment":         "IpReasmReqds",
		"echo-request":               "IcmpOutEchoReps",
	}
	names := newFuzzFixture(t).seeds()
	if len(names) != len(want) {
		t.Fatalf("%d seeds, want %d", len(names), len(want))
	}
	for name, counter := range want {
		t.Run(name, func(t *testing.T) {
			x := newFuzzFixture(t)
			before := x.p.s.Stats().Map()
			x.p.ep.Inject(x.seeds()[name])
			after := x.p.s.Stats().Map()
			if after[counter] != before[counter]+1 {
				t.Fatalf("%s: %s %d -> %d, want +1", name, counter, before[counter], after[counter])
			}
			for _, bad := range []string{"TcpInErrs", "IpInHdrErrors", "IcmpInErrors", "UdpInErrors", "ArpInErrors", "TcpExtOutOfWindowIcmps"} {
				if after[bad] != before[bad] {
					t.Fatalf("%s: counted in %s", name, bad)
				}
			}
			x.p.s.mu.Lock()
			defer x.p.s.mu.Unlock()
			for _, c := range x.p.s.tcpConn {
				if name == "ack-with-sack" && c.state == StateEstablished && len(c.sacked.blocks) != 3 {
					t.Fatalf("scoreboard %v after the SACK seed, want 3 blocks", c.sacked.blocks)
				}
				if name == "data-and-fin" && c.id.remote.Port() == 40000 && c.state != StateCloseWait {
					t.Fatalf("after the FIN seed the connection is %v, want CLOSE-WAIT", c.state)
				}
			}
		})
	}
}
