package impair

import (
	"net"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
)

// nullEndpoint is a link.Endpoint that discards what it is given.
type nullEndpoint struct{ d link.Dispatcher }

func (*nullEndpoint) MTU() int                       { return 1500 }
func (*nullEndpoint) LinkAddress() net.HardwareAddr  { return macA }
func (n *nullEndpoint) Attach(d link.Dispatcher)     { n.d = d }
func (*nullEndpoint) WritePacket(frame []byte) error { return nil }
func (*nullEndpoint) Close() error                   { return nil }

// receive delivers frame as if it had arrived.
func (n *nullEndpoint) receive(frame []byte) { n.d.DeliverFrame(frame) }

func discard([]byte) {}

// TestAllocs: in steady state no path allocates per frame: pass-through,
// delay, delay with jitter, rate and queue, drops with and without a drop
// hook, and the Endpoint wrapper.
func TestAllocs(t *testing.T) {
	drops := Config{Loss: RandomLoss(0.2, 0), DropEveryNth: 5, Rate: 50_000_000, Limit: 5, CoDel: true}
	for _, tc := range []struct {
		name string
		cfg  Config
		gap  time.Duration
		hook bool // set a drop hook
	}{
		{"passthrough", Config{}, 0, false},
		{"delay", Config{Delay: 10 * time.Millisecond}, 100 * time.Microsecond, false},
		{"delay jitter table", Config{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Distribution: NormalTable()}, 100 * time.Microsecond, false},
		{"rate queue codel", Config{Rate: 100_000_000, Limit: 100, CoDel: true, Delay: time.Millisecond}, 80 * time.Microsecond, false},
		{"loss dup corrupt ecn", Config{Loss: GELoss(0.1, 0.5), Duplicate: 0.1, Corrupt: 0.1, ECN: true, Delay: time.Millisecond}, 100 * time.Microsecond, false},
		{"schedule match", Config{DropMatch: []Match{{Proto: 6}}, DropEveryNth: 3}, 0, false},
		{"drops no hook", drops, 100 * time.Microsecond, false},
		{"drops with hook", drops, 100 * time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(clock.Epoch)
			d := New(tc.cfg, clk, discard)
			var hooked int
			if tc.hook {
				d.SetDropHook(func([]byte, DropReason) { hooked++ })
			}
			frame := udpFrame(1, 1000, tosECT0)
			step := func() {
				d.Send(frame)
				clk.Advance(tc.gap)
			}
			for range 5000 { // reach the steady state: pool, heap, timers
				step()
			}
			allocs := testing.AllocsPerRun(2000, step)
			t.Logf("%s: %.2f allocs per frame", tc.name, allocs)
			if allocs != 0 {
				t.Errorf("%.2f allocs per frame, want 0", allocs)
			}
			if s := d.Stats(); tc.hook && (s.Dropped() == 0 || uint64(hooked) != s.Dropped()) {
				t.Errorf("%d hook calls, %d drops", hooked, s.Dropped())
			}
		})
	}
	t.Run("endpoint nil configs", func(t *testing.T) {
		inner := &nullEndpoint{}
		e := Wrap(inner, nil, nil, clock.NewManual(clock.Epoch))
		e.Attach(link.DispatcherFunc(discard))
		frame := udpFrame(1, 1000, tosECT0)
		allocs := testing.AllocsPerRun(2000, func() {
			_ = e.WritePacket(frame)
			inner.receive(frame)
		})
		t.Logf("endpoint pass-through: %.2f allocs per frame each way", allocs)
		if allocs != 0 {
			t.Errorf("%.2f allocs per frame, want 0", allocs)
		}
	})
	t.Run("endpoint delay both ways", func(t *testing.T) {
		clk := clock.NewManual(clock.Epoch)
		cfg := &Config{Delay: time.Millisecond}
		inner := &nullEndpoint{}
		e := Wrap(inner, cfg, cfg, clk)
		e.Attach(link.DispatcherFunc(discard))
		frame := udpFrame(1, 1000, tosECT0)
		step := func() {
			_ = e.WritePacket(frame)
			inner.receive(frame)
			clk.Advance(50 * time.Microsecond)
		}
		for range 1000 {
			step()
		}
		allocs := testing.AllocsPerRun(2000, step)
		t.Logf("endpoint delay: %.2f allocs per frame each way", allocs)
		if allocs != 0 {
			t.Errorf("%.2f allocs per frame, want 0", allocs)
		}
	})
}
