// Package link declares what the stack needs from a link: an endpoint that
// sends and receives whole Ethernet frames. Implementations live in the
// subpackages: pipe (an in-memory pair for tests and benchmarks), afpacket (a
// Linux interface), and the wrappers that capture or impair frames on the way.
package link

import "net"

// Endpoint is one network interface as the stack sees it.
//
// Ownership: WritePacket must not keep frame after it returns (an endpoint
// that queues copies it), and a Dispatcher must not keep the frame it is given
// after DeliverFrame returns. This lets both sides reuse buffers.
type Endpoint interface {
	// MTU is the largest IP packet the link carries (1500 on Ethernet).
	MTU() int
	// LinkAddress is the interface's MAC address.
	LinkAddress() net.HardwareAddr
	// Attach sets who receives inbound frames; nil detaches. Frames arriving
	// while detached are dropped.
	Attach(d Dispatcher)
	// WritePacket sends one Ethernet frame (header included, no FCS).
	WritePacket(frame []byte) error
	// Close stops the endpoint; later writes fail.
	Close() error
}

// Dispatcher receives inbound frames from an Endpoint.
type Dispatcher interface {
	// DeliverFrame hands one whole Ethernet frame to the receiver.
	DeliverFrame(frame []byte)
}

// DispatcherFunc adapts a function to the Dispatcher interface.
type DispatcherFunc func(frame []byte)

// DeliverFrame calls f(frame).
func (f DispatcherFunc) DeliverFrame(frame []byte) { f(frame) }

// BatchWriter is an Endpoint that can send several frames in one call
// (sendmmsg). The stack queues the frames it makes while it holds its lock
// and hands them over together; it uses WritePacket when an endpoint is
// not a BatchWriter. Like WritePacket, WritePackets must not keep the
// frames. It returns how many frames were sent.
type BatchWriter interface {
	WritePackets(frames [][]byte) (int, error)
}

// BatchDispatcher is a Dispatcher that can be told where a batch of
// inbound frames begins and ends. Between BeginBatch and EndBatch the
// receiver may hold the frames it sends in reply (ACKs) and send them
// together at EndBatch. An endpoint that delivers frames in batches calls
// BeginBatch, DeliverFrame for each, then EndBatch, from one goroutine.
type BatchDispatcher interface {
	Dispatcher
	BeginBatch()
	EndBatch()
}
