package afpacket

import (
	"github.com/netlab/netlab/stack/link"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sllPkttypeOffset is the offset of sll_pkttype in struct sockaddr_ll.
const sllPkttypeOffset = 10

// mmsgReceiver receives with recvmmsg(2) into one buffer per message, all
// allocated once.
type mmsgReceiver struct {
	e     *Endpoint
	msgs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names [][unix.SizeofSockaddrLinklayer]byte
	bufs  [][]byte
	last  error
}

func newMmsgReceiver(e *Endpoint, batch int) *mmsgReceiver {
	r := &mmsgReceiver{
		e:     e,
		msgs:  make([]unix.Mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([][unix.SizeofSockaddrLinklayer]byte, batch),
		bufs:  make([][]byte, batch),
	}
	// One slab for all buffers. A frame longer than e.maxFrame comes back
	// truncated (MSG_TRUNC) and is dropped.
	slab := make([]byte, batch*e.maxFrame)
	for i := range r.msgs {
		r.bufs[i] = slab[i*e.maxFrame : (i+1)*e.maxFrame : (i+1)*e.maxFrame]
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(e.maxFrame)
		h := &r.msgs[i].Hdr
		h.Iov = &r.iovs[i]
		h.Iovlen = 1
		h.Name = &r.names[i][0]
	}
	return r
}

func recvmmsg(fd uintptr, msgs []unix.Mmsghdr, flags int) (int, unix.Errno) {
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), uintptr(flags), 0, 0)
	return int(n), errno
}

func (r *mmsgReceiver) read() bool {
	fd := uintptr(r.e.fd)
	for !r.e.closed.Load() {
		for i := range r.msgs {
			r.msgs[i].Hdr.Namelen = unix.SizeofSockaddrLinklayer
		}
		n, errno := recvmmsg(fd, r.msgs, unix.MSG_DONTWAIT)
		switch errno {
		case 0:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			r.last = errno
			return true
		}
		d := r.e.dispatcher()
		bd, batched := d.(link.BatchDispatcher)
		if batched {
			bd.BeginBatch()
		}
		delivered, detached, outgoing, oversize := 0, 0, 0, 0
		for i := range n {
			m := &r.msgs[i]
			switch {
			case r.names[i][sllPkttypeOffset] == unix.PACKET_OUTGOING && !r.e.outgoing:
				// Sent here; only seen without PACKET_IGNORE_OUTGOING.
				outgoing++
			case m.Hdr.Flags&unix.MSG_TRUNC != 0:
				oversize++
			case d == nil && r.e.dispatcher() == nil:
				detached++
			default:
				if d == nil {
					// Attached since this batch began: from here on,
					// frame by frame.
					d = r.e.dispatcher()
				}
				d.DeliverFrame(r.bufs[i][:m.Len])
				delivered++
			}
		}
		if batched {
			bd.EndBatch()
		}
		r.e.countRx(delivered, detached, outgoing, oversize)
	}
	return true
}

func (r *mmsgReceiver) err() error {
	err := r.last
	r.last = nil
	return err
}

func (r *mmsgReceiver) close() error { return nil }
