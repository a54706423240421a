// Package udpwire carries Ethernet links over UDP: the tunnels between
// two machines (Kubernetes worker pods) that run the two ends of a lab
// link. One UDP socket per machine (a Mux) carries every link that
// leaves it; each datagram is an 8-byte header naming the link and one
// whole Ethernet frame.
//
// Frames keep their size: a 1514-byte frame of a 1500-byte MTU link makes
// a 1550-byte IP datagram, larger than a pod network's usual MTU, and the
// socket lets the kernel fragment it (IP_PMTUDISC_DONT) and the peer's
// kernel reassemble it. So a lab's MTUs are the same on a tunnel as on a
// veth, whatever the network under it, at the cost of two fragments per
// full-sized frame where that network's MTU is 1500.
//
// Wire format, big-endian:
//
//	0      2       3       4               8
//	| "NL" | ver 1 | flags | link id (32) | Ethernet frame ...
package udpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/netlab/netlab/stack/link"
)

// HeaderLen is the size of the header before each frame.
const HeaderLen = 8

const (
	magic0, magic1 = 'N', 'L'
	version        = 1
	// maxFrame is the largest frame carried: an Ethernet frame of the
	// largest MTU a lab link may have (jumbo, 9000) and its header.
	maxFrame = 9000 + 14
	batch    = 64
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("udpwire: closed")

// Stats counts what a Mux saw.
type Stats struct {
	Sent, Received uint64 // frames
	// Unknown counts datagrams for a link the Mux does not carry (or not
	// yet: a peer may be up before this end is) or from another address
	// than the link's far end, Malformed those without a valid header.
	Unknown, Malformed uint64
	// SendErrors counts frames the socket refused, ReceiveErrors the
	// reads that failed.
	SendErrors, ReceiveErrors uint64
}

// sockBuffer is the socket's receive and send buffer.
const sockBuffer = 4 << 20

// Mux is one UDP socket carrying many links.
type Mux struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn

	mu    sync.RWMutex
	links map[uint32]*Endpoint

	closed atomic.Bool
	done   chan struct{}

	sent, received, unknown, malformed, sendErrors, recvErrors atomic.Uint64
}

// Listen opens a Mux on addr ("10.1.2.3:4790", or ":0" for any port) in
// the calling thread's network namespace, and starts receiving.
func Listen(addr string) (*Mux, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("udpwire: %w", err)
	}
	conn, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, fmt.Errorf("udpwire: %w", err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("udpwire: %w", err)
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		// Fragment what is larger than the path's MTU rather than
		// refuse it: frames keep their size.
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MTU_DISCOVER, syscall.IP_PMTUDISC_DONT)
		if serr == nil {
			// Room for bursts of a busy link between two reads: beyond
			// the system's cap (net.core.rmem_max, 208 KiB by default)
			// where the process may (a worker pod is privileged), else
			// as much as the cap allows.
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, sockBuffer) != nil {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, sockBuffer)
			}
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, sockBuffer) != nil {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sockBuffer)
			}
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("udpwire: set IP_MTU_DISCOVER: %w", err)
	}
	m := &Mux{conn: conn, pc: ipv4.NewPacketConn(conn), links: map[uint32]*Endpoint{}, done: make(chan struct{})}
	go m.receive()
	return m, nil
}

// Addr is the address the Mux receives on.
func (m *Mux) Addr() netip.AddrPort {
	return m.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Stats returns the Mux's counters.
func (m *Mux) Stats() Stats {
	return Stats{Sent: m.sent.Load(), Received: m.received.Load(), Unknown: m.unknown.Load(),
		Malformed: m.malformed.Load(), SendErrors: m.sendErrors.Load(), ReceiveErrors: m.recvErrors.Load()}
}

// Close stops the Mux and every link it carries, and waits until its
// receiving goroutine has ended.
func (m *Mux) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	err := m.conn.Close()
	<-m.done
	m.mu.Lock()
	for _, e := range m.links {
		e.closed.Store(true)
	}
	m.links = map[uint32]*Endpoint{}
	m.mu.Unlock()
	return err
}

// Link adds the link id, whose other end is the Mux at remote, and
// returns its endpoint here: mtu and mac are the lab interface's. A link
// id is the same at both ends and unique among the links between them.
func (m *Mux) Link(id uint32, remote netip.AddrPort, mtu int, mac net.HardwareAddr) (*Endpoint, error) {
	if mtu < 68 || mtu+14 > maxFrame {
		return nil, fmt.Errorf("udpwire: link %d: MTU %d; allowed 68 to %d", id, mtu, maxFrame-14)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if _, ok := m.links[id]; ok {
		return nil, fmt.Errorf("udpwire: link %d is already carried", id)
	}
	e := &Endpoint{m: m, id: id, mtu: mtu, mac: mac}
	e.SetRemote(remote)
	e.pool.New = func() any { b := make([]byte, HeaderLen+maxFrame); return &b }
	m.links[id] = e
	return e, nil
}

func (m *Mux) receive() {
	defer close(m.done)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, HeaderLen+maxFrame+1)}
	}
	backoff := time.Duration(0)
	for {
		n, err := m.pc.ReadBatch(msgs, 0)
		if err != nil {
			if m.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (ICMP refused from a peer not yet up)
			// is read again at once; one that persists is read again
			// less and less often, not in a spinning loop.
			m.recvErrors.Add(1)
			if backoff > 0 {
				time.Sleep(backoff)
			}
			backoff = min(max(2*backoff, time.Millisecond), 100*time.Millisecond)
			continue
		}
		backoff = 0
		// Frames of a batch go to their links in order; a link that
		// takes batches gets them between BeginBatch and EndBatch (of
		// the dispatcher that got BeginBatch).
		var open []link.BatchDispatcher
		for _, msg := range msgs[:n] {
			b := msg.Buffers[0][:msg.N]
			if len(b) < HeaderLen+14 || b[0] != magic0 || b[1] != magic1 || b[2] != version || b[3] != 0 || msg.N > HeaderLen+maxFrame {
				m.malformed.Add(1)
				continue
			}
			m.mu.RLock()
			e := m.links[binary.BigEndian.Uint32(b[4:8])]
			m.mu.RUnlock()
			// Only the link's far end may send on it: a pod's address
			// is reused, and any pod can send to this port.
			if e == nil || e.closed.Load() || !fromRemote(msg.Addr, e.remote.Load()) {
				m.unknown.Add(1)
				continue
			}
			m.received.Add(1)
			box := e.disp.Load()
			if box == nil {
				continue
			}
			if bd, ok := box.d.(link.BatchDispatcher); ok && !slices.Contains(open, bd) {
				bd.BeginBatch()
				open = append(open, bd)
			}
			box.d.DeliverFrame(b[HeaderLen:])
		}
		for _, bd := range open {
			bd.EndBatch()
		}
	}
}

// fromRemote reports whether a datagram from addr came from remote.
func fromRemote(addr net.Addr, remote *net.UDPAddr) bool {
	ua, ok := addr.(*net.UDPAddr)
	return ok && remote != nil && ua.Port == remote.Port && ua.IP.Equal(remote.IP)
}

// Endpoint is one link's end carried by a Mux. It implements
// link.Endpoint and link.BatchWriter.
type Endpoint struct {
	m      *Mux
	id     uint32
	remote atomic.Pointer[net.UDPAddr]
	mtu    int
	mac    net.HardwareAddr
	disp   atomic.Pointer[dispatcherBox]
	closed atomic.Bool
	pool   sync.Pool
}

type dispatcherBox struct{ d link.Dispatcher }

var (
	_ link.Endpoint    = (*Endpoint)(nil)
	_ link.BatchWriter = (*Endpoint)(nil)
)

// SetRemote points the link at the Mux at remote (the far end's worker
// came back at another address).
func (e *Endpoint) SetRemote(remote netip.AddrPort) {
	e.remote.Store(net.UDPAddrFromAddrPort(remote))
}

// MTU implements link.Endpoint.
func (e *Endpoint) MTU() int { return e.mtu }

// LinkAddress implements link.Endpoint.
func (e *Endpoint) LinkAddress() net.HardwareAddr { return e.mac }

// Attach implements link.Endpoint.
func (e *Endpoint) Attach(d link.Dispatcher) {
	if d == nil {
		e.disp.Store(nil)
		return
	}
	e.disp.Store(&dispatcherBox{d})
}

// WritePacket implements link.Endpoint: the frame goes to the link's other
// end as one datagram.
func (e *Endpoint) WritePacket(frame []byte) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if len(frame) > e.mtu+14 || len(frame) < 14 {
		e.m.sendErrors.Add(1)
		return fmt.Errorf("udpwire: link %d: a frame of %d bytes; the link carries 14 to %d", e.id, len(frame), e.mtu+14)
	}
	bp := e.pool.Get().(*[]byte)
	defer e.pool.Put(bp)
	b := e.frame(*bp, frame)
	if _, err := e.m.conn.WriteToUDP(b, e.remote.Load()); err != nil {
		e.m.sendErrors.Add(1)
		if e.closed.Load() || errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("udpwire: link %d: %w", e.id, err)
	}
	e.m.sent.Add(1)
	return nil
}

// WritePackets implements link.BatchWriter with one sendmmsg.
func (e *Endpoint) WritePackets(frames [][]byte) (int, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	msgs := make([]ipv4.Message, 0, len(frames))
	var bufs []*[]byte
	defer func() {
		for _, bp := range bufs {
			e.pool.Put(bp)
		}
	}()
	remote := e.remote.Load()
	for _, f := range frames {
		if len(f) > e.mtu+14 || len(f) < 14 {
			e.m.sendErrors.Add(1)
			continue
		}
		bp := e.pool.Get().(*[]byte)
		bufs = append(bufs, bp)
		msgs = append(msgs, ipv4.Message{Buffers: [][]byte{e.frame(*bp, f)}, Addr: remote})
	}
	sent := 0
	for sent < len(msgs) {
		n, err := e.m.pc.WriteBatch(msgs[sent:], 0)
		if err != nil {
			e.m.sendErrors.Add(uint64(len(msgs) - sent))
			e.m.sent.Add(uint64(sent))
			return sent, fmt.Errorf("udpwire: link %d: %w", e.id, err)
		}
		sent += n
	}
	e.m.sent.Add(uint64(sent))
	return len(frames), nil
}

func (e *Endpoint) frame(buf, frame []byte) []byte {
	buf[0], buf[1], buf[2], buf[3] = magic0, magic1, version, 0
	binary.BigEndian.PutUint32(buf[4:8], e.id)
	n := copy(buf[HeaderLen:], frame)
	return buf[:HeaderLen+n]
}

// Close implements link.Endpoint: the link is no longer carried (the Mux
// goes on carrying the others).
func (e *Endpoint) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.disp.Store(nil)
	e.m.mu.Lock()
	if e.m.links[e.id] == e {
		delete(e.m.links, e.id)
	}
	e.m.mu.Unlock()
	return nil
}
