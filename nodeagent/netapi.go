package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
	"github.com/netlab/netlab/stack/wire"
)

// netAPI is how the built-in apps reach a node's network: the Go stack for
// `stack: go` nodes, the kernel (sockets opened inside the node's
// namespace) for `stack: linux` nodes. The apps are the same on both, so the
// two stacks can be compared with the same tools.
type netAPI interface {
	Listen(addr string, o SocketOptions) (net.Listener, error)
	Dial(ctx context.Context, addr netip.AddrPort, o SocketOptions) (net.Conn, error)
	Ping(ctx context.Context, dst netip.Addr, seq uint16, size int) (stack.PingResult, error)
	// Info returns the `ss -ti` view of a connection made by this API.
	Info(c net.Conn) (stack.TCPInfo, error)
}

// SocketOptions are what a connection needs set before its SYN (on a
// listener: what every connection it accepts starts with).
type SocketOptions struct {
	// CC is the congestion control ("reno", "cubic"); empty keeps the
	// node's default.
	CC string
	// SndBuf and RcvBuf are SO_SNDBUF and SO_RCVBUF in bytes; 0 keeps the
	// stack's default. (The kernel doubles what it is given and sizes its
	// window scale from the receive buffer set before the SYN.)
	SndBuf, RcvBuf int
}

// goOptions are o as the Go stack's socket options.
func goOptions(o SocketOptions) []gonet.SocketOption {
	var opts []gonet.SocketOption
	if o.CC != "" {
		opts = append(opts, gonet.SocketOption{Option: stack.OptCongestion, Value: o.CC})
	}
	if o.SndBuf > 0 {
		opts = append(opts, gonet.SocketOption{Option: stack.OptSendBuffer, Value: o.SndBuf})
	}
	if o.RcvBuf > 0 {
		opts = append(opts, gonet.SocketOption{Option: stack.OptReceiveBuffer, Value: o.RcvBuf})
	}
	return opts
}

// goNet is a node's Go stack.
type goNet struct{ s *stack.Stack }

func (g goNet) Listen(addr string, o SocketOptions) (net.Listener, error) {
	return gonet.ListenOptions(g.s, addr, goOptions(o))
}

func (g goNet) Dial(ctx context.Context, ap netip.AddrPort, o SocketOptions) (net.Conn, error) {
	return gonet.DialOptions(ctx, g.s, ap, goOptions(o))
}

func (g goNet) Ping(ctx context.Context, dst netip.Addr, seq uint16, size int) (stack.PingResult, error) {
	return g.s.Ping(ctx, dst, seq, size)
}

func (g goNet) Info(c net.Conn) (stack.TCPInfo, error) {
	gc, ok := c.(*gonet.Conn)
	if !ok {
		return stack.TCPInfo{}, errors.New("not a Go-stack connection")
	}
	return gc.Info()
}

// kernelNet is a node served by the Linux kernel's stack: sockets are
// opened on a thread inside the node's namespace and stay bound to it. An
// empty ns is the agent's own namespace (inside a container).
type kernelNet struct{ ns string }

// in runs fn in the node's namespace.
func (k kernelNet) in(fn func() error) error {
	if k.ns == "" {
		return fn()
	}
	return linuxnet.InNamespace(k.ns, fn)
}

func (k kernelNet) Listen(addr string, o SocketOptions) (ln net.Listener, err error) {
	err = k.in(func() error {
		lc := net.ListenConfig{Control: o.control}
		ln, err = lc.Listen(context.Background(), "tcp4", addr)
		return err
	})
	return ln, err
}

func (k kernelNet) Dial(ctx context.Context, ap netip.AddrPort, o SocketOptions) (c net.Conn, err error) {
	err = k.in(func() error {
		d := net.Dialer{Control: o.control}
		c, err = d.DialContext(ctx, "tcp4", ap.String())
		return err
	})
	return c, err
}

// control sets o on a kernel socket before it connects or listens.
func (o SocketOptions) control(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if o.CC != "" {
			if err := unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, o.CC); err != nil {
				serr = fmt.Errorf("congestion control %s: %w (the kernel may not have it: see /proc/sys/net/ipv4/tcp_available_congestion_control)", o.CC, err)
				return
			}
		}
		if o.SndBuf > 0 {
			if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, o.SndBuf); err != nil {
				serr = fmt.Errorf("SO_SNDBUF %d: %w", o.SndBuf, err)
				return
			}
		}
		if o.RcvBuf > 0 {
			if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.RcvBuf); err != nil {
				serr = fmt.Errorf("SO_RCVBUF %d: %w", o.RcvBuf, err)
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// Ping sends one ICMP echo request from the node's namespace through a
// raw socket of the kernel's and waits for its reply or for ctx to end.
func (k kernelNet) Ping(ctx context.Context, dst netip.Addr, seq uint16, size int) (stack.PingResult, error) {
	if !dst.Is4() || size < 0 || size > 65507-wire.ICMPHeaderLen {
		return stack.PingResult{}, fmt.Errorf("ping %v: an IPv4 address and 0 to %d bytes", dst, 65507-wire.ICMPHeaderLen)
	}
	var fd int
	if err := k.in(func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	}); err != nil {
		return stack.PingResult{}, fmt.Errorf("ping %v: a raw ICMP socket in the node's namespace: %w", dst, err)
	}
	defer unix.Close(fd)
	id := uint16(rand.Uint32())
	rest := uint32(id)<<16 | uint32(seq)
	msg := make([]byte, wire.ICMPHeaderLen+size)
	for i := range msg[wire.ICMPHeaderLen:] {
		msg[wire.ICMPHeaderLen+i] = byte(i)
	}
	wire.EncodeICMPv4(msg, &wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: rest})
	sent := time.Now()
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrInet4{Addr: dst.As4()}); err != nil {
		return stack.PingResult{}, fmt.Errorf("ping %v: %w", dst, err)
	}
	buf := make([]byte, 65536)
	for {
		// Wait in slices, so that ctx's end is seen within 50 ms.
		tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return stack.PingResult{}, fmt.Errorf("ping %v: %w", dst, err)
		}
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err := ctx.Err(); err != nil {
			return stack.PingResult{}, fmt.Errorf("ping %v seq %d: %w", dst, seq, err)
		}
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return stack.PingResult{}, fmt.Errorf("ping %v: %w", dst, err)
		}
		// A raw socket reads whole IP packets: every ICMP message to the
		// namespace; ours is the echo reply from dst with our id and seq.
		ip, payload, err := wire.ParseIPv4(buf[:n])
		if err != nil || ip.Src != dst {
			continue
		}
		h, _, err := wire.ParseICMPv4(payload)
		if err != nil || h.Type != wire.ICMPEchoReply || h.Rest != rest {
			continue
		}
		return stack.PingResult{RTT: time.Since(sent), TTL: ip.TTL}, nil
	}
}

// Info reads the kernel's struct tcp_info (getsockopt TCP_INFO) into the
// same names the Go stack uses.
func (k kernelNet) Info(c net.Conn) (stack.TCPInfo, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return stack.TCPInfo{}, errors.New("not a kernel TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return stack.TCPInfo{}, err
	}
	var ti *unix.TCPInfo
	var serr error
	cc := "kernel"
	err = raw.Control(func(fd uintptr) {
		if ti, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); serr != nil {
			return
		}
		// The congestion control in force (the namespace's
		// net.ipv4.tcp_congestion_control, often bbr or cubic).
		if name, err := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION); err == nil && name != "" {
			cc = name
		}
	})
	if err != nil {
		return stack.TCPInfo{}, err
	}
	if serr != nil {
		return stack.TCPInfo{}, fmt.Errorf("getsockopt TCP_INFO: %w", serr)
	}
	la, _ := netip.ParseAddrPort(tc.LocalAddr().String())
	ra, _ := netip.ParseAddrPort(tc.RemoteAddr().String())
	us := func(v uint32) time.Duration { return time.Duration(v) * time.Microsecond }
	return stack.TCPInfo{
		State: "ESTABLISHED", Local: la, Remote: ra, Congestion: cc,
		RTO: us(ti.Rto), SRTT: us(ti.Rtt), RTTVar: us(ti.Rttvar), MinRTT: us(ti.Min_rtt), ATO: us(ti.Ato),
		MSS: int(ti.Snd_mss), AdvMSS: int(ti.Advmss), RcvMSS: int(ti.Rcv_mss),
		CwndSegs: ti.Snd_cwnd, Cwnd: ti.Snd_cwnd * ti.Snd_mss, SsthreshSegs: ti.Snd_ssthresh,
		BytesSent: ti.Bytes_sent, BytesRetrans: ti.Bytes_retrans, BytesAcked: ti.Bytes_acked,
		BytesReceived: ti.Bytes_received, SegsOut: uint64(ti.Segs_out), SegsIn: uint64(ti.Segs_in),
		DataSegsOut: uint64(ti.Data_segs_out), DataSegsIn: uint64(ti.Data_segs_in),
		Unacked: ti.Unacked, Retrans: uint64(ti.Total_retrans), Lost: uint64(ti.Lost), Sacked: ti.Sacked,
		SpuriousRetrans: uint64(ti.Dsack_dups),
		DeliveryRate:    ti.Delivery_rate * 8, Backoff: int(ti.Backoff),
		Timestamps: ti.Options&1 != 0, SACK: ti.Options&2 != 0, // TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK
	}, nil
}
