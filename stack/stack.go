// Package stack is netlab's userspace TCP/IP stack: Ethernet, ARP, IPv4 with
// routing and forwarding, ICMP, UDP and TCP, behind a descriptor-based socket
// API (Socket, Bind, Listen, Accept, Connect, Read, Write, Shutdown, Close).
//
// Time and randomness are inputs (Options.Clock, Options.Rand): production
// uses the real clock, tests a clock.Manual they advance, and a run is then
// exactly reproducible. Every TCP segment sent or received, every state
// change and every timer event is reported to Options.Probe, and Info returns
// a snapshot with the names of Linux `ss -ti`.
//
// Concurrency: one mutex per Stack guards all protocol state. Link endpoints
// deliver frames from their own goroutines; socket calls may come from any
// goroutine; blocking calls wait outside the lock.
package stack

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/ipv4frag"
	"github.com/netlab/netlab/stack/link"
)

// Options configures a Stack. The zero value is usable: real clock, random
// seed, Linux-like TCP defaults.
type Options struct {
	// Clock is the stack's only source of time. Default: clock.Real{}.
	Clock clock.Clock
	// Seed seeds the stack's random source (ISNs, ports, SYN-cookie secret).
	// Zero picks a random seed.
	Seed uint64
	// Forwarding makes the stack route IP packets between its interfaces.
	Forwarding bool
	// TCP holds the defaults every new TCP socket starts with.
	TCP TCPOptions
	// Probe, if set, is called for every TCP segment, state change and timer
	// event. It runs with the stack locked and must not call the stack.
	Probe func(ProbeEvent)
	// DefaultTTL for packets this stack originates. Default 64.
	DefaultTTL uint8
	// ARPTimeout is how long a resolved entry stays valid. Default 60 s.
	ARPTimeout time.Duration
	// ARPRetries is how many requests are sent before giving up. Default 3,
	// one second apart.
	ARPRetries int
	// ReassemblyTimeout and ReassemblyMemory bound IPv4 reassembly.
	// Defaults 30 s and 4 MiB.
	ReassemblyTimeout time.Duration
	ReassemblyMemory  int
	// EphemeralPorts is the range the stack picks client ports from.
	// Default 32768-60999, as Linux.
	EphemeralPorts [2]uint16
}

// TCPOptions are the per-socket TCP settings; Options.TCP gives their
// defaults and SetOption changes them per socket.
type TCPOptions struct {
	SendBuffer    int           // bytes; default 1 MiB
	ReceiveBuffer int           // bytes; default 1 MiB
	NoDelay       bool          // disable Nagle
	FlushDelay    time.Duration // longest Nagle hold of a small write; default 200 ms
	DelayedACK    time.Duration // delayed-ACK timer; default 40 ms; negative: ACK every segment
	Congestion    string        // "reno" (default) or "cubic"
	DisableSACK   bool          // do not offer SACK (on by default)
	DisableTS     bool          // do not offer timestamps
	DisableWS     bool          // do not offer window scaling
	MSS           int           // clamp the MSS we advertise; 0: from the MTU
	InitialRTO    time.Duration // default 1 s (RFC 6298)
	MinRTO        time.Duration // default 200 ms
	MaxRTO        time.Duration // default 120 s
	Retries       int           // data retransmissions before ETIMEDOUT; default 15
	SynRetries    int           // SYN retransmissions before ETIMEDOUT; default 6
	TimeWait      time.Duration // TIME-WAIT length (2*MSL); default 60 s; negative: none
	FinWait2      time.Duration // orphaned FIN-WAIT-2 timeout; default 60 s
	Keepalive     bool          // off by default
	KeepIdle      time.Duration // default 2 h
	KeepInterval  time.Duration // default 75 s
	KeepCount     int           // default 9
	UserTimeout   time.Duration // 0: off (RFC 5482 / TCP_USER_TIMEOUT)
	InitialWindow int           // segments; default 10 (RFC 6928)
	// BatchACKs answers the in-order data of one batch the link endpoint
	// read at once with one ACK at the batch's end, up to 64 KiB an ACK,
	// as Linux's GRO makes one ACK of a burst: far fewer frames at
	// gigabits. It acts on every connection when no link is impaired
	// (SetLinksUnimpaired), else only on those whose smallest RTT is
	// under 1 ms (no link on the path delays); elsewhere every second
	// segment is ACKed, as RFC 5681 says and a lab there shows. Off by
	// default; the node agent turns it on.
	BatchACKs bool
}

func (o *TCPOptions) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 1 << 20
	}
	if o.ReceiveBuffer <= 0 {
		o.ReceiveBuffer = 1 << 20
	}
	def(&o.FlushDelay, 200*time.Millisecond)
	def(&o.DelayedACK, 40*time.Millisecond)
	if o.Congestion == "" {
		o.Congestion = "reno"
	}
	def(&o.InitialRTO, time.Second)
	def(&o.MinRTO, 200*time.Millisecond)
	def(&o.MaxRTO, 120*time.Second)
	if o.Retries <= 0 {
		o.Retries = 15
	}
	if o.SynRetries <= 0 {
		o.SynRetries = 6
	}
	def(&o.TimeWait, 60*time.Second)
	def(&o.FinWait2, 60*time.Second)
	def(&o.KeepIdle, 2*time.Hour)
	def(&o.KeepInterval, 75*time.Second)
	if o.KeepCount <= 0 {
		o.KeepCount = 9
	}
	if o.InitialWindow <= 0 {
		o.InitialWindow = 10
	}
}

// Stack is one host's TCP/IP stack.
type Stack struct {
	mu    sync.Mutex
	opts  Options
	clock clock.Clock
	// frozen holds now at frozenAt while one frame is processed
	// (freezeClock); both under mu.
	frozen   bool
	frozenAt time.Time
	// inBatch is set while a frame of a NIC's batch (BeginBatch to
	// EndBatch) is processed; ackLater are the connections whose ACK
	// waits for the batch's end (ackAtBatchEnd). Both under mu.
	inBatch  bool
	ackLater []*tcpConn
	rand     *rand.Rand
	start    time.Time

	nics   []*NIC
	routes []Route

	arp     map[netip.Addr]*arpEntry
	reasm   *ipv4frag.Reassembler
	reasmTm clock.Timer
	ipID    uint16

	fds      map[int]*socket
	nextFD   int
	tcpConn  map[connKey]*tcpConn
	tcpLsn   map[netip.AddrPort]*socket
	udp      map[netip.AddrPort]*socket
	portHint int
	pings    map[uint16]*pingWaiter
	pingID   uint16

	cookieSecret [2]uint64
	lastCookie   time.Time
	challenge    rateLimiter

	stats  Stats
	txbuf  []byte
	closed bool
	// unimpaired says no link the stack's frames cross is impaired
	// (SetLinksUnimpaired); under mu.
	unimpaired bool
}

// SetLinksUnimpaired tells the stack whether every link its frames can
// cross passes them untouched (no delay, loss, rate or other impairment):
// TCPOptions.BatchACKs then act on every connection, not only on those
// whose smallest RTT is under 1 ms. A handshake taken while the machine
// is busy can measure more than that on links nothing slows.
func (s *Stack) SetLinksUnimpaired(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unimpaired = v
}

// LinksUnimpaired reports what SetLinksUnimpaired last set.
func (s *Stack) LinksUnimpaired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unimpaired
}

// New returns a stack with no interfaces.
func New(opts Options) *Stack {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	if opts.DefaultTTL == 0 {
		opts.DefaultTTL = 64
	}
	if opts.ARPTimeout <= 0 {
		opts.ARPTimeout = 60 * time.Second
	}
	if opts.ARPRetries <= 0 {
		opts.ARPRetries = 3
	}
	if opts.EphemeralPorts == [2]uint16{} {
		opts.EphemeralPorts = [2]uint16{32768, 60999}
	}
	opts.TCP.setDefaults()
	s := &Stack{
		opts:    opts,
		clock:   opts.Clock,
		rand:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		arp:     make(map[netip.Addr]*arpEntry),
		reasm:   ipv4frag.New(opts.ReassemblyMemory, opts.ReassemblyTimeout),
		fds:     make(map[int]*socket),
		nextFD:  3,
		tcpConn: make(map[connKey]*tcpConn),
		tcpLsn:  make(map[netip.AddrPort]*socket),
		udp:     make(map[netip.AddrPort]*socket),
		pings:   make(map[uint16]*pingWaiter),
		txbuf:   make([]byte, 65536+64),
	}
	s.start = s.clock.Now()
	s.ipID = uint16(s.rand.Uint32())
	s.cookieSecret = [2]uint64{s.rand.Uint64(), s.rand.Uint64()}
	s.challenge = rateLimiter{per: time.Second, max: 1000}
	return s
}

// Clock returns the stack's clock.
func (s *Stack) Clock() clock.Clock { return s.clock }

// SetForwarding turns IP forwarding between interfaces on or off.
func (s *Stack) SetForwarding(on bool) {
	s.mu.Lock()
	s.opts.Forwarding = on
	s.unlock()
}

// Destroy resets every TCP connection, closes every socket and detaches
// from every link. The link endpoints themselves are left to their owner.
func (s *Stack) Destroy() {
	s.mu.Lock()
	if s.closed {
		s.unlock()
		return
	}
	s.closed = true
	for _, c := range s.tcpConn {
		c.abort(ECONNABORTED, true)
	}
	clear(s.ackLater)
	s.ackLater = s.ackLater[:0]
	for fd, so := range s.fds {
		so.closeLocked()
		delete(s.fds, fd)
	}
	for _, e := range s.arp {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	if s.reasmTm != nil {
		s.reasmTm.Stop()
	}
	nics := s.nics
	s.unlock()
	for _, n := range nics {
		n.ep.Attach(nil)
	}
}

// unlock sends the frames queued while the lock was held, then releases
// it. Every path that takes s.mu leaves through unlock.
func (s *Stack) unlock() {
	for _, n := range s.nics {
		n.flush()
	}
	s.mu.Unlock()
}

// elapsed is the stack's time since it was made: the clock of probes and
// timestamps. s.mu is held.
func (s *Stack) elapsed() time.Duration { return s.now().Sub(s.start) }

// now is the stack's time; s.mu is held. While one inbound frame is
// processed (freezeClock) it is the time the frame was taken up: one
// reading of the clock for everything the frame causes, instead of one
// per timestamp, RTT sample and timer (a segment took about seven).
func (s *Stack) now() time.Time {
	if s.frozen {
		return s.frozenAt
	}
	return s.clock.Now()
}

// freezeClock makes now return the clock's present reading until
// thawClock; s.mu is held and stays held in between.
func (s *Stack) freezeClock() { s.frozenAt, s.frozen = s.clock.Now(), true }

// thawClock ends freezeClock, before s.mu is released.
func (s *Stack) thawClock() { s.frozen = false }

// refreezeClock moves a frozen now to the present after frames left in
// the middle of a frame's processing: what the link did with them (an
// impairment's drop event, stamped with Elapsed) must not seem later than
// what the stack does next.
func (s *Stack) refreezeClock() {
	if s.frozen {
		s.frozenAt = s.clock.Now()
	}
}

// ackAtBatchEnd makes c's ACK wait for the end of the batch being
// processed; s.mu is held.
func (s *Stack) ackAtBatchEnd(c *tcpConn) {
	if !c.ackLater {
		c.ackLater = true
		s.ackLater = append(s.ackLater, c)
	}
}

// sendLaterACKs sends the ACKs that waited for a batch's end, for
// connections still owing one; s.mu is held.
func (s *Stack) sendLaterACKs() {
	if len(s.ackLater) == 0 {
		return
	}
	s.freezeClock()
	for i, c := range s.ackLater {
		c.ackLater = false
		if !s.closed && c.pendingAck > 0 {
			c.sendACK()
		}
		s.ackLater[i] = nil
	}
	s.ackLater = s.ackLater[:0]
	s.thawClock()
}

// Elapsed returns the time since the stack was created, on its clock: the
// time base of ProbeEvent.Time, for events an observer of the stack's
// links adds to its probe stream. It takes no lock.
func (s *Stack) Elapsed() time.Duration { return s.clock.Now().Sub(s.start) }

// rateLimiter allows max events per period.
type rateLimiter struct {
	per   time.Duration
	max   int
	start time.Time
	n     int
}

func (r *rateLimiter) allow(now time.Time) bool {
	if now.Sub(r.start) >= r.per {
		r.start = now
		r.n = 0
	}
	if r.n >= r.max {
		return false
	}
	r.n++
	return true
}

// AddInterface attaches a link endpoint as a new interface and returns its
// index. The interface starts up, without addresses.
func (s *Stack) AddInterface(name string, ep link.Endpoint) (int, error) {
	s.mu.Lock()
	defer s.unlock()
	for _, n := range s.nics {
		if n.name == name {
			return 0, fmt.Errorf("add interface %s: name in use", name)
		}
	}
	mac := ep.LinkAddress()
	if len(mac) != 6 {
		return 0, fmt.Errorf("add interface %s: link address %v is not a 6-byte MAC", name, mac)
	}
	n := &NIC{stack: s, id: len(s.nics), name: name, ep: ep, mtu: ep.MTU()}
	n.batch, _ = ep.(link.BatchWriter)
	copy(n.mac[:], mac)
	s.nics = append(s.nics, n)
	ep.Attach(n)
	return n.id, nil
}

// AddAddress assigns an IPv4 address with its prefix length to an interface,
// adds the connected route, and announces the address with a gratuitous ARP.
func (s *Stack) AddAddress(nic int, p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("add address %v: only IPv4 is supported", p)
	}
	s.mu.Lock()
	defer s.unlock()
	n, err := s.nicLocked(nic)
	if err != nil {
		return fmt.Errorf("add address %v: %w", p, err)
	}
	for _, a := range n.addrs {
		if a.Addr() == p.Addr() {
			return fmt.Errorf("add address %v on %s: already assigned", p, n.name)
		}
	}
	n.addrs = append(n.addrs, p)
	s.insertRouteLocked(Route{Dst: p.Masked(), NIC: nic, Src: p.Addr()})
	s.sendGratuitousARPLocked(n, p.Addr())
	return nil
}

func (s *Stack) nicLocked(id int) (*NIC, error) {
	if id < 0 || id >= len(s.nics) {
		return nil, fmt.Errorf("no interface %d", id)
	}
	return s.nics[id], nil
}

// Interfaces returns a snapshot of the interfaces.
func (s *Stack) Interfaces() []InterfaceInfo {
	s.mu.Lock()
	defer s.unlock()
	out := make([]InterfaceInfo, 0, len(s.nics))
	for _, n := range s.nics {
		out = append(out, InterfaceInfo{ID: n.id, Name: n.name, MAC: n.mac.String(), MTU: n.mtu, Addrs: append([]netip.Prefix(nil), n.addrs...)})
	}
	return out
}

// InterfaceInfo describes one interface.
type InterfaceInfo struct {
	ID    int
	Name  string
	MAC   string
	MTU   int
	Addrs []netip.Prefix
}

// isLocalLocked reports whether a is one of the stack's addresses.
func (s *Stack) isLocalLocked(a netip.Addr) bool {
	for _, n := range s.nics {
		for _, p := range n.addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}
