package check

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/trace"
)

// A small lab on a virtual clock: two real Go stacks, "a" (10.0.0.1, the
// client and sender) and "b" (10.0.0.2, a sink on port 5001), joined by a
// pipe whose two directions go through impair (a one-way delay, and the
// drops a scenario asks for). a connects, writes scenario.bytes, closes; b
// reads (except during its pause), closes when it reads the end, and the
// lab runs on until scenario.run has passed. Every probe event of both
// stacks is recorded, as the agent records them, so that the checks see
// real traces.

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

const sinkPort = 5001

// scenario says what happens in one simulated lab.
type scenario struct {
	bytes int // a sends this many bytes to b
	// tcpA and tcpB are the stacks' TCP defaults; TimeWait defaults to 1 s
	// here so that a run sees it end.
	tcpA, tcpB stack.TCPOptions
	// egressA and egressB impair what a and b send (their Delay is
	// replaced by delay).
	egressA, egressB impair.Config
	delay            time.Duration    // one way; default 5 ms
	pause            [2]time.Duration // b reads nothing in [pause[0], pause[1])
	run              time.Duration    // default 5 s
	port             uint16           // a connects to this port; default sinkPort
}

// labRun is what a simulated lab left: the traces and the steps' results,
// ready to grade.
type labRun struct {
	ev       Evidence
	received int
	closedA  bool
}

// simulate runs sc and returns its evidence: Traces "a" and "b", and Steps
// "send" (a's report: bytes, sha256), "sink" (b's: bytes, sha256) and
// "nstat-a", "nstat-b" (each stack's counters, as {"counters": {...}}).
func simulate(t testing.TB, sc scenario) *labRun {
	t.Helper()
	if sc.delay == 0 {
		sc.delay = 5 * time.Millisecond
	}
	if sc.run == 0 {
		sc.run = 5 * time.Second
	}
	for _, o := range []*stack.TCPOptions{&sc.tcpA, &sc.tcpB} {
		if o.TimeWait == 0 {
			o.TimeWait = time.Second
		}
	}
	clk := clock.NewManual(clock.Epoch)
	start := clk.Now()
	ea, eb := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	sc.egressA.Delay, sc.egressB.Delay = sc.delay, sc.delay
	sc.egressA.Seed, sc.egressB.Seed = 11, 12
	var evA, evB []trace.Event
	a := stack.New(stack.Options{Clock: clk, Seed: 1, TCP: sc.tcpA, Probe: func(e stack.ProbeEvent) { evA = append(evA, trace.FromProbe(e)) }})
	b := stack.New(stack.Options{Clock: clk, Seed: 2, TCP: sc.tcpB, Probe: func(e stack.ProbeEvent) { evB = append(evB, trace.FromProbe(e)) }})
	t.Cleanup(func() { a.Destroy(); b.Destroy() })
	addIf(t, a, impair.Wrap(ea, &sc.egressA, nil, clk), addrA)
	addIf(t, b, impair.Wrap(eb, &sc.egressB, nil, clk), addrB)

	lfd := socket(t, b)
	if err := b.Bind(lfd, netip.AddrPortFrom(netip.Addr{}, sinkPort)); err != nil {
		t.Fatal(err)
	}
	if err := b.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	cfd := socket(t, a)
	if sc.port == 0 {
		sc.port = sinkPort
	}
	if err := a.Connect(cfd, addrB, sc.port); !errors.Is(err, stack.EINPROGRESS) {
		t.Fatalf("Connect = %v, want EINPROGRESS", err)
	}

	// shuttle moves every frame queued on the pipe to the other end,
	// until none is left (a frame delivered may send others at once).
	shuttle := func() {
		for moved := true; moved; {
			moved = false
			for _, ep := range []*pipe.Endpoint{ea, eb} {
				for _, f := range ep.Take() {
					ep.Peer().Inject(f)
					moved = true
				}
			}
		}
	}
	payload := make([]byte, sc.bytes)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	sent := 0
	sumA, sumB := sha256.New(), sha256.New()
	sumA.Write(payload)
	run := &labRun{}
	afd, eof, closedB, connected := -1, false, false, false
	buf := make([]byte, 64<<10)
	for clk.Now().Sub(start) < sc.run {
		shuttle()
		// a writes what fits once connected, then closes.
		if !connected {
			info, err := a.Info(cfd)
			connected = err == nil && info.State == "ESTABLISHED"
			if err != nil && !run.closedA {
				a.Close(cfd) // refused or timed out
				run.closedA = true
			}
		}
		if !connected {
		} else if sent < len(payload) {
			if n, err := a.Write(cfd, payload[sent:]); err == nil {
				sent += n
			} else if !errors.Is(err, stack.EAGAIN) && !errors.Is(err, stack.ENOTCONN) {
				t.Fatalf("a: write: %v", err)
			}
		} else if !run.closedA && connected {
			a.Close(cfd)
			run.closedA = true
		}
		// b accepts, reads unless paused, closes at the end.
		if afd < 0 {
			if fd, _, err := b.Accept(lfd); err == nil {
				afd = fd
				b.SetNonblock(afd, true)
			}
		}
		el := clk.Now().Sub(start)
		if afd >= 0 && !closedB && (el < sc.pause[0] || el >= sc.pause[1]) {
			for {
				n, err := b.Read(afd, buf)
				if n > 0 {
					run.received += n
					sumB.Write(buf[:n])
					continue
				}
				if err == nil {
					eof = true
				}
				break
			}
			if eof {
				b.Close(afd)
				closedB = true
			}
		}
		shuttle()
		clk.Advance(time.Millisecond)
	}
	shuttle()
	run.ev = Evidence{
		Traces: map[string][]trace.Event{"a": evA, "b": evB},
		Steps: map[string]any{
			"send":    map[string]any{"bytes": float64(sent), "sha256": hexSum(sumA)},
			"sink":    map[string]any{"bytes": float64(run.received), "sha256": hexSum(sumB)},
			"nstat-a": map[string]any{"counters": counters(a)},
			"nstat-b": map[string]any{"counters": counters(b)},
		},
	}
	return run
}

// counters are a stack's nstat counters as a step's decoded JSON holds them.
func counters(s *stack.Stack) map[string]any {
	m := map[string]any{}
	for k, v := range s.Stats().Map() {
		m[k] = float64(v)
	}
	return m
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func addIf(t testing.TB, s *stack.Stack, ep *impair.Endpoint, a netip.Addr) {
	t.Helper()
	id, err := s.AddInterface("eth1", ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress(id, netip.PrefixFrom(a, 24)); err != nil {
		t.Fatal(err)
	}
}

func socket(t testing.TB, s *stack.Stack) int {
	t.Helper()
	fd, err := s.Socket(stack.SockStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return fd
}

// The scenarios the tests grade, by name.
func scenarios() map[string]scenario {
	drop6 := impair.Match{Data: true, Skip: 5, Count: 1} // a's 6th data segment, once
	return map[string]scenario{
		// 30 kB, nothing lost; a closes first (TIME-WAIT on a).
		"clean": {bytes: 30000},
		// a's 6th data segment is lost once: three duplicate ACKs (with
		// SACK), a fast retransmission.
		"loss": {bytes: 30000, egressA: impair.Config{DropMatch: []impair.Match{drop6}}},
		// the a->b direction is down for 1.5 s in the middle of a 300 kB
		// transfer at 10 Mbit/s: RTOs of 200, 400, 800, 1600 ms.
		"outage": {bytes: 300000, egressA: impair.Config{Rate: 10e6, Outage: impair.Outage{Offset: 100 * time.Millisecond, For: 1500 * time.Millisecond}}},
		// b's receive buffer is 16 KiB and b reads nothing for 2 s: zero
		// window, persist probes, then the transfer resumes.
		"zerowin": {bytes: 60000, tcpB: stack.TCPOptions{ReceiveBuffer: 16384}, pause: [2]time.Duration{0, 2 * time.Second}},
		// b announces MSS 1000 and no timestamps; a offers no window scaling.
		"clamped": {bytes: 10000, tcpA: stack.TCPOptions{DisableWS: true}, tcpB: stack.TCPOptions{MSS: 1000, DisableTS: true}},
		// 400 kB over a link that loses 2% of a's frames at random (20 ms
		// round trip): a sawtooth of fast recoveries, Reno's and CUBIC's.
		"lossy": {bytes: 400000, delay: 10 * time.Millisecond, egressA: impair.Config{Loss: impair.RandomLoss(0.02, 0)}},
		"cubic": {bytes: 400000, delay: 10 * time.Millisecond, egressA: impair.Config{Loss: impair.RandomLoss(0.02, 0)},
			tcpA: stack.TCPOptions{Congestion: "cubic"}},
		// nothing listens on the port a connects to: a reset.
		"refused": {port: 5999, run: time.Second},
	}
}

// evidence simulates every scenario and returns their evidence by name.
func evidence(t *testing.T) map[string]*Evidence {
	t.Helper()
	out := map[string]*Evidence{}
	for name, sc := range scenarios() {
		out[name] = &simulate(t, sc).ev
	}
	return out
}
