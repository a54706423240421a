package stack

import (
	"crypto/sha256"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestBulkTransfer50MB moves 50 MB from a to b over the in-memory link,
// clean, with 1 % and 5 % random loss, and with reordering and duplication,
// and checks the bytes (sha256), then that nothing is left behind: once
// both sides closed and TIME-WAIT and the ARP entries expired, no timer is
// pending on the virtual clock, and after Destroy no goroutine is left.
func TestBulkTransfer50MB(t *testing.T) {
	const size = 50 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{'n', 'e', 't', 'l', 'a', 'b'}).Read(data)
	want := sha256.Sum256(data)
	for _, tc := range []struct {
		name  string
		fault func(*Stack, []byte) frameVerdict
	}{
		{"clean", nil},
		{"loss1pct", randomFault(31, 0.01, 0, 0)},
		{"loss5pct", randomFault(32, 0.05, 0, 0)},
		{"reorder", randomFault(33, 0, 0.05, 0)},
		{"duplicate", randomFault(34, 0, 0, 0.05)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goroutines := runtime.NumGoroutine()
			start := time.Now()
			n := newTestNet(t, Options{Probe: func(ProbeEvent) {}})
			n.fault = tc.fault
			cfd, lfd, afd := n.connectPair(5001)
			virtual := n.clk.Now()
			got, sum := streamTransfer(t, n, cfd, afd, data, 30*time.Minute)
			if got != size || sum != want {
				t.Fatalf("received %d of %d bytes, sha256 %x, want %x", got, size, sum[:8], want[:8])
			}
			elapsed := n.clk.Now().Sub(virtual)
			st := n.a.Stats()
			t.Logf("%s: %v virtual, %v real, %d segments retransmitted, %d RTOs",
				tc.name, elapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), st.TcpRetransSegs, st.TcpExtTCPTimeouts)

			// Close both sides, with the fault still on the link.
			if err := n.b.Close(afd); err != nil {
				t.Fatal(err)
			}
			n.a.Close(cfd)
			n.b.Close(lfd)
			n.run(70 * time.Second) // FIN exchange, then TIME-WAIT (60 s)
			if c := append(n.a.Connections(), n.b.Connections()...); len(c) != 0 {
				t.Fatalf("connections left 70 s after close: %+v", c)
			}
			n.run(2 * time.Minute) // ARP entries expire (60 s)
			if p := n.clk.Pending(); p != 0 {
				t.Fatalf("%d timers pending on an idle network with no connections, want 0", p)
			}
			n.a.Destroy()
			n.b.Destroy()
			if p := n.clk.Pending(); p != 0 {
				t.Fatalf("%d timers pending after Destroy, want 0", p)
			}
			if g := runtime.NumGoroutine(); g > goroutines {
				t.Fatalf("%d goroutines after the transfer, %d before", g, goroutines)
			}
		})
	}
}

// streamTransfer writes data from a, half-closes, and hashes what b reads
// until end of stream.
func streamTransfer(t *testing.T, n *testNet, cfd, afd int, data []byte, limit time.Duration) (int, [32]byte) {
	t.Helper()
	h := sha256.New()
	got := pumpStream(t, n, cfd, afd, data, limit, 256<<10, func(b []byte) { h.Write(b) })
	var sum [32]byte
	h.Sum(sum[:0])
	return got, sum
}
