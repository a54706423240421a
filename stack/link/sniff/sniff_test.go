package sniff

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
)

func TestTapRecordsBothDirectionsPerInterface(t *testing.T) {
	clk := clock.NewManual(clock.Epoch)
	a, b := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	var buf bytes.Buffer
	w := NewWriter(&buf, clk, 0)
	ta, err := w.Tap("a-eth1", a)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := w.Tap("b-eth1", b)
	if err != nil {
		t.Fatal(err)
	}
	var delivered int
	ta.Attach(link.DispatcherFunc(func([]byte) { delivered++ }))
	tb.Attach(link.DispatcherFunc(func([]byte) { delivered++ }))

	frames := [][]byte{bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 1514)}
	for _, f := range frames {
		ta.WritePacket(f) // a sends: recorded on a-eth1
		clk.Advance(time.Millisecond)
		for _, q := range a.Take() {
			b.Inject(q) // arrives at b: recorded on b-eth1
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if delivered != 2 || w.Count() != 4 {
		t.Fatalf("delivered %d, recorded %d; want 2, 4", delivered, w.Count())
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	var names []string
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ci.InterfaceIndex)
		if !bytes.Equal(data, frames[len(got)/2-1+len(got)%2]) {
			t.Fatalf("frame %d content differs", len(got))
		}
	}
	for i := 0; i < r.NInterfaces(); i++ {
		intf, _ := r.Interface(i)
		names = append(names, intf.Name)
	}
	if len(got) != 4 || got[0] != 0 || got[1] != 1 || got[2] != 0 || got[3] != 1 {
		t.Fatalf("interface of each frame = %v, want [0 1 0 1]", got)
	}
	if len(names) != 2 || names[0] != "a-eth1" || names[1] != "b-eth1" {
		t.Fatalf("interfaces = %v, want [a-eth1 b-eth1]", names)
	}
}

func TestSnaplenTruncates(t *testing.T) {
	a, _ := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	var buf bytes.Buffer
	w := NewWriter(&buf, clock.NewManual(clock.Epoch), 64)
	ta, _ := w.Tap("eth1", a)
	ta.WritePacket(make([]byte, 1000))
	w.Flush()
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 64 || ci.Length != 1000 {
		t.Fatalf("captured %d of %d, want 64 of 1000", len(data), ci.Length)
	}
}

func TestRecordCommentReadBack(t *testing.T) {
	a, _ := pipe.Pair(pipe.Manual, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	var buf bytes.Buffer
	w := NewWriter(&buf, clock.NewManual(clock.Epoch), 0)
	ta, _ := w.Tap("eth1", a)
	ta.WritePacket(bytes.Repeat([]byte{7}, 61))
	w.RecordComment(0, bytes.Repeat([]byte{9}, 63), "dropped by the impairment layer: loss")
	ta.WritePacket(bytes.Repeat([]byte{8}, 60))
	w.Flush()
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var lens []int
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		lens = append(lens, len(data))
		if len(data) == 63 && data[0] != 9 {
			t.Fatal("the commented frame's bytes differ")
		}
	}
	if len(lens) != 3 || lens[0] != 61 || lens[1] != 63 || lens[2] != 60 {
		t.Fatalf("frames read back: %v, want [61 63 60]", lens)
	}
}

// batchInner is a link.BatchWriter counting its write calls, whose
// attached dispatcher the test drives.
type batchInner struct {
	calls, frames int
	disp          link.Dispatcher
}

func (b *batchInner) MTU() int                      { return 1500 }
func (b *batchInner) LinkAddress() net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, 1} }
func (b *batchInner) Attach(d link.Dispatcher)      { b.disp = d }
func (b *batchInner) WritePacket([]byte) error      { b.calls++; b.frames++; return nil }
func (b *batchInner) Close() error                  { return nil }
func (b *batchInner) WritePackets(f [][]byte) (int, error) {
	b.calls++
	b.frames += len(f)
	return len(f), nil
}

// bounds is a link.BatchDispatcher noting what it is told.
type bounds struct{ log []string }

func (b *bounds) BeginBatch()         { b.log = append(b.log, "begin") }
func (b *bounds) EndBatch()           { b.log = append(b.log, "end") }
func (b *bounds) DeliverFrame([]byte) { b.log = append(b.log, "frame") }

// TestTapKeepsBatches checks that a tap passes WritePackets and the
// inbound batch bounds through, recording every frame.
func TestTapKeepsBatches(t *testing.T) {
	in := &batchInner{}
	var buf bytes.Buffer
	w := NewWriter(&buf, clock.NewManual(clock.Epoch), 0)
	ta, _ := w.Tap("eth1", in)
	up := &bounds{}
	ta.Attach(up)
	if n, err := ta.WritePackets([][]byte{make([]byte, 60), make([]byte, 60), make([]byte, 60)}); n != 3 || err != nil {
		t.Fatalf("WritePackets = %d, %v; want 3, nil", n, err)
	}
	if in.calls != 1 || in.frames != 3 {
		t.Errorf("the wrapped endpoint got %d frames in %d calls, want 3 in 1", in.frames, in.calls)
	}
	bd, ok := in.disp.(link.BatchDispatcher)
	if !ok {
		t.Fatalf("the tap attached a %T, not a link.BatchDispatcher", in.disp)
	}
	bd.BeginBatch()
	bd.DeliverFrame(make([]byte, 60))
	bd.DeliverFrame(make([]byte, 60))
	bd.EndBatch()
	if got := strings.Join(up.log, " "); got != "begin frame frame end" {
		t.Errorf("the dispatcher above saw %q, want %q", got, "begin frame frame end")
	}
	if w.Count() != 5 {
		t.Errorf("recorded %d frames, want 5", w.Count())
	}
}
