package pipe

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/link"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func TestManualTakeAndInject(t *testing.T) {
	a, b := Pair(Manual, 1500, macA, macB)
	var got [][]byte
	b.Attach(link.DispatcherFunc(func(f []byte) { got = append(got, append([]byte(nil), f...)) }))
	frame := []byte("hello frame")
	if err := a.WritePacket(frame); err != nil {
		t.Fatal(err)
	}
	frame[0] = 'X' // the pipe must have copied it
	if a.Queued() != 1 {
		t.Fatalf("Queued = %d, want 1", a.Queued())
	}
	for _, f := range a.Take() {
		b.Inject(f)
	}
	if len(got) != 1 || !bytes.Equal(got[0], []byte("hello frame")) {
		t.Fatalf("delivered %q, want [hello frame]", got)
	}
	if a.Queued() != 0 {
		t.Fatal("Take left frames queued")
	}
	if a.Peer() != b || b.Peer() != a {
		t.Fatal("Peer mismatch")
	}
	if a.MTU() != 1500 || a.LinkAddress().String() != macA.String() {
		t.Fatal("MTU or LinkAddress wrong")
	}
}

func TestAsyncDeliversInOrderAndCloses(t *testing.T) {
	a, b := Pair(Async, 1500, macA, macB)
	const n = 1000
	var mu sync.Mutex
	var seen []byte
	done := make(chan struct{})
	b.Attach(link.DispatcherFunc(func(f []byte) {
		mu.Lock()
		seen = append(seen, f[0])
		if len(seen) == n {
			close(done)
		}
		mu.Unlock()
	}))
	for i := 0; i < n; i++ {
		if err := a.WritePacket([]byte{byte(i), 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("frames not delivered")
	}
	for i, v := range seen {
		if v != byte(i) {
			t.Fatalf("frame %d carried %d: out of order", i, v)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.WritePacket([]byte{1}); err != ErrClosed {
		t.Fatalf("WritePacket after Close = %v, want ErrClosed", err)
	}
	b.Close()
	if s := a.Stats(); s.Sent != n || s.Dropped != 0 {
		t.Fatalf("Stats = %+v, want %d sent 0 dropped", s, n)
	}
}

func TestAsyncFullQueueDrops(t *testing.T) {
	a, b := Pair(Async, 1500, macA, macB)
	defer a.Close()
	defer b.Close()
	block := make(chan struct{})
	b.Attach(link.DispatcherFunc(func([]byte) { <-block }))
	for i := 0; i < DefaultQueueLen+10; i++ {
		a.WritePacket([]byte{1})
	}
	close(block)
	if s := a.Stats(); s.Dropped == 0 {
		t.Fatalf("Stats = %+v, want drops when the queue is full", s)
	}
}
