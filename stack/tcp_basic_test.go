package stack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

func TestSocketReturnsSmallDescriptors(t *testing.T) {
	n := newTestNet(t, Options{})
	fd1, _ := n.a.Socket(SockStream)
	fd2, _ := n.a.Socket(SockStream)
	if fd1 != 3 || fd2 != 4 {
		t.Fatalf("Socket = %d, %d; want 3, 4", fd1, fd2)
	}
	n.a.Close(fd1)
	fd3, _ := n.a.Socket(SockDgram)
	if fd3 != 3 {
		t.Fatalf("Socket after Close(3) = %d, want 3 (lowest free)", fd3)
	}
	if err := n.a.Close(99); !errors.Is(err, EBADF) {
		t.Fatalf("Close(99) = %v, want EBADF", err)
	}
}

func TestHandshakeFramesAndOptions(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	var syns []ProbeEvent
	for _, e := range n.events {
		if e.Kind == ProbeSegmentOut && e.Flags.Has(wire.TCPFlagSYN) {
			syns = append(syns, e)
		}
	}
	if len(syns) != 2 {
		t.Fatalf("SYN segments sent = %d, want 2 (SYN, SYN+ACK)", len(syns))
	}
	if syns[0].Flags != wire.TCPFlagSYN || syns[1].Flags != wire.TCPFlagSYN|wire.TCPFlagACK {
		t.Fatalf("handshake flags = %v, %v; want S, S.", syns[0].Flags, syns[1].Flags)
	}
	if syns[1].Ack != syns[0].Seq+1 {
		t.Fatalf("SYN+ACK acks %d, want ISN+1 = %d", syns[1].Ack, syns[0].Seq+1)
	}
	ci, err := n.a.Info(cfd)
	if err != nil {
		t.Fatal(err)
	}
	if ci.MSS != 1448 || ci.AdvMSS != 1460 || !ci.SACK || !ci.Timestamps || ci.WScaleRcv != 7 {
		t.Fatalf("client info = mss %d advmss %d sack %v ts %v wscale %d,%d; want 1448 1460 true true 7,7",
			ci.MSS, ci.AdvMSS, ci.SACK, ci.Timestamps, ci.WScaleSnd, ci.WScaleRcv)
	}
	if ci.Cwnd != 10*1448 {
		t.Fatalf("initial cwnd = %d, want IW10 = %d", ci.Cwnd, 10*1448)
	}
	ai, _ := n.b.Info(afd)
	if ai.State != "ESTABLISHED" || ai.Remote != ci.Local {
		t.Fatalf("server side %s remote %v, want ESTABLISHED %v", ai.State, ai.Remote, ci.Local)
	}
	if p := ci.Local.Port(); p < 32768 || p > 60999 {
		t.Fatalf("ephemeral port %d outside 32768-60999", p)
	}
}

// transfer writes data from a, half-closes, and returns what b reads until
// end of stream.
func transfer(t *testing.T, n *testNet, cfd, afd int, data []byte, limit time.Duration) []byte {
	t.Helper()
	var got []byte
	pumpStream(t, n, cfd, afd, data, limit, 64<<10, func(b []byte) { got = append(got, b...) })
	return got
}

// pumpStream writes data from a (cfd), half-closes, and hands what b (afd)
// reads to sink, reading bufSize bytes at a time, until end of stream; it
// returns the bytes received. The test fails if the stream has not ended
// within limit of the net's time.
func pumpStream(t *testing.T, n *testNet, cfd, afd int, data []byte, limit time.Duration, bufSize int, sink func([]byte)) int {
	t.Helper()
	buf := make([]byte, bufSize)
	got, sent := 0, 0
	closed := false
	ok := n.runUntil(limit, 10*time.Millisecond, func() bool {
		for sent < len(data) {
			w, err := n.a.Write(cfd, data[sent:])
			sent += w
			if err != nil {
				if !errors.Is(err, EAGAIN) {
					t.Fatalf("Write: %v", err)
				}
				break
			}
		}
		if sent == len(data) && !closed {
			n.a.Shutdown(cfd, ShutWR)
			closed = true
		}
		for {
			r, err := n.b.Read(afd, buf)
			if r > 0 {
				sink(buf[:r])
				got += r
				continue
			}
			if err != nil && !errors.Is(err, EAGAIN) {
				t.Fatalf("Read: %v", err)
			}
			return err == nil // 0, nil: end of stream
		}
	})
	if !ok {
		info, _ := n.a.Info(cfd)
		t.Fatalf("transfer incomplete after %v: sent %d, received %d of %d\n%v", limit, sent, got, len(data), info)
	}
	return got
}

func TestBulkTransferByteExact(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		fault func(from *Stack, f []byte) frameVerdict
	}{
		{"clean", 4 << 20, nil},
		{"loss1pct", 4 << 20, randomFault(11, 0.01, 0, 0)},
		{"loss5pct", 2 << 20, randomFault(12, 0.05, 0, 0)},
		{"reorder", 4 << 20, randomFault(13, 0, 0.05, 0)},
		{"duplicate", 4 << 20, randomFault(14, 0, 0, 0.05)},
		{"all", 2 << 20, randomFault(15, 0.02, 0.02, 0.02)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, Options{})
			n.fault = tc.fault
			cfd, _, afd := n.connectPair(5001)
			data := make([]byte, tc.size)
			r := rand.New(rand.NewPCG(7, 7))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			got := transfer(t, n, cfd, afd, data, 10*time.Minute)
			if sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("received %d bytes, sha256 differs from the %d sent", len(got), len(data))
			}
			if !bytes.Equal(got[:100], data[:100]) {
				t.Fatal("prefix differs")
			}
		})
	}
}

// randomFault drops, delays (reorders) and duplicates frames at the given
// rates with a fixed seed.
func randomFault(seed uint64, loss, reorder, dup float64) func(*Stack, []byte) frameVerdict {
	r := rand.New(rand.NewPCG(seed, seed))
	return func(_ *Stack, f []byte) frameVerdict {
		var v frameVerdict
		if r.Float64() < loss {
			v.drop = true
		}
		if r.Float64() < reorder {
			v.delay = 3 * time.Millisecond
		}
		if r.Float64() < dup {
			v.duplicate = true
		}
		return v
	}
}
