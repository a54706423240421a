package nodeagent

import (
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/trace"
)

// tracer fans probe events out to subscribers without ever blocking the
// stack: a subscriber that does not keep up loses events, counted for it
// alone (so that a slow `netlab trace` reader does not mark the recorded
// file as lossy, nor the other way round).
//
// Besides the stack's probe events it carries the drop events of the
// node's impaired interfaces (dropHook).
type tracer struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
	n    atomic.Int32
	// only is the one subscriber while there is exactly one (written
	// under mu, with n).
	only atomic.Pointer[subscription]
	// last is the latest TimeUS published: a drop event is never stamped
	// earlier than an event before it in the stream (its time is read
	// outside the stack's lock), so that readers see the times of one run
	// never go back (trace.Conns takes that for a new run).
	last int64
}

// subscription is one reader of a tracer: its events and how many it lost.
type subscription struct {
	ch      chan trace.Event
	dropped atomic.Uint64
	// sel picks the events handed to ch: the others never wake the reader
	// up, nor count as lost.
	sel trace.Selector
	// budget, if set (the recorder's), leaves routine events out past
	// it, counted in skipped.
	budget  *recordBudget
	skipped atomic.Uint64
}

// setCount publishes how many subscribers there are, and the one when
// there is one; t.mu is held.
func (t *tracer) setCount() {
	var only *subscription
	if len(t.subs) == 1 {
		for s := range t.subs {
			only = s
		}
	}
	t.only.Store(only)
	t.n.Store(int32(len(t.subs)))
}

// skippedSince is lostSince for the events the budget left out: a
// KindLost marker with Reason trace.LostBudget.
func (s *subscription) skippedSince(seen *uint64, timeUS int64) (trace.Event, bool) {
	d := s.skipped.Load()
	if d == *seen {
		return trace.Event{}, false
	}
	e := trace.Event{Kind: trace.KindLost, Len: int(d - *seen), TimeUS: timeUS, Reason: trace.LostBudget}
	*seen = d
	return e, true
}

// lostSince returns a KindLost marker for the events lost since the count
// *seen, and whether there were any; it moves *seen on.
func (s *subscription) lostSince(seen *uint64, timeUS int64) (trace.Event, bool) {
	d := s.dropped.Load()
	if d == *seen {
		return trace.Event{}, false
	}
	e := trace.Event{Kind: trace.KindLost, Len: int(d - *seen), TimeUS: timeUS}
	*seen = d
	return e, true
}

func newTracer() *tracer { return &tracer{subs: make(map[*subscription]struct{})} }

// publish is the stack's probe hook; it runs with the stack locked.
func (t *tracer) publish(e stack.ProbeEvent) {
	switch t.n.Load() {
	case 0:
		return
	case 1:
		// The recorder alone, its budget spent: an ordinary segment is
		// counted without being converted or handed over.
		if s := t.only.Load(); s != nil && s.budget.spent() && routineProbe(&e) {
			s.skipped.Add(1)
			return
		}
	}
	te := trace.FromProbe(e)
	t.mu.Lock()
	t.last = max(t.last, te.TimeUS)
	t.fanOut(te)
	t.mu.Unlock()
}

// dropHook returns the impairment's drop hook for one direction (dir,
// trace.DirEgress or trace.DirIngress) of interface ifname: each TCP
// segment dropped becomes a drop event, timed by nowUS, on the tracer.
// Like publish, it never blocks and costs next to nothing with no
// subscriber.
func (t *tracer) dropHook(ifname, dir string, nowUS func() int64) func([]byte, impair.DropReason) {
	return func(frame []byte, r impair.DropReason) {
		if t.n.Load() == 0 {
			return
		}
		e, ok := trace.FromDroppedFrame(frame, nowUS(), ifname, dir, r.String())
		if !ok {
			return
		}
		t.mu.Lock()
		e.TimeUS = max(e.TimeUS, t.last)
		t.last = e.TimeUS
		t.fanOut(e)
		t.mu.Unlock()
	}
}

// fanOut hands te to every subscriber that has room; t.mu is held.
func (t *tracer) fanOut(te trace.Event) {
	for s := range t.subs {
		if !s.sel.Selects(&te) {
			continue
		}
		if !s.budget.allows(&te) {
			s.skipped.Add(1)
			continue
		}
		select {
		case s.ch <- te:
		default:
			s.dropped.Add(1)
		}
	}
}

// subscribe adds a reader of the events sel picks.
func (t *tracer) subscribe(sel trace.Selector) *subscription { return t.subscribeWithin(sel, nil) }

// subscribeWithin is subscribe with a recording budget (nil: none).
func (t *tracer) subscribeWithin(sel trace.Selector, b *recordBudget) *subscription {
	s := &subscription{ch: make(chan trace.Event, 4096), sel: sel, budget: b}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.setCount()
	t.mu.Unlock()
	return s
}

func (t *tracer) unsubscribe(s *subscription) {
	t.mu.Lock()
	if _, ok := t.subs[s]; ok {
		delete(t.subs, s)
		close(s.ch)
	}
	t.setCount()
	t.mu.Unlock()
}

func (t *tracer) closeAll() {
	t.mu.Lock()
	for s := range t.subs {
		close(s.ch)
	}
	t.subs = map[*subscription]struct{}{}
	t.setCount()
	t.mu.Unlock()
}
