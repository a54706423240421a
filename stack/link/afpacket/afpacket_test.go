package afpacket_test

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/linuxnet/linuxnettest"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
)

// sendAll sends frames 0..n-1 of direction dir from ep to peer, keeping at
// most window frames unacknowledged by the peer's collector, so that the
// veth and the socket buffers never overflow. With batch > 1 it uses
// WritePackets.
func sendAll(ep *afpacket.Endpoint, dst net.HardwareAddr, dir byte, n, window, batch int, peer *collector) error {
	src := ep.LinkAddress()
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 1514)
	}
	frames := make([][]byte, 0, batch)
	timer := time.NewTimer(time.Hour)
	for seq := 0; seq < n; {
		for seq-int(peer.got.Load()) >= window {
			timer.Reset(5 * time.Second)
			select {
			case <-peer.notify:
			case <-timer.C:
				return errors.New("peer stopped receiving (window full for 5 s)")
			}
		}
		k := min(batch, n-seq, window-(seq-int(peer.got.Load())))
		frames = frames[:0]
		for i := range k {
			s := uint32(seq + i)
			frames = append(frames, makeFrame(bufs[i], dst, src, dir, s, frameSize(s)))
		}
		if batch == 1 {
			if err := ep.WritePacket(frames[0]); err != nil {
				return err
			}
		} else if sent, err := ep.WritePackets(frames); err != nil || sent != k {
			return errors.Join(err, errors.New("WritePackets sent fewer frames than given"))
		}
		seq += k
	}
	return nil
}

// TestExchange sends 10,000 frames of every size up to 1514 bytes each way
// at once over a veth between two namespaces, and checks that all arrive
// byte-exact, none comes back to its sender, and Close ends the receive
// goroutine.
func TestExchange(t *testing.T) {
	linuxnettest.RequireRoot(t)
	const n = 10000
	for _, mode := range modes {
		for _, batch := range []int{1, 32} {
			name := string(mode) + "/write"
			if batch > 1 {
				name = string(mode) + "/sendmmsg"
			}
			t.Run(name, func(t *testing.T) {
				p := linuxnettest.NewVethPair(t, 1500)
				baseline := runtime.NumGoroutine()
				a := open(t, p.NSA, p.IfA, afpacket.Options{Mode: mode})
				b := open(t, p.NSB, p.IfB, afpacket.Options{Mode: mode})
				for _, ep := range []*afpacket.Endpoint{a, b} {
					if ep.MTU() != 1500 {
						t.Errorf("%s: MTU() = %d, want 1500", ep.Name(), ep.MTU())
					}
					if ep.Mode() != mode {
						t.Errorf("%s: Mode() = %q, want %q", ep.Name(), ep.Mode(), mode)
					}
				}
				checkMAC(t, p.NSA, p.IfA, a.LinkAddress())
				checkMAC(t, p.NSB, p.IfB, b.LinkAddress())

				atB := newCollector(b.LinkAddress(), a.LinkAddress(), 'a', n) // frames A→B
				atA := newCollector(a.LinkAddress(), b.LinkAddress(), 'b', n) // frames B→A
				a.Attach(atA)
				b.Attach(atB)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				wg.Go(func() { errs[0] = sendAll(a, b.LinkAddress(), 'a', n, 256, batch, atB) })
				wg.Go(func() { errs[1] = sendAll(b, a.LinkAddress(), 'b', n, 256, batch, atA) })
				wg.Wait()
				for _, c := range []*collector{atA, atB} {
					waitFor(5*time.Second, func() bool { return c.got.Load() == n })
				}
				for i, ep := range []*afpacket.Endpoint{a, b} {
					c := []*collector{atA, atB}[i]
					st := ep.Stats()
					if errs[1-i] != nil {
						t.Errorf("sending to %s: %v", ep.Name(), errs[1-i])
					}
					if got := c.got.Load(); got != n {
						t.Errorf("%s received %d of %d frames; stats %+v", ep.Name(), got, n, st)
					}
					for _, e := range c.errors() {
						t.Errorf("%s: %s", ep.Name(), e)
					}
					if back := c.ownBack.Load(); back != 0 {
						t.Errorf("%s read back %d of its own frames", ep.Name(), back)
					}
					if f := c.foreign.Load(); f != 0 {
						t.Errorf("%s received %d frames that are not the test's", ep.Name(), f)
					}
					if st.TxFrames != n || st.RxFrames != n || st.TxErrors != 0 || st.RxKernelDrops != 0 || st.RxOversize != 0 {
						t.Errorf("%s: stats %+v, want %d frames each way and no error or drop", ep.Name(), st, n)
					}
				}

				for _, ep := range []*afpacket.Endpoint{a, b} {
					if err := ep.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
					if err := ep.Close(); err != nil {
						t.Errorf("second Close: %v", err)
					}
					f := makeFrame(make([]byte, 60), a.LinkAddress(), b.LinkAddress(), 'x', 0, 60)
					if err := ep.WritePacket(f); !errors.Is(err, net.ErrClosed) {
						t.Errorf("WritePacket after Close = %v, want net.ErrClosed", err)
					}
					if _, err := ep.WritePackets([][]byte{f}); !errors.Is(err, net.ErrClosed) {
						t.Errorf("WritePackets after Close = %v, want net.ErrClosed", err)
					}
				}
				checkGoroutines(t, baseline)
			})
		}
	}
}

// checkMAC compares mac with the interface's address as netlink reports it.
func checkMAC(t *testing.T, ns, ifname string, mac net.HardwareAddr) {
	t.Helper()
	err := linuxnet.InNamespace(ns, func() error {
		l, err := netlink.LinkByName(ifname)
		if err != nil {
			return err
		}
		if l.Attrs().HardwareAddr.String() != mac.String() {
			t.Errorf("%s: LinkAddress() = %v, want %v", ifname, mac, l.Attrs().HardwareAddr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestJumboMTU checks the MTU of a 9000-byte veth and that frames of that
// size go through, and longer ones are refused.
func TestJumboMTU(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			_, a, b := openPair(t, 9000, afpacket.Options{Mode: mode})
			if a.MTU() != 9000 || b.MTU() != 9000 {
				t.Errorf("MTU() = %d and %d, want 9000", a.MTU(), b.MTU())
			}
			got := make(chan []byte, 4)
			b.Attach(link.DispatcherFunc(func(f []byte) { trySend(got, append([]byte(nil), f...)) }))
			for _, size := range []int{9014, 60} {
				f := makeFrame(make([]byte, size), b.LinkAddress(), a.LinkAddress(), 'j', uint32(size), size)
				if err := a.WritePacket(f); err != nil {
					t.Fatalf("WritePacket(%d bytes): %v", size, err)
				}
				select {
				case r := <-got:
					if string(r) != string(f) {
						t.Errorf("sent %d bytes, received %d different bytes", len(f), len(r))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%d-byte frame not received; stats %+v", size, b.Stats())
				}
			}
			for _, size := range []int{9015, 13, 0} {
				if err := a.WritePacket(make([]byte, size)); !errors.Is(err, unix.EMSGSIZE) {
					t.Errorf("WritePacket(%d bytes) = %v, want EMSGSIZE", size, err)
				}
			}
		})
	}
}

// TestDetached checks that frames arriving with no Dispatcher are dropped
// and counted, and that a Dispatcher attached later gets the next ones.
func TestDetached(t *testing.T) {
	_, a, b := openPair(t, 1500, afpacket.Options{})
	f := makeFrame(make([]byte, 100), b.LinkAddress(), a.LinkAddress(), 'd', 1, 100)
	for range 3 {
		if err := a.WritePacket(f); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(5*time.Second, func() bool { return b.Stats().RxDetached == 3 }) {
		t.Fatalf("stats %+v, want 3 frames dropped while detached", b.Stats())
	}
	got := make(chan struct{}, 1)
	b.Attach(link.DispatcherFunc(func([]byte) { trySend(got, struct{}{}) }))
	if err := a.WritePacket(f); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatalf("frame not delivered after Attach; stats %+v", b.Stats())
	}
	b.Attach(nil)
	if err := a.WritePacket(f); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return b.Stats().RxDetached == 4 }) {
		t.Fatalf("stats %+v, want 4 frames dropped while detached", b.Stats())
	}
}

func TestNewErrors(t *testing.T) {
	linuxnettest.RequireRoot(t)
	ns := linuxnettest.NewNS(t)
	err := linuxnet.InNamespace(ns, func() error {
		if _, err := afpacket.New("nltnosuchif", afpacket.Options{}); !errors.Is(err, unix.ENODEV) {
			t.Errorf("New(missing interface) = %v, want ENODEV", err)
		}
		if _, err := afpacket.New("lo", afpacket.Options{Mode: "bogus"}); err == nil {
			t.Errorf("New with mode bogus succeeded")
		}
		if _, err := afpacket.New("lo", afpacket.Options{Mode: afpacket.ModeMmap, RingBlockSize: 4096}); err == nil {
			t.Errorf("New with a ring block smaller than lo's MTU succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := afpacket.OpenInNamespace(ns, "nltnosuchif", afpacket.Options{}); err == nil {
		t.Errorf("OpenInNamespace(missing interface) succeeded")
	}
}

// TestZeroAllocs checks that sending a frame and receiving it at the other
// end allocates nothing, on both paths and in both modes.
func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			// A short block timeout so that each lone frame comes through
			// quickly in mmap mode.
			_, a, b := openPair(t, 1500, afpacket.Options{Mode: mode, RingBlockTimeout: time.Millisecond})
			arrived := make(chan struct{}, 64)
			b.Attach(link.DispatcherFunc(func([]byte) { trySend(arrived, struct{}{}) }))
			frame := makeFrame(make([]byte, 1514), b.LinkAddress(), a.LinkAddress(), 'z', 0, 1514)
			w := newWaiter()
			lost := false
			one := func() {
				if err := a.WritePacket(frame); err != nil {
					panic(err)
				}
				lost = lost || !w.wait(arrived)
			}
			one()
			if allocs := testing.AllocsPerRun(500, one); allocs != 0 {
				t.Errorf("WritePacket and receive: %v allocations per frame, want 0", allocs)
			}
			frames := make([][]byte, 16)
			for i := range frames {
				frames[i] = frame
			}
			batch := func() {
				if _, err := a.WritePackets(frames); err != nil {
					panic(err)
				}
				for range frames {
					lost = lost || !w.wait(arrived)
				}
			}
			batch()
			if allocs := testing.AllocsPerRun(100, batch); allocs != 0 {
				t.Errorf("WritePackets of 16 and receive: %v allocations per batch, want 0", allocs)
			}
			if lost {
				t.Errorf("frames lost; stats %+v", b.Stats())
			}
		})
	}
}
