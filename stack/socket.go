package stack

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/netlab/netlab/clock"
)

// SocketType is the kind of socket Socket makes.
type SocketType int

// Socket types, as socket(2)'s SOCK_STREAM and SOCK_DGRAM.
const (
	SockStream SocketType = 1
	SockDgram  SocketType = 2
)

func (t SocketType) String() string {
	switch t {
	case SockStream:
		return "tcp"
	case SockDgram:
		return "udp"
	}
	return "?"
}

// Shutdown directions, as shutdown(2).
const (
	ShutRD   = 0
	ShutWR   = 1
	ShutRDWR = 2
)

// socket is one descriptor's worth of state: what socket() reserves.
type socket struct {
	s        *Stack
	fd       int
	typ      SocketType
	nonblock bool
	local    netip.AddrPort
	bound    bool
	opts     TCPOptions
	linger   int // seconds; -1: off

	tcp *tcpConn  // a connection (connecting, connected or closing)
	lsn *listener // when listening
	udp udpState

	softErr error
	rdShut  bool
	closed  bool

	rd, wr     chan struct{} // readiness notifications, buffered 1
	rdDL, wrDL time.Time     // deadlines; zero: none
	portRef    bool          // holds a reference on s.ports
}

func (s *Stack) newSocketLocked(typ SocketType) (*socket, error) {
	if len(s.fds) >= 1<<20 {
		return nil, EMFILE
	}
	fd := s.nextFD
	for s.fds[fd] != nil {
		fd++
	}
	s.nextFD = fd + 1
	so := &socket{s: s, fd: fd, typ: typ, opts: s.opts.TCP, linger: -1, rd: make(chan struct{}, 1), wr: make(chan struct{}, 1)}
	s.fds[fd] = so
	return so, nil
}

// Socket makes a new socket and returns its descriptor: the smallest free
// number from 3 up, as a process's descriptor table would give.
func (s *Stack) Socket(typ SocketType) (int, error) {
	if typ != SockStream && typ != SockDgram {
		return -1, opErr("socket", -1, EINVAL)
	}
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return -1, opErr("socket", -1, EBADF)
	}
	so, err := s.newSocketLocked(typ)
	if err != nil {
		return -1, opErr("socket", -1, err)
	}
	// Reuse low numbers as an OS does.
	if so.fd > 3 {
		for fd := 3; fd < so.fd; fd++ {
			if s.fds[fd] == nil {
				delete(s.fds, so.fd)
				so.fd = fd
				s.fds[fd] = so
				break
			}
		}
	}
	s.nextFD = so.fd + 1
	return so.fd, nil
}

func (s *Stack) lookupLocked(fd int) (*socket, error) {
	so, ok := s.fds[fd]
	if !ok {
		return nil, EBADF
	}
	return so, nil
}

// notify wakes whoever waits on the socket for reading or writing.
func (so *socket) notify() {
	if so.closed {
		return
	}
	select {
	case so.rd <- struct{}{}:
	default:
	}
	select {
	case so.wr <- struct{}{}:
	default:
	}
}

func (so *socket) notifyRead() {
	if so.closed {
		return
	}
	select {
	case so.rd <- struct{}{}:
	default:
	}
}

func (so *socket) notifyWrite() {
	if so.closed {
		return
	}
	select {
	case so.wr <- struct{}{}:
	default:
	}
}

// waitLocked blocks (with s.mu released) until ch is signalled or the
// deadline passes. It returns EAGAIN for a non-blocking socket, EBADF if the
// socket was closed meanwhile, and ErrDeadline when the deadline passed.
func (s *Stack) waitLocked(so *socket, ch chan struct{}, dl time.Time) error {
	if so.nonblock {
		return EAGAIN
	}
	err := s.waitChanLocked(ch, dl)
	if so.closed {
		return EBADF
	}
	return err
}

// waitChanLocked releases s.mu until ch is signalled or dl (if set) passes.
func (s *Stack) waitChanLocked(ch chan struct{}, dl time.Time) error {
	var timeout chan struct{}
	var t clock.Timer
	if !dl.IsZero() {
		d := dl.Sub(s.clock.Now())
		if d <= 0 {
			return ErrDeadline
		}
		timeout = make(chan struct{})
		t = s.clock.AfterFunc(d, func() { close(timeout) })
	}
	s.unlock()
	var expired bool
	select {
	case <-ch:
	case <-timeout:
		expired = true
	}
	s.mu.Lock()
	if t != nil {
		t.Stop()
	}
	if expired {
		return ErrDeadline
	}
	return nil
}

// SetNonblock makes calls on fd return EAGAIN (EINPROGRESS for Connect)
// instead of waiting.
func (s *Stack) SetNonblock(fd int, on bool) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("setnonblock", fd, err)
	}
	so.nonblock = on
	return nil
}

// SetReadDeadline makes blocking reads and accepts on fd fail with
// ErrDeadline once t passes; the zero time means none.
func (s *Stack) SetReadDeadline(fd int, t time.Time) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("setdeadline", fd, err)
	}
	so.rdDL = t
	so.notifyRead()
	return nil
}

// SetWriteDeadline makes blocking writes and connects on fd fail with
// ErrDeadline once t passes; the zero time means none.
func (s *Stack) SetWriteDeadline(fd int, t time.Time) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("setdeadline", fd, err)
	}
	so.wrDL = t
	so.notifyWrite()
	return nil
}

// Bind gives fd a local address and port. Port 0 picks an ephemeral port.
func (s *Stack) Bind(fd int, addr netip.AddrPort) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("bind", fd, err)
	}
	return opErr("bind", fd, s.bindLocked(so, addr))
}

func (s *Stack) bindLocked(so *socket, addr netip.AddrPort) error {
	if so.bound {
		return EINVAL
	}
	ip := addr.Addr()
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	if !ip.Is4() {
		return EADDRNOTAVAIL
	}
	if !ip.IsUnspecified() && !s.isLocalLocked(ip) {
		return EADDRNOTAVAIL
	}
	port := addr.Port()
	if port == 0 {
		p, err := s.ephemeralPortLocked(so.typ, ip)
		if err != nil {
			return err
		}
		port = p
	} else if s.portInUseLocked(so.typ, ip, port) {
		return EADDRINUSE
	}
	so.local = netip.AddrPortFrom(ip, port)
	so.bound = true
	if so.typ == SockDgram {
		s.udp[so.local] = so
	}
	return nil
}

func (s *Stack) portInUseLocked(typ SocketType, ip netip.Addr, port uint16) bool {
	for _, so := range s.fds {
		if so.typ != typ || !so.bound || so.local.Port() != port {
			continue
		}
		if so.local.Addr() == ip || so.local.Addr().IsUnspecified() || ip.IsUnspecified() {
			return true
		}
	}
	if typ == SockStream {
		for k, c := range s.tcpConn {
			if k.local.Port() == port && c.ownsPort && (k.local.Addr() == ip || ip.IsUnspecified()) {
				return true
			}
		}
	}
	return false
}

// ephemeralPortLocked picks a free port from the ephemeral range, going
// round it from a random start (as Linux does) so that a port comes back
// only after the whole range was used: a client rarely meets its own old
// connection still in TIME-WAIT at the server.
func (s *Stack) ephemeralPortLocked(typ SocketType, ip netip.Addr) (uint16, error) {
	lo, hi := int(s.opts.EphemeralPorts[0]), int(s.opts.EphemeralPorts[1])
	n := hi - lo + 1
	if s.portHint == 0 {
		s.portHint = 1 + s.rand.IntN(n)
	}
	for i := 0; i < n; i++ {
		s.portHint++
		p := uint16(lo + s.portHint%n)
		if !s.portInUseLocked(typ, ip, p) {
			return p, nil
		}
	}
	return 0, EADDRINUSE
}

// Close releases fd. A TCP connection goes on closing in the background
// (FIN, then TIME-WAIT), unless unread data or SO_LINGER 0 make it reset.
func (s *Stack) Close(fd int) error {
	s.mu.Lock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		s.unlock()
		return opErr("close", fd, err)
	}
	delete(s.fds, fd)
	var wait *tcpConn
	if so.tcp != nil && so.linger > 0 && !so.nonblock {
		wait = so.tcp
	}
	so.closeLocked()
	if wait != nil {
		// SO_LINGER > 0: wait until our FIN is acknowledged or the time is up.
		deadline := s.clock.Now().Add(time.Duration(so.linger) * time.Second)
		for !wait.finAcked() && wait.state != StateClosed {
			if err := s.waitChanLocked(wait.lingerCh, deadline); err != nil {
				break
			}
		}
	}
	s.unlock()
	return nil
}

func (so *socket) closeLocked() {
	if so.closed {
		return
	}
	s := so.s
	so.closed = true
	if so.lsn != nil {
		s.closeListenerLocked(so)
	}
	if so.tcp != nil {
		so.tcp.userClose(so.linger == 0)
		so.tcp.so = nil
	}
	if so.typ == SockDgram && so.bound && s.udp[so.local] == so {
		delete(s.udp, so.local)
	}
	close(so.rd)
	close(so.wr)
}

// SocketInfo is one row of a stack's descriptor table.
type SocketInfo struct {
	FD     int
	Type   SocketType
	State  string
	Local  netip.AddrPort
	Remote netip.AddrPort
}

// Sockets lists the open descriptors, lowest first.
func (s *Stack) Sockets() []SocketInfo {
	s.mu.Lock()
	defer s.unlock()
	out := make([]SocketInfo, 0, len(s.fds))
	for fd, so := range s.fds {
		si := SocketInfo{FD: fd, Type: so.typ, Local: so.local, State: "UNCONN"}
		switch {
		case so.lsn != nil:
			si.State = StateListen.String()
		case so.tcp != nil:
			si.State = so.tcp.state.String()
			si.Local = so.tcp.id.local
			si.Remote = so.tcp.id.remote
		case so.typ == SockDgram && so.udp.connected:
			si.State = "ESTAB"
			si.Remote = so.udp.remote
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FD < out[j].FD })
	return out
}

// LocalAddr returns fd's local address and port.
func (s *Stack) LocalAddr(fd int) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return netip.AddrPort{}, opErr("getsockname", fd, err)
	}
	if so.tcp != nil {
		return so.tcp.id.local, nil
	}
	return so.local, nil
}

// RemoteAddr returns the peer of a connected fd.
func (s *Stack) RemoteAddr(fd int) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return netip.AddrPort{}, opErr("getpeername", fd, err)
	}
	switch {
	case so.tcp != nil:
		return so.tcp.id.remote, nil
	case so.udp.connected:
		return so.udp.remote, nil
	}
	return netip.AddrPort{}, opErr("getpeername", fd, ENOTCONN)
}

// Option names a socket option for SetOption and GetOption.
type Option int

// Socket options. The value types are given in brackets.
const (
	OptNoDelay       Option = iota + 1 // [bool] TCP_NODELAY: Nagle off
	OptSendBuffer                      // [int] SO_SNDBUF, bytes
	OptReceiveBuffer                   // [int] SO_RCVBUF, bytes
	OptCongestion                      // [string] TCP_CONGESTION: "reno" or "cubic"
	OptKeepalive                       // [bool] SO_KEEPALIVE
	OptKeepIdle                        // [time.Duration] TCP_KEEPIDLE
	OptKeepInterval                    // [time.Duration] TCP_KEEPINTVL
	OptKeepCount                       // [int] TCP_KEEPCNT
	OptLinger                          // [int] SO_LINGER seconds; -1 off, 0 reset on close
	OptDelayedACK                      // [time.Duration] delayed-ACK timer; negative: ACK at once
	OptUserTimeout                     // [time.Duration] TCP_USER_TIMEOUT
	OptFlushDelay                      // [time.Duration] longest Nagle hold
	OptMaxSeg                          // [int] TCP_MAXSEG: clamp the advertised MSS
)

var optionNames = map[Option]string{
	OptNoDelay: "nodelay", OptSendBuffer: "sndbuf", OptReceiveBuffer: "rcvbuf", OptCongestion: "congestion",
	OptKeepalive: "keepalive", OptKeepIdle: "keepidle", OptKeepInterval: "keepintvl", OptKeepCount: "keepcnt",
	OptLinger: "linger", OptDelayedACK: "delack", OptUserTimeout: "user-timeout", OptFlushDelay: "flush-delay",
	OptMaxSeg: "maxseg",
}

func (o Option) String() string {
	if n, ok := optionNames[o]; ok {
		return n
	}
	return "option(" + itoa(int(o)) + ")"
}

// ParseOption returns the option with the given name (as Option.String).
func ParseOption(name string) (Option, bool) {
	for o, n := range optionNames {
		if n == name {
			return o, true
		}
	}
	return 0, false
}

// SetOption sets a socket option; see Option for the value types.
func (s *Stack) SetOption(fd int, opt Option, value any) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("setsockopt", fd, err)
	}
	return opErr("setsockopt", fd, so.setOptionLocked(opt, value))
}

func (so *socket) setOptionLocked(opt Option, value any) error {
	o := &so.opts
	var err error
	switch opt {
	case OptNoDelay:
		err = set(&o.NoDelay, value)
	case OptSendBuffer:
		err = setPositive(&o.SendBuffer, value)
	case OptReceiveBuffer:
		err = setPositive(&o.ReceiveBuffer, value)
	case OptCongestion:
		var name string
		if err = set(&name, value); err == nil {
			if _, ok := newCongestionControl(name); !ok {
				return EINVAL
			}
			o.Congestion = name
		}
	case OptKeepalive:
		err = set(&o.Keepalive, value)
	case OptKeepIdle:
		err = set(&o.KeepIdle, value)
	case OptKeepInterval:
		err = set(&o.KeepInterval, value)
	case OptKeepCount:
		err = setPositive(&o.KeepCount, value)
	case OptLinger:
		err = set(&so.linger, value)
	case OptDelayedACK:
		err = set(&o.DelayedACK, value)
	case OptUserTimeout:
		err = set(&o.UserTimeout, value)
	case OptFlushDelay:
		err = set(&o.FlushDelay, value)
	case OptMaxSeg:
		err = setPositive(&o.MSS, value)
	default:
		return ENOPROTOOPT
	}
	if err != nil {
		return err
	}
	if so.tcp != nil {
		so.tcp.opts = so.opts
		so.tcp.optionsChanged(opt)
	}
	return nil
}

func set[T any](dst *T, v any) error {
	x, ok := v.(T)
	if !ok {
		return EINVAL
	}
	*dst = x
	return nil
}

func setPositive(dst *int, v any) error {
	x, ok := v.(int)
	if !ok || x <= 0 {
		return EINVAL
	}
	*dst = x
	return nil
}

// GetOption returns a socket option's value.
func (s *Stack) GetOption(fd int, opt Option) (any, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return nil, opErr("getsockopt", fd, err)
	}
	o := so.opts
	switch opt {
	case OptNoDelay:
		return o.NoDelay, nil
	case OptSendBuffer:
		return o.SendBuffer, nil
	case OptReceiveBuffer:
		return o.ReceiveBuffer, nil
	case OptCongestion:
		return o.Congestion, nil
	case OptKeepalive:
		return o.Keepalive, nil
	case OptKeepIdle:
		return o.KeepIdle, nil
	case OptKeepInterval:
		return o.KeepInterval, nil
	case OptKeepCount:
		return o.KeepCount, nil
	case OptLinger:
		return so.linger, nil
	case OptDelayedACK:
		return o.DelayedACK, nil
	case OptUserTimeout:
		return o.UserTimeout, nil
	case OptFlushDelay:
		return o.FlushDelay, nil
	case OptMaxSeg:
		if so.tcp != nil {
			return so.tcp.mss, nil
		}
		return o.MSS, nil
	}
	return nil, opErr("getsockopt", fd, fmt.Errorf("%w: %v", ENOPROTOOPT, opt))
}
