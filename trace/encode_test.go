package trace

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestAppendJSONMatchesMarshal: AppendJSON writes what json.Marshal
// writes, for events with every field empty, set, or odd.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "in", "ESTABLISHED", "S.", "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7", `a "quoted" \ one`, "<&>", "é", "\x01"}
	addrs := []netip.AddrPort{{}, netip.MustParseAddrPort("10.0.0.1:5001"), netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("[fe80::1%eth1]:80"), netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 0)}
	pick := func() string { return strs[rng.IntN(len(strs))] }
	u32 := func() uint32 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.Uint32()
	}
	i64 := func() int64 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.Int64N(1<<40) - 1<<20
	}
	events := []Event{{}}
	for range 5000 {
		e := Event{TimeUS: i64(), Kind: pick(), Local: addrs[rng.IntN(len(addrs))], Remote: addrs[rng.IntN(len(addrs))],
			Flags: pick(), Seq: u32(), Ack: u32(), Len: int(i64()), Window: u32(), Retrans: rng.IntN(2) == 0, SACK: int(i64() % 5),
			State: pick(), OldState: pick(), Timer: pick(), SndUna: u32(), SndNxt: u32(), RcvNxt: u32(), SndWnd: u32(), RcvWnd: u32(),
			Cwnd: u32(), Ssthresh: u32(), InFlight: u32(), SRTTUS: i64(), RTTVarUS: i64(), Options: pick(), RTOMS: i64(), CAState: pick(),
			Reason: pick(), Ifname: pick(), Dir: pick()}
		for range rng.IntN(4) {
			e.SACKRanges = append(e.SACKRanges, [2]uint32{u32(), u32()})
		}
		if rng.IntN(5) == 0 {
			e.SACKRanges = [][2]uint32{} // empty, not nil: omitted too
		}
		events = append(events, e)
	}
	for i := range events {
		want, err := json.Marshal(events[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSON(nil, &events[i]); string(got) != string(want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := Event{TimeUS: 123456789, Kind: KindOut, Local: netip.MustParseAddrPort("10.0.0.0:40000"), Remote: netip.MustParseAddrPort("10.0.0.1:5001"),
		Flags: ".", Seq: 1000, Ack: 2000, Len: 1448, Window: 65535, State: "ESTABLISHED", SndUna: 1, SndNxt: 2, RcvNxt: 3, SndWnd: 4, RcvWnd: 5,
		Cwnd: 14480, Ssthresh: 1 << 30, InFlight: 2896, SRTTUS: 120, RTOMS: 200, CAState: "open"}
	buf := make([]byte, 0, 512)
	b.Run("AppendJSON", func(b *testing.B) {
		for b.Loop() {
			buf = AppendJSON(buf[:0], &e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(e)
		}
	})
}
