package afpacket

import (
	"fmt"
	"github.com/netlab/netlab/stack/link"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A TPACKET_V2 ring is an array of fixed-size frame slots; each starts with
// struct tpacket2_hdr, whose tp_status the kernel sets to TP_STATUS_USER
// when the slot holds a frame, followed by a struct sockaddr_ll at
// TPACKET_ALIGN(sizeof(struct tpacket2_hdr)). The kernel puts the frame at
// tp_mac, at most TPACKET_ALIGN(52+16)-14 = 66 bytes in.
const (
	tpacket2SllOff  = (unix.SizeofTpacket2Hdr + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	tpacket2MacRoom = 80
)

// ring2Receiver reads frames from a TPACKET_V2 RX ring.
type ring2Receiver struct {
	e         *Endpoint
	mem       []byte
	blockSize int
	frameSize int
	perBlock  int // frames per block
	frames    int
	cur       int
}

// newRing2Receiver sets up the ring on fd (before bind) and maps it: blocks
// of opts.RingBlockSize bytes, cut into slots for a frame of the MTU.
func newRing2Receiver(e *Endpoint, fd int, opts Options) (*ring2Receiver, error) {
	bs, n := opts.RingBlockSize, opts.RingBlocks
	fs := (tpacket2MacRoom + e.maxFrame + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	if bs < fs {
		return nil, fmt.Errorf("ring block size %d too small for MTU %d (need %d)", bs, e.mtu, fs)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return nil, fmt.Errorf("set TPACKET_V2: %w", err)
	}
	perBlock := bs / fs
	req := &unix.TpacketReq{Block_size: uint32(bs), Block_nr: uint32(n), Frame_size: uint32(fs), Frame_nr: uint32(perBlock * n)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, req); err != nil {
		return nil, fmt.Errorf("set up RX ring of %d blocks of %d bytes: %w", n, bs, err)
	}
	mem, err := unix.Mmap(fd, 0, bs*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map RX ring: %w", err)
	}
	return &ring2Receiver{e: e, mem: mem, blockSize: bs, frameSize: fs, perBlock: perBlock, frames: perBlock * n}, nil
}

func (r *ring2Receiver) read() bool {
	for !r.e.closed.Load() {
		d := r.e.dispatcher()
		bd, batched := d.(link.BatchDispatcher)
		if batched {
			bd.BeginBatch()
		}
		delivered, detached, outgoing, oversize := 0, 0, 0, 0
		empty := false
		// Up to a ring's worth, then count and check for Close.
		for range r.frames {
			off := (r.cur/r.perBlock)*r.blockSize + (r.cur%r.perBlock)*r.frameSize
			slot := r.mem[off : off+r.frameSize : off+r.frameSize]
			h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&slot[0]))
			if atomic.LoadUint32(&h.Status)&unix.TP_STATUS_USER == 0 {
				empty = true
				break
			}
			mac, end := int(h.Mac), int(h.Mac)+int(h.Snaplen)
			switch {
			case slot[tpacket2SllOff+sllPkttypeOffset] == unix.PACKET_OUTGOING && !r.e.outgoing:
				outgoing++
			case h.Snaplen < h.Len || int(h.Snaplen) > r.e.maxFrame || end > len(slot):
				oversize++
			case d == nil && r.e.dispatcher() == nil:
				detached++
			default:
				if d == nil {
					// Attached since this batch began: from here on,
					// frame by frame.
					d = r.e.dispatcher()
				}
				d.DeliverFrame(slot[mac:end:end])
				delivered++
			}
			atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
			r.cur++
			if r.cur == r.frames {
				r.cur = 0
			}
		}
		if batched {
			bd.EndBatch()
		}
		r.e.countRx(delivered, detached, outgoing, oversize)
		if empty {
			// The kernel signals each frame it puts in the ring, so
			// one that came after this check wakes the wait.
			return false
		}
	}
	return true
}

func (r *ring2Receiver) err() error { return nil }

func (r *ring2Receiver) close() error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem = nil
	if err != nil {
		return fmt.Errorf("unmap RX ring: %w", err)
	}
	return nil
}
