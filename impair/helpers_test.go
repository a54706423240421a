package impair

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/wire"
)

var (
	srcIP = netip.MustParseAddr("10.0.0.1")
	dstIP = netip.MustParseAddr("10.0.0.2")
)

const (
	ethIP   = wire.EthernetHeaderLen + wire.IPv4MinHeaderLen
	udpData = ethIP + wire.UDPHeaderLen // offset of a UDP frame's data
)

// ipFrame wraps an IPv4 payload of protocol proto in IPv4 and Ethernet
// headers with valid checksums.
func ipFrame(proto, tos uint8, l4 []byte) []byte {
	b := make([]byte, ethIP+len(l4))
	wire.EncodeEthernet(b, &wire.EthernetFields{Dst: wire.MAC{2, 0, 0, 0, 0, 2}, Src: wire.MAC{2, 0, 0, 0, 0, 1}, Type: wire.EtherTypeIPv4})
	wire.EncodeIPv4(b[wire.EthernetHeaderLen:], &wire.IPv4Fields{
		TOS: tos, TotalLength: uint16(wire.IPv4MinHeaderLen + len(l4)), TTL: 64, Protocol: proto, Src: srcIP, Dst: dstIP,
	})
	copy(b[ethIP:], l4)
	return b
}

// udpFrame returns a UDP frame of size bytes in all (at least udpData+8)
// whose data starts with id, with a valid UDP checksum.
func udpFrame(id uint64, size int, tos uint8) []byte {
	size = max(size, udpData+8)
	l4 := make([]byte, size-ethIP)
	binary.BigEndian.PutUint64(l4[wire.UDPHeaderLen:], id)
	for i := wire.UDPHeaderLen + 8; i < len(l4); i++ {
		l4[i] = byte(i)
	}
	wire.EncodeUDP(l4, &wire.UDPFields{SrcPort: 4000, DstPort: 5000}, srcIP, dstIP)
	return ipFrame(wire.ProtoUDP, tos, l4)
}

// frameID returns the id udpFrame put in frame.
func frameID(frame []byte) uint64 {
	return binary.BigEndian.Uint64(frame[udpData:])
}

// tcpFrame returns a TCP segment with the given flags, sequence and
// acknowledgment numbers and data length.
func tcpFrame(flags wire.TCPFlags, seq, ack uint32, data int, tos uint8) []byte {
	l4 := make([]byte, wire.TCPMinHeaderLen+data)
	for i := wire.TCPMinHeaderLen; i < len(l4); i++ {
		l4[i] = byte(i)
	}
	wire.EncodeTCP(l4, &wire.TCPFields{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Flags: flags, Window: 65535}, srcIP, dstIP)
	return ipFrame(wire.ProtoTCP, tos, l4)
}

// checkFrame parses frame down to its transport layer, verifying every
// checksum, and returns the first error.
func checkFrame(frame []byte) error {
	_, p, err := wire.ParseEthernet(frame)
	if err != nil {
		return err
	}
	ip, l4, err := wire.ParseIPv4(p)
	if err != nil {
		return err
	}
	switch ip.Protocol {
	case wire.ProtoTCP:
		_, _, err = wire.ParseTCP(l4, ip.Src, ip.Dst)
	case wire.ProtoUDP:
		_, _, err = wire.ParseUDP(l4, ip.Src, ip.Dst)
	}
	return err
}

// arrival is one frame handed to out.
type arrival struct {
	id    uint64
	at    time.Duration // since the harness started
	frame []byte
}

// harness drives one Direction on a manual clock and records what leaves.
type harness struct {
	t      testing.TB
	clk    *clock.Manual
	d      *Direction
	start  time.Time
	got    []arrival
	sentAt []time.Duration // by frame id
	keep   bool            // keep a copy of each frame sent
	trace  []Verdict
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewManual(clock.Epoch), start: clock.Epoch}
	h.d = New(cfg, h.clk, h.out)
	return h
}

// newTracingHarness is newHarness with every Verdict recorded.
func newTracingHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewManual(clock.Epoch), start: clock.Epoch}
	cfg.Trace = func(_ []byte, v Verdict) { h.trace = append(h.trace, v) }
	h.d = New(cfg, h.clk, h.out)
	return h
}

func (h *harness) out(frame []byte) {
	a := arrival{at: h.clk.Now().Sub(h.start)}
	if len(frame) >= udpData+8 {
		a.id = frameID(frame)
	}
	if h.keep {
		a.frame = slices.Clone(frame)
	}
	h.got = append(h.got, a)
}

func (h *harness) now() time.Duration { return h.clk.Now().Sub(h.start) }

// send offers a numbered UDP frame of size bytes now.
func (h *harness) send(id uint64, size int) {
	for uint64(len(h.sentAt)) <= id {
		h.sentAt = append(h.sentAt, -1)
	}
	h.sentAt[id] = h.now()
	h.d.Send(udpFrame(id, size, 0))
}

// run offers n numbered frames of size bytes, one every gap, starting now,
// then lets every held frame out.
func (h *harness) run(n int, gap time.Duration, size int) {
	for i := range n {
		h.send(uint64(i), size)
		h.clk.Advance(gap)
	}
	h.drain()
}

// drain runs the clock until no timer is pending.
func (h *harness) drain() {
	for {
		next, ok := h.clk.Next()
		if !ok {
			return
		}
		h.clk.AdvanceTo(next)
	}
}

// latencies returns each arrival's latency, in arrival order.
func (h *harness) latencies() []time.Duration {
	l := make([]time.Duration, len(h.got))
	for i, a := range h.got {
		l[i] = a.at - h.sentAt[a.id]
	}
	return l
}

// latencyByID returns the latency of each frame id that arrived.
func (h *harness) latencyByID() map[uint64]time.Duration {
	m := make(map[uint64]time.Duration, len(h.got))
	for _, a := range h.got {
		m[a.id] = a.at - h.sentAt[a.id]
	}
	return m
}

// checkConservation checks that every frame offered or copied was sent,
// dropped or is still held.
func checkConservation(t testing.TB, s Stats) {
	t.Helper()
	in := s.Offered + s.Duplicated
	out := s.Passed + s.Dropped() + uint64(s.QueueLen) + uint64(s.InFlight)
	if in != out {
		t.Errorf("offered %d + duplicated %d = %d, but passed %d + dropped %d + held %d+%d = %d",
			s.Offered, s.Duplicated, in, s.Passed, s.Dropped(), s.QueueLen, s.InFlight, out)
	}
}

// meanStd returns the mean and standard deviation of x.
func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

// durations converts to float64 seconds.
func seconds(d []time.Duration) []float64 {
	x := make([]float64, len(d))
	for i, v := range d {
		x[i] = v.Seconds()
	}
	return x
}

// within fails unless |got-want| <= tol.
func within(t testing.TB, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %.3g", what, got, want, tol)
	}
}

// binomialTol returns 3 standard deviations of the fraction of n Bernoulli
// trials with probability p.
func binomialTol(p float64, n int) float64 {
	return 3 * math.Sqrt(p*(1-p)/float64(n))
}
