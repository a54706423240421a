package impair

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/wire"
)

// dropCall is one call of a drop hook: the frame's id (udpFrame) and why.
type dropCall struct {
	id     uint64
	reason DropReason
}

// TestDropHook: for each reason, the drop hook is called once for every
// frame dropped, with the frame and the reason, exactly as Config.Trace
// reports the drops, never with the Direction's lock held.
func TestDropHook(t *testing.T) {
	calls := func(r DropReason, ids ...uint64) []dropCall {
		c := []dropCall{}
		for _, id := range ids {
			c = append(c, dropCall{id, r})
		}
		return c
	}
	ids := func(from, to uint64) []uint64 {
		var s []uint64
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		n    int           // frames offered
		size int           // their size
		gap  time.Duration // between two
		want []dropCall    // nil: as many as Stats counts for reason, at least one
		// reason is the only reason expected.
		reason DropReason
	}{
		{"schedule every 3rd", Config{DropEveryNth: 3}, 10, 100, time.Millisecond,
			calls(DropSchedule, 2, 5, 8), DropSchedule},
		{"schedule packets", Config{DropPackets: []uint64{1, 4}}, 10, 100, time.Millisecond,
			calls(DropSchedule, 0, 3), DropSchedule},
		{"schedule match", Config{DropMatch: []Match{{Proto: wire.ProtoUDP, Skip: 1, Count: 2}}}, 10, 100, time.Millisecond,
			calls(DropSchedule, 1, 2), DropSchedule},
		{"loss all", Config{Loss: RandomLoss(1, 0)}, 5, 100, time.Millisecond,
			calls(DropLoss, ids(0, 5)...), DropLoss},
		{"loss random", Config{Loss: RandomLoss(0.3, 0), Seed: 7, Delay: time.Millisecond}, 200, 100, 100 * time.Microsecond,
			nil, DropLoss},
		{"outage", Config{Outage: Outage{Every: 10 * time.Millisecond, For: 3 * time.Millisecond}}, 25, 100, time.Millisecond,
			calls(DropOutage, 0, 1, 2, 10, 11, 12, 20, 21, 22), DropOutage},
		{"down with copies", Config{Down: true, Duplicate: 1}, 3, 100, time.Millisecond,
			calls(DropOutage, 0, 0, 1, 1, 2, 2), DropOutage},
		// 1250 bytes take 1 ms at 10 Mbit/s: the first frame goes on the
		// link at once, the next three wait, the last two find the queue
		// full.
		{"queue tail drop", Config{Rate: 10_000_000, Limit: 3}, 6, 1250, 0,
			calls(DropQueue, 4, 5), DropQueue},
		{"codel", Config{Rate: 10_000_000, CoDel: true}, 300, 1250, 0, nil, DropCoDel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			var traced, got []dropCall
			cfg := tc.cfg
			cfg.Trace = func(frame []byte, v Verdict) {
				if v.Event == EventDrop {
					traced = append(traced, dropCall{frameID(frame), v.Reason})
				}
			}
			h.d.SetConfig(cfg)
			h.d.SetDropHook(func(frame []byte, r DropReason) {
				if !h.d.mu.TryLock() {
					t.Error("drop hook called with the Direction's lock held")
				} else {
					h.d.mu.Unlock()
				}
				_ = h.d.Stats() // may call back into the Direction
				got = append(got, dropCall{frameID(frame), r})
			})
			h.run(tc.n, tc.gap, tc.size)
			s := h.d.Stats()
			checkConservation(t, s)
			if !slices.Equal(got, traced) {
				t.Errorf("hook calls %v,\nwant what Trace reported: %v", got, traced)
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("hook calls %v, want %v", got, tc.want)
			}
			if uint64(len(got)) != s.Dropped() || len(got) == 0 {
				t.Errorf("%d hook calls, %d drops counted (want the same, at least one)", len(got), s.Dropped())
			}
			for _, c := range got {
				if c.reason != tc.reason {
					t.Errorf("frame %d dropped for %v, want %v", c.id, c.reason, tc.reason)
				}
			}
		})
	}
}

// TestDropHookKeepsThroughSetConfig: the hook survives SetConfig (Trace is
// part of the Config, the hook is not), and removing it stops the calls.
func TestDropHookKeepsThroughSetConfig(t *testing.T) {
	h := newHarness(t, Config{DropEveryNth: 2})
	var got []dropCall
	h.d.SetDropHook(func(frame []byte, r DropReason) { got = append(got, dropCall{frameID(frame), r}) })
	h.send(0, 100)
	h.send(1, 100) // dropped: schedule
	h.d.SetConfig(Config{Loss: RandomLoss(1, 0)})
	h.send(2, 100) // dropped: loss
	h.d.SetDropHook(nil)
	h.send(3, 100) // dropped, not reported
	want := []dropCall{{1, DropSchedule}, {2, DropLoss}}
	if !slices.Equal(got, want) {
		t.Errorf("hook calls %v, want %v", got, want)
	}
	if s := h.d.Stats(); s.Dropped() != 3 {
		t.Errorf("%d drops counted, want 3", s.Dropped())
	}
}

// TestDropHookStats: CoDel's drops that Stats makes (frames whose turn on
// the link came) reach the hook from Stats itself, not only at the next
// Send or timer event.
func TestDropHookStats(t *testing.T) {
	h := newHarness(t, Config{Rate: 10_000_000, CoDel: true})
	var n atomic.Int64
	h.d.SetDropHook(func([]byte, DropReason) { n.Add(1) })
	for i := range 300 {
		h.send(uint64(i), 1250)
	}
	// The timer is not run: only Stats moves the queue on.
	h.clk.Advance(300 * time.Millisecond)
	s := h.d.Stats()
	if s.DroppedCoDel == 0 || uint64(n.Load()) != s.Dropped() {
		t.Errorf("%d hook calls, %d CoDel drops counted (want the same, at least one)", n.Load(), s.DroppedCoDel)
	}
}

// TestDropHookConcurrent: frames offered from several goroutines at once
// are each reported once, by one goroutine at a time, before the Sends
// return.
func TestDropHookConcurrent(t *testing.T) {
	d := New(Config{Loss: RandomLoss(0.5, 0), Seed: 3}, clock.NewManual(clock.Epoch), discard)
	var calls, inside atomic.Int64
	d.SetDropHook(func(frame []byte, r DropReason) {
		if inside.Add(1) != 1 {
			t.Error("drop hook called by two goroutines at once")
		}
		if r != DropLoss || frameID(frame) != 7 {
			t.Errorf("drop of frame %d for %v, want frame 7, loss", frameID(frame), r)
		}
		calls.Add(1)
		inside.Add(-1)
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			frame := udpFrame(7, 200, 0)
			for range 2000 {
				d.Send(frame)
			}
		})
	}
	wg.Wait()
	if s := d.Stats(); s.DroppedLoss == 0 || uint64(calls.Load()) != s.DroppedLoss {
		t.Errorf("%d hook calls, %d loss drops counted (want the same, at least one)", calls.Load(), s.DroppedLoss)
	}
}

// TestEndpointDropHooks: each direction reports to its own hook, including
// a direction that SetConfig impairs after the hooks were set.
func TestEndpointDropHooks(t *testing.T) {
	inner := &nullEndpoint{}
	drop := &Config{Loss: RandomLoss(1, 0)}
	e := Wrap(inner, drop, nil, clock.NewManual(clock.Epoch))
	e.Attach(link.DispatcherFunc(discard))
	var eg, in []dropCall
	e.SetDropHooks(
		func(f []byte, r DropReason) { eg = append(eg, dropCall{frameID(f), r}) },
		func(f []byte, r DropReason) { in = append(in, dropCall{frameID(f), r}) })
	_ = e.WritePacket(udpFrame(1, 100, 0))
	inner.receive(udpFrame(2, 100, 0)) // ingress not impaired: passes
	e.SetConfig(drop, &Config{DropEveryNth: 1})
	_ = e.WritePacket(udpFrame(3, 100, 0))
	inner.receive(udpFrame(4, 100, 0))
	if want := []dropCall{{1, DropLoss}, {3, DropLoss}}; !slices.Equal(eg, want) {
		t.Errorf("egress hook calls %v, want %v", eg, want)
	}
	if want := []dropCall{{4, DropSchedule}}; !slices.Equal(in, want) {
		t.Errorf("ingress hook calls %v, want %v", in, want)
	}
	e.SetDropHooks(nil, nil)
	_ = e.WritePacket(udpFrame(5, 100, 0))
	inner.receive(udpFrame(6, 100, 0))
	if len(eg) != 2 || len(in) != 1 {
		t.Errorf("hooks called after removal: %v, %v", eg, in)
	}
}
