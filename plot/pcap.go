package plot

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/google/gopacket/pcapgo"

	"github.com/netlab/netlab/stack/seqnum"
	"github.com/netlab/netlab/stack/wire"
	"github.com/netlab/netlab/trace"
)

// FromPcap turns the TCP segments of a pcapng capture into events, as
// tcptrace reads a capture: each connection is seen from the end that sent
// its SYN (or, without one, from the sender of its first segment), with
// "out" events for that end's segments and "in" events for its peer's. A
// SYN on a 4-tuple already seen (other than the retransmission of its SYN)
// starts a new connection, which trace.Conns tells apart.
// Windows are scaled by the window scale each SYN announced; a data
// segment that starts below the highest sequence number its sender already
// sent counts as a retransmission. A capture holds no stack state, so cwnd,
// ssthresh, srtt and the TCP state are absent: the time-sequence graph, the
// RTT samples and goodput can be drawn, the congestion window cannot.
// Only frames of the interface named iface are read ("" reads the first
// interface's; several interfaces would show each segment twice).
func FromPcap(r io.Reader, iface string) ([]trace.Event, error) {
	rd, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	type half struct {
		ws      int  // window scale this end announced; -1: none
		synSeen bool // the SYN of this end was seen
		high    seqnum.Value
		started bool
	}
	type conn struct {
		client  netip.AddrPort // the SYN's sender: the "local" end
		synSeq  uint32         // the sequence number of the client's SYN
		synned  bool           // the client's SYN was seen
		opened  bool           // a segment without SYN was seen
		ends    map[netip.AddrPort]*half
		scaling bool         // both SYNs announced a window scale
		una     seqnum.Value // the client's snd_una: the peer's highest ACK
		rcv     seqnum.Value // the client's rcv_nxt: its own highest ACK
		acked   bool
	}
	conns := map[[2]netip.AddrPort]*conn{}
	key := func(a, b netip.AddrPort) [2]netip.AddrPort {
		if a.Compare(b) < 0 {
			return [2]netip.AddrPort{a, b}
		}
		return [2]netip.AddrPort{b, a}
	}
	want := -1
	var events []trace.Event
	var t0 int64
	for {
		data, ci, err := rd.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return events, fmt.Errorf("read capture: %w", err)
		}
		if want < 0 {
			want = 0
			if iface != "" {
				want = -2
				for i := 0; i < rd.NInterfaces(); i++ {
					if intf, err := rd.Interface(i); err == nil && intf.Name == iface {
						want = i
					}
				}
				if want == -2 {
					return nil, fmt.Errorf("the capture has no interface %q", iface)
				}
			}
		}
		if ci.InterfaceIndex != want {
			continue
		}
		_, p, err := wire.ParseEthernet(data)
		if err != nil {
			continue
		}
		ip, p, err := wire.ParseIPv4(p)
		if err != nil || ip.Protocol != wire.ProtoTCP {
			continue
		}
		h, payload, err := wire.ParseTCP(p, ip.Src, ip.Dst)
		if err != nil {
			continue
		}
		src := netip.AddrPortFrom(ip.Src, h.SrcPort)
		dst := netip.AddrPortFrom(ip.Dst, h.DstPort)
		k := key(src, dst)
		c := conns[k]
		syn := h.Flags.Has(wire.TCPFlagSYN)
		pureSYN := syn && !h.Flags.Has(wire.TCPFlagACK)
		// A SYN on a 4-tuple already in use, other than a retransmission of
		// its SYN, opens a new connection: what the old one saw is forgotten.
		if c == nil || pureSYN && (c.opened || c.synned && c.synSeq != h.Seq) {
			c = &conn{client: src, ends: map[netip.AddrPort]*half{src: {ws: -1}, dst: {ws: -1}}}
			conns[k] = c
		}
		if pureSYN {
			c.client, c.synSeq, c.synned = src, h.Seq, true
		}
		c.opened = c.opened || !syn
		me := c.ends[src]
		if syn {
			me.synSeen = true
			if h.Options.HasWindowScale {
				me.ws = int(h.Options.WindowScale)
			}
			c.scaling = c.ends[src].ws >= 0 && c.ends[dst].ws >= 0
		}
		if t0 == 0 {
			t0 = ci.Timestamp.UnixMicro()
		}
		wnd := uint32(h.Window)
		if !syn && c.scaling && me.ws > 0 {
			wnd <<= uint(me.ws)
		}
		end := seqnum.Value(h.Seq).Add(seqnum.Size(len(payload)))
		retrans := false
		if len(payload) > 0 {
			if me.started && !end.GreaterThan(me.high) {
				retrans = true
			}
			if !me.started || end.GreaterThan(me.high) {
				me.high, me.started = end, true
			}
		}
		e := trace.Event{
			TimeUS: ci.Timestamp.UnixMicro() - t0, Flags: h.Flags.String(), Seq: h.Seq, Ack: h.Ack,
			Len: len(payload), Window: wnd, SACK: h.Options.NumSACKBlocks,
		}
		if syn {
			e.Options = trace.FormatOptions(&h.Options)
		}
		for _, b := range h.Options.SACKBlocks[:h.Options.NumSACKBlocks] {
			e.SACKRanges = append(e.SACKRanges, [2]uint32{b.Start, b.End})
		}
		ack := h.Flags.Has(wire.TCPFlagACK)
		if src == c.client {
			e.Kind, e.Local, e.Remote, e.Retrans = trace.KindOut, src, dst, retrans
			if ack && (c.rcv == 0 || seqnum.Value(h.Ack).GreaterThan(c.rcv)) {
				c.rcv = seqnum.Value(h.Ack)
			}
		} else {
			e.Kind, e.Local, e.Remote = trace.KindIn, dst, src
			if ack && (!c.acked || seqnum.Value(h.Ack).GreaterThan(c.una)) {
				c.una, c.acked = seqnum.Value(h.Ack), true
			}
		}
		// The client's side as a probe would report it, from what the
		// capture shows: a capture carries no cwnd, srtt or state.
		cl := c.ends[c.client]
		e.State = "ESTABLISHED"
		if syn {
			e.State = "SYN-SENT"
		}
		e.SndUna, e.RcvNxt = uint32(c.una), uint32(c.rcv)
		if c.acked && cl.started && cl.high.GreaterThan(c.una) {
			e.InFlight = uint32(cl.high - c.una)
		}
		e.SndNxt = uint32(cl.high)
		events = append(events, e)
	}
	if len(events) == 0 {
		return nil, trace.ErrNoEvents
	}
	return events, nil
}
