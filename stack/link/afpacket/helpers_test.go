package afpacket_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/linuxnet/linuxnettest"
	"github.com/netlab/netlab/stack/link/afpacket"
)

// testEtherType marks the test's frames (IEEE 802 local experimental
// EtherType 1).
const testEtherType = 0x88b5

// Test frame layout after the Ethernet header: direction (1 byte), sequence
// number (4 bytes), then a pattern that depends on both.
const testHdrLen = 14 + 1 + 4

var modes = []afpacket.Mode{afpacket.ModeRecvmmsg, afpacket.ModeMmap, afpacket.ModeMmapV2}

// frameSize gives every sequence number a length from 60 to 1514 bytes;
// 1455 consecutive numbers cover every length.
func frameSize(seq uint32) int { return 60 + int(seq*7919%1455) }

// makeFrame builds test frame seq of direction dir into buf.
func makeFrame(buf []byte, dst, src net.HardwareAddr, dir byte, seq uint32, size int) []byte {
	f := buf[:size]
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], testEtherType)
	f[14] = dir
	binary.BigEndian.PutUint32(f[15:19], seq)
	for i := testHdrLen; i < size; i++ {
		f[i] = byte(uint32(i)*131 + seq*7 + uint32(dir))
	}
	return f
}

// collector is a Dispatcher that checks test frames from one peer: every
// sequence number once, byte-exact. It counts what else arrives.
type collector struct {
	own, peer net.HardwareAddr // this end's and the sender's MAC
	dir       byte
	n         int

	got     atomic.Int64 // good test frames
	ownBack atomic.Int64 // frames with our own source MAC
	foreign atomic.Int64 // anything else
	notify  chan struct{}

	// Touched by the receive goroutine only, read after it is done.
	seen    []bool
	scratch []byte
	mu      sync.Mutex
	errs    []string
}

func newCollector(own, peer net.HardwareAddr, dir byte, n int) *collector {
	return &collector{own: own, peer: peer, dir: dir, n: n, seen: make([]bool, n),
		scratch: make([]byte, 65536), notify: make(chan struct{}, 1)}
}

func (c *collector) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 10 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

func (c *collector) DeliverFrame(f []byte) {
	switch {
	case len(f) >= 12 && bytes.Equal(f[6:12], c.own):
		c.ownBack.Add(1)
		return
	case len(f) < testHdrLen || binary.BigEndian.Uint16(f[12:14]) != testEtherType || f[14] != c.dir:
		c.foreign.Add(1)
		return
	}
	seq := binary.BigEndian.Uint32(f[15:19])
	switch {
	case int(seq) >= c.n:
		c.fail("frame with sequence number %d, want < %d", seq, c.n)
	case c.seen[seq]:
		c.fail("frame %d received twice", seq)
	default:
		want := makeFrame(c.scratch, c.own, c.peer, c.dir, seq, frameSize(seq))
		if !bytes.Equal(f, want) {
			c.fail("frame %d: got %d bytes % x..., want %d bytes % x...", seq, len(f), f[:min(len(f), 24)], len(want), want[:24])
			return
		}
		c.seen[seq] = true
		c.got.Add(1)
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *collector) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// waitFor waits until cond holds, polling, for at most d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waiter receives from a channel with a timeout, without allocating, so
// that a lost frame fails a test instead of hanging it.
type waiter struct {
	timer *time.Timer
}

func newWaiter() *waiter { return &waiter{timer: time.NewTimer(time.Hour)} }

// wait reports whether ch delivered within 5 s.
func (w *waiter) wait(ch <-chan struct{}) bool {
	w.timer.Reset(5 * time.Second)
	select {
	case <-ch:
		return true
	case <-w.timer.C:
		return false
	}
}

// trySend sends v on ch unless ch is full: a Dispatcher must not block the
// receive goroutine, or Close would wait for it forever.
func trySend[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// checkGoroutines fails the test if the number of goroutines does not come
// back to baseline within 2 s.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	if !waitFor(2*time.Second, func() bool { return runtime.NumGoroutine() <= baseline }) {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, want <= %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	}
}

// openPair opens prepared endpoints at both ends of a fresh veth pair and
// closes them when the test ends (before the namespaces go).
func openPair(t testing.TB, mtu int, opts afpacket.Options) (p *linuxnettest.VethPair, a, b *afpacket.Endpoint) {
	t.Helper()
	linuxnettest.RequireRoot(t)
	p = linuxnettest.NewVethPair(t, mtu)
	a = open(t, p.NSA, p.IfA, opts)
	b = open(t, p.NSB, p.IfB, opts)
	return p, a, b
}

func open(t testing.TB, ns, ifname string, opts afpacket.Options) *afpacket.Endpoint {
	t.Helper()
	ep, err := afpacket.OpenInNamespace(ns, ifname, opts)
	if err != nil {
		t.Fatalf("OpenInNamespace(%s, %s, %+v): %v", ns, ifname, opts, err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}
