package impair

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// dropped offers frames to a Direction with cfg, one per millisecond, and
// returns the indexes of those that did not come out.
func dropped(t *testing.T, cfg Config, frames [][]byte) []int {
	t.Helper()
	h := newTracingHarness(t, cfg)
	var out []int
	for i, f := range frames {
		before := len(h.got)
		h.d.Send(f)
		if len(h.got) == before {
			out = append(out, i)
		}
		h.clk.Advance(time.Millisecond)
	}
	for _, v := range h.trace {
		if v.Event == EventDrop && v.Reason != DropSchedule && v.Reason != DropOutage {
			t.Errorf("verdict %v, want only schedule or outage drops", v)
		}
	}
	checkConservation(t, h.d.Stats())
	return out
}

func u32(v uint32) *uint32 { return &v }

// conversation is a TCP exchange seen in one direction's frames, and a UDP
// datagram.
func conversation() [][]byte {
	const (
		syn, ack, fin, psh, rst = wire.TCPFlagSYN, wire.TCPFlagACK, wire.TCPFlagFIN, wire.TCPFlagPSH, wire.TCPFlagRST
	)
	return [][]byte{
		tcpFrame(syn, 1000, 0, 0, 0),            // 0 SYN
		tcpFrame(syn, 1000, 0, 0, 0),            // 1 SYN again
		tcpFrame(syn|ack, 5000, 1001, 0, 0),     // 2 SYN-ACK
		tcpFrame(ack, 1001, 5001, 0, 0),         // 3 pure ACK
		tcpFrame(ack|psh, 1001, 5001, 100, 0),   // 4 data seq 1001
		tcpFrame(ack|psh, 1101, 5001, 100, 0),   // 5 data seq 1101
		tcpFrame(ack, 1201, 5101, 0, 0),         // 6 pure ACK
		udpFrame(9, 100, 0),                     // 7 UDP
		tcpFrame(ack|psh, 1101, 5101, 100, 0),   // 8 retransmission of 1101
		tcpFrame(fin|ack, 1201, 5101, 0, 0),     // 9 FIN
		tcpFrame(rst, 1202, 0, 0, 0),            // 10 RST
		tcpFrame(ack|fin|psh, 1201, 5101, 5, 0), // 11 FIN with data
	}
}

func TestSchedules(t *testing.T) {
	frames := conversation()
	ten := make([][]byte, 10)
	for i := range ten {
		ten[i] = udpFrame(uint64(i), 100, 0)
	}
	must := func(s string) Match {
		m, err := ParseMatch(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		frames [][]byte
		want   []int
	}{
		{"every 3rd", Config{DropEveryNth: 3}, ten, []int{2, 5, 8}},
		{"every frame", Config{DropEveryNth: 1}, ten[:3], []int{0, 1, 2}},
		{"packets", Config{DropPackets: []uint64{4, 1, 4, 20}}, ten, []int{0, 3}},
		{"every 4th and packets", Config{DropEveryNth: 4, DropPackets: []uint64{2, 4}}, ten, []int{1, 3, 7}},
		{"first syn", Config{DropMatch: []Match{{Flags: wire.TCPFlagSYN, Count: 1}}}, frames, []int{0}},
		{"every syn", Config{DropMatch: []Match{must("syn")}}, frames, []int{0, 1, 2}},
		{"syn without ack", Config{DropMatch: []Match{must("syn !ack")}}, frames, []int{0, 1}},
		{"second syn", Config{DropMatch: []Match{must("syn nth=2")}}, frames, []int{1}},
		{"fin", Config{DropMatch: []Match{must("fin")}}, frames, []int{9, 11}},
		{"segment by seq", Config{DropMatch: []Match{must("seq=1101 data first")}}, frames, []int{5}},
		{"every copy of a seq", Config{DropMatch: []Match{must("seq=1101")}}, frames, []int{5, 8}},
		{"pure acks", Config{DropMatch: []Match{must("pure-ack")}}, frames, []int{3, 6}},
		{"data skip 1 count 2", Config{DropMatch: []Match{must("data skip=1 count=2")}}, frames, []int{5, 8}},
		{"ack number", Config{DropMatch: []Match{{Ack: u32(5101)}}}, frames, []int{6, 8, 9, 11}},
		{"rst", Config{DropMatch: []Match{must("rst")}}, frames, []int{10}},
		{"udp", Config{DropMatch: []Match{must("udp")}}, frames, []int{7}},
		{"dport", Config{DropMatch: []Match{must("dport=80 first")}}, frames, []int{0}},
		{"sport udp", Config{DropMatch: []Match{must("udp sport=4000")}}, frames, []int{7}},
		{"any first two", Config{DropMatch: []Match{must("any count=2")}}, frames, []int{0, 1}},
		{"two matches", Config{DropMatch: []Match{must("syn first"), must("fin first")}}, frames, []int{0, 9}},
		{"overlapping matches count apart", Config{DropMatch: []Match{must("ack first"), must("pure-ack first")}}, frames, []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := dropped(t, tc.cfg, tc.frames); !slices.Equal(got, tc.want) {
				t.Errorf("dropped %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseMatch(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Match
		wantErr string
	}{
		{"syn first", Match{Flags: wire.TCPFlagSYN, Count: 1}, ""},
		{"TCP, SYN, !ACK", Match{Proto: wire.ProtoTCP, Flags: wire.TCPFlagSYN, NotFlags: wire.TCPFlagACK}, ""},
		{"fin rst psh urg ece cwr ack", Match{Flags: 0xff &^ wire.TCPFlagSYN}, ""},
		{"pure-ack", Match{PureACK: true}, ""},
		{"pureack data", Match{PureACK: true, Data: true}, ""},
		{"seq=4294967295 ack=0x10", Match{Seq: u32(4294967295), Ack: u32(16)}, ""},
		{"udp sport=53 dport=5353", Match{Proto: wire.ProtoUDP, SrcPort: 53, DstPort: 5353}, ""},
		{"icmp", Match{Proto: wire.ProtoICMP}, ""},
		{"proto=47", Match{Proto: 47}, ""},
		{"nth=3", Match{Skip: 2, Count: 1}, ""},
		{"skip=5 count=7", Match{Skip: 5, Count: 7}, ""},
		{"any", Match{}, ""},
		{"", Match{}, "empty"},
		{"syn !syn", Match{}, "both required and forbidden"},
		{"udp syn", Match{}, "TCP fields"},
		{"icmp dport=1", Match{}, "ports"},
		{"seq=-1", Match{}, "not a number"},
		{"dport=70000", Match{}, "not a number"},
		{"nth=0", Match{}, "numbered from 1"},
		{"bogus", Match{}, "unknown word"},
		{"color=red", Match{}, "unknown word"},
		{"proto=300", Match{}, "not a number"},
		{"skip=x", Match{}, "not a number"},
		{"count=", Match{}, "not a number"},
		{"sport=x", Match{}, "not a number"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMatch(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMatch(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || !got.equal(&tc.want) {
				t.Fatalf("ParseMatch(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			// String writes it back in a form ParseMatch reads.
			again, err := ParseMatch(got.String())
			if err != nil || !again.equal(&got) {
				t.Errorf("ParseMatch(%q) = %v, %v; want %v", got.String(), again, err, got)
			}
		})
	}
}

func TestOutage(t *testing.T) {
	const n = 500
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = udpFrame(uint64(i), 100, 0)
	}
	window := func(start, end int) []int {
		var w []int
		for i := start; i < end; i++ {
			w = append(w, i)
		}
		return w
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []int
	}{
		{"periodic", Config{Outage: Outage{Every: 100 * time.Millisecond, For: 20 * time.Millisecond, Offset: 50 * time.Millisecond}},
			slices.Concat(window(50, 70), window(150, 170), window(250, 270), window(350, 370), window(450, 470))},
		{"once", Config{Outage: Outage{For: 30 * time.Millisecond, Offset: 10 * time.Millisecond}}, window(10, 40)},
		{"from the start", Config{Outage: Outage{Every: 200 * time.Millisecond, For: 5 * time.Millisecond}},
			slices.Concat(window(0, 5), window(200, 205), window(400, 405))},
		{"always", Config{Outage: Outage{Every: 10 * time.Millisecond, For: 10 * time.Millisecond}}, window(0, n)},
		{"down", Config{Down: true}, window(0, n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dropped(t, tc.cfg, frames); !slices.Equal(got, tc.want) {
				t.Errorf("dropped %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOutageDuplicate: a copy made while the link is down is dropped too.
func TestOutageDuplicate(t *testing.T) {
	h := newHarness(t, Config{Down: true, Duplicate: 1})
	h.send(1, 100)
	if s := h.d.Stats(); s.DroppedOutage != 2 || s.Duplicated != 1 || s.Passed != 0 {
		t.Errorf("stats %+v, want the frame and its copy dropped", s)
	}
}

// TestParseSegment reads what DropMatch needs from good and broken frames.
func TestParseSegment(t *testing.T) {
	syn := tcpFrame(wire.TCPFlagSYN, 77, 0, 0, 0)
	mutate := func(b []byte, f func([]byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  segment
	}{
		{"syn", syn, segment{isIP: true, proto: 6, srcPort: 40000, dstPort: 80, hasPorts: true, isTCP: true, flags: wire.TCPFlagSYN, seq: 77, transportRead: true}},
		{"udp", udpFrame(1, 100, 0), segment{isIP: true, proto: 17, srcPort: 4000, dstPort: 5000, hasPorts: true, payloadLen: 100 - udpData, transportRead: true}},
		{"short", syn[:30], segment{}},
		{"ipv6", ipv6Frame(0, 10), segment{}},
		{"version 5", mutate(syn, func(b []byte) { b[14] = 0x55 }), segment{}},
		{"ihl 4", mutate(syn, func(b []byte) { b[14] = 0x44 }), segment{}},
		{"total below ihl", mutate(syn, func(b []byte) { b[16], b[17] = 0, 10 }), segment{}},
		{"fragment", mutate(syn, func(b []byte) { b[21] = 1 }), segment{isIP: true, proto: 6, nonFirstFrag: true}},
		{"tcp truncated", mutate(syn, func(b []byte) { b[16], b[17] = 0, 30 }), segment{isIP: true, proto: 6}},
		{"tcp bad offset", mutate(syn, func(b []byte) { b[ethIP+12] = 0x20 }), segment{isIP: true, proto: 6}},
		{"tcp offset past end", mutate(syn, func(b []byte) { b[ethIP+12] = 0xf0 }), segment{isIP: true, proto: 6}},
		{"udp truncated", mutate(udpFrame(1, 100, 0), func(b []byte) { b[16], b[17] = 0, 24 }), segment{isIP: true, proto: 17}},
		{"icmp", ipFrame(1, 0, []byte{8, 0, 0, 0}), segment{isIP: true, proto: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseSegment(tc.frame); got != tc.want {
				t.Errorf("parseSegment = %+v, want %+v", got, tc.want)
			}
		})
	}
}
