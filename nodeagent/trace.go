package nodeagent

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/wire"
)

// TraceEvent is one probe event as `netlab trace` prints it: the fields of
// Linux's tcp:tcp_probe tracepoint plus state changes and timer events.
type TraceEvent struct {
	TimeUS     int64          `json:"t_us"`
	Kind       string         `json:"kind"` // in, out, state, timer; "lost": Len events were dropped
	Local      netip.AddrPort `json:"local"`
	Remote     netip.AddrPort `json:"remote"`
	Flags      string         `json:"flags,omitempty"`
	Seq        uint32         `json:"seq,omitempty"`
	Ack        uint32         `json:"ack,omitempty"`
	Len        int            `json:"len,omitempty"`
	Window     uint32         `json:"wnd,omitempty"`
	Retrans    bool           `json:"retrans,omitempty"`
	SACK       int            `json:"sack_blocks,omitempty"`
	SACKRanges [][2]uint32    `json:"sack,omitempty"` // the blocks: [start, end) sequence numbers
	State      string         `json:"state"`
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

// EventFromProbe converts a stack probe event.
func EventFromProbe(e stack.ProbeEvent) TraceEvent {
	te := TraceEvent{
		TimeUS: e.Time.Microseconds(), Kind: e.Kind.String(), Local: e.Local, Remote: e.Remote,
		Seq: e.Seq, Ack: e.Ack, Len: e.DataLen, Window: e.Window, Retrans: e.Retrans, SACK: e.SACKBlocks,
		State: e.State.String(), SndUna: e.SndUna, SndNxt: e.SndNxt, RcvNxt: e.RcvNxt, SndWnd: e.SndWnd,
		RcvWnd: e.RcvWnd, Cwnd: e.Cwnd, Ssthresh: e.Ssthresh, InFlight: e.InFlight,
		SRTTUS: e.SRTT.Microseconds(), RTTVarUS: e.RTTVar.Microseconds(), RTOMS: e.RTO.Milliseconds(), CAState: e.CAState.String(),
	}
	if e.Options != nil {
		te.Options = optionsString(e.Options)
	}
	for _, b := range e.SACK[:min(e.SACKBlocks, len(e.SACK))] {
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

// tracer fans probe events out to subscribers without ever blocking the
// stack: a subscriber that does not keep up loses events (counted).
type tracer struct {
	mu      sync.Mutex
	subs    map[chan TraceEvent]struct{}
	n       atomic.Int32
	dropped atomic.Uint64
}

func newTracer() *tracer { return &tracer{subs: make(map[chan TraceEvent]struct{})} }

// publish is the stack's probe hook; it runs with the stack locked.
func (t *tracer) publish(e stack.ProbeEvent) {
	if t.n.Load() == 0 {
		return
	}
	te := EventFromProbe(e)
	t.mu.Lock()
	for ch := range t.subs {
		select {
		case ch <- te:
		default:
			t.dropped.Add(1)
		}
	}
	t.mu.Unlock()
}

func (t *tracer) subscribe() chan TraceEvent {
	ch := make(chan TraceEvent, 4096)
	t.mu.Lock()
	t.subs[ch] = struct{}{}
	t.n.Store(int32(len(t.subs)))
	t.mu.Unlock()
	return ch
}

func (t *tracer) unsubscribe(ch chan TraceEvent) {
	t.mu.Lock()
	if _, ok := t.subs[ch]; ok {
		delete(t.subs, ch)
		close(ch)
	}
	t.n.Store(int32(len(t.subs)))
	t.mu.Unlock()
}

func (t *tracer) closeAll() {
	t.mu.Lock()
	for ch := range t.subs {
		close(ch)
	}
	t.subs = map[chan TraceEvent]struct{}{}
	t.n.Store(0)
	t.mu.Unlock()
}

// optionsString prints TCP options as tcpdump does (without the NOPs):
// mss 1460,sackOK,TS val 1 ecr 0,wscale 7.
func optionsString(o *wire.TCPOptions) string {
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
