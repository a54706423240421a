// Package trace owns the TCP trace: the probe event as the node agent
// records it and `netlab trace` prints it (one JSON object a line), reading
// those files back, and telling apart the connections a trace holds.
//
// Besides the stack's own events (segments in and out, state changes,
// timers), a node's trace holds drop events (KindDrop): a segment the
// impairment layer of one of the node's interfaces dropped, sent or on its
// way in, and why. They are observations of the link, not of the
// connection: they never open a connection, never count as bytes sent or
// received, and carry no connection state (see Conns).
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
	Kind       string         `json:"kind"` // KindIn, KindOut, KindState, KindTimer, KindLost or KindDrop
	Local      netip.AddrPort `json:"local"`
	Remote     netip.AddrPort `json:"remote"`
	Flags      string         `json:"flags,omitempty"` // tcpdump style: "S", "S.", "P.", "F.", "R"
	Seq        uint32         `json:"seq,omitempty"`
	Ack        uint32         `json:"ack,omitempty"`
	Len        int            `json:"len,omitempty"` // payload bytes; for KindLost, the events lost
	Window     uint32         `json:"wnd,omitempty"` // scaled to bytes; for KindDrop, the field as sent (unscaled)
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

	// KindDrop (the state fields above are then empty), and Reason of
	// KindLost:
	Reason string `json:"reason,omitempty"` // why: "loss", "queue", "codel", "schedule" or "outage"; for KindLost, LostBudget or none
	Ifname string `json:"ifname,omitempty"` // the interface whose impairment dropped the segment
	Dir    string `json:"dir,omitempty"`    // DirEgress or DirIngress
}

// Event kinds, as in Event.Kind.
const (
	KindIn    = "in"    // a segment arrived
	KindOut   = "out"   // a segment was sent
	KindState = "state" // the connection changed state (Event.OldState to Event.State)
	KindTimer = "timer" // a timer fired (Event.Timer names it)
	KindLost  = "lost"  // Event.Len events were dropped by a slow reader, or left out by the recorder's budget (Reason LostBudget); no connection
	// KindDrop: the impairment layer of interface Event.Ifname dropped the
	// segment (Flags, Seq, Ack, Len, Window, SACK, Options) on its way out
	// (Event.Dir DirEgress) or in (DirIngress), for Event.Reason. Local
	// and Remote are the traced node's end and the peer's, as in the
	// other events. It is not a segment event: the stack sent the segment
	// (and traced it as KindOut) or never received it.
	KindDrop = "drop"
)

// LostBudget is the Reason of a KindLost marker for the ordinary segment
// events (data and ACKs of an established connection, outside loss
// recovery) an agent's recorder left out past its budget of events per
// second; a slow reader's losses have no Reason.
const LostBudget = "budget"

// Directions of a drop event, as in Event.Dir.
const (
	DirEgress  = "egress"  // the node sent the segment: its source is Local
	DirIngress = "ingress" // the segment was on its way to the node: its destination is Local
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

// FromDroppedFrame returns the KindDrop event of an Ethernet frame that
// the impairment layer of interface ifname dropped in direction dir
// (DirEgress or DirIngress) for reason, at timeUS on the tracing node's
// clock. ok is false for a frame that is not a TCP segment over IPv4 (the
// stack's only network layer), nor a first fragment, nor long enough to
// hold its headers: those are not traced. Checksums are not verified (a
// corrupted frame may be dropped by CoDel afterwards), and the window is
// the field as sent: its scale is the connection's, unknown here.
func FromDroppedFrame(frame []byte, timeUS int64, ifname, dir, reason string) (e Event, ok bool) {
	if len(frame) < wire.EthernetHeaderLen || wire.Ethernet(frame).Type() != wire.EtherTypeIPv4 {
		return Event{}, false
	}
	ip := wire.IPv4(frame[wire.EthernetHeaderLen:])
	if len(ip) < wire.IPv4MinHeaderLen || ip.Version() != wire.IPv4Version || ip.Protocol() != wire.ProtoTCP ||
		ip.FragmentOffset() != 0 || ip.Flags()&wire.IPv4FlagMF != 0 {
		return Event{}, false
	}
	hl, tl := ip.HeaderLen(), int(ip.TotalLength())
	if hl < wire.IPv4MinHeaderLen || tl < hl || tl > len(ip) {
		return Event{}, false
	}
	tcp := wire.TCP(ip[hl:tl])
	if len(tcp) < wire.TCPMinHeaderLen {
		return Event{}, false
	}
	off := tcp.DataOffset()
	if off < wire.TCPMinHeaderLen || off > len(tcp) {
		return Event{}, false
	}
	src := netip.AddrPortFrom(ip.Src(), tcp.SrcPort())
	dst := netip.AddrPortFrom(ip.Dst(), tcp.DstPort())
	e = Event{
		TimeUS: timeUS, Kind: KindDrop, Local: src, Remote: dst,
		Flags: tcp.Flags().String(), Seq: tcp.Seq(), Ack: tcp.Ack(), Len: len(tcp) - off, Window: uint32(tcp.Window()),
		Reason: reason, Ifname: ifname, Dir: dir,
	}
	if dir == DirIngress {
		e.Local, e.Remote = dst, src
	}
	o := wire.ParseTCPOptions(tcp[wire.TCPOptionsOffset:off])
	if tcp.Flags().Has(wire.TCPFlagSYN) {
		e.Options = FormatOptions(&o)
	}
	e.SACK = o.NumSACKBlocks
	for _, b := range o.SACKBlocks[:min(max(o.NumSACKBlocks, 0), len(o.SACKBlocks))] {
		e.SACKRanges = append(e.SACKRanges, [2]uint32{b.Start, b.End})
	}
	return e, true
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

// segment reports whether e is a segment event (KindIn or KindOut); a
// drop event is not.
func (e *Event) segment() bool { return e.Kind == KindIn || e.Kind == KindOut }

// HasFlag reports whether the segment of e carries the tcpdump flag letter
// f ('S', 'F', 'R', 'P', '.').
func (e *Event) HasFlag(f byte) bool { return strings.IndexByte(e.Flags, f) >= 0 }
