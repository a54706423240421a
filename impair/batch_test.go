package impair

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
)

// batchLink is a link.BatchWriter that records the frames of each write
// call, and lets the test deliver inbound frames to what is attached.
type batchLink struct {
	writes [][]uint64 // the frame ids of each call
	disp   link.Dispatcher
}

var _ link.BatchWriter = (*batchLink)(nil)

func (l *batchLink) MTU() int                      { return 1500 }
func (l *batchLink) LinkAddress() net.HardwareAddr { return macA }
func (l *batchLink) Attach(d link.Dispatcher)      { l.disp = d }
func (l *batchLink) Close() error                  { return nil }

func (l *batchLink) WritePacket(frame []byte) error {
	l.writes = append(l.writes, []uint64{frameID(frame)})
	return nil
}

func (l *batchLink) WritePackets(frames [][]byte) (int, error) {
	var ids []uint64
	for _, f := range frames {
		ids = append(ids, frameID(f))
	}
	l.writes = append(l.writes, ids)
	return len(frames), nil
}

// deliver hands frames up as one inbound batch, as recvmmsg does.
func (l *batchLink) deliver(frames ...[]byte) {
	bd, ok := l.disp.(link.BatchDispatcher)
	if ok {
		bd.BeginBatch()
	}
	for _, f := range frames {
		l.disp.DeliverFrame(f)
	}
	if ok {
		bd.EndBatch()
	}
}

// batchLog is a link.BatchDispatcher that logs what it is told.
type batchLog struct{ events []string }

func (b *batchLog) BeginBatch() { b.events = append(b.events, "begin") }
func (b *batchLog) EndBatch()   { b.events = append(b.events, "end") }
func (b *batchLog) DeliverFrame(frame []byte) {
	b.events = append(b.events, fmt.Sprint(frameID(frame)))
}

func (b *batchLog) take() string {
	s := strings.Join(b.events, " ")
	b.events = nil
	return s
}

func udpFrames(ids ...uint64) [][]byte {
	var out [][]byte
	for _, id := range ids {
		out = append(out, udpFrame(id, 100, 0))
	}
	return out
}

// TestEndpointWritesInBatches checks that frames written together reach
// the wrapped endpoint's WritePackets together: straight through when
// egress is not impaired or its Config does nothing, and as released by
// the Direction otherwise.
func TestEndpointWritesInBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    *Config
		before [][]uint64 // writes when WritePackets returns
		after  [][]uint64 // writes 10 ms later
	}{
		{"not impaired", nil, [][]uint64{{1, 2, 3, 4}}, nil},
		{"zero config", &Config{}, [][]uint64{{1, 2, 3, 4}}, nil},
		{"delay", &Config{Delay: 10 * time.Millisecond}, nil, [][]uint64{{1, 2, 3, 4}}},
		{"drops", &Config{DropPackets: []uint64{2}}, [][]uint64{{1, 3, 4}}, nil},
		{"delay and drops", &Config{Delay: 10 * time.Millisecond, DropEveryNth: 2}, nil, [][]uint64{{1, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(clock.Epoch)
			l := &batchLink{}
			e := Wrap(l, tc.cfg, nil, clk)
			if n, err := e.WritePackets(udpFrames(1, 2, 3, 4)); n != 4 || err != nil {
				t.Fatalf("WritePackets = %d, %v; want 4, nil", n, err)
			}
			if diff := cmp.Diff(tc.before, l.writes); diff != "" {
				t.Errorf("writes at once (-want +got):\n%s", diff)
			}
			l.writes = nil
			clk.Advance(10 * time.Millisecond)
			if diff := cmp.Diff(tc.after, l.writes); diff != "" {
				t.Errorf("writes after 10ms (-want +got):\n%s", diff)
			}
			e.Close()
			if _, err := e.WritePackets(udpFrames(5)); err != ErrClosed {
				t.Errorf("WritePackets after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestEndpointDeliversInBatches checks that an inbound batch reaches a
// BatchDispatcher between BeginBatch and EndBatch, and that frames the
// ingress Direction releases together later arrive as one batch.
func TestEndpointDeliversInBatches(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cfg           *Config
		during, after string
	}{
		{"not impaired", nil, "begin 1 2 3 end", ""},
		{"zero config", &Config{}, "begin 1 2 3 end", ""},
		{"drops", &Config{DropPackets: []uint64{2}}, "begin 1 3 end", ""},
		{"delay", &Config{Delay: 10 * time.Millisecond}, "begin end", "begin 1 2 3 end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(clock.Epoch)
			l := &batchLink{}
			e := Wrap(l, nil, tc.cfg, clk)
			up := &batchLog{}
			e.Attach(up)
			l.deliver(udpFrames(1, 2, 3)...)
			if got := up.take(); got != tc.during {
				t.Errorf("during the batch: %q, want %q", got, tc.during)
			}
			clk.Advance(10 * time.Millisecond)
			if got := up.take(); got != tc.after {
				t.Errorf("10ms later: %q, want %q", got, tc.after)
			}
		})
	}
}

// TestSendBatchDecidesAsSend checks that SendBatch makes the decisions a
// Send per frame would, at the same times, and hands out the same frames.
func TestSendBatchDecidesAsSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"zero", Config{}},
		{"random", Config{Delay: 5 * time.Millisecond, Jitter: 4 * time.Millisecond, Loss: GELoss(0.05, 0.3),
			Duplicate: 0.05, Corrupt: 0.05, Reorder: 0.1, Seed: 7}},
		{"rate", Config{Rate: 10e6, Limit: 20, Delay: time.Millisecond, Seed: 3}},
		{"schedules", Config{DropEveryNth: 7, DropPackets: []uint64{2, 3}, DropMatch: []Match{{Proto: 17, Skip: 5, Count: 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type out struct {
				id uint64
				at time.Duration
				b  string
			}
			run := func(batched bool) ([]out, Stats) {
				clk := clock.NewManual(clock.Epoch)
				var got []out
				rec := func(f []byte) {
					got = append(got, out{frameID(f), clk.Now().Sub(clock.Epoch), string(f)})
				}
				var d *Direction
				if batched {
					d = NewBatch(tc.cfg, clk, func(fs [][]byte) {
						for _, f := range fs {
							rec(f)
						}
					})
				} else {
					d = New(tc.cfg, clk, rec)
				}
				id := uint64(0)
				for range 40 {
					var chunk [][]byte
					for range 5 {
						id++
						chunk = append(chunk, udpFrame(id, 200, 0))
					}
					if batched {
						d.SendBatch(chunk)
					} else {
						for _, f := range chunk {
							d.Send(f)
						}
					}
					clk.Advance(300 * time.Microsecond)
				}
				clk.Advance(time.Second)
				return got, d.Stats()
			}
			one, s1 := run(false)
			many, s2 := run(true)
			if len(one) == 0 {
				t.Fatal("no frame came out")
			}
			if !slices.Equal(one, many) {
				t.Errorf("SendBatch handed out %d frames, Send %d, or other ones or at other times", len(many), len(one))
			}
			if s1 != s2 {
				t.Errorf("stats: Send %+v, SendBatch %+v", s1, s2)
			}
		})
	}
}
