package stack

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/link/pipe"
)

// benchPair is two stacks on the real clock over an async in-memory pipe.
func benchPair(b *testing.B) (*Stack, *Stack, func()) {
	ea, eb := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	sa, sb := New(Options{Seed: 1}), New(Options{Seed: 2})
	for _, x := range []struct {
		s  *Stack
		ep *pipe.Endpoint
		a  netip.Addr
	}{{sa, ea, addrA}, {sb, eb, addrB}} {
		id, _ := x.s.AddInterface("eth1", x.ep)
		x.s.AddAddress(id, netip.PrefixFrom(x.a, 24))
	}
	return sa, sb, func() { sa.Destroy(); sb.Destroy(); ea.Close(); eb.Close() }
}

// BenchmarkBulkThroughput moves data one way between two stacks in one
// process over the in-memory link; b.SetBytes makes `go test` print MB/s.
func BenchmarkBulkThroughput(b *testing.B) {
	sa, sb, done := benchPair(b)
	defer done()
	lfd, _ := sb.Socket(SockStream)
	sb.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, 5001))
	sb.Listen(lfd, 4)
	cfd, _ := sa.Socket(SockStream)
	if err := sa.Connect(cfd, addrB, 5001); err != nil {
		b.Fatal(err)
	}
	afd, _, err := sb.Accept(lfd)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 64 << 10
	total := int64(b.N) * chunk
	recvDone := make(chan int64)
	go func() {
		buf := make([]byte, 256<<10)
		var got int64
		for got < total {
			n, err := sb.Read(afd, buf)
			if err != nil || n == 0 {
				break
			}
			got += int64(n)
		}
		recvDone <- got
	}()
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := sa.Write(cfd, buf); err != nil {
			b.Fatal(err)
		}
	}
	got := <-recvDone
	el := time.Since(start)
	b.StopTimer()
	if got != total {
		b.Fatalf("received %d of %d", got, total)
	}
	b.ReportMetric(float64(total)*8/el.Seconds()/1e9, "Gbit/s")
	info, _ := sa.Info(cfd)
	b.ReportMetric(float64(info.Retrans), "retrans")
	b.ReportMetric(float64(sa.Stats().TcpOutSegs)/float64(b.N), "segs/op")
}

// BenchmarkSegmentRoundTrip is the cost of one MSS-sized data segment
// through both stacks (sender output + receiver input + its ACK), measured
// on the virtual clock with no goroutine hand-offs.
func BenchmarkSegmentRoundTrip(b *testing.B) {
	n := newTestNet(b, Options{Probe: func(ProbeEvent) {}})
	n.delay = 0
	cfd, _, afd := n.connectPair(5001)
	payload := make([]byte, 1448)
	rbuf := make([]byte, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.a.Write(cfd, payload); err != nil && !errors.Is(err, EAGAIN) {
			b.Fatal(err)
		}
		for _, f := range n.ea.Take() {
			n.eb.Inject(f)
		}
		for _, f := range n.eb.Take() {
			n.ea.Inject(f)
		}
		for {
			r, _ := n.b.Read(afd, rbuf)
			if r <= 0 {
				break
			}
		}
	}
}
