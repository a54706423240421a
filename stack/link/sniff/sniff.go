// Package sniff records the frames that cross link endpoints into one
// pcapng file, one interface block per endpoint, as Wireshark and tshark
// read them. A tap wraps an endpoint (smoltcp's PcapWriter idea): what the
// stack sends is recorded before it leaves, what arrives before the stack
// sees it. Timestamps come from the clock given, so a capture made on a
// virtual clock is reproducible.
package sniff

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
)

// Writer is one pcapng capture shared by any number of taps. It is safe for
// concurrent use.
type Writer struct {
	mu      sync.Mutex
	out     io.Writer
	ng      *pcapgo.NgWriter
	clock   clock.Clock
	snaplen int
	count   uint64
	err     error
}

// NewWriter starts a capture into out, stamping frames with clk's time.
// snaplen bounds the bytes kept per frame (0: whole frames).
func NewWriter(out io.Writer, clk clock.Clock, snaplen int) *Writer {
	return &Writer{out: out, clock: clk, snaplen: snaplen}
}

// Tap wraps ep so that its frames are recorded under an interface called
// name, and returns the wrapping endpoint to give to the stack.
func (w *Writer) Tap(name string, ep link.Endpoint) (*Endpoint, error) {
	id, err := w.AddInterface(name)
	if err != nil {
		return nil, err
	}
	return &Endpoint{inner: ep, w: w, id: id}, nil
}

// AddInterface adds an interface block called name and returns its id for
// Record: for callers that tap frames themselves.
func (w *Writer) AddInterface(name string) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	intf := pcapgo.NgInterface{
		Name:                name,
		LinkType:            layers.LinkTypeEthernet,
		SnapLength:          uint32(w.snaplen),
		TimestampResolution: 9,
		OS:                  "netlab",
	}
	var id int
	var err error
	if w.ng == nil {
		w.ng, err = pcapgo.NewNgWriterInterface(w.out, intf, pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Application: "netlab"},
		})
	} else {
		id, err = w.ng.AddInterface(intf)
	}
	if err != nil {
		return 0, fmt.Errorf("add capture interface %s: %w", name, err)
	}
	return id, nil
}

// Record writes one frame under interface id; a write error is kept for
// Flush to return.
func (w *Writer) Record(id int, frame []byte) { w.record(id, frame) }

// record writes one frame; errors are kept for Flush to return.
func (w *Writer) record(id int, frame []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	data := frame
	if w.snaplen > 0 && len(data) > w.snaplen {
		data = data[:w.snaplen]
	}
	ci := gopacket.CaptureInfo{Timestamp: w.clock.Now(), CaptureLength: len(data), Length: len(frame), InterfaceIndex: id}
	if err := w.ng.WritePacket(ci, data); err != nil {
		w.err = fmt.Errorf("write capture: %w", err)
		return
	}
	w.count++
}

// Count returns how many frames were recorded.
func (w *Writer) Count() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// Flush writes buffered frames out, and reports the first write error.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.ng == nil {
		return nil
	}
	return w.ng.Flush()
}

// Endpoint is a link.Endpoint that records the frames of the one it wraps.
// It keeps the batching of the endpoints around it: WritePackets reaches
// the wrapped endpoint's WritePackets, and inbound batch bounds reach a
// link.BatchDispatcher.
type Endpoint struct {
	inner link.Endpoint
	w     *Writer
	id    int
}

var (
	_ link.Endpoint        = (*Endpoint)(nil)
	_ link.BatchWriter     = (*Endpoint)(nil)
	_ link.BatchDispatcher = (*dispatcher)(nil)
)

// MTU implements link.Endpoint.MTU.
func (e *Endpoint) MTU() int { return e.inner.MTU() }

// LinkAddress implements link.Endpoint.LinkAddress.
func (e *Endpoint) LinkAddress() net.HardwareAddr { return e.inner.LinkAddress() }

// Attach implements link.Endpoint.Attach: inbound frames are recorded, then
// handed to d.
func (e *Endpoint) Attach(d link.Dispatcher) {
	if d == nil {
		e.inner.Attach(nil)
		return
	}
	bd, _ := d.(link.BatchDispatcher)
	e.inner.Attach(&dispatcher{e: e, d: d, bd: bd})
}

// dispatcher records the frames the wrapped endpoint delivers.
type dispatcher struct {
	e  *Endpoint
	d  link.Dispatcher
	bd link.BatchDispatcher // d, if it is one
}

// DeliverFrame implements link.Dispatcher.
func (d *dispatcher) DeliverFrame(frame []byte) {
	d.e.w.record(d.e.id, frame)
	d.d.DeliverFrame(frame)
}

// BeginBatch implements link.BatchDispatcher: it passes the bound on.
func (d *dispatcher) BeginBatch() {
	if d.bd != nil {
		d.bd.BeginBatch()
	}
}

// EndBatch implements link.BatchDispatcher: it passes the bound on.
func (d *dispatcher) EndBatch() {
	if d.bd != nil {
		d.bd.EndBatch()
	}
}

// WritePacket implements link.Endpoint.WritePacket: the frame is recorded,
// then sent.
func (e *Endpoint) WritePacket(frame []byte) error {
	e.w.record(e.id, frame)
	return e.inner.WritePacket(frame)
}

// WritePackets implements link.BatchWriter: the frames are recorded, then
// sent, in one call if the wrapped endpoint is a link.BatchWriter.
func (e *Endpoint) WritePackets(frames [][]byte) (int, error) {
	for _, f := range frames {
		e.w.record(e.id, f)
	}
	if bw, ok := e.inner.(link.BatchWriter); ok {
		return bw.WritePackets(frames)
	}
	for i, f := range frames {
		if err := e.inner.WritePacket(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// Close implements link.Endpoint.Close; it closes the wrapped endpoint, not
// the capture.
func (e *Endpoint) Close() error { return e.inner.Close() }

// RecordComment writes one frame under interface id with a pcapng comment
// (opt_comment), e.g. why the frame never made it: Wireshark shows it in the
// packet details and `tshark -Y frame.comment` finds it. pcapgo writes no
// packet options, so this block is encoded here, after flushing what pcapgo
// buffered, in pcapgo's byte order (little endian) and timestamp units (ns).
func (w *Writer) RecordComment(id int, frame []byte, comment string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || w.ng == nil {
		return
	}
	if err := w.ng.Flush(); err != nil {
		w.err = fmt.Errorf("write capture: %w", err)
		return
	}
	data := frame
	if w.snaplen > 0 && len(data) > w.snaplen {
		data = data[:w.snaplen]
	}
	pad := func(n int) int { return (4 - n%4) % 4 }
	c := []byte(comment)
	if len(c) > 0xfff0 {
		c = c[:0xfff0]
	}
	optLen := 4 + len(c) + pad(len(c)) + 4 // opt_comment, opt_endofopt
	total := 28 + len(data) + pad(len(data)) + optLen + 4
	b := make([]byte, 0, total)
	le := binary.LittleEndian
	ts := uint64(w.clock.Now().UnixNano())
	b = le.AppendUint32(b, 6) // Enhanced Packet Block
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, uint32(id))
	b = le.AppendUint32(b, uint32(ts>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, uint32(len(frame)))
	b = append(b, data...)
	b = append(b, make([]byte, pad(len(data)))...)
	b = le.AppendUint16(b, 1) // opt_comment
	b = le.AppendUint16(b, uint16(len(c)))
	b = append(b, c...)
	b = append(b, make([]byte, pad(len(c)))...)
	b = le.AppendUint32(b, 0) // opt_endofopt
	b = le.AppendUint32(b, uint32(total))
	if _, err := w.out.Write(b); err != nil {
		w.err = fmt.Errorf("write capture: %w", err)
		return
	}
	w.count++
}
