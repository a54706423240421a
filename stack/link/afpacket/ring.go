package afpacket

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Layout of a TPACKET_V3 ring (linux/if_packet.h, and
// Documentation/networking/packet_mmap.rst): a block starts with struct
// tpacket_block_desc, whose struct tpacket_hdr_v1 is at offset 8; each frame
// in the block starts with struct tpacket3_hdr, followed by a struct
// sockaddr_ll at TPACKET_ALIGN(sizeof(struct tpacket3_hdr)).
const (
	blockHdrOffset   = 8
	tpacket3SllOff   = (unix.SizeofTpacket3Hdr + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	ringNominalFrame = 2048 // tp_frame_size; V3 packs frames of any length
)

// ringReceiver reads frames from a TPACKET_V3 RX ring.
type ringReceiver struct {
	e         *Endpoint
	mem       []byte
	blockSize int
	blocks    int
	cur       int
}

// newRingReceiver sets up the ring on fd (before bind) and maps it.
func newRingReceiver(e *Endpoint, fd int, opts Options) (*ringReceiver, error) {
	bs, n := opts.RingBlockSize, opts.RingBlocks
	if need := 64 + tpacket3SllOff + 32 + e.maxFrame; bs < need {
		return nil, fmt.Errorf("ring block size %d too small for MTU %d (need %d)", bs, e.mtu, need)
	}
	tov := (opts.RingBlockTimeout + time.Millisecond - 1) / time.Millisecond
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("set TPACKET_V3: %w", err)
	}
	req := &unix.TpacketReq3{
		Block_size:     uint32(bs),
		Block_nr:       uint32(n),
		Frame_size:     ringNominalFrame,
		Frame_nr:       uint32(bs / ringNominalFrame * n),
		Retire_blk_tov: uint32(tov),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, req); err != nil {
		return nil, fmt.Errorf("set up RX ring of %d blocks of %d bytes: %w", n, bs, err)
	}
	mem, err := unix.Mmap(fd, 0, bs*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map RX ring: %w", err)
	}
	return &ringReceiver{e: e, mem: mem, blockSize: bs, blocks: n}, nil
}

func (r *ringReceiver) read() bool {
	for !r.e.closed.Load() {
		blk := r.mem[r.cur*r.blockSize : (r.cur+1)*r.blockSize]
		bh := (*unix.TpacketHdrV1)(unsafe.Pointer(&blk[blockHdrOffset]))
		if atomic.LoadUint32(&bh.Block_status)&unix.TP_STATUS_USER == 0 {
			return false // wait for the kernel to hand over the block
		}
		d := r.e.dispatcher()
		delivered, detached, outgoing, oversize := 0, 0, 0, 0
		off := int(bh.Offset_to_first_pkt)
		for range bh.Num_pkts {
			h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
			mac := off + int(h.Mac)
			switch {
			case blk[off+tpacket3SllOff+sllPkttypeOffset] == unix.PACKET_OUTGOING && !r.e.outgoing:
				outgoing++
			case h.Snaplen < h.Len || int(h.Snaplen) > r.e.maxFrame:
				oversize++
			case d == nil && r.e.dispatcher() == nil:
				detached++
			default:
				if d == nil {
					// Attached since this batch began: from here on,
					// frame by frame.
					d = r.e.dispatcher()
				}
				end := mac + int(h.Snaplen)
				d.DeliverFrame(blk[mac:end:end])
				delivered++
			}
			off += int(h.Next_offset)
		}
		atomic.StoreUint32(&bh.Block_status, unix.TP_STATUS_KERNEL)
		r.cur++
		if r.cur == r.blocks {
			r.cur = 0
		}
		r.e.countRx(delivered, detached, outgoing, oversize)
	}
	return true
}

func (r *ringReceiver) err() error { return nil }

func (r *ringReceiver) close() error {
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
