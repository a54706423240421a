// Package pipe is an in-memory Ethernet link between two endpoints.
//
// In Async mode each direction has a queue and a goroutine that delivers
// frames to the peer, like a wire; a full queue drops (a NIC ring overflow),
// counted in Stats. In Manual mode frames wait in the queue until a test takes
// them with Take and hands them (or altered copies, or nothing) to the peer
// with Inject: drop, delay, reorder, duplicate and corrupt are all the test's
// to decide, on a virtual clock, deterministically.
package pipe

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/stack/link"
)

// Mode says how frames cross the pipe.
type Mode int

const (
	// Async delivers frames from a goroutine per direction.
	Async Mode = iota
	// Manual keeps frames until the test takes them.
	Manual
)

// ErrClosed is returned by WritePacket after Close.
var ErrClosed = errors.New("pipe: endpoint closed")

// DefaultQueueLen is the number of frames a direction holds in Async mode.
const DefaultQueueLen = 4096

// Stats counts what one endpoint sent.
type Stats struct {
	Sent    uint64 // frames accepted by WritePacket
	Dropped uint64 // frames dropped because the queue was full
}

// Endpoint is one end of a pipe. It implements link.Endpoint.
type Endpoint struct {
	mtu  int
	mac  net.HardwareAddr
	mode Mode
	peer *Endpoint

	disp atomic.Pointer[dispatcherBox]

	// Async mode: frames from this endpoint to its peer.
	ch     chan *[]byte
	pool   sync.Pool
	done   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	// Manual mode: frames from this endpoint not yet taken.
	mu    sync.Mutex
	queue [][]byte

	sent, dropped atomic.Uint64
}

type dispatcherBox struct{ d link.Dispatcher }

var _ link.Endpoint = (*Endpoint)(nil)

// Pair returns two connected endpoints with the given MTU and MAC addresses.
func Pair(mode Mode, mtu int, macA, macB net.HardwareAddr) (*Endpoint, *Endpoint) {
	a := newEndpoint(mode, mtu, macA)
	b := newEndpoint(mode, mtu, macB)
	a.peer, b.peer = b, a
	if mode == Async {
		a.start()
		b.start()
	}
	return a, b
}

func newEndpoint(mode Mode, mtu int, mac net.HardwareAddr) *Endpoint {
	e := &Endpoint{mtu: mtu, mac: append(net.HardwareAddr(nil), mac...), mode: mode, done: make(chan struct{})}
	size := mtu + 14
	e.pool.New = func() any { b := make([]byte, size); return &b }
	if mode == Async {
		e.ch = make(chan *[]byte, DefaultQueueLen)
	}
	return e
}

func (e *Endpoint) start() {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case <-e.done:
				return
			case f := <-e.ch:
				e.peer.deliver(*f)
				e.pool.Put(f)
			}
		}
	}()
}

// get returns a pooled buffer of length n; the pointer goes back to the
// pool unchanged, so steady-state forwarding allocates nothing.
func (e *Endpoint) get(n int) *[]byte {
	bp := e.pool.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	*bp = (*bp)[:n]
	return bp
}

func (e *Endpoint) deliver(frame []byte) {
	if box := e.disp.Load(); box != nil && box.d != nil && !e.closed.Load() {
		box.d.DeliverFrame(frame)
	}
}

// MTU implements link.Endpoint.MTU.
func (e *Endpoint) MTU() int { return e.mtu }

// LinkAddress implements link.Endpoint.LinkAddress.
func (e *Endpoint) LinkAddress() net.HardwareAddr { return e.mac }

// Attach implements link.Endpoint.Attach.
func (e *Endpoint) Attach(d link.Dispatcher) { e.disp.Store(&dispatcherBox{d: d}) }

// WritePacket implements link.Endpoint.WritePacket. The frame is copied.
func (e *Endpoint) WritePacket(frame []byte) error {
	if e.closed.Load() {
		return ErrClosed
	}
	e.sent.Add(1)
	if e.mode == Manual {
		c := append([]byte(nil), frame...)
		e.mu.Lock()
		e.queue = append(e.queue, c)
		e.mu.Unlock()
		return nil
	}
	c := e.get(len(frame))
	copy(*c, frame)
	select {
	case e.ch <- c:
	default:
		e.pool.Put(c)
		e.dropped.Add(1)
	}
	return nil
}

// Close implements link.Endpoint.Close. In Async mode it stops the delivery
// goroutine of this endpoint's direction and waits for it.
func (e *Endpoint) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	close(e.done)
	e.wg.Wait()
	return nil
}

// Take removes and returns the frames this endpoint has sent that were not
// taken yet (Manual mode). The caller owns them.
func (e *Endpoint) Take() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queue
	e.queue = nil
	return q
}

// Queued returns how many frames wait to be taken (Manual mode).
func (e *Endpoint) Queued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue)
}

// Inject delivers frame to this endpoint's dispatcher, as if it had arrived
// on the wire.
func (e *Endpoint) Inject(frame []byte) { e.deliver(frame) }

// Peer returns the other end of the pipe.
func (e *Endpoint) Peer() *Endpoint { return e.peer }

// Stats returns what this endpoint sent and dropped.
func (e *Endpoint) Stats() Stats { return Stats{Sent: e.sent.Load(), Dropped: e.dropped.Load()} }

var _ link.BatchWriter = (*Endpoint)(nil)

// WritePackets implements link.BatchWriter: each frame as WritePacket.
func (e *Endpoint) WritePackets(frames [][]byte) (int, error) {
	for i, f := range frames {
		if err := e.WritePacket(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}
