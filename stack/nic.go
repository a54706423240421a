package stack

import (
	"net/netip"

	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/wire"
)

// NIC is one interface of a stack. It receives frames from its link endpoint.
type NIC struct {
	stack *Stack
	id    int
	name  string
	ep    link.Endpoint
	mac   wire.MAC
	mtu   int
	addrs []netip.Prefix

	// Frames made under the stack lock wait here and leave together when
	// the lock is released (flush), when the endpoint is a BatchWriter.
	batch   link.BatchWriter
	pending [][]byte // pending[:npend] are queued frames
	npend   int
	inBatch bool // between BeginBatch and EndBatch: flush at EndBatch
}

var _ link.BatchDispatcher = (*NIC)(nil)

// BeginBatch implements link.BatchDispatcher: frames sent in answer to the
// coming inbound frames wait for EndBatch.
func (n *NIC) BeginBatch() {
	s := n.stack
	s.mu.Lock()
	n.inBatch = true
	s.mu.Unlock()
}

// EndBatch implements link.BatchDispatcher: what the batch made is sent.
func (n *NIC) EndBatch() {
	s := n.stack
	s.mu.Lock()
	n.inBatch = false
	s.sendLaterACKs()
	s.unlock()
}

// maxBatch bounds the frames queued per interface before they are sent.
const maxBatch = 64

var _ link.Dispatcher = (*NIC)(nil)

// DeliverFrame implements link.Dispatcher: it processes one inbound frame.
func (n *NIC) DeliverFrame(frame []byte) {
	s := n.stack
	s.mu.Lock()
	s.freezeClock()
	s.inBatch = n.inBatch
	defer func() {
		s.thawClock()
		s.inBatch = false
		if n.inBatch {
			s.mu.Unlock() // EndBatch sends what this frame made
		} else {
			s.unlock()
		}
	}()
	if s.closed {
		return
	}
	eth, payload, err := wire.ParseEthernet(frame)
	if err != nil {
		s.stats.EthInErrors++
		return
	}
	if eth.Dst != n.mac && !eth.Dst.IsBroadcast() {
		return // not for us (a bridge may flood)
	}
	switch eth.Type {
	case wire.EtherTypeARP:
		s.handleARPLocked(n, payload)
	case wire.EtherTypeIPv4:
		s.handleIPv4Locked(n, payload)
	default:
		s.stats.EthInUnknownProtos++
	}
}

// hasAddr reports whether a is assigned to this interface.
func (n *NIC) hasAddr(a netip.Addr) bool {
	for _, p := range n.addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// writeFrameLocked wraps an IP packet (already in s.txbuf at offset
// wire.EthernetHeaderLen) into an Ethernet frame to dst and sends it.
func (n *NIC) writeFrame(frame []byte, dst wire.MAC, typ wire.EtherType) {
	wire.EncodeEthernet(frame, &wire.EthernetFields{Dst: dst, Src: n.mac, Type: typ})
	if n.batch == nil {
		if err := n.ep.WritePacket(frame); err != nil {
			n.stack.stats.EthOutErrors++
		}
		n.stack.refreezeClock()
		return
	}
	if n.npend == len(n.pending) {
		n.pending = append(n.pending, make([]byte, 0, n.mtu+wire.EthernetHeaderLen))
	}
	n.pending[n.npend] = append(n.pending[n.npend][:0], frame...)
	n.npend++
	if n.npend == maxBatch {
		n.flush()
	}
}

// flush sends the queued frames.
func (n *NIC) flush() {
	if n.npend == 0 {
		return
	}
	sent, err := n.batch.WritePackets(n.pending[:n.npend])
	if err != nil {
		n.stack.stats.EthOutErrors += uint64(n.npend - sent)
	}
	n.npend = 0
	n.stack.refreezeClock()
}
