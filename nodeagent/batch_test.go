package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/topology"
)

// batchEnd is one end of an in-memory link that behaves like AF_PACKET
// with sendmmsg and recvmmsg: it is a link.BatchWriter that records how
// many frames each write carried, and the peer receives the frames of one
// write as one batch, between BeginBatch and EndBatch when its dispatcher
// is a link.BatchDispatcher.
type batchEnd struct {
	mac  net.HardwareAddr
	peer *batchEnd
	disp atomic.Pointer[link.Dispatcher]
	in   chan [][]byte
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu     sync.Mutex
	writes []int // frames per WritePacket or WritePackets call
	// unbatched counts frames delivered to a dispatcher that is not a
	// link.BatchDispatcher.
	unbatched atomic.Int64
}

var (
	_ link.Endpoint    = (*batchEnd)(nil)
	_ link.BatchWriter = (*batchEnd)(nil)
)

func batchPair(macA, macB net.HardwareAddr) (*batchEnd, *batchEnd) {
	a := &batchEnd{mac: macA, in: make(chan [][]byte, 1024), done: make(chan struct{})}
	b := &batchEnd{mac: macB, in: make(chan [][]byte, 1024), done: make(chan struct{})}
	a.peer, b.peer = b, a
	a.wg.Add(1)
	go a.deliver()
	b.wg.Add(1)
	go b.deliver()
	return a, b
}

func (e *batchEnd) deliver() {
	defer e.wg.Done()
	for {
		select {
		case <-e.done:
			return
		case frames := <-e.in:
			dp := e.disp.Load()
			if dp == nil {
				continue
			}
			d := *dp
			bd, ok := d.(link.BatchDispatcher)
			if ok {
				bd.BeginBatch()
			} else {
				e.unbatched.Add(int64(len(frames)))
			}
			for _, f := range frames {
				d.DeliverFrame(f)
			}
			if ok {
				bd.EndBatch()
			}
		}
	}
}

func (e *batchEnd) MTU() int                      { return 1500 }
func (e *batchEnd) LinkAddress() net.HardwareAddr { return e.mac }

func (e *batchEnd) Attach(d link.Dispatcher) {
	if d == nil {
		e.disp.Store(nil)
		return
	}
	e.disp.Store(&d)
}

func (e *batchEnd) WritePacket(frame []byte) error {
	_, err := e.WritePackets([][]byte{frame})
	return err
}

func (e *batchEnd) WritePackets(frames [][]byte) (int, error) {
	select {
	case <-e.done:
		return 0, errors.New("closed")
	default:
	}
	cp := make([][]byte, len(frames))
	for i, f := range frames {
		cp[i] = append([]byte(nil), f...)
	}
	e.mu.Lock()
	e.writes = append(e.writes, len(frames))
	e.mu.Unlock()
	select {
	case e.peer.in <- cp:
	default: // a full ring drops
	}
	return len(frames), nil
}

func (e *batchEnd) Close() error {
	e.once.Do(func() { close(e.done) })
	e.wg.Wait()
	return nil
}

// batched returns the frames written and how many of them went in writes
// of more than one frame.
func (e *batchEnd) batched() (frames, inBatches int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.writes {
		frames += n
		if n > 1 {
			inBatches += n
		}
	}
	return frames, inBatches
}

// twoHostAgent starts an agent for two hosts h1 and h2 on one link made of
// a batchPair (a is h1's end, b h2's), impaired by netem, a YAML mapping
// such as "{delay: 1ms}", unless it is empty. The link's ends are closed
// when the test ends; the caller closes the agent.
func twoHostAgent(t *testing.T, netem string) (ag *Agent, lab *topology.Lab, a, b *batchEnd) {
	t.Helper()
	src := "name: twohosts\ntopology:\n  nodes: {h1: {}, h2: {}}\n  links:\n    - endpoints: [\"h1:eth1\", \"h2:eth1\"]\n"
	if netem != "" {
		src += "      netem: " + netem + "\n"
	}
	lab, err := topology.Parse("twohosts.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	l := lab.Links[0]
	a, b = batchPair(net.HardwareAddr(l.A.MAC[:]), net.HardwareAddr(l.B.MAC[:]))
	t.Cleanup(func() { a.Close(); b.Close() })
	ends := map[string]link.Endpoint{"h1:eth1": a, "h2:eth1": b}
	open := func(node, _, ifname string) (link.Endpoint, error) {
		if ep, ok := ends[node+":"+ifname]; ok {
			return ep, nil
		}
		return nil, fmt.Errorf("no link for %s:%s", node, ifname)
	}
	ag, err = New(context.Background(), Config{Lab: lab, Nodes: []NodeRef{{Name: "h1"}, {Name: "h2"}}, OpenLink: open})
	if err != nil {
		t.Fatal(err)
	}
	return ag, lab, a, b
}

// TestBatchingThroughTheChain builds the agent's real chain on each
// interface (stack, capture tap, impairment, link) over links that batch
// like AF_PACKET, and checks that a bulk transfer leaves the sender in
// batches (sendmmsg) and that the receiver's ACKs leave in batches too,
// which they do only if the inbound batch bounds reach the stack (ACK
// coalescing): with no impairment, with one that does nothing, and with a
// capture running.
func TestBatchingThroughTheChain(t *testing.T) {
	for _, tc := range []struct {
		name, netem string
		capture     bool
	}{
		{name: "plain"},
		{name: "no-op impairment", netem: "{}"},
		{name: "delay", netem: "{delay: 1ms}"},
		{name: "capture", capture: true},
		{name: "capture and impairment", netem: "{}", capture: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ag, lab, a, b := twoHostAgent(t, tc.netem)
			l := lab.Links[0]
			sock := serveAgent(t, ag)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
			if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
				t.Fatal(err)
			}
			if tc.capture {
				cctx, ccancel := context.WithCancel(ctx)
				captured := make(chan error, 2)
				for _, c := range []*Client{h1, h2} {
					go func() { captured <- c.Capture(cctx, nil, 0, 0, io.Discard) }()
				}
				defer func() {
					ccancel()
					for range 2 {
						<-captured
					}
				}()
				for _, name := range []string{"h1", "h2"} {
					n, _ := ag.node(name)
					deadline := time.Now().Add(10 * time.Second)
					for n.taps[0].sinks.Load() == nil {
						if time.Now().After(deadline) {
							t.Fatalf("the capture on %s did not start", name)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
			}
			dst := l.B.Addr.Addr()
			if _, err := h1.Send(ctx, SendSpec{To: dst.String() + ":5001", Bytes: 4 << 20}); err != nil {
				t.Fatal(err)
			}
			dataFrames, _ := a.batched()
			for _, c := range []struct {
				who string
				end *batchEnd
			}{{"h1 (data)", a}, {"h2 (ACKs)", b}} {
				frames, inBatches := c.end.batched()
				t.Logf("%s: %d frames written, %d in writes of more than one", c.who, frames, inBatches)
				// The receiver's ACKs show the batch bounds reached its
				// stack either way: as ACKs of several segments sent
				// together, or (batch ACKs, on a path under 1 ms) as one
				// ACK a batch, far fewer than one every second segment.
				coalesced := c.end == b && frames > 0 && frames*4 <= dataFrames
				if frames == 0 || (inBatches*2 < frames && !coalesced) {
					t.Errorf("%s: %d of %d frames left in writes of more than one frame, want at least half (or, for ACKs, at most a quarter of the %d data frames)",
						c.who, inBatches, frames, dataFrames)
				}
				if n := c.end.peer.unbatched.Load(); n > 0 {
					t.Errorf("%s: %d of the frames reached the peer's stack outside BeginBatch/EndBatch", c.who, n)
				}
			}
		})
	}
}

// commentSink is a frameSink that keeps each frame's comment.
type commentSink struct {
	mu       sync.Mutex
	comments []string
}

func (s *commentSink) Record(id int, frame []byte) { s.RecordComment(id, frame, "") }

func (s *commentSink) RecordComment(_ int, _ []byte, comment string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.comments = append(s.comments, comment)
}

// TestTapMarksDropsInABatch checks that a capture marks exactly the frames
// of a batch that the impairment dropped, and that the batch still leaves
// in one write.
func TestTapMarksDropsInABatch(t *testing.T) {
	a, b := batchPair(net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	t.Cleanup(func() { a.Close(); b.Close() })
	clk := clock.NewManual(clock.Epoch)
	ie := impair.Wrap(a, &impair.Config{}, nil, clk)
	ii := &impairIfc{name: "eth1", ep: ie, curEg: &impair.Config{DropPackets: []uint64{2, 4}}}
	tp := &tap{Endpoint: ie, name: "eth1", ii: ii}
	ii.tap = tp
	sink := &commentSink{}
	tp.add(tapSink{w: sink})
	ii.apply()
	frames := make([][]byte, 5)
	for i := range frames {
		frames[i] = make([]byte, 60)
		frames[i][59] = byte(i)
	}
	if n, err := tp.WritePackets(frames); n != 5 || err != nil {
		t.Fatalf("WritePackets = %d, %v; want 5, nil", n, err)
	}
	const why = "dropped by the impairment layer: schedule"
	want := []string{"", why, "", why, ""}
	sink.mu.Lock()
	got := slices.Clone(sink.comments)
	sink.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("comments %q, want %q", got, want)
	}
	if frames, inBatches := a.batched(); frames != 3 || inBatches != 3 {
		t.Errorf("%d frames written, %d in writes of more than one; want the 3 survivors in one write", frames, inBatches)
	}
}
