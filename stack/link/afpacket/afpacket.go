// Package afpacket is a link.Endpoint on a Linux network interface: an
// AF_PACKET raw socket (SOCK_RAW, ETH_P_ALL) bound to the interface, that
// sends and receives whole Ethernet frames.
//
// Frames are received in batches, either with recvmmsg(2) into reused
// buffers (ModeRecvmmsg) or from a PACKET_MMAP TPACKET_V3 ring shared with
// the kernel (ModeMmap), by one goroutine that hands them to the attached
// link.Dispatcher. Frames are sent with write(2), or in batches with
// sendmmsg(2) through WritePackets. Frames this socket sent are not read back
// (PACKET_IGNORE_OUTGOING, and a check of the packet type). Neither path
// allocates per frame.
//
// An endpoint has two sockets: one receives, the other (bound with protocol
// 0, so it receives nothing) sends. Neither is registered with the Go
// runtime's poller directly: that registers for writability too, and the
// kernel then wakes the poller's thread each time a sent frame is freed,
// which cost more than half of the CPU time of sending on a veth. Instead
// the receiving socket is watched for input only by an epoll instance of
// its own, and that epoll descriptor is what the runtime's poller waits on:
// the receive goroutine parks without holding a thread, and Close wakes it
// by closing the descriptor. Nothing waits on the sending socket, so freeing
// a sent frame wakes nobody; a writer polls it for output only when its
// buffer is full.
//
// The socket belongs to the network namespace it was opened in, and keeps
// working on that namespace's interface from any thread: OpenInNamespace
// opens one in another namespace, after handing the interface over to the
// userspace stack (see linuxnet.PrepareForUserspaceStack).
//
// Not supported: VLAN tags that the kernel strips from received frames
// (802.1Q receive offload) are not put back; frames longer than the MTU plus
// the link header (GSO/GRO super-frames, when offloads are on at either end
// of a veth) are dropped and counted in Stats.RxOversize; frames whose
// checksum the sending kernel left to offload are delivered as they are, so
// TX checksum offload must be off on the peer (linuxnet.CreateVethPair does
// that).
package afpacket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link"
)

var _ link.Endpoint = (*Endpoint)(nil)

// Mode selects how an Endpoint receives frames.
type Mode string

const (
	// ModeRecvmmsg receives batches of frames with recvmmsg(2), copied into
	// buffers owned by the endpoint.
	ModeRecvmmsg Mode = "recvmmsg"
	// ModeMmap receives from a PACKET_MMAP TPACKET_V3 ring: the kernel
	// copies frames into memory shared with the endpoint, in blocks that it
	// hands over when they are full or after Options.RingBlockTimeout. That
	// timeout adds up to its length of latency to a frame that does not fill
	// a block, e.g. each step of a request/response exchange.
	ModeMmap Mode = "mmap"
	// ModeMmapV2 receives from a PACKET_MMAP TPACKET_V2 ring: fixed slots
	// of the MTU's size, each handed over as soon as the kernel filled it.
	ModeMmapV2 Mode = "mmap-v2"
	// DefaultMode is the mode used when Options.Mode is empty:
	// ModeMmapV2. Measured through two Go stacks on a veth (make bench,
	// cmd/bench, 2 vCPUs), it carries a bulk TCP flow faster than
	// ModeRecvmmsg (1.7-1.9 against 1.1-1.4 Gbit/s) and with the lowest
	// request/response latency (p50 13 µs against 20 µs), because each
	// frame is handed over as soon as it arrives. ModeMmap (TPACKET_V3)
	// moves bulk about as fast but makes a lone frame wait for the block
	// timeout (1-2 ms): it suits one-way bulk traffic such as captures.
	DefaultMode = ModeMmapV2
)

// Defaults for the zero values of Options.
const (
	DefaultBatch            = 64
	DefaultRcvBuf           = 4 << 20
	DefaultRingBlockSize    = 128 << 10
	DefaultRingBlocks       = 32
	DefaultRingBlockTimeout = time.Millisecond
)

// Options tunes an Endpoint. The zero value is ready to use.
type Options struct {
	// Mode is how frames are received; "" means DefaultMode.
	Mode Mode
	// Batch is how many frames one recvmmsg or sendmmsg call moves at most;
	// 0 means DefaultBatch.
	Batch int
	// RcvBuf is the socket receive buffer in bytes (SO_RCVBUFFORCE when
	// allowed, else SO_RCVBUF, which the kernel caps at net.core.rmem_max);
	// 0 means DefaultRcvBuf. It does not matter in ModeMmap, where the ring
	// holds the frames.
	RcvBuf int
	// SndBuf is the socket send buffer in bytes; 0 leaves the kernel's
	// default.
	SndBuf int
	// Promisc puts the interface in promiscuous mode while the endpoint is
	// open (PACKET_MR_PROMISC). A veth delivers every frame without it.
	Promisc bool
	// RingBlockSize is the size in bytes of one block of the ModeMmap ring,
	// a multiple of the page size; 0 means DefaultRingBlockSize.
	RingBlockSize int
	// RingBlocks is the number of blocks in the ModeMmap ring; 0 means
	// DefaultRingBlocks.
	RingBlocks int
	// RingBlockTimeout is how long the kernel keeps a block that is not full
	// before handing it over (whole milliseconds, at least 1); 0 means
	// DefaultRingBlockTimeout.
	RingBlockTimeout time.Duration
	// KeepOffloads, for OpenInNamespace, leaves scatter-gather, TSO, GSO
	// and GRO on the interface as they are. By default they are turned off
	// so that no frame longer than the MTU crosses the interface. TX
	// checksum offload is turned off either way.
	KeepOffloads bool
	// Outgoing delivers the frames sent on the interface by others too
	// (the kernel's own stack): for capturing an interface rather than
	// running a stack on it.
	Outgoing bool

	// noIgnoreOutgoing skips PACKET_IGNORE_OUTGOING, as on kernels before
	// 4.20, to test the fallback.
	noIgnoreOutgoing bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Mode == "" {
		o.Mode = DefaultMode
	}
	if o.Mode != ModeRecvmmsg && o.Mode != ModeMmap && o.Mode != ModeMmapV2 {
		return o, fmt.Errorf("unknown afpacket mode %q (want %q, %q or %q)", o.Mode, ModeRecvmmsg, ModeMmap, ModeMmapV2)
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.RcvBuf == 0 {
		o.RcvBuf = DefaultRcvBuf
	}
	if o.RingBlockSize == 0 {
		o.RingBlockSize = DefaultRingBlockSize
	}
	if o.RingBlocks == 0 {
		o.RingBlocks = DefaultRingBlocks
	}
	if o.RingBlockTimeout == 0 {
		o.RingBlockTimeout = DefaultRingBlockTimeout
	}
	switch {
	case o.Batch < 0 || o.RcvBuf < 0 || o.SndBuf < 0 || o.RingBlocks < 0 || o.RingBlockTimeout < 0:
		return o, fmt.Errorf("negative afpacket option in %+v", o)
	case o.RingBlockSize <= 0 || o.RingBlockSize%os.Getpagesize() != 0:
		return o, fmt.Errorf("afpacket ring block size %d is not a multiple of the page size %d", o.RingBlockSize, os.Getpagesize())
	}
	return o, nil
}

// Stats counts what an Endpoint did since it was opened.
type Stats struct {
	// RxFrames is the number of frames given to the Dispatcher.
	RxFrames uint64
	// RxBatches is the number of batches the frames came in (one recvmmsg
	// call, or one block of the ring); RxFrames/RxBatches is the mean
	// batch.
	RxBatches uint64
	// RxDetached is the number of frames dropped because no Dispatcher was
	// attached.
	RxDetached uint64
	// RxOutgoing is the number of frames sent on the interface (by this
	// endpoint or anyone else) that the kernel passed back and that were
	// dropped; zero unless the kernel lacks PACKET_IGNORE_OUTGOING (4.20).
	RxOutgoing uint64
	// RxOversize is the number of frames dropped because they were longer
	// than the MTU plus a link header (GSO or GRO super-frames: offloads on
	// the peer or on this interface).
	RxOversize uint64
	// RxKernelDrops is the number of frames the kernel dropped because the
	// socket buffer or the ring was full (PACKET_STATISTICS).
	RxKernelDrops uint64
	// RxErrors is the number of failed receive calls.
	RxErrors uint64
	// TxFrames is the number of frames sent.
	TxFrames uint64
	// TxErrors is the number of frames that could not be sent.
	TxErrors uint64
}

// maxLinkHeader is what a frame may carry beyond the MTU: an Ethernet
// header and one VLAN tag.
const maxLinkHeader = 14 + 4

// minFrame is the shortest frame WritePacket sends: an Ethernet header.
const minFrame = 14

// Endpoint is a link.Endpoint on a Linux interface. Its methods are safe for
// concurrent use.
type Endpoint struct {
	ifname   string
	ifindex  int
	mtu      int
	maxFrame int // longest frame received: MTU plus maxLinkHeader
	mac      net.HardwareAddr
	mode     Mode
	outgoing bool // deliver frames others sent on the interface (Options.Outgoing)

	// fdMu guards the use of the sockets against Close: senders hold it
	// shared, Close exclusively to close them. The receive goroutine uses
	// fd without it; Close waits for that goroutine to end before closing.
	fdMu   sync.RWMutex
	fd     int                // receives
	txfd   int                // sends
	ep     *os.File           // epoll instance watching fd for input
	epConn syscall.RawConn    // ep's, for the runtime's poller
	readFn func(uintptr) bool // calls rx.read; made once, so that waiting does not allocate
	closed atomic.Bool
	once   sync.Once
	rxDone chan struct{}
	disp   atomic.Pointer[dispatcherBox]
	rx     receiver

	tx tx

	rxFrames, rxBatches, rxDetached, rxOutgoing, rxOversize, rxErrors atomic.Uint64
	txFrames, txErrors                                                atomic.Uint64
	kstatsMu                                                          sync.Mutex
	kernelDrops                                                       uint64 // guarded by kstatsMu
}

type dispatcherBox struct{ d link.Dispatcher }

// receiver reads frames from the socket and hands them to the Dispatcher.
type receiver interface {
	// read delivers the frames that are ready and returns false when it
	// must wait for more, true when it returns because the endpoint is
	// closing or a call failed (err says which).
	read() bool
	// err returns and clears the error of the last failed call.
	err() error
	// close releases what the receiver holds, after the fd is closed.
	close() error
}

// New opens an Endpoint on interface ifname of the calling thread's network
// namespace. The interface is used as it is; OpenInNamespace also prepares
// it. The receive goroutine starts at once, and drops frames until a
// Dispatcher is attached.
func New(ifname string, opts Options) (*Endpoint, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// The socket and the interface lookups must happen in the same
	// namespace, so on the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	// Protocol 0: no frame is queued before bind, which sets ETH_P_ALL and
	// the interface in one step.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
	}
	e := &Endpoint{ifname: ifname, mode: opts.Mode, outgoing: opts.Outgoing, fd: fd, txfd: -1, rxDone: make(chan struct{})}
	ok := false
	var rx receiver
	defer func() {
		if !ok {
			unix.Close(fd)
			if e.txfd >= 0 {
				unix.Close(e.txfd)
			}
			if e.ep != nil {
				e.ep.Close()
			}
			if rx != nil {
				rx.close()
			}
		}
	}()
	if err := e.lookupInterface(fd); err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
	}
	if err := setSockopts(fd, e.ifindex, opts); err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
	}
	switch opts.Mode {
	case ModeMmap:
		ring, err := newRingReceiver(e, fd, opts)
		if err != nil {
			return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
		}
		rx = ring
	case ModeMmapV2:
		ring, err := newRing2Receiver(e, fd, opts)
		if err != nil {
			return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
		}
		rx = ring
	default:
		rx = newMmsgReceiver(e, opts.Batch)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: e.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: bind: %w", ifname, err)
	}
	if err := e.openTx(opts); err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
	}
	if err := e.watchInput(); err != nil {
		return nil, fmt.Errorf("open AF_PACKET on %s: %w", ifname, err)
	}
	ok = true
	e.rx = rx
	e.readFn = func(uintptr) bool { return rx.read() } // the fd given is ep's
	e.tx.init(opts.Batch)
	go e.rxLoop()
	return e, nil
}

// openTx opens the sending socket: bound to the interface with protocol 0,
// so that it receives nothing (the kernel takes each frame's protocol from
// its Ethernet header).
func (e *Endpoint) openTx(opts Options) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open sending socket: %w", err)
	}
	e.txfd = fd
	if opts.SndBuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, opts.SndBuf); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, opts.SndBuf); err != nil {
				return fmt.Errorf("set SO_SNDBUF to %d: %w", opts.SndBuf, err)
			}
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: e.ifindex}); err != nil {
		return fmt.Errorf("bind sending socket: %w", err)
	}
	return nil
}

// watchInput creates the epoll instance that watches e.fd for input only,
// and registers it with the runtime's poller.
func (e *Endpoint) watchInput() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create: %w", err)
	}
	ev := &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(e.fd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, e.fd, ev); err != nil {
		unix.Close(epfd)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return fmt.Errorf("set epoll descriptor non-blocking: %w", err)
	}
	e.ep = os.NewFile(uintptr(epfd), "afpacket-epoll:"+e.ifname)
	if e.epConn, err = e.ep.SyscallConn(); err != nil {
		return err
	}
	return nil
}

// OpenInNamespace opens an Endpoint on interface ifname of network namespace
// ns (a name under /run/netns or a path, see linuxnet.NSPath). It first
// prepares the interface for a userspace stack: IPv6 off, no address, ARP
// off, TX checksum offload off, all offloads off unless opts.KeepOffloads,
// and up (see linuxnet.PrepareForUserspaceStack). The endpoint stays bound to
// that namespace's interface, whatever thread uses it.
func OpenInNamespace(ns, ifname string, opts Options) (*Endpoint, error) {
	var e *Endpoint
	err := linuxnet.InNamespace(ns, func() error {
		err := linuxnet.PrepareForUserspaceStack(ifname, linuxnet.PrepareOptions{KeepOffloads: opts.KeepOffloads})
		if err != nil {
			return err
		}
		e, err = New(ifname, opts)
		return err
	})
	if err != nil {
		if e != nil {
			e.Close()
		}
		return nil, fmt.Errorf("open AF_PACKET on %s in netns %s: %w", ifname, ns, err)
	}
	return e, nil
}

// ifreqHwaddr is struct ifreq with ifr_hwaddr (a struct sockaddr).
type ifreqHwaddr struct {
	name   [unix.IFNAMSIZ]byte
	family uint16
	addr   [22]byte
}

// lookupInterface fills in the index, MTU and MAC address of e.ifname, asked
// through the socket, so in the socket's namespace.
func (e *Endpoint) lookupInterface(fd int) error {
	ifr, err := unix.NewIfreq(e.ifname)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("interface index: %w", err)
	}
	e.ifindex = int(int32(ifr.Uint32()))
	ifr, _ = unix.NewIfreq(e.ifname)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
		return fmt.Errorf("interface MTU: %w", err)
	}
	e.mtu = int(int32(ifr.Uint32()))
	e.maxFrame = e.mtu + maxLinkHeader
	var hw ifreqHwaddr
	copy(hw.name[:unix.IFNAMSIZ-1], e.ifname)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFHWADDR, uintptr(unsafe.Pointer(&hw))); errno != 0 {
		return fmt.Errorf("interface MAC address: %w", errno)
	}
	if hw.family != unix.ARPHRD_ETHER && hw.family != unix.ARPHRD_LOOPBACK {
		return fmt.Errorf("not an Ethernet interface (ARPHRD %d)", hw.family)
	}
	e.mac = net.HardwareAddr(append([]byte(nil), hw.addr[:6]...))
	return nil
}

func setSockopts(fd, ifindex int, opts Options) error {
	// Not ours to read back. If the kernel is older than 4.20, the packet
	// type check in the receivers does the same.
	if !opts.noIgnoreOutgoing && !opts.Outgoing {
		err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		if err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
			return fmt.Errorf("set PACKET_IGNORE_OUTGOING: %w", err)
		}
	}
	if opts.Mode == ModeRecvmmsg {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, opts.RcvBuf); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, opts.RcvBuf); err != nil {
				return fmt.Errorf("set SO_RCVBUF to %d: %w", opts.RcvBuf, err)
			}
		}
	}
	if opts.Promisc {
		mreq := &unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("set promiscuous mode: %w", err)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// MTU returns the interface's MTU, read when the endpoint was opened. It
// implements link.Endpoint.
func (e *Endpoint) MTU() int { return e.mtu }

// LinkAddress returns a copy of the interface's MAC address, read when the
// endpoint was opened. It implements link.Endpoint.
func (e *Endpoint) LinkAddress() net.HardwareAddr {
	return append(net.HardwareAddr(nil), e.mac...)
}

// Name returns the interface's name.
func (e *Endpoint) Name() string { return e.ifname }

// Mode returns how the endpoint receives frames.
func (e *Endpoint) Mode() Mode { return e.mode }

// Attach sets the Dispatcher that receives inbound frames, on the receive
// goroutine; nil detaches, and frames are then dropped. The rest of a batch
// that was being delivered when Attach is called still goes to the previous
// Dispatcher. It implements link.Endpoint.
func (e *Endpoint) Attach(d link.Dispatcher) {
	if d == nil {
		e.disp.Store(nil)
		return
	}
	e.disp.Store(&dispatcherBox{d})
}

func (e *Endpoint) dispatcher() link.Dispatcher {
	if b := e.disp.Load(); b != nil {
		return b.d
	}
	return nil
}

// rxLoop is the receive goroutine. e.readFn delivers frames until none is
// ready; then RawConn.Read parks the goroutine in the runtime's poller until
// the epoll instance reports input on the socket, and calls it again. Close
// ends the wait by closing the epoll descriptor.
func (e *Endpoint) rxLoop() {
	defer close(e.rxDone)
	for !e.closed.Load() {
		if err := e.epConn.Read(e.readFn); err != nil {
			return // closed
		}
		if err := e.rx.err(); err != nil {
			e.rxErrors.Add(1)
			if !errors.Is(err, unix.ENETDOWN) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// countRx counts what a receiver did with a batch.
func (e *Endpoint) countRx(delivered, detached, outgoing, oversize int) {
	if delivered > 0 {
		e.rxFrames.Add(uint64(delivered))
		e.rxBatches.Add(1)
	}
	if detached > 0 {
		e.rxDetached.Add(uint64(detached))
	}
	if outgoing > 0 {
		e.rxOutgoing.Add(uint64(outgoing))
	}
	if oversize > 0 {
		e.rxOversize.Add(uint64(oversize))
	}
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	e.fdMu.RLock()
	if !e.closed.Load() {
		e.collectKernelStats()
	}
	e.fdMu.RUnlock()
	e.kstatsMu.Lock()
	drops := e.kernelDrops
	e.kstatsMu.Unlock()
	return Stats{
		RxFrames:      e.rxFrames.Load(),
		RxBatches:     e.rxBatches.Load(),
		RxDetached:    e.rxDetached.Load(),
		RxOutgoing:    e.rxOutgoing.Load(),
		RxOversize:    e.rxOversize.Load(),
		RxKernelDrops: drops,
		RxErrors:      e.rxErrors.Load(),
		TxFrames:      e.txFrames.Load(),
		TxErrors:      e.txErrors.Load(),
	}
}

// collectKernelStats adds the kernel's drop counter, which reading resets,
// to e.kernelDrops. The caller holds e.fdMu and fd is open.
func (e *Endpoint) collectKernelStats() {
	e.kstatsMu.Lock()
	defer e.kstatsMu.Unlock()
	if e.mode == ModeMmap {
		if st, err := unix.GetsockoptTpacketStatsV3(e.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			e.kernelDrops += uint64(st.Drops)
		}
		return
	}
	if st, err := unix.GetsockoptTpacketStats(e.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		e.kernelDrops += uint64(st.Drops)
	}
}

// Close stops the receive goroutine, waits for it to end, and closes the
// socket; later writes fail with an error that matches net.ErrClosed. Calls
// after the first do nothing. Close must not be called from the Dispatcher
// (it would wait for itself). It implements link.Endpoint.
func (e *Endpoint) Close() error {
	var err error
	e.once.Do(func() {
		e.closed.Store(true)
		// Wakes the receive goroutine if it is parked, and returns once
		// its read function has returned.
		eerr := e.ep.Close()
		<-e.rxDone
		// Waits for senders, which notice e.closed within senderPoll.
		e.fdMu.Lock()
		e.collectKernelStats()
		errs := []error{eerr, unix.Close(e.fd), unix.Close(e.txfd), e.rx.close()}
		e.fdMu.Unlock()
		e.disp.Store(nil)
		if jerr := errors.Join(errs...); jerr != nil {
			err = fmt.Errorf("close AF_PACKET on %s: %w", e.ifname, jerr)
		}
	})
	return err
}
