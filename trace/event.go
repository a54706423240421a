// Package trace owns the TCP trace: the probe event as the node agent
// records it and `netlab trace` prints it (one JSON object a line), reading
// those files back, and telling apart the connections a trace holds.
//
// A connection of a trace is an instance, not a 4-tuple: seeded labs reuse
// the same 4-tuple (and nearly the same ISN) on every run, and a 4-tuple is
// reused after TIME-WAIT, so Conns splits the events of one 4-tuple into
// instances at every new opening (see Conns) and never merges two of them.
//
// The package is shared by the agent that writes traces and by the readers
// (plots, reports, the CLI); it depends on the stack's probe types only.
package trace

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/wire"
)

// Event is one probe event of a trace: the fields of Linux's tcp:tcp_probe
// tracepoint plus state changes and timer events. Its JSON form is the
// trace file's line format.
type Event struct {
	TimeUS     int64          `json:"t_us"` // on the tracing stack's clock, from its start
	Kind       string         `json:"kind"` // KindIn, KindOut, KindState, KindTimer or KindLost
	Local      netip.AddrPort `json:"local"`
	Remote     netip.AddrPort `json:"remote"`
	Flags      string         `json:"flags,omitempty"` // tcpdump style: "S", "S.", "P.", "F.", "R"
	Seq        uint32         `json:"seq,omitempty"`
	Ack        uint32         `json:"ack,omitempty"`
	Len        int            `json:"len,omitempty"` // payload bytes; for KindLost, the events lost
	Window     uint32         `json:"wnd,omitempty"`
	Retrans    bool           `json:"retrans,omitempty"`
	SACK       int            `json:"sack_blocks,omitempty"`
	SACKRanges [][2]uint32    `json:"sack,omitempty"` // the blocks: [start, end) sequence numbers
	State      string         `json:"state"`          // after the event, RFC 9293 names ("SYN-SENT")
	OldState   string         `json:"old_state,omitempty"`
	Timer      string         `json:"timer,omitempty"`
	SndUna     uint32         `json:"snd_una"`
	SndNxt     uint32         `json:"snd_nxt"`
	RcvNxt     uint32         `json:"rcv_nxt"`
	SndWnd     uint32         `json:"snd_wnd"`
	RcvWnd     uint32         `json:"rcv_wnd"`
	Cwnd       uint32         `json:"snd_cwnd"`
	Ssthresh   uint32         `json:"ssthresh"`
	InFlight   uint32         `json:"inflight"`
	SRTTUS     int64          `json:"srtt_us"`
	RTTVarUS   int64          `json:"rttvar_us,omitempty"`
	Options    string         `json:"opts,omitempty"` // SYN segments: the options, as tcpdump prints them
	RTOMS      int64          `json:"rto_ms"`
	CAState    string         `json:"ca_state"`
}

// Event kinds, as in Event.Kind.
const (
	KindIn    = "in"    // a segment arrived
	KindOut   = "out"   // a segment was sent
	KindState = "state" // the connection changed state (Event.OldState to Event.State)
	KindTimer = "timer" // a timer fired (Event.Timer names it)
	KindLost  = "lost"  // Event.Len events were dropped by a slow reader; no connection
)

// FromProbe converts a stack probe event.
func FromProbe(e stack.ProbeEvent) Event {
	te := Event{
		TimeUS: e.Time.Microseconds(), Kind: e.Kind.String(), Local: e.Local, Remote: e.Remote,
		Seq: e.Seq, Ack: e.Ack, Len: e.DataLen, Window: e.Window, Retrans: e.Retrans, SACK: e.SACKBlocks,
		State: e.State.String(), SndUna: e.SndUna, SndNxt: e.SndNxt, RcvNxt: e.RcvNxt, SndWnd: e.SndWnd,
		RcvWnd: e.RcvWnd, Cwnd: e.Cwnd, Ssthresh: e.Ssthresh, InFlight: e.InFlight,
		SRTTUS: e.SRTT.Microseconds(), RTTVarUS: e.RTTVar.Microseconds(), RTOMS: e.RTO.Milliseconds(), CAState: e.CAState.String(),
	}
	if e.Options != nil {
		te.Options = FormatOptions(e.Options)
	}
	for _, b := range e.SACK[:min(max(e.SACKBlocks, 0), len(e.SACK))] {
		te.SACKRanges = append(te.SACKRanges, [2]uint32{b.Start, b.End})
	}
	switch e.Kind {
	case stack.ProbeSegmentIn, stack.ProbeSegmentOut:
		te.Flags = e.Flags.String()
	case stack.ProbeState:
		te.OldState = e.OldState.String()
	case stack.ProbeTimer:
		te.Timer = e.Timer.String()
	}
	return te
}

// FormatOptions prints TCP options as tcpdump does (without the NOPs):
// "mss 1460,sackOK,TS val 1 ecr 0,wscale 7".
func FormatOptions(o *wire.TCPOptions) string {
	var parts []string
	if o.HasMSS {
		parts = append(parts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.SACKPermitted {
		parts = append(parts, "sackOK")
	}
	if o.HasTimestamps {
		parts = append(parts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	if o.HasWindowScale {
		parts = append(parts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	return strings.Join(parts, ",")
}

// segment reports whether e is a segment event (KindIn or KindOut).
func (e *Event) segment() bool { return e.Kind == KindIn || e.Kind == KindOut }

// HasFlag reports whether the segment of e carries the tcpdump flag letter
// f ('S', 'F', 'R', 'P', '.').
func (e *Event) HasFlag(f byte) bool { return strings.IndexByte(e.Flags, f) >= 0 }
