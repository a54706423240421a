package afpacket

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// senderPoll is how long, in milliseconds, a sender waiting for room in
// the socket buffer sleeps before it checks whether the endpoint closed.
const senderPoll = 50

// tx holds the sendmmsg state of WritePackets, reused from call to call.
type tx struct {
	mu   sync.Mutex
	msgs []unix.Mmsghdr
	iovs []unix.Iovec
}

func (t *tx) init(batch int) {
	t.msgs = make([]unix.Mmsghdr, batch)
	t.iovs = make([]unix.Iovec, batch)
	for i := range t.msgs {
		t.msgs[i].Hdr.Iov = &t.iovs[i]
		t.msgs[i].Hdr.Iovlen = 1
	}
}

// clear drops the references to the caller's frames.
func (t *tx) clear(n int) {
	for i := range n {
		t.iovs[i].Base = nil
	}
}

func sendmmsg(fd int, msgs []unix.Mmsghdr) (int, unix.Errno) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	return int(n), errno
}

func write(fd int, b []byte) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return errno
}

// checkFrame refuses frames the kernel would refuse: shorter than an
// Ethernet header, or longer than the MTU plus the header, plus 4 bytes for
// a VLAN tag if the frame has one.
func (e *Endpoint) checkFrame(frame []byte) error {
	limit := e.mtu + 14
	if len(frame) >= 14 {
		if et := uint16(frame[12])<<8 | uint16(frame[13]); et == 0x8100 || et == 0x88a8 {
			limit += 4
		}
	}
	if len(frame) < minFrame || len(frame) > limit {
		return fmt.Errorf("write frame of %d bytes to %s: %w (want %d to %d)", len(frame), e.ifname, unix.EMSGSIZE, minFrame, limit)
	}
	return nil
}

func (e *Endpoint) writeErr(err error) error {
	return fmt.Errorf("write frame to %s: %w", e.ifname, err)
}

// waitWritable sleeps until the socket has room or the endpoint is closed.
// The caller holds e.fdMu shared.
func (e *Endpoint) waitWritable() error {
	pfd := []unix.PollFd{{Fd: int32(e.txfd), Events: unix.POLLOUT}}
	for !e.closed.Load() {
		n, err := unix.Poll(pfd, senderPoll)
		if n > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	return net.ErrClosed
}

// WritePacket sends one Ethernet frame (header included, no FCS, at most
// MTU plus 14 bytes, or 18 with a VLAN tag) with one write(2). If the socket
// buffer is full it waits until there is room. It does not keep frame. It
// implements link.Endpoint.
func (e *Endpoint) WritePacket(frame []byte) error {
	if err := e.checkFrame(frame); err != nil {
		e.txErrors.Add(1)
		return err
	}
	e.fdMu.RLock()
	defer e.fdMu.RUnlock()
	for {
		if e.closed.Load() {
			return e.writeErr(net.ErrClosed)
		}
		switch errno := write(e.txfd, frame); errno {
		case 0:
			e.txFrames.Add(1)
			return nil
		case unix.EINTR:
		case unix.EAGAIN:
			if err := e.waitWritable(); err != nil {
				e.txErrors.Add(1)
				return e.writeErr(err)
			}
		default:
			e.txErrors.Add(1)
			return e.writeErr(errno)
		}
	}
}

// WritePackets sends frames, Options.Batch per sendmmsg(2) call, and
// returns how many were sent; on an error, the frames before the returned
// count were sent and the others not. Like WritePacket it waits for room in
// the socket buffer, and it does not keep the frames.
func (e *Endpoint) WritePackets(frames [][]byte) (int, error) {
	t := &e.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	e.fdMu.RLock()
	defer e.fdMu.RUnlock()
	sent := 0
	for sent < len(frames) {
		if e.closed.Load() {
			return sent, e.writeErr(net.ErrClosed)
		}
		chunk := frames[sent:min(len(frames), sent+len(t.msgs))]
		for i, f := range chunk {
			if err := e.checkFrame(f); err != nil {
				t.clear(i)
				e.txErrors.Add(1)
				return sent, err
			}
			t.iovs[i].Base = &f[0]
			t.iovs[i].SetLen(len(f))
		}
		n, errno := sendmmsg(e.txfd, t.msgs[:len(chunk)])
		t.clear(len(chunk))
		switch errno {
		case 0:
			sent += n
			e.txFrames.Add(uint64(n))
		case unix.EINTR:
		case unix.EAGAIN:
			if err := e.waitWritable(); err != nil {
				e.txErrors.Add(1)
				return sent, e.writeErr(err)
			}
		default:
			e.txErrors.Add(1)
			return sent, e.writeErr(errno)
		}
	}
	return sent, nil
}
