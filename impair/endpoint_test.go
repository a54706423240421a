package impair

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
)

// recorder is a Dispatcher that notes when each frame arrives.
type recorder struct {
	clk *clock.Manual
	got []arrival
}

func (r *recorder) DeliverFrame(frame []byte) {
	r.got = append(r.got, arrival{id: frameID(frame), at: r.clk.Now().Sub(clock.Epoch)})
}

// pump moves what from has sent to its peer, as a wire would.
func pump(from *pipe.Endpoint) int {
	q := from.Take()
	for _, f := range q {
		from.Peer().Inject(f)
	}
	return len(q)
}

// TestEndpointPipe impairs both directions of one end of a pipe.
func TestEndpointPipe(t *testing.T) {
	clk := clock.NewManual(clock.Epoch)
	a, b := pipe.Pair(pipe.Manual, 1500, macA, macB)
	wa := Wrap(a, &Config{Delay: 10 * time.Millisecond}, &Config{Delay: 5 * time.Millisecond, DropPackets: []uint64{2}}, clk)
	wb := Wrap(b, nil, nil, clk)
	ra, rb := &recorder{clk: clk}, &recorder{clk: clk}
	wa.Attach(ra)
	wb.Attach(rb)
	if wa.MTU() != 1500 || wa.LinkAddress().String() != macA.String() {
		t.Fatalf("MTU %d address %v, want the wrapped endpoint's", wa.MTU(), wa.LinkAddress())
	}
	if wb.Egress() != nil || wb.Ingress() != nil || wa.Egress() == nil || wa.Ingress() == nil {
		t.Fatal("directions not as configured")
	}

	// A to B: 10 ms of egress delay on A.
	if err := wa.WritePacket(udpFrame(1, 100, 0)); err != nil {
		t.Fatal(err)
	}
	if n := pump(a); n != 0 {
		t.Fatalf("%d frames on the wire before the delay", n)
	}
	clk.Advance(10 * time.Millisecond)
	if n := pump(a); n != 1 || len(rb.got) != 1 || rb.got[0].at != 10*time.Millisecond {
		t.Fatalf("pumped %d, B got %+v; want frame 1 at 10ms", n, rb.got)
	}

	// B to A: B passes straight through, A's ingress adds 5 ms and drops
	// the second frame it receives.
	for id := uint64(2); id <= 4; id++ {
		if err := wb.WritePacket(udpFrame(id, 100, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if n := pump(b); n != 3 {
		t.Fatalf("B put %d frames on the wire, want 3", n)
	}
	clk.Advance(5 * time.Millisecond)
	if len(ra.got) != 2 || ra.got[0].id != 2 || ra.got[1].id != 4 || ra.got[0].at != 15*time.Millisecond {
		t.Fatalf("A got %+v; want frames 2 and 4 at 15ms", ra.got)
	}
	s := wa.Stats()
	if s.Egress.Passed != 1 || s.Ingress.Passed != 2 || s.Ingress.DroppedSchedule != 1 {
		t.Errorf("stats %+v", s)
	}
	if s := wb.Stats(); s != (EndpointStats{}) {
		t.Errorf("pass-through endpoint stats %+v, want zero", s)
	}

	// Runtime changes: A's egress becomes a pass-through Direction, B gets
	// an egress delay.
	wa.SetConfig(nil, &Config{Delay: 5 * time.Millisecond})
	wb.SetConfig(&Config{Delay: time.Millisecond}, nil)
	if err := wa.WritePacket(udpFrame(5, 100, 0)); err != nil {
		t.Fatal(err)
	}
	if n := pump(a); n != 1 {
		t.Fatalf("pumped %d after removing the delay, want 1 at once", n)
	}
	if s := wa.Stats(); s.Egress.Passed != 2 {
		t.Errorf("egress counters did not go on: %+v", s.Egress)
	}
	if err := wb.WritePacket(udpFrame(6, 100, 0)); err != nil {
		t.Fatal(err)
	}
	if n := pump(b); n != 0 || wb.Egress() == nil {
		t.Fatalf("B's new egress delay not applied")
	}
	clk.Advance(time.Millisecond)
	if n := pump(b); n != 1 {
		t.Fatalf("pumped %d after B's delay, want 1", n)
	}

	// A write error after the delay is counted, not returned.
	wb.SetConfig(&Config{Delay: time.Millisecond}, nil)
	if err := wb.WritePacket(udpFrame(7, 100, 0)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if s := wb.Stats(); s.WriteErrors != 1 {
		t.Errorf("WriteErrors = %d, want 1", s.WriteErrors)
	}

	// Detached: frames received are dropped by the pipe, and the wrapper
	// passes nil on.
	wa.Attach(nil)
	if err := wa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wa.WritePacket(udpFrame(8, 100, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("WritePacket after Close = %v, want ErrClosed", err)
	}
	wa.SetConfig(&Config{}, &Config{})
}

// TestEndpointPassThrough: with nil configs nothing is copied or held, and
// the wrapped endpoint's errors come back.
func TestEndpointPassThrough(t *testing.T) {
	a, b := pipe.Pair(pipe.Manual, 1500, macA, macB)
	wa := Wrap(a, nil, nil, clock.NewManual(clock.Epoch))
	rb := &recorder{clk: clock.NewManual(clock.Epoch)}
	b.Attach(rb)
	if err := wa.WritePacket(udpFrame(1, 100, 0)); err != nil {
		t.Fatal(err)
	}
	pump(a)
	if len(rb.got) != 1 {
		t.Fatalf("got %d frames, want 1", len(rb.got))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wa.WritePacket(udpFrame(2, 100, 0)); !errors.Is(err, pipe.ErrClosed) {
		t.Errorf("WritePacket on a closed pipe = %v, want pipe.ErrClosed", err)
	}
}

// TestEndpointConcurrent runs both directions from several goroutines on
// the real clock (for the race detector).
func TestEndpointConcurrent(t *testing.T) {
	a, b := pipe.Pair(pipe.Async, 1500, macA, macB)
	cfg := &Config{Delay: 200 * time.Microsecond, Jitter: 100 * time.Microsecond, Loss: RandomLoss(0.05, 0), Duplicate: 0.05, Rate: 500_000_000, Limit: 100}
	wa := Wrap(a, cfg, cfg, clock.Real{})
	wb := Wrap(b, cfg, nil, clock.Real{})
	done := make(chan struct{}, 4)
	var arrived [2]atomic.Int64
	counter := func(i int) link.DispatcherFunc {
		return func([]byte) { arrived[i].Add(1) }
	}
	wa.Attach(counter(0))
	wb.Attach(counter(1))
	for g := range 4 {
		go func() {
			ep := wa
			if g%2 == 1 {
				ep = wb
			}
			for i := range 2000 {
				_ = ep.WritePacket(udpFrame(uint64(i), 200, 0))
				if i%500 == 0 {
					ep.SetConfig(cfg, cfg)
					_ = ep.Stats()
				}
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		sa, sb := wa.Stats(), wb.Stats()
		if sa.Egress.QueueLen+sa.Egress.InFlight+sa.Ingress.QueueLen+sa.Ingress.InFlight+sb.Egress.QueueLen+sb.Egress.InFlight == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range []Stats{wa.Stats().Egress, wa.Stats().Ingress, wb.Stats().Egress} {
		checkConservation(t, s)
	}
	if arrived[0].Load() == 0 || arrived[1].Load() == 0 {
		t.Errorf("arrived %d and %d frames, want some both ways", arrived[0].Load(), arrived[1].Load())
	}
	_ = wa.Close()
	_ = wb.Close()
}
