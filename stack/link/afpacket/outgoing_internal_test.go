package afpacket

import (
	"testing"
	"time"

	"github.com/netlab/netlab/linuxnet/linuxnettest"
	"github.com/netlab/netlab/stack/link"
)

// TestOutgoingFallback opens endpoints without PACKET_IGNORE_OUTGOING, as on
// a kernel older than 4.20, and checks that the packet type check keeps the
// endpoint's own frames from coming back.
func TestOutgoingFallback(t *testing.T) {
	linuxnettest.RequireRoot(t)
	for _, mode := range []Mode{ModeRecvmmsg, ModeMmap, ModeMmapV2} {
		t.Run(string(mode), func(t *testing.T) {
			p := linuxnettest.NewVethPair(t, 1500)
			opts := Options{Mode: mode, noIgnoreOutgoing: true, RingBlockTimeout: time.Millisecond}
			a, err := OpenInNamespace(p.NSA, p.IfA, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b, err := OpenInNamespace(p.NSB, p.IfB, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			back := 0
			a.Attach(link.DispatcherFunc(func([]byte) { back++ }))
			frame := make([]byte, 60)
			copy(frame, b.LinkAddress())
			copy(frame[6:], a.LinkAddress())
			frame[12], frame[13] = 0x88, 0xb5
			const n = 100
			for range n {
				if err := a.WritePacket(frame); err != nil {
					t.Fatal(err)
				}
			}
			ok := func() bool { return a.Stats().RxOutgoing == n && b.Stats().RxDetached == n }
			deadline := time.Now().Add(5 * time.Second)
			for !ok() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			a.Close() // so that back is safe to read
			if sa, sb := a.Stats(), b.Stats(); !ok() || sa.RxFrames != 0 || back != 0 {
				t.Errorf("sender %+v (delivered %d), receiver %+v; want the sender to drop its %d frames, the receiver to get them", sa, back, sb, n)
			}
		})
	}
}
