package impair

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
)

// BenchmarkDirection measures frames through a Direction on the real clock,
// from Send until the last frame has been handed to out: ns/op is ns per
// frame.
func BenchmarkDirection(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"passthrough", Config{}},
		{"delay 1ms", Config{Delay: time.Millisecond}},
		{"delay 1ms jitter", Config{Delay: time.Millisecond, Jitter: 200 * time.Microsecond, Distribution: NormalTable()}},
		{"loss 1%", Config{Loss: RandomLoss(0.01, 0)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n atomic.Int64
			d := New(bc.cfg, clock.Real{}, func([]byte) { n.Add(1) })
			frame := udpFrame(1, 1500, 0)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				d.Send(frame)
			}
			want := int64(b.N) - int64(d.Stats().Dropped())
			for n.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			d.Close()
		})
	}
}

// BenchmarkEngine measures the engine's own cost per frame on a manual
// clock (no timer goroutine), advanced 1 µs a frame.
func BenchmarkEngine(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"passthrough", Config{}},
		{"delay", Config{Delay: time.Millisecond}},
		{"jitter normal", Config{Delay: time.Millisecond, Jitter: 200 * time.Microsecond, Distribution: NormalTable()}},
		{"rate codel", Config{Rate: 10_000_000_000, Limit: 1000, CoDel: true}},
		{"everything", everything(1)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clk := clock.NewManual(clock.Epoch)
			d := New(bc.cfg, clk, discard)
			frame := udpFrame(1, 1500, tosECT0)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				d.Send(frame)
				clk.Advance(time.Microsecond)
			}
		})
	}
}

// BenchmarkEndpoint compares writing through an Endpoint with nil configs to
// writing to the wrapped endpoint directly.
func BenchmarkEndpoint(b *testing.B) {
	frame := udpFrame(1, 1500, 0)
	b.Run("raw", func(b *testing.B) {
		var ep nullEndpoint
		b.ReportAllocs()
		for range b.N {
			_ = ep.WritePacket(frame)
		}
	})
	b.Run("wrapped nil", func(b *testing.B) {
		e := Wrap(&nullEndpoint{}, nil, nil, clock.Real{})
		b.ReportAllocs()
		for range b.N {
			_ = e.WritePacket(frame)
		}
	})
	b.Run("wrapped zero config", func(b *testing.B) {
		e := Wrap(&nullEndpoint{}, &Config{}, nil, clock.Real{})
		b.ReportAllocs()
		for range b.N {
			_ = e.WritePacket(frame)
		}
	})
}
