package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Epoch is the time a ManualClock starts at unless told otherwise.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Manual is a clock that moves only when Advance is called. Timer functions
// run in the goroutine that calls Advance, in deadline order (ties in the
// order they were armed), with the clock showing their deadline. It is safe
// for concurrent use; timer functions may arm and stop timers.
type Manual struct {
	mu    sync.Mutex
	now   time.Time
	seq   uint64
	queue timerHeap
}

var _ Clock = (*Manual)(nil)

// NewManual returns a manual clock that shows start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now implements Clock.Now.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc implements Clock.AfterFunc.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{entry: entry{f: f, index: -1}, clock: m}
	m.mu.Lock()
	m.schedule(t, d)
	m.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, running every timer that falls due on
// the way at its own deadline.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	target := m.now.Add(d)
	m.mu.Unlock()
	m.AdvanceTo(target)
}

// AdvanceTo moves the clock to t (if t is later than now), running due timers.
func (m *Manual) AdvanceTo(t time.Time) {
	for {
		m.mu.Lock()
		if len(m.queue) == 0 || m.queue[0].when.After(t) {
			if t.After(m.now) {
				m.now = t
			}
			m.mu.Unlock()
			return
		}
		next := heap.Pop(&m.queue).(*entry)
		if next.when.After(m.now) {
			m.now = next.when
		}
		f := next.f
		m.mu.Unlock()
		f()
	}
}

// Next returns the deadline of the earliest pending timer and true, or false
// when no timer is pending.
func (m *Manual) Next() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queue) == 0 {
		return time.Time{}, false
	}
	return m.queue[0].when, true
}

// Pending returns the number of timers waiting to run.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue)
}

func (m *Manual) schedule(t *manualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.when = m.now.Add(d)
	m.seq++
	t.seq = m.seq
	heap.Push(&m.queue, &t.entry)
}

type manualTimer struct {
	entry
	clock *Manual
}

func (t *manualTimer) Stop() bool {
	m := t.clock
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&m.queue, t.index)
	return true
}

func (t *manualTimer) Reset(d time.Duration) bool {
	m := t.clock
	m.mu.Lock()
	defer m.mu.Unlock()
	pending := t.index >= 0
	if pending {
		heap.Remove(&m.queue, t.index)
	}
	m.schedule(t, d)
	return pending
}
