package stack

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// The tests in this file follow the four phases of the seed (socket,
// connect, send/receive, disconnect) and assert on the exact segments.

func dataSegs(evs []ProbeEvent) []ProbeEvent {
	var out []ProbeEvent
	for _, e := range evs {
		if e.DataLen > 0 {
			out = append(out, e)
		}
	}
	return out
}

func (n *testNet) clearEvents() { n.events = nil }

func TestNagleCoalescesSmallWrites(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	n.clearEvents()
	for _, b := range []string{"a", "b", "c"} {
		if _, err := n.a.Write(cfd, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if got := dataSegs(n.segsOut(addrA)); len(got) != 1 || got[0].DataLen != 1 {
		t.Fatalf("after three 1-byte writes: %d data segments (%v), want one of 1 byte (Nagle holds the rest)", len(got), got)
	}
	n.run(50 * time.Millisecond) // one RTT is 10 ms: the ACK releases the rest
	got := dataSegs(n.segsOut(addrA))
	if len(got) != 2 || got[1].DataLen != 2 {
		t.Fatalf("after the ACK: data segments %d (second len %d), want 2 with the second carrying 2 bytes", len(got), got[len(got)-1].DataLen)
	}
}

func TestNoDelaySendsEachWrite(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	n.a.SetOption(cfd, OptNoDelay, true)
	n.clearEvents()
	for _, b := range []string{"a", "b", "c"} {
		n.a.Write(cfd, []byte(b))
	}
	if got := dataSegs(n.segsOut(addrA)); len(got) != 3 {
		t.Fatalf("NoDelay: %d data segments, want 3", len(got))
	}
}

func TestFlushTimerReleasesHeldData(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{FlushDelay: 50 * time.Millisecond}})
	cfd, _, _ := n.connectPair(80)
	n.clearEvents()
	// The peer's ACKs are lost: only the flush timer can release the hold.
	n.fault = func(from *Stack, f []byte) frameVerdict {
		_, h, p, ok := tcpFrame(f)
		return frameVerdict{drop: from == n.b && ok && len(p) == 0 && h.Flags == wire.TCPFlagACK}
	}
	n.a.Write(cfd, []byte("x"))
	n.a.Write(cfd, []byte("y"))
	start := n.clk.Now()
	n.run(49 * time.Millisecond)
	if got := dataSegs(n.segsOut(addrA)); len(got) != 1 {
		t.Fatalf("before the flush timer: %d data segments, want 1", len(got))
	}
	n.run(2 * time.Millisecond)
	got := dataSegs(n.segsOut(addrA))
	if len(got) != 2 {
		t.Fatalf("after the flush delay: %d data segments, want 2", len(got))
	}
	at := clkAt(n, got[1])
	if d := at.Sub(start); d != 50*time.Millisecond {
		t.Fatalf("held byte left %v after the write, want 50ms (the flush delay)", d)
	}
	var flush bool
	for _, e := range n.events {
		flush = flush || (e.Kind == ProbeTimer && e.Timer == TimerFlush)
	}
	if !flush {
		t.Fatal("no flush timer event in the probe stream")
	}
}

// clkAt converts a probe timestamp back to clock time.
func clkAt(n *testNet, e ProbeEvent) time.Time { return n.a.start.Add(e.Time) }

func TestLargeWriteLeavesAsMSSSegments(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.clearEvents()
	data := make([]byte, 100_000)
	if w, err := n.a.Write(cfd, data); err != nil || w != len(data) {
		t.Fatalf("Write = %d, %v", w, err)
	}
	buf := make([]byte, 200_000)
	total := 0
	n.runUntil(5*time.Second, 5*time.Millisecond, func() bool {
		r, _ := n.b.Read(afd, buf)
		total += max(r, 0)
		return total == len(data)
	})
	segs := dataSegs(n.segsOut(addrA))
	next := segs[0].Seq
	for i, e := range segs {
		if e.Retrans {
			t.Fatalf("segment %d is a retransmission on a clean link", i)
		}
		if e.Seq != next {
			t.Fatalf("segment %d seq %d, want %d (contiguous)", i, e.Seq, next)
		}
		next += uint32(e.DataLen)
		if i < len(segs)-1 && e.DataLen != 1448 {
			t.Fatalf("segment %d carries %d bytes, want the MSS 1448", i, e.DataLen)
		}
	}
	if want := (len(data) + 1447) / 1448; len(segs) != want {
		t.Fatalf("%d data segments, want %d", len(segs), want)
	}
	if total != len(data) {
		t.Fatalf("received %d, want %d", total, len(data))
	}
}

func TestSenderRespectsWindowAndProbesZeroWindow(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{ReceiveBuffer: 16 << 10}})
	cfd, _, afd := n.connectPair(80)
	n.clearEvents()
	data := make([]byte, 64<<10)
	n.a.Write(cfd, data)
	n.run(5 * time.Second) // the receiver does not read
	// Every data segment stays inside the window the receiver advertised.
	edge := uint32(0)
	zeroAdvertised := false
	for _, e := range n.events {
		switch {
		case e.Kind == ProbeSegmentOut && e.Local.Addr() == addrB && e.Flags.Has(wire.TCPFlagACK):
			edge = e.Ack + e.Window
			zeroAdvertised = zeroAdvertised || e.Window == 0
		case e.Kind == ProbeSegmentOut && e.Local.Addr() == addrA && e.DataLen > 0 && edge != 0:
			if int32(e.Seq+uint32(e.DataLen)-edge) > 0 {
				t.Fatalf("segment seq %d len %d passes the advertised edge %d", e.Seq, e.DataLen, edge)
			}
		}
	}
	if !zeroAdvertised {
		t.Fatal("the receiver never advertised a zero window")
	}
	var probes []time.Duration
	for _, e := range n.events {
		if e.Kind == ProbeTimer && e.Timer == TimerPersist && e.Local.Addr() == addrA {
			probes = append(probes, e.Time)
		}
	}
	if len(probes) < 3 {
		t.Fatalf("%d zero-window probes in 5 s, want at least 3", len(probes))
	}
	for i := 2; i < len(probes); i++ {
		prev, cur := probes[i-1]-probes[i-2], probes[i]-probes[i-1]
		if cur < 2*prev-time.Millisecond || cur > 2*prev+time.Millisecond {
			t.Fatalf("probe intervals %v then %v: want exponential backoff (x2)", prev, cur)
		}
	}
	// Reading opens the window; the transfer resumes and completes.
	buf := make([]byte, 128<<10)
	total := 0
	ok := n.runUntil(60*time.Second, 10*time.Millisecond, func() bool {
		r, _ := n.b.Read(afd, buf)
		total += max(r, 0)
		return total == len(data)
	})
	if !ok {
		t.Fatalf("after reading resumed: %d of %d bytes", total, len(data))
	}
}

func TestRTOBackoffAndKarn(t *testing.T) {
	// Without timestamps, so that Karn's rule is the only guard (with them,
	// RFC 7323 §4 lets an ACK of a retransmission give a valid sample).
	n := newTestNet(t, Options{TCP: TCPOptions{DisableTS: true}})
	cfd, _, _ := n.connectPair(80)
	srttBefore := n.conn(n.a, cfd).srtt
	blackhole := true
	n.fault = func(from *Stack, f []byte) frameVerdict { return frameVerdict{drop: blackhole && from == n.a} }
	n.clearEvents()
	n.a.Write(cfd, []byte("hello"))
	n.run(3500 * time.Millisecond)
	var rtos []time.Duration
	for _, e := range n.events {
		if e.Kind == ProbeTimer && e.Timer == TimerRTO {
			rtos = append(rtos, e.Time)
		}
	}
	if len(rtos) < 3 {
		t.Fatalf("%d RTOs in 3.5 s, want >= 3", len(rtos))
	}
	first := rtos[0] - n.segsOut(addrA)[0].Time
	if first != 200*time.Millisecond {
		t.Fatalf("first RTO after %v, want 200ms (RTO floor; srtt %v)", first, srttBefore)
	}
	for i := 1; i < len(rtos) && i < 4; i++ {
		want := first << i
		if got := rtos[i] - rtos[i-1]; got != want {
			t.Fatalf("RTO %d after %v, want %v (doubling)", i+1, got, want)
		}
	}
	info, _ := n.a.Info(cfd)
	if info.Backoff != len(rtos) || info.CAState != "loss" || info.CwndSegs != 1 {
		t.Fatalf("after RTOs: backoff %d ca_state %s cwnd %d; want %d loss 1", info.Backoff, info.CAState, info.CwndSegs, len(rtos))
	}
	blackhole = false
	n.run(5 * time.Second)
	if got := n.conn(n.a, cfd).srtt; got != srttBefore {
		t.Fatalf("srtt changed %v -> %v from an ACK of a retransmitted segment (Karn)", srttBefore, got)
	}
	if info, _ := n.a.Info(cfd); info.Backoff != 0 || info.Unacked != 0 {
		t.Fatalf("after recovery: backoff %d unacked %d, want 0 0", info.Backoff, info.Unacked)
	}
}

// dropSeqs drops the first transmission of the data segments from a that
// start at the given offsets (relative to the first data byte).
func dropSeqs(n *testNet, base *uint32, offsets ...int) func(*Stack, []byte) frameVerdict {
	dropped := map[uint32]bool{}
	return func(from *Stack, f []byte) frameVerdict {
		_, h, p, ok := tcpFrame(f)
		if !ok || from != n.a || len(p) == 0 {
			return frameVerdict{}
		}
		if *base == 0 {
			*base = h.Seq
		}
		for _, o := range offsets {
			s := *base + uint32(o)
			if h.Seq == s && !dropped[s] {
				dropped[s] = true
				return frameVerdict{drop: true}
			}
		}
		return frameVerdict{}
	}
}

func TestFastRetransmitOnThreeDupAcks(t *testing.T) {
	for _, sack := range []bool{false, true} {
		name := "newreno"
		if sack {
			name = "sack"
		}
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t, Options{TCP: TCPOptions{DisableSACK: !sack}})
			cfd, _, afd := n.connectPair(80)
			var base uint32
			n.fault = dropSeqs(n, &base, 3*1448)
			data := make([]byte, 20*1448)
			n.a.Write(cfd, data)
			got := drain(t, n, afd, len(data))
			if got != len(data) {
				t.Fatalf("received %d of %d", got, len(data))
			}
			st := n.a.Stats()
			if st.TcpExtTCPFastRetrans != 1 || st.TcpExtTCPTimeouts != 0 || st.TcpRetransSegs != 1 {
				t.Fatalf("fast retransmits %d, timeouts %d, retransmitted segments %d; want 1 0 1",
					st.TcpExtTCPFastRetrans, st.TcpExtTCPTimeouts, st.TcpRetransSegs)
			}
			if info, _ := n.a.Info(cfd); info.SpuriousRetrans != 0 {
				t.Fatalf("a needed retransmission counted spurious (%d)", info.SpuriousRetrans)
			}
		})
	}
}

func TestSACKRecoversSeveralLossesWithoutRTO(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	var base uint32
	n.fault = dropSeqs(n, &base, 2*1448, 5*1448, 8*1448)
	data := make([]byte, 40*1448)
	n.a.Write(cfd, data)
	if got := drain(t, n, afd, len(data)); got != len(data) {
		t.Fatalf("received %d of %d", got, len(data))
	}
	st := n.a.Stats()
	if st.TcpExtTCPTimeouts != 0 || st.TcpRetransSegs != 3 || st.TcpExtTCPSackRecovery != 1 {
		t.Fatalf("timeouts %d, retransmitted %d, SACK recoveries %d; want 0 3 1",
			st.TcpExtTCPTimeouts, st.TcpRetransSegs, st.TcpExtTCPSackRecovery)
	}
	if info, _ := n.a.Info(cfd); info.SpuriousRetrans != 0 {
		t.Fatalf("needed retransmissions counted spurious (%d)", info.SpuriousRetrans)
	}
}

func TestNewRenoRecoversSeveralLossesWithPartialACKs(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{DisableSACK: true}})
	cfd, _, afd := n.connectPair(80)
	var base uint32
	n.fault = dropSeqs(n, &base, 2*1448, 5*1448)
	data := make([]byte, 40*1448)
	n.a.Write(cfd, data)
	if got := drain(t, n, afd, len(data)); got != len(data) {
		t.Fatalf("received %d of %d", got, len(data))
	}
	st := n.a.Stats()
	if st.TcpExtTCPTimeouts != 0 || st.TcpRetransSegs != 2 || st.TcpExtTCPRenoRecovery != 1 {
		t.Fatalf("timeouts %d, retransmitted %d, Reno recoveries %d; want 0 2 1",
			st.TcpExtTCPTimeouts, st.TcpRetransSegs, st.TcpExtTCPRenoRecovery)
	}
}

func drain(t *testing.T, n *testNet, fd, want int) int {
	t.Helper()
	buf := make([]byte, 256<<10)
	total := 0
	n.runUntil(30*time.Second, 5*time.Millisecond, func() bool {
		for {
			r, _ := n.b.Read(fd, buf)
			if r <= 0 {
				break
			}
			total += r
		}
		return total >= want
	})
	return total
}

func TestCloseBothSidesAndTimeWait(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.clearEvents()
	if err := n.a.Close(cfd); err != nil { // active close
		t.Fatal(err)
	}
	n.run(20 * time.Millisecond)
	if r, err := n.b.Read(afd, make([]byte, 10)); r != 0 || err != nil {
		t.Fatalf("Read after peer FIN = %d, %v; want 0, nil (end of stream)", r, err)
	}
	if st := n.state(n.b, afd); st != StateCloseWait {
		t.Fatalf("passive side %v, want CLOSE-WAIT", st)
	}
	n.b.Close(afd)
	n.run(20 * time.Millisecond)
	conns := n.a.Connections()
	if len(conns) != 1 || conns[0].State != "TIME-WAIT" {
		t.Fatalf("active side after both FINs: %v, want one TIME-WAIT", conns)
	}
	if len(n.b.Connections()) != 0 {
		t.Fatalf("passive side still has %v after LAST-ACK", n.b.Connections())
	}
	// The FIN exchange: FIN from a, ACK, FIN from b, ACK.
	var fins []string
	for _, e := range n.events {
		if e.Kind == ProbeSegmentOut && e.Flags.Has(wire.TCPFlagFIN) {
			fins = append(fins, e.Local.Addr().String())
		}
	}
	if len(fins) != 2 || fins[0] != "10.0.0.1" || fins[1] != "10.0.0.2" {
		t.Fatalf("FINs sent by %v, want [10.0.0.1 10.0.0.2]", fins)
	}
	n.run(59 * time.Second)
	if len(n.a.Connections()) != 1 {
		t.Fatal("TIME-WAIT ended before 60 s")
	}
	n.run(2 * time.Second)
	if len(n.a.Connections()) != 0 {
		t.Fatalf("TIME-WAIT still held after 61 s: %v", n.a.Connections())
	}
	var tw bool
	for _, e := range n.events {
		tw = tw || (e.Kind == ProbeTimer && e.Timer == TimerTimeWait)
	}
	if !tw {
		t.Fatal("no TIME-WAIT expiry event")
	}
}

func TestHalfClose(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.Shutdown(cfd, ShutWR)
	n.run(20 * time.Millisecond)
	if st := n.state(n.a, cfd); st != StateFinWait2 {
		t.Fatalf("after shutdown(WR): %v, want FIN-WAIT-2", st)
	}
	if _, err := n.a.Write(cfd, []byte("x")); !errors.Is(err, EPIPE) {
		t.Fatalf("Write after shutdown(WR) = %v, want EPIPE", err)
	}
	if _, err := n.b.Write(afd, []byte("still talking")); err != nil {
		t.Fatalf("peer Write in CLOSE-WAIT: %v", err)
	}
	n.run(20 * time.Millisecond)
	buf := make([]byte, 100)
	r, err := n.a.Read(cfd, buf)
	if err != nil || string(buf[:r]) != "still talking" {
		t.Fatalf("Read on half-closed side = %q, %v", buf[:r], err)
	}
}

func TestDelayedACKTimer(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	n.a.SetOption(cfd, OptNoDelay, true)
	// Spend the quick ACKs of the connection start.
	for i := 0; i < 20; i++ {
		n.a.Write(cfd, []byte("q"))
		n.run(100 * time.Millisecond)
	}
	n.clearEvents()
	n.a.Write(cfd, []byte("x"))
	n.run(100 * time.Millisecond)
	var dataAt, ackAt time.Duration
	for _, e := range n.events {
		if e.Kind == ProbeSegmentIn && e.Local.Addr() == addrB && e.DataLen > 0 {
			dataAt = e.Time
		}
		if e.Kind == ProbeSegmentOut && e.Local.Addr() == addrB && ackAt == 0 {
			ackAt = e.Time
		}
	}
	if d := ackAt - dataAt; d != 40*time.Millisecond {
		t.Fatalf("single segment ACKed after %v, want 40ms (delayed ACK)", d)
	}
	// Two full segments are ACKed at once.
	n.clearEvents()
	n.a.Write(cfd, make([]byte, 2*1448))
	n.run(100 * time.Millisecond)
	var acks []ProbeEvent
	for _, e := range n.events {
		if e.Kind == ProbeSegmentOut && e.Local.Addr() == addrB {
			acks = append(acks, e)
		}
	}
	if len(acks) != 1 {
		t.Fatalf("%d ACKs for two full segments, want 1", len(acks))
	}
	var secondIn time.Duration
	for _, e := range n.events {
		if e.Kind == ProbeSegmentIn && e.Local.Addr() == addrB && e.DataLen > 0 {
			secondIn = e.Time
		}
	}
	if acks[0].Time != secondIn {
		t.Fatalf("ACK at %v, second segment at %v: want an immediate ACK", acks[0].Time, secondIn)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	n := newTestNet(t, Options{})
	fa, fb := mustSocket(t, n.a), mustSocket(t, n.b)
	n.a.Bind(fa, netip.AddrPortFrom(addrA, 7000))
	n.b.Bind(fb, netip.AddrPortFrom(addrB, 7001))
	n.a.Connect(fa, addrB, 7001)
	n.b.Connect(fb, addrA, 7000)
	n.run(time.Second)
	if sa, sb := n.state(n.a, fa), n.state(n.b, fb); sa != StateEstablished || sb != StateEstablished {
		t.Fatalf("simultaneous open: %v / %v, want ESTABLISHED on both", sa, sb)
	}
	var synRcvd bool
	for _, e := range n.events {
		synRcvd = synRcvd || (e.Kind == ProbeState && e.State == StateSynRcvd)
	}
	if !synRcvd {
		t.Fatal("simultaneous open did not pass through SYN-RECEIVED")
	}
}

func TestSimultaneousClose(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.Shutdown(cfd, ShutWR)
	n.b.Shutdown(afd, ShutWR)
	n.run(50 * time.Millisecond)
	var closing int
	for _, e := range n.events {
		if e.Kind == ProbeState && e.State == StateClosing {
			closing++
		}
	}
	if closing != 2 || n.state(n.a, cfd) != StateTimeWait || n.state(n.b, afd) != StateTimeWait {
		t.Fatalf("simultaneous close: %d CLOSING, states %v/%v; want 2, TIME-WAIT on both",
			closing, n.state(n.a, cfd), n.state(n.b, afd))
	}
}

func TestConnectRefusedByRST(t *testing.T) {
	n := newTestNet(t, Options{})
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, addrB, 9)
	n.run(50 * time.Millisecond)
	if err := n.a.Connect(fd, addrB, 9); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Connect to a closed port = %v, want ECONNREFUSED", err)
	}
	if n.b.Stats().TcpOutRsts != 1 {
		t.Fatalf("server RSTs = %d, want 1", n.b.Stats().TcpOutRsts)
	}
}

func TestConnectTimesOut(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{SynRetries: 3}})
	n.fault = func(*Stack, []byte) frameVerdict { return frameVerdict{drop: true} }
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, addrB, 80)
	n.run(time.Minute)
	if err := n.a.Connect(fd, addrB, 80); !errors.Is(err, ETIMEDOUT) && !errors.Is(err, EHOSTUNREACH) {
		t.Fatalf("Connect into a black hole = %v, want ETIMEDOUT or EHOSTUNREACH", err)
	}
}

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, _ := n.connectPair(80)
	n.a.SetOption(cfd, OptKeepIdle, 10*time.Second)
	n.a.SetOption(cfd, OptKeepInterval, time.Second)
	n.a.SetOption(cfd, OptKeepCount, 3)
	n.a.SetOption(cfd, OptKeepalive, true)
	n.run(12 * time.Second)
	if st := n.a.Stats(); st.TcpExtTCPKeepAlive == 0 {
		t.Fatal("no keepalive probe after the idle time")
	}
	if n.state(n.a, cfd) != StateEstablished {
		t.Fatal("a live peer's connection was dropped by keepalive")
	}
	n.fault = func(*Stack, []byte) frameVerdict { return frameVerdict{drop: true} }
	n.run(30 * time.Second)
	if _, err := n.a.Read(cfd, make([]byte, 1)); !errors.Is(err, ETIMEDOUT) {
		t.Fatalf("Read after keepalive gave up = %v, want ETIMEDOUT", err)
	}
}

func TestUnreadDataOnCloseSendsRST(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.Write(cfd, []byte("unread"))
	n.run(20 * time.Millisecond)
	n.b.Close(afd)
	n.run(20 * time.Millisecond)
	if _, err := n.a.Read(cfd, make([]byte, 10)); !errors.Is(err, ECONNRESET) {
		t.Fatalf("Read after peer closed with unread data = %v, want ECONNRESET", err)
	}
}

func TestLingerZeroResets(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.a.SetOption(cfd, OptLinger, 0)
	n.a.Close(cfd)
	n.run(20 * time.Millisecond)
	if _, err := n.b.Read(afd, make([]byte, 10)); !errors.Is(err, ECONNRESET) {
		t.Fatalf("Read after peer SO_LINGER 0 close = %v, want ECONNRESET", err)
	}
	if len(n.a.Connections()) != 0 {
		t.Fatal("linger 0 left a connection (no TIME-WAIT after RST)")
	}
}

func TestSYNCookiesWhenBacklogFull(t *testing.T) {
	n := newTestNet(t, Options{})
	lfd := mustSocket(t, n.b)
	n.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 80))
	n.b.Listen(lfd, 2)
	// The final ACKs of the first handshakes are lost, so the SYN queue
	// fills with half-open connections.
	dropAcks := true
	n.fault = func(from *Stack, f []byte) frameVerdict {
		_, h, p, ok := tcpFrame(f)
		return frameVerdict{drop: dropAcks && from == n.a && ok && h.Flags == wire.TCPFlagACK && len(p) == 0}
	}
	var fds []int
	for i := 0; i < 2; i++ {
		fd := mustSocket(t, n.a)
		n.a.Connect(fd, addrB, 80)
		fds = append(fds, fd)
	}
	n.run(20 * time.Millisecond)
	dropAcks = false
	fd := mustSocket(t, n.a)
	n.a.Connect(fd, addrB, 80)
	n.run(20 * time.Millisecond)
	st := n.b.Stats()
	if st.TcpExtSyncookiesSent != 1 || st.TcpExtSyncookiesRecv != 1 {
		t.Fatalf("cookies sent %d received %d, want 1 1", st.TcpExtSyncookiesSent, st.TcpExtSyncookiesRecv)
	}
	afd, _, err := n.b.Accept(lfd)
	if err != nil {
		t.Fatalf("Accept of the cookie connection: %v", err)
	}
	n.a.Write(fd, []byte("via cookie"))
	n.run(20 * time.Millisecond)
	buf := make([]byte, 20)
	r, _ := n.b.Read(afd, buf)
	if string(buf[:r]) != "via cookie" {
		t.Fatalf("data over the cookie connection = %q", buf[:r])
	}
}

// TestSYNReopensTimeWait: the server closed first and holds the 4-tuple in
// TIME-WAIT; a new connection from the same client port is accepted at
// once (RFC 6191), not after a SYN retransmission.
func TestSYNReopensTimeWait(t *testing.T) {
	for _, ts := range []bool{true, false} {
		t.Run(map[bool]string{true: "timestamps", false: "sequence"}[ts], func(t *testing.T) {
			n := newTestNet(t, Options{TCP: TCPOptions{DisableTS: !ts}})
			lfd := mustSocket(t, n.b)
			n.b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 80))
			n.b.Listen(lfd, 8)
			open := func() int {
				fd := mustSocket(t, n.a)
				if err := n.a.Bind(fd, netip.AddrPortFrom(addrA, 40000)); err != nil {
					t.Fatal(err)
				}
				n.a.Connect(fd, addrB, 80)
				return fd
			}
			fd := open()
			n.run(20 * time.Millisecond)
			afd, _, err := n.b.Accept(lfd)
			if err != nil {
				t.Fatal(err)
			}
			n.b.Close(afd) // the server closes first: it will hold TIME-WAIT
			n.run(20 * time.Millisecond)
			n.a.Close(fd)
			n.run(20 * time.Millisecond)
			if c := n.b.Connections(); len(c) != 1 || c[0].State != "TIME-WAIT" {
				t.Fatalf("server connections %v, want one TIME-WAIT", c)
			}
			fd = open()
			n.run(20 * time.Millisecond)
			if st := n.state(n.a, fd); st != StateEstablished {
				t.Fatalf("second connection on the same 4-tuple: %v after 20ms, want ESTABLISHED", st)
			}
			if _, _, err := n.b.Accept(lfd); err != nil {
				t.Fatalf("Accept of the new incarnation: %v", err)
			}
		})
	}
}
