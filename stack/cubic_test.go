package stack

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"
)

// CUBIC (RFC 9438) against Reno (RFC 5681) on the two-stack harness.

// pump keeps a's send buffer full and b's receive buffer empty for d of
// virtual time, and returns the bytes b received.
func pumpFor(t *testing.T, n *testNet, cfd, afd int, d time.Duration) int {
	t.Helper()
	chunk := make([]byte, 256<<10)
	buf := make([]byte, 256<<10)
	got := 0
	for end := n.clk.Now().Add(d); n.clk.Now().Before(end); {
		n.a.Write(cfd, chunk)
		for {
			r, _ := n.b.Read(afd, buf)
			if r <= 0 {
				break
			}
			got += r
		}
		n.run(5 * time.Millisecond)
	}
	return got
}

// TestCongestionResponseToOneLoss drops one segment in slow start and
// checks the multiplicative decrease: ssthresh = 0.7·cwnd for CUBIC (RFC
// 9438 §4.6, beta_cubic) against FlightSize/2 for Reno (RFC 5681 eq. 4), and
// that the window grows back past its old size afterwards.
func TestCongestionResponseToOneLoss(t *testing.T) {
	for _, cc := range []string{"cubic", "reno"} {
		t.Run(cc, func(t *testing.T) {
			n := newTestNet(t, Options{TCP: TCPOptions{Congestion: cc}})
			cfd, _, afd := n.connectPair(80)
			var base uint32
			n.fault = dropSeqs(n, &base, 60*1448)
			n.clearEvents()
			pumpFor(t, n, cfd, afd, 300*time.Millisecond)
			var before, at *ProbeEvent
			for i := range n.events {
				e := &n.events[i]
				if e.Local.Addr() != addrA {
					continue
				}
				if e.CAState == CARecovery {
					at = e
					break
				}
				before = e
			}
			if at == nil || before == nil {
				t.Fatal("no fast recovery after the loss")
			}
			w := before.Cwnd
			info, _ := n.a.Info(cfd)
			mss := uint32(info.MSS)
			var want uint32
			switch cc {
			case "cubic":
				want = max(uint32(float64(w)*0.7), 2*mss)
			case "reno":
				want = max(before.InFlight/2, 2*mss)
			}
			if at.Ssthresh != want {
				t.Fatalf("%s: cwnd %d (%d segments, flight %d) before the loss, ssthresh %d after; want %d",
					cc, w, w/mss, before.InFlight, at.Ssthresh, want)
			}
			if info.Congestion != cc || info.Ssthresh != at.Ssthresh {
				t.Fatalf("Info: cc %q ssthresh %d, want %q %d", info.Congestion, info.Ssthresh, cc, at.Ssthresh)
			}
			if st := n.a.Stats(); st.TcpExtTCPFastRetrans != 1 || st.TcpExtTCPTimeouts != 0 {
				t.Fatalf("fast retransmits %d, timeouts %d; want 1, 0", st.TcpExtTCPFastRetrans, st.TcpExtTCPTimeouts)
			}
			// Growth after recovery: past the old window within a second.
			pumpFor(t, n, cfd, afd, time.Second)
			info, _ = n.a.Info(cfd)
			if info.Cwnd <= w || info.CAState != "open" {
				t.Fatalf("%s: cwnd %d (%s) 1 s after recovery, want above the %d before the loss", cc, info.Cwnd, info.CAState, w)
			}
			t.Logf("%s: W %d segs, ssthresh %d segs, 1 s later cwnd %d segs", cc, w/mss, at.Ssthresh/mss, info.CwndSegs)
		})
	}
}

// TestCubicGrowthIsConcave checks the shape of CUBIC's window after a loss
// (RFC 9438 §4.2): it grows fast right after the reduction and slows as it
// nears W_max, so the first second after recovery adds more than the
// second second does.
func TestCubicGrowthIsConcave(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{Congestion: "cubic", ReceiveBuffer: 16 << 20, SendBuffer: 16 << 20}})
	n.delay = 25 * time.Millisecond // RTT 50 ms: CUBIC's region, not Reno-friendly
	cfd, _, afd := n.connectPair(80)
	var base uint32
	n.fault = dropSeqs(n, &base, 400*1448)
	pumpFor(t, n, cfd, afd, time.Second)
	i0, _ := n.a.Info(cfd)
	pumpFor(t, n, cfd, afd, time.Second)
	i1, _ := n.a.Info(cfd)
	pumpFor(t, n, cfd, afd, time.Second)
	i2, _ := n.a.Info(cfd)
	if i0.CAState != "open" || n.a.Stats().TcpExtTCPFastRetrans != 1 {
		t.Fatalf("state %s, fast retransmits %d: want one recovery, over", i0.CAState, n.a.Stats().TcpExtTCPFastRetrans)
	}
	g1, g2 := int(i1.CwndSegs)-int(i0.CwndSegs), int(i2.CwndSegs)-int(i1.CwndSegs)
	t.Logf("cwnd %d -> %d -> %d segments (ssthresh %d)", i0.CwndSegs, i1.CwndSegs, i2.CwndSegs, i0.SsthreshSegs)
	if g1 <= 0 || g2 < 0 || g2 >= g1 {
		t.Fatalf("cwnd %d -> %d -> %d segments: want growth that slows down near W_max", i0.CwndSegs, i1.CwndSegs, i2.CwndSegs)
	}
}

func TestCubicBulkTransferOverLossyLink(t *testing.T) {
	n := newTestNet(t, Options{TCP: TCPOptions{Congestion: "cubic"}})
	n.fault = randomFault(21, 0.02, 0.01, 0.01)
	cfd, _, afd := n.connectPair(5001)
	data := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	got := transfer(t, n, cfd, afd, data, 10*time.Minute)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("received %d bytes, sha256 differs from the %d sent", len(got), len(data))
	}
	st := n.a.Stats()
	if st.TcpRetransSegs == 0 || st.TcpExtTCPFastRetrans == 0 {
		t.Fatalf("retransmitted %d, fast retransmits %d: the loss did not happen", st.TcpRetransSegs, st.TcpExtTCPFastRetrans)
	}
	if info, _ := n.a.Info(cfd); info.Congestion != "cubic" {
		t.Fatalf("congestion control %q, want cubic", info.Congestion)
	}
}
