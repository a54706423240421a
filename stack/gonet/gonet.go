// Package gonet adapts the stack's descriptor API to Go's net interfaces:
// net.Conn, net.Listener and net.PacketConn, with deadlines, so net/http and
// any Go program run over a netlab stack unchanged. Errors keep their errno:
// errors.Is(err, syscall.ECONNRESET) works; deadlines give
// os.ErrDeadlineExceeded, and end of stream io.EOF.
package gonet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netlab/netlab/stack"
)

// Conn is a TCP connection on a stack. It implements net.Conn.
//
// Descriptors are reused (lowest free first, as the OS does), so a Conn
// remembers that it was closed and never touches its old number again.
type Conn struct {
	s      *stack.Stack
	fd     int
	closed atomic.Bool
}

var _ net.Conn = (*Conn)(nil)

// FD returns the connection's descriptor in the stack.
func (c *Conn) FD() int { return c.fd }

// NewConn wraps an existing connected TCP descriptor.
func NewConn(s *stack.Stack, fd int) *Conn { return &Conn{s: s, fd: fd} }

// Dial connects to addr ("10.0.0.2:80") over s.
func Dial(ctx context.Context, s *stack.Stack, addr string) (*Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	return DialAddrPort(ctx, s, ap)
}

// DialAddrPort connects to ap over s, giving up when ctx ends.
func DialAddrPort(ctx context.Context, s *stack.Stack, ap netip.AddrPort) (*Conn, error) {
	return DialOptions(ctx, s, ap, nil)
}

// SocketOption is a socket option DialOptions sets before the SYN leaves
// (a congestion control or buffer sizes, which must be in force from the
// first segment).
type SocketOption struct {
	Option stack.Option
	Value  any
}

// DialOptions connects to ap over s with opts set on the socket first.
func DialOptions(ctx context.Context, s *stack.Stack, ap netip.AddrPort, opts []SocketOption) (*Conn, error) {
	fd, err := s.Socket(stack.SockStream)
	if err != nil {
		return nil, opError("dial", ap, err)
	}
	for _, o := range opts {
		if err := s.SetOption(fd, o.Option, o.Value); err != nil {
			s.Close(fd)
			return nil, opError("dial", ap, err)
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		s.SetWriteDeadline(fd, dl)
	}
	// Cancelling ctx interrupts Connect through a past deadline. The flag
	// fences it off once Connect returned: by then fd may be closed and its
	// number given to another socket.
	var mu sync.Mutex
	connecting := true
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if connecting {
			s.SetWriteDeadline(fd, time.Unix(1, 0))
		}
	})
	err = s.Connect(fd, ap.Addr(), ap.Port())
	mu.Lock()
	connecting = false
	mu.Unlock()
	stop()
	if err != nil {
		s.Close(fd)
		if ctx.Err() != nil {
			return nil, opError("dial", ap, ctx.Err())
		}
		return nil, opError("dial", ap, err)
	}
	s.SetWriteDeadline(fd, time.Time{})
	return &Conn{s: s, fd: fd}, nil
}

func opError(op string, ap netip.AddrPort, err error) error {
	if errors.Is(err, stack.ErrDeadline) {
		err = errors.Join(err, syscall.ETIMEDOUT)
	}
	var addr net.Addr
	if ap.IsValid() {
		addr = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: addr, Err: err}
}

// Read implements net.Conn.Read: io.EOF at end of stream.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.s.Read(c.fd, p)
	if err != nil {
		return n, c.wrap("read", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Write implements net.Conn.Write.
func (c *Conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: net.ErrClosed}
	}
	n, err := c.s.Write(c.fd, p)
	if err != nil {
		return n, c.wrap("write", err)
	}
	return n, nil
}

func (c *Conn) wrap(op string, err error) error {
	remote, _ := c.s.RemoteAddr(c.fd)
	if errors.Is(err, stack.ErrDeadline) {
		return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(remote), Err: deadlineErr{err}}
	}
	return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(remote), Err: err}
}

// deadlineErr is os.ErrDeadlineExceeded that also says Timeout() for
// net.Error users.
type deadlineErr struct{ err error }

func (e deadlineErr) Error() string   { return e.err.Error() }
func (e deadlineErr) Unwrap() error   { return e.err }
func (e deadlineErr) Timeout() bool   { return true }
func (e deadlineErr) Temporary() bool { return true }

// Close implements net.Conn.Close. A second Close returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}
	}
	return c.s.Close(c.fd)
}

// CloseWrite shuts down the sending direction (sends FIN), as
// net.TCPConn.CloseWrite.
func (c *Conn) CloseWrite() error { return c.s.Shutdown(c.fd, stack.ShutWR) }

// CloseRead shuts down the receiving direction.
func (c *Conn) CloseRead() error { return c.s.Shutdown(c.fd, stack.ShutRD) }

// LocalAddr implements net.Conn.LocalAddr.
func (c *Conn) LocalAddr() net.Addr {
	a, _ := c.s.LocalAddr(c.fd)
	return net.TCPAddrFromAddrPort(a)
}

// RemoteAddr implements net.Conn.RemoteAddr.
func (c *Conn) RemoteAddr() net.Addr {
	a, _ := c.s.RemoteAddr(c.fd)
	return net.TCPAddrFromAddrPort(a)
}

// SetDeadline implements net.Conn.SetDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.s.SetReadDeadline(c.fd, t); err != nil {
		return err
	}
	return c.s.SetWriteDeadline(c.fd, t)
}

// SetReadDeadline implements net.Conn.SetReadDeadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.s.SetReadDeadline(c.fd, t) }

// SetWriteDeadline implements net.Conn.SetWriteDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.s.SetWriteDeadline(c.fd, t) }

// SetNoDelay turns Nagle off (true) or on, as net.TCPConn.SetNoDelay.
func (c *Conn) SetNoDelay(on bool) error { return c.s.SetOption(c.fd, stack.OptNoDelay, on) }

// SetLinger sets SO_LINGER: sec 0 makes Close reset the connection,
// discarding what was not sent; negative turns it off.
func (c *Conn) SetLinger(sec int) error { return c.s.SetOption(c.fd, stack.OptLinger, sec) }

// Info returns the connection's `ss -ti` snapshot.
func (c *Conn) Info() (stack.TCPInfo, error) { return c.s.Info(c.fd) }

// Listener accepts TCP connections on a stack. It implements net.Listener.
type Listener struct {
	s      *stack.Stack
	fd     int
	closed atomic.Bool
}

var _ net.Listener = (*Listener)(nil)

// Listen listens on addr (":80" or "10.0.0.2:80") over s.
func Listen(s *stack.Stack, addr string) (*Listener, error) {
	return ListenOptions(s, addr, nil)
}

// ListenOptions is Listen with opts set on the listening socket first:
// every connection it accepts starts with them (buffer sizes, congestion
// control).
func ListenOptions(s *stack.Stack, addr string, opts []SocketOption) (*Listener, error) {
	ap, err := parseListenAddr(addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	fd, err := s.Socket(stack.SockStream)
	if err != nil {
		return nil, opError("listen", ap, err)
	}
	for _, o := range opts {
		if err := s.SetOption(fd, o.Option, o.Value); err != nil {
			s.Close(fd)
			return nil, opError("listen", ap, err)
		}
	}
	if err := s.Bind(fd, ap); err != nil {
		s.Close(fd)
		return nil, opError("listen", ap, err)
	}
	if err := s.Listen(fd, 128); err != nil {
		s.Close(fd)
		return nil, opError("listen", ap, err)
	}
	return &Listener{s: s, fd: fd}, nil
}

func parseListenAddr(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return netip.ParseAddrPort(net.JoinHostPort(host, port))
}

// Accept implements net.Listener.Accept.
func (l *Listener) Accept() (net.Conn, error) {
	if l.closed.Load() {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: net.ErrClosed}
	}
	fd, _, err := l.s.Accept(l.fd)
	if err != nil {
		if errors.Is(err, stack.EBADF) || errors.Is(err, stack.EINVAL) {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Err: net.ErrClosed}
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: err}
	}
	return &Conn{s: l.s, fd: fd}, nil
}

// SetDeadline makes Accept fail with os.ErrDeadlineExceeded after t.
func (l *Listener) SetDeadline(t time.Time) error { return l.s.SetReadDeadline(l.fd, t) }

// Close implements net.Listener.Close.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}
	}
	return l.s.Close(l.fd)
}

// Addr implements net.Listener.Addr.
func (l *Listener) Addr() net.Addr {
	a, _ := l.s.LocalAddr(l.fd)
	return net.TCPAddrFromAddrPort(a)
}

// PacketConn is a UDP socket on a stack. It implements net.PacketConn.
type PacketConn struct {
	s      *stack.Stack
	fd     int
	closed atomic.Bool
}

var _ net.PacketConn = (*PacketConn)(nil)

// ListenPacket binds a UDP socket to addr (":53", "10.0.0.1:0").
func ListenPacket(s *stack.Stack, addr string) (*PacketConn, error) {
	ap, err := parseListenAddr(addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: err}
	}
	fd, err := s.Socket(stack.SockDgram)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: err}
	}
	if err := s.Bind(fd, ap); err != nil {
		s.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: err}
	}
	return &PacketConn{s: s, fd: fd}, nil
}

// ReadFrom implements net.PacketConn.ReadFrom.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.s.RecvFrom(c.fd, p)
	if err != nil {
		if errors.Is(err, stack.ErrDeadline) {
			err = deadlineErr{err}
		}
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Err: err}
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo implements net.PacketConn.WriteTo.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		x, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return 0, &net.OpError{Op: "write", Net: "udp", Err: err}
		}
		ap = x
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	n, err := c.s.SendTo(c.fd, p, ap)
	if err != nil {
		return n, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: err}
	}
	return n, nil
}

// Close implements net.PacketConn.Close.
func (c *PacketConn) Close() error {
	if c.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "udp", Err: net.ErrClosed}
	}
	return c.s.Close(c.fd)
}

// LocalAddr implements net.PacketConn.LocalAddr.
func (c *PacketConn) LocalAddr() net.Addr {
	a, _ := c.s.LocalAddr(c.fd)
	return net.UDPAddrFromAddrPort(a)
}

// SetDeadline implements net.PacketConn.SetDeadline.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if err := c.s.SetReadDeadline(c.fd, t); err != nil {
		return err
	}
	return c.s.SetWriteDeadline(c.fd, t)
}

// SetReadDeadline implements net.PacketConn.SetReadDeadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error { return c.s.SetReadDeadline(c.fd, t) }

// SetWriteDeadline implements net.PacketConn.SetWriteDeadline.
func (c *PacketConn) SetWriteDeadline(t time.Time) error { return c.s.SetWriteDeadline(c.fd, t) }
