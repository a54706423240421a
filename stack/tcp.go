package stack

import (
	"net/netip"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
)

// State is a TCP connection state (RFC 9293 §3.3.2).
type State uint8

// TCP states.
const (
	StateClosed State = iota
	StateListen
	StateSynSent
	StateSynRcvd
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
	"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}

// String returns the RFC 9293 name, e.g. "SYN-SENT".
func (st State) String() string {
	if int(st) < len(stateNames) {
		return stateNames[st]
	}
	return "?"
}

// synchronized reports a state past the handshake (RFC 9293 §3.10.7.4).
func (st State) synchronized() bool { return st >= StateEstablished }

// CAState is the congestion-avoidance state, as Linux's ca_state.
type CAState uint8

// Congestion states.
const (
	CAOpen     CAState = iota // normal
	CADisorder                // duplicate ACKs or SACKs seen
	CARecovery                // fast recovery
	CALoss                    // after an RTO
)

func (c CAState) String() string {
	return [...]string{"open", "disorder", "recovery", "loss"}[c]
}

type connKey struct {
	local, remote netip.AddrPort
}

// tcpConn is one TCP connection's control block (TCB).
type tcpConn struct {
	s     *Stack
	so    *socket // nil once the application closed it (orphan)
	id    connKey
	nic   *NIC
	state State
	opts  TCPOptions

	parent   *socket // the listener, while not yet accepted
	ownsPort bool    // the connection holds its local port (client side)

	// Send sequence space (RFC 9293 §3.3.1).
	iss       seqnum.Value
	sndUna    seqnum.Value
	sndNxt    seqnum.Value
	sndMax    seqnum.Value // highest sequence number sent + 1
	sndWnd    uint32       // peer's window, scaled
	maxSndWnd uint32
	sndWl1    seqnum.Value
	sndWl2    seqnum.Value
	sndWS     uint8 // shift the peer applies to its window field
	sndBuf    ring  // bytes from sndBase on
	sndBase   seqnum.Value
	finQueued bool
	finSeq    seqnum.Value // valid when finQueued and the FIN was sent
	finSent   bool

	// Receive sequence space.
	irs        seqnum.Value
	rcvNxt     seqnum.Value
	rcvAdv     seqnum.Value // right edge of the window last advertised
	rcvWS      uint8
	rcvSlack   int  // ring bytes beyond the buffer size, for window rounding
	synWnd     int  // the window our SYN offered
	forceSmall bool // send a window-limited small segment (persist override)
	rcvBuf     ring
	ooo        []seqRange // out-of-order data held in rcvBuf beyond the valid bytes
	oooLast    int        // index in ooo of the block that changed last (SACK order)
	oooFin     bool
	oooFinSeq  seqnum.Value
	finRcvd    bool

	// Negotiated options.
	mss         int // bytes of payload per segment we send
	advMSS      int // MSS we advertised
	peerMSS     int
	sackOK      bool
	tsOK        bool
	wsOK        bool
	tsOffset    uint32
	tsRecent    uint32
	lastAckSent seqnum.Value

	// Retransmission (RFC 6298).
	srtt, rttvar, rto time.Duration
	hasRTT            bool
	backoff           int
	retries           int
	rttTiming         bool
	rttSeq            seqnum.Value
	rttTime           time.Time
	minRTT            time.Duration
	firstUnackedAt    time.Time

	// Congestion control (RFC 5681, 6582, 6675).
	cc              congestionControl
	cwnd            uint32
	ssthresh        uint32
	caState         CAState
	dupAcks         int
	recover         seqnum.Value
	highRxt         seqnum.Value
	sacked          scoreboard
	bytesAckedCA    uint32
	cwndLimited     bool
	limitedTransmit int

	// Receiver ACK state.
	pendingAck int  // bytes received and not yet ACKed
	ackLater   bool // listed in the stack's ackLater (ackAtBatchEnd)
	quickAcks  int
	rcvMSS     int

	// Timers: deadlines, zero when idle; one clock timer serves them all.
	timer      clock.Timer
	timerAt    time.Time
	rtoAt      time.Time
	delackAt   time.Time
	persistAt  time.Time
	persistN   int
	keepAt     time.Time
	keepN      int
	flushAt    time.Time
	closeAt    time.Time // TIME-WAIT end or orphaned FIN-WAIT-2 end
	lastRecv   time.Time
	lastOOWAck time.Time

	err      error // what failed the connection (reported once to the app)
	softErr  error // last ICMP error, reported if the connection times out
	lingerCh chan struct{}

	stats connStats
}

type connStats struct {
	bytesSent, bytesRetrans, bytesAcked, bytesReceived uint64
	segsOut, segsIn, dataSegsOut, dataSegsIn           uint64
	retrans, timeouts, fastRetrans, lost               uint64
	probes                                             uint64
	// spurious counts retransmitted segments found unnecessary (Eifel
	// detection, RFC 3522): those of an episode whose first retransmission
	// was answered by an ACK echoing an earlier timestamp.
	spurious uint64
	// The retransmission episode being judged: the first retransmitted
	// segment's start and timestamp, and how many segments the episode
	// retransmitted. eifelOn is false between episodes.
	eifelOn       bool
	eifelSeq      seqnum.Value
	eifelTS       uint32
	eifelSegs     uint64
	deliveredAt   time.Time
	deliveryRate  uint64 // bytes/s
	lastDelivered uint64
}

// seqRange is [start, end) in sequence space.
type seqRange struct{ start, end seqnum.Value }

func (r seqRange) size() uint32 { return uint32(r.end - r.start) }

func (s *Stack) newConnLocked(id connKey, nic *NIC, opts TCPOptions) *tcpConn {
	c := &tcpConn{s: s, id: id, nic: nic, opts: opts, lingerCh: make(chan struct{}, 1)}
	c.cc, _ = newCongestionControl(opts.Congestion)
	if c.cc == nil {
		c.cc, _ = newCongestionControl("reno")
	}
	c.rto = opts.InitialRTO
	c.iss = s.issLocked(id)
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.tsOffset = s.tsOffsetLocked(id)
	c.ssthresh = 1<<31 - 1
	c.advMSS = nic.mtu - ipHdr - wire.TCPMinHeaderLen
	if opts.MSS > 0 && opts.MSS < c.advMSS {
		c.advMSS = opts.MSS
	}
	c.mss = 536
	c.rcvMSS = 536
	c.quickAcks = 16
	c.rcvWS = windowShift(opts.ReceiveBuffer)
	return c
}

// windowShift is the smallest shift that lets the whole buffer be
// advertised, at least 7 as Linux does, at most 14 (RFC 7323 §2.3).
func windowShift(buf int) uint8 {
	ws := uint8(7)
	for ws < 14 && buf>>ws > 65535 {
		ws++
	}
	return ws
}

func (c *tcpConn) setState(st State) {
	if c.state == st {
		return
	}
	old := c.state
	c.state = st
	s := c.s
	if st == StateEstablished {
		s.stats.TcpCurrEstab++
	} else if old == StateEstablished || old == StateCloseWait {
		if s.stats.TcpCurrEstab > 0 {
			s.stats.TcpCurrEstab--
		}
	}
	if s.opts.Probe != nil {
		e := c.probeEvent(ProbeState)
		e.OldState = old
		s.opts.Probe(e)
	}
	c.wake()
}

// wake tells the application side that something changed.
func (c *tcpConn) wake() {
	if c.so != nil {
		c.so.notify()
	}
	select {
	case c.lingerCh <- struct{}{}:
	default:
	}
}

func (c *tcpConn) probeEvent(k ProbeKind) ProbeEvent {
	return ProbeEvent{
		Time: c.s.elapsed(), Kind: k, Local: c.id.local, Remote: c.id.remote, State: c.state,
		SndUna: uint32(c.sndUna), SndNxt: uint32(c.sndNxt), RcvNxt: uint32(c.rcvNxt), SndWnd: c.sndWnd,
		RcvWnd: uint32(c.rcvAdv - c.rcvNxt), Cwnd: c.cwnd, Ssthresh: c.ssthresh, InFlight: c.inFlight(),
		SRTT: c.srtt, RTTVar: c.rttvar, RTO: c.rto, CAState: c.caState,
	}
}

func (c *tcpConn) probeTimer(t TimerKind) {
	if c.s.opts.Probe != nil {
		e := c.probeEvent(ProbeTimer)
		e.Timer = t
		c.s.opts.Probe(e)
	}
}

// inFlight is the data sent and not yet acknowledged, in bytes.
func (c *tcpConn) inFlight() uint32 { return uint32(c.sndMax - c.sndUna) }

func (c *tcpConn) finAcked() bool {
	return c.finSent && c.sndUna.GreaterThan(c.finSeq)
}

// free removes the connection from the stack.
func (c *tcpConn) free() {
	s := c.s
	if c.state != StateClosed {
		c.setState(StateClosed)
	}
	if s.tcpConn[c.id] == c {
		delete(s.tcpConn, c.id)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.rtoAt, c.delackAt, c.persistAt, c.keepAt, c.flushAt, c.closeAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if c.parent != nil && c.parent.lsn != nil {
		c.parent.lsn.remove(c)
	}
	c.wake()
}

// abort ends the connection with err, sending an RST first if sendRST.
func (c *tcpConn) abort(err error, sendRST bool) {
	if c.state == StateClosed {
		return
	}
	if sendRST && c.state != StateListen && c.state != StateSynSent && c.state != StateTimeWait {
		c.sendRST(c.sndNxt, c.rcvNxt, true)
	}
	if c.err == nil {
		c.err = err
	}
	c.free()
}

// Connect starts a TCP connection from fd to ip:port and, unless fd is
// non-blocking, waits until it is established or fails.
func (s *Stack) Connect(fd int, ip netip.Addr, port uint16) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("connect", fd, err)
	}
	if so.typ == SockDgram {
		so.udp.connected = true
		so.udp.remote = netip.AddrPortFrom(ip, port)
		if !so.bound {
			return opErr("connect", fd, s.bindLocked(so, netip.AddrPort{}))
		}
		return nil
	}
	return opErr("connect", fd, s.connectLocked(so, ip, port))
}

func (s *Stack) connectLocked(so *socket, ip netip.Addr, port uint16) error {
	switch {
	case so.lsn != nil:
		return EINVAL
	case so.tcp != nil:
		c := so.tcp
		switch {
		case c.state == StateSynSent || c.state == StateSynRcvd:
			if so.nonblock {
				return EALREADY
			}
			return s.waitConnectedLocked(so)
		case c.err != nil:
			err := c.err
			so.tcp = nil
			return err
		}
		return EISCONN
	}
	if !ip.Is4() || ip.IsUnspecified() || port == 0 {
		return EINVAL
	}
	nic, _, src, err := s.routeLocked(ip)
	if err != nil {
		return err
	}
	if so.bound && !so.local.Addr().IsUnspecified() {
		src = so.local.Addr()
	}
	lport := so.local.Port()
	if !so.bound {
		p, err := s.ephemeralPortLocked(SockStream, src)
		if err != nil {
			return err
		}
		lport = p
	}
	id := connKey{local: netip.AddrPortFrom(src, lport), remote: netip.AddrPortFrom(ip, port)}
	if _, dup := s.tcpConn[id]; dup {
		return EADDRINUSE
	}
	c := s.newConnLocked(id, nic, so.opts)
	c.so = so
	c.ownsPort = true
	so.tcp = c
	so.local = id.local
	so.bound = false // the connection owns the port now
	c.initBuffers()
	s.tcpConn[id] = c
	s.stats.TcpActiveOpens++
	c.setState(StateSynSent)
	c.sendSYN(false)
	if so.nonblock {
		return EINPROGRESS
	}
	return s.waitConnectedLocked(so)
}

func (s *Stack) waitConnectedLocked(so *socket) error {
	for {
		c := so.tcp
		if c == nil {
			return ECONNABORTED
		}
		if c.state != StateSynSent && c.state != StateSynRcvd {
			if c.err != nil && c.state == StateClosed {
				err := c.err
				so.tcp = nil
				return err
			}
			return nil
		}
		if err := s.waitLocked(so, so.wr, so.wrDL); err != nil {
			return err
		}
	}
}

func (c *tcpConn) initBuffers() {
	c.sndBuf = newRing(c.opts.SendBuffer)
	c.rcvSlack = 1 << c.rcvWS
	c.rcvBuf = newRing(c.opts.ReceiveBuffer + c.rcvSlack)
}

// Write copies p into fd's send buffer, waiting for room unless the socket
// is non-blocking, and lets TCP send it (MSS-sized segments; small writes
// may be held by Nagle).
func (s *Stack) Write(fd int, p []byte) (int, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return 0, opErr("write", fd, err)
	}
	if so.typ == SockDgram {
		n, err := s.sendToLocked(so, p, netip.AddrPort{})
		return n, opErr("write", fd, err)
	}
	written := 0
	for {
		c := so.tcp
		if c == nil {
			return written, opErr("write", fd, ENOTCONN)
		}
		if c.err != nil {
			return written, opErr("write", fd, c.takeErr())
		}
		switch c.state {
		case StateSynSent, StateSynRcvd, StateEstablished, StateCloseWait:
		default:
			return written, opErr("write", fd, EPIPE)
		}
		if c.finQueued {
			return written, opErr("write", fd, EPIPE)
		}
		if len(p) == 0 {
			return 0, nil
		}
		n := c.sndBuf.append(p[written:])
		written += n
		if n > 0 && c.state.synchronized() {
			s.freezeClock() // one reading for the segments this sends
			c.output()
			s.thawClock()
		}
		if written == len(p) {
			return written, nil
		}
		if err := s.waitLocked(so, so.wr, so.wrDL); err != nil {
			if written > 0 && err == EAGAIN {
				return written, nil
			}
			return written, opErr("write", fd, err)
		}
	}
}

func (c *tcpConn) takeErr() error {
	err := c.err
	if err == ECONNRESET || err == ETIMEDOUT || err == ECONNREFUSED || err == ECONNABORTED {
		c.err = EPIPE // reported once, as the OS does
	}
	return err
}

// Read copies received data into p. It returns 0, nil at end of stream (the
// peer's FIN), and waits for data unless the socket is non-blocking.
func (s *Stack) Read(fd int, p []byte) (int, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return 0, opErr("read", fd, err)
	}
	if so.typ == SockDgram {
		s.unlock()
		n, _, err := s.RecvFrom(fd, p)
		s.mu.Lock()
		return n, err
	}
	for {
		c := so.tcp
		if c == nil {
			return 0, opErr("read", fd, ENOTCONN)
		}
		if c.rcvBuf.n > 0 {
			if so.rdShut {
				return 0, nil
			}
			n := c.rcvBuf.read(p)
			if len(c.ooo) == 0 {
				c.rcvBuf.rewind()
			}
			c.afterRead()
			if c.rcvBuf.n > 0 {
				so.notifyRead()
			}
			return n, nil
		}
		if c.finRcvd || so.rdShut {
			return 0, nil
		}
		if c.err != nil {
			if c.err == EPIPE { // already reported
				return 0, nil
			}
			return 0, opErr("read", fd, c.takeErr())
		}
		if c.state == StateClosed {
			return 0, nil
		}
		if len(p) == 0 {
			return 0, nil
		}
		if err := s.waitLocked(so, so.rd, so.rdDL); err != nil {
			return 0, opErr("read", fd, err)
		}
	}
}

// Shutdown closes one or both directions of fd's connection: ShutWR sends
// FIN once the send buffer drains (a half-close); ShutRD makes later reads
// return end of stream.
func (s *Stack) Shutdown(fd int, how int) error {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return opErr("shutdown", fd, err)
	}
	c := so.tcp
	if c == nil {
		if so.lsn != nil {
			s.closeListenerLocked(so)
			return nil
		}
		return opErr("shutdown", fd, ENOTCONN)
	}
	if how == ShutRD || how == ShutRDWR {
		so.rdShut = true
		so.notifyRead()
	}
	if how == ShutWR || how == ShutRDWR {
		c.queueFIN()
	}
	if how < ShutRD || how > ShutRDWR {
		return opErr("shutdown", fd, EINVAL)
	}
	return nil
}

// queueFIN asks for a FIN after the buffered data (RFC 9293 §3.10.4 CLOSE).
func (c *tcpConn) queueFIN() {
	if c.finQueued {
		return
	}
	switch c.state {
	case StateSynSent:
		c.free()
		return
	case StateSynRcvd, StateEstablished:
		c.finQueued = true
		c.setState(StateFinWait1)
	case StateCloseWait:
		c.finQueued = true
		c.setState(StateLastAck)
	default:
		return
	}
	if c.state == StateFinWait1 && !c.sndUna.GreaterThan(c.iss) {
		return // SYN-RECEIVED: the FIN goes after the handshake completes
	}
	c.output()
}

// userClose is the application's close(): FIN, or RST when unread data
// would be lost (RFC 2525 §2.17) or SO_LINGER is 0.
func (c *tcpConn) userClose(lingerZero bool) {
	if c.state == StateClosed {
		return
	}
	if lingerZero || c.rcvBuf.n > 0 {
		if c.rcvBuf.n > 0 {
			c.s.stats.TcpExtTCPAbortOnData++
		}
		c.s.stats.TcpEstabResets++
		c.abort(ECONNABORTED, true)
		return
	}
	c.queueFIN()
	if c.state == StateFinWait2 {
		c.closeAt = c.s.now().Add(c.opts.FinWait2)
		c.armTimer()
	}
}

func (c *tcpConn) optionsChanged(opt Option) {
	switch opt {
	case OptNoDelay:
		if c.state.synchronized() {
			c.output()
		}
	case OptCongestion:
		if cc, ok := newCongestionControl(c.opts.Congestion); ok {
			c.cc = cc
		}
	case OptKeepalive, OptKeepIdle:
		c.resetKeepalive()
	case OptSendBuffer:
		if c.opts.SendBuffer > c.sndBuf.cap() {
			c.sndBuf.limit = c.opts.SendBuffer
			c.wake()
		}
	}
	c.armTimer()
}

// icmpError handles an ICMP error quoting one of our segments (RFC 1122
// §4.2.3.9): fatal while connecting, remembered otherwise.
func (c *tcpConn) icmpError(errno error, seq uint32) {
	v := seqnum.Value(seq)
	if v.LessThan(c.sndUna) || v.GreaterThan(c.sndMax) {
		c.s.stats.TcpExtOutOfWindowIcmps++
		return
	}
	if c.state == StateSynSent {
		c.s.stats.TcpAttemptFails++
		c.abort(errno, false)
		return
	}
	c.softErr = errno
}

// Crash ends every TCP connection of the stack at once, without a word on
// the wire, as a machine that loses power does: blocked callers return
// ECONNABORTED, the descriptors stay until closed, and a peer that later
// sends to a lost connection gets a reset. Listening sockets are left to
// their owners to close. It returns how many connections were lost.
func (s *Stack) Crash() int {
	s.mu.Lock()
	defer s.unlock()
	n := 0
	for _, c := range s.tcpConn {
		if c.state != StateClosed {
			n++
		}
		c.abort(ECONNABORTED, false)
	}
	return n
}
