package trace

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/wire"
)

// drop is a drop event of cli->srv, as FromDroppedFrame makes it.
func drop(us int64, dir, flags string, seq uint32, n int, reason string) Event {
	return Event{TimeUS: us, Kind: KindDrop, Local: cli, Remote: srv, Flags: flags, Seq: seq, Len: n, Reason: reason, Ifname: "eth1", Dir: dir}
}

// passiveOpen is a server's connection (the traced node is cli, the peer
// srv) from time t0, the peer's ISN isn: the handshake and 100 bytes in.
func passiveOpen(t0 int64, isn uint32) []Event {
	return []Event{
		st(t0, "LISTEN", "SYN-RECEIVED"),
		seg(t0, KindIn, "S", isn, 0, "SYN-RECEIVED"),
		seg(t0, KindOut, "S.", 9000, 0, "SYN-RECEIVED"),
		seg(t0+100, KindIn, ".", isn+1, 0, "ESTABLISHED"),
		st(t0+100, "SYN-RECEIVED", "ESTABLISHED"),
		seg(t0+200, KindIn, "P.", isn+1, 100, "ESTABLISHED"),
		seg(t0+200, KindOut, ".", 9001, 0, "ESTABLISHED"),
	}
}

// TestConnsWithDrops: drop events join the connection they are about,
// never begin one, never count as bytes, and change nothing else of what
// Conns finds.
func TestConnsWithDrops(t *testing.T) {
	type inst struct {
		isn         uint32
		first, last int64
		sent, rcvd  int64
		retrans     int
		drops       int
	}
	rto := Event{TimeUS: 1000 + 300, Kind: KindTimer, Local: cli, Remote: srv, Timer: "rto", State: "SYN-SENT"}
	retx := seg(1300, KindOut, "S", 111, 0, "SYN-SENT")
	retx.Retrans = true
	open1 := activeOpen(1000, 111)
	for _, tc := range []struct {
		name string
		evs  []Event
		of   []int // each event's instance, -1 for none
		want []inst
	}{
		{
			name: "client: the first SYN dropped on its way out, then retransmitted",
			evs: []Event{
				open1[0], open1[1], drop(1000, DirEgress, "S", 111, 0, "schedule"), rto, retx,
				seg(1400, KindIn, "S.", 7000, 0, "ESTABLISHED"), st(1400, "SYN-SENT", "ESTABLISHED"),
			},
			of:   []int{0, 0, 0, 0, 0, 0, 0},
			want: []inst{{111, 1000, 1400, 0, 0, 1, 1}},
		},
		{
			name: "server: the first SYN dropped on its way in begins nothing; the connection its retransmission opens takes it",
			evs:  append([]Event{drop(50, DirIngress, "S", 5, 0, "loss")}, passiveOpen(1050, 5)...),
			of:   []int{0, 0, 0, 0, 0, 0, 0, 0},
			want: []inst{{5, 50, 1250, 0, 100, 0, 1}},
		},
		{
			name: "data and ACKs dropped both ways: counted as drops, not as bytes; the stack's events split as without them",
			evs: []Event{
				open1[0], open1[1], open1[2], open1[3], open1[4], open1[5],
				drop(1200, DirEgress, "P.", 112, 1000, "loss"),
				drop(1250, DirIngress, ".", 7001, 0, "queue"),
				// A drop stamped after the stack's next event: that
				// event still joins.
				drop(1350, DirIngress, ".", 7001, 0, "codel"),
				open1[6], open1[7], open1[8], open1[9], open1[10],
			},
			of:   []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			want: []inst{{111, 1000, 1500, 1000, 0, 0, 3}},
		},
		{
			name: "a SYN with a new ISN dropped after the last connection closed belongs to the next",
			evs: concatEvents(open1, []Event{
				{TimeUS: 8000, Kind: KindTimer, Local: cli, Remote: srv, Timer: "timewait", State: "TIME-WAIT"},
				st(8000, "TIME-WAIT", "CLOSED"),
				drop(8500, DirEgress, "S", 222, 0, "outage"),
			}, activeOpen(9000, 222)),
			of: concatOf(len(open1)+2, 0, 1, 1, len(open1), 1),
			// The drop is earlier than the connection's opening: it is its
			// first event.
			want: []inst{{111, 1000, 8000, 1000, 0, 0, 0}, {222, 8500, 9500, 1000, 0, 0, 1}},
		},
		{
			name: "seeded rerun appended: a drop earlier than the connection's last event is the next run's",
			evs:  concatEvents(passiveOpen(1000, 5), []Event{drop(50, DirIngress, "S", 5, 0, "schedule")}, passiveOpen(1050, 5)),
			of:   concatOf(7, 0, 1, 1, 7, 1),
			want: []inst{{5, 1000, 1200, 0, 100, 0, 0}, {5, 50, 1250, 0, 100, 0, 1}},
		},
		{
			name: "drops of a 4-tuple the stack never traced are part of no connection",
			evs: []Event{
				open1[0], open1[1],
				{TimeUS: 1010, Kind: KindDrop, Local: cli, Remote: oth, Flags: "S", Seq: 3, Reason: "loss", Dir: DirIngress},
				open1[2],
			},
			of:   []int{0, 0, -1, 0},
			want: []inst{{111, 1000, 1100, 0, 0, 0, 0}},
		},
		{
			name: "a trace of drops alone has no connection",
			evs:  []Event{drop(10, DirEgress, "S", 1, 0, "loss"), drop(20, DirIngress, "S.", 2, 0, "loss")},
			of:   []int{-1, -1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := Conns(tc.evs)
			var got []inst
			for _, c := range conns {
				got = append(got, inst{c.ISN, c.First.Microseconds(), c.Last.Microseconds(), c.BytesSent, c.BytesReceived, c.Retransmits, c.Drops})
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(inst{})); d != "" {
				t.Fatalf("Conns mismatch (-want +got):\n%s", d)
			}
			for k, c := range conns {
				var want []Event
				for i, e := range tc.evs {
					if tc.of[i] == k {
						want = append(want, e)
					}
				}
				if d := cmp.Diff(want, Filter(tc.evs, c), cmpAddr); d != "" {
					t.Errorf("Filter(#%d) mismatch (-want +got):\n%s", k, d)
				}
				if c.Events != len(want) {
					t.Errorf("conn #%d Events = %d, want %d", k, c.Events, len(want))
				}
			}
			// Without its drop events, the trace has the same connections
			// but for their drops and times.
			var stack []Event
			for _, e := range tc.evs {
				if e.Kind != KindDrop {
					stack = append(stack, e)
				}
			}
			plain := Conns(stack)
			if len(plain) != len(conns) {
				t.Fatalf("%d connections without the drops, %d with them", len(plain), len(conns))
			}
			for k := range plain {
				c := conns[k]
				p := plain[k]
				if c.Local != p.Local || c.Remote != p.Remote || c.ISN != p.ISN || c.Instance != p.Instance || c.BytesSent != p.BytesSent ||
					c.BytesReceived != p.BytesReceived || c.Retransmits != p.Retransmits || c.Events != p.Events+c.Drops {
					t.Errorf("conn #%d = %+v with drops, %+v without", k, c, p)
				}
			}
			if len(conns) == 0 {
				if _, err := Select(conns, ""); err != ErrNoEvents {
					t.Errorf(`Select = %v, want ErrNoEvents`, err)
				}
			}
		})
	}
}

func concatEvents(lists ...[]Event) []Event {
	var all []Event
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// concatOf expands pairs (count, instance) into a list of instances.
func concatOf(pairs ...int) []int {
	var of []int
	for i := 0; i+1 < len(pairs); i += 2 {
		for range pairs[i] {
			of = append(of, pairs[i+1])
		}
	}
	return of
}

// tcpFrame builds an Ethernet frame of a TCP segment from src to dst.
func tcpFrame(src, dst netip.AddrPort, f wire.TCPFields, data int) []byte {
	l4 := make([]byte, f.HeaderLen()+data)
	wire.EncodeTCP(l4, &f, src.Addr(), dst.Addr())
	b := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+len(l4))
	wire.EncodeEthernet(b, &wire.EthernetFields{Type: wire.EtherTypeIPv4})
	wire.EncodeIPv4(b[wire.EthernetHeaderLen:], &wire.IPv4Fields{
		TotalLength: uint16(wire.IPv4MinHeaderLen + len(l4)), TTL: 64, Protocol: wire.ProtoTCP, Src: src.Addr(), Dst: dst.Addr(),
	})
	copy(b[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:], l4)
	return b
}

func TestFromDroppedFrame(t *testing.T) {
	syn := tcpFrame(cli, srv, wire.TCPFields{SrcPort: cli.Port(), DstPort: srv.Port(), Seq: 111, Flags: wire.TCPFlagSYN, Window: 64240,
		Options: wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, WindowScale: 7, HasWindowScale: true}}, 0)
	sack := wire.TCPOptions{NumSACKBlocks: 1}
	sack.SACKBlocks[0] = wire.SACKBlock{Start: 2000, End: 3000}
	data := tcpFrame(srv, cli, wire.TCPFields{SrcPort: srv.Port(), DstPort: cli.Port(), Seq: 7001, Ack: 112, Flags: wire.TCPFlagACK | wire.TCPFlagPSH, Window: 500, Options: sack}, 300)
	corrupted := append([]byte(nil), data...)
	corrupted[len(corrupted)-1] ^= 1 // the TCP checksum fails: still traced
	udp := make([]byte, 60)
	copy(udp, data)
	udp[wire.EthernetHeaderLen+9] = wire.ProtoUDP
	frag := append([]byte(nil), data...)
	frag[wire.EthernetHeaderLen+6] |= 0x20 // More Fragments
	for _, tc := range []struct {
		name   string
		frame  []byte
		dir    string
		want   Event
		wantOK bool
	}{
		{"syn sent", syn, DirEgress, Event{TimeUS: 42, Kind: KindDrop, Local: cli, Remote: srv, Flags: "S", Seq: 111, Window: 64240,
			Options: "mss 1460,sackOK,wscale 7", Reason: "schedule", Ifname: "eth1", Dir: DirEgress}, true},
		{"data received", data, DirIngress, Event{TimeUS: 42, Kind: KindDrop, Local: cli, Remote: srv, Flags: "P.", Seq: 7001, Ack: 112, Len: 300, Window: 500,
			SACK: 1, SACKRanges: [][2]uint32{{2000, 3000}}, Reason: "schedule", Ifname: "eth1", Dir: DirIngress}, true},
		{"corrupted", corrupted, DirIngress, Event{TimeUS: 42, Kind: KindDrop, Local: cli, Remote: srv, Flags: "P.", Seq: 7001, Ack: 112, Len: 300, Window: 500,
			SACK: 1, SACKRanges: [][2]uint32{{2000, 3000}}, Reason: "schedule", Ifname: "eth1", Dir: DirIngress}, true},
		{"udp", udp, DirEgress, Event{}, false},
		{"fragment", frag, DirEgress, Event{}, false},
		{"truncated", data[:wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+10], DirEgress, Event{}, false},
		{"short", data[:10], DirEgress, Event{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FromDroppedFrame(tc.frame, 42, "eth1", tc.dir, "schedule")
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if d := cmp.Diff(tc.want, got, cmpAddr); d != "" {
				t.Errorf("event mismatch (-want +got):\n%s", d)
			}
		})
	}
	// The JSON line carries the drop's fields and reads back.
	e, _ := FromDroppedFrame(syn, 42, "eth1", DirEgress, "loss")
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"drop"`, `"reason":"loss"`, `"ifname":"eth1"`, `"dir":"egress"`, `"flags":"S"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	back, err := Read(strings.NewReader(string(b) + "\n"))
	if err != nil || len(back) != 1 || back[0].Reason != "loss" || back[0].Dir != DirEgress {
		t.Errorf("Read(%s) = %+v, %v", b, back, err)
	}
	// Other kinds say nothing of drops.
	if b, _ := json.Marshal(Event{Kind: KindOut, Local: cli, Remote: srv}); strings.Contains(string(b), "reason") || strings.Contains(string(b), "ifname") {
		t.Errorf("a segment event's JSON has drop fields: %s", b)
	}
}
