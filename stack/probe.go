package stack

import (
	"net/netip"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// ProbeKind says what a ProbeEvent reports.
type ProbeKind uint8

// Probe event kinds.
const (
	ProbeSegmentOut ProbeKind = iota + 1 // a TCP segment was sent
	ProbeSegmentIn                       // a TCP segment arrived for a connection
	ProbeState                           // the connection changed state
	ProbeTimer                           // a timer fired (see ProbeEvent.Timer)
)

func (k ProbeKind) String() string {
	switch k {
	case ProbeSegmentOut:
		return "out"
	case ProbeSegmentIn:
		return "in"
	case ProbeState:
		return "state"
	case ProbeTimer:
		return "timer"
	}
	return "?"
}

// TimerKind names a TCP timer.
type TimerKind uint8

// Timer kinds, as reported by ProbeTimer events.
const (
	TimerNone       TimerKind = iota
	TimerRTO                  // retransmission timeout fired
	TimerPersist              // zero-window probe sent
	TimerDelayedACK           // delayed ACK sent
	TimerTimeWait             // TIME-WAIT ended, socket freed
	TimerKeepalive            // keepalive probe sent
	TimerFlush                // Nagle/cork flush timer released held data
	TimerFinWait2             // orphaned FIN-WAIT-2 timed out
)

func (t TimerKind) String() string {
	return [...]string{"none", "rto", "persist", "delack", "timewait", "keepalive", "flush", "finwait2"}[t]
}

// ProbeEvent is one observation of a TCP connection, with the fields of
// Linux's tcp:tcp_probe tracepoint. Sizes are in bytes; Cwnd and Ssthresh
// are in bytes too (divide by MSS for Linux's segments).
type ProbeEvent struct {
	Time   time.Duration // since the stack was created, on its clock
	Kind   ProbeKind
	Local  netip.AddrPort
	Remote netip.AddrPort

	// Segment fields (ProbeSegmentOut / ProbeSegmentIn).
	Flags      wire.TCPFlags
	Seq, Ack   uint32
	DataLen    int
	Window     uint32            // the window field, scaled to bytes
	Retrans    bool              // a retransmission (out)
	SACKBlocks int               // number of SACK blocks carried
	SACK       [4]wire.SACKBlock // the blocks, SACK[:SACKBlocks]
	// Options are the segment\'s TCP options, set on SYN segments (the
	// handshake\'s negotiation).
	Options *wire.TCPOptions

	// Connection state after the event.
	State    State
	OldState State // ProbeState
	Timer    TimerKind
	SndUna   uint32
	SndNxt   uint32
	RcvNxt   uint32
	SndWnd   uint32
	RcvWnd   uint32
	Cwnd     uint32
	Ssthresh uint32
	InFlight uint32
	SRTT     time.Duration
	RTTVar   time.Duration
	RTO      time.Duration
	CAState  CAState
}
