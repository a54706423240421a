package clock

import (
	"time"
)

// Epoch is the time a ManualClock starts at unless told otherwise.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Manual is a clock that moves only when Advance is called. Timer functions
// run in the goroutine that calls Advance, in deadline order (ties in the
// order they were armed), with the clock showing their deadline. It is safe
// for concurrent use; timer functions may arm and stop timers.
type Manual struct {
	q   timerQueue // q.mu guards now too
	now time.Time
}

var _ Clock = (*Manual)(nil)

// NewManual returns a manual clock that shows start.
func NewManual(start time.Time) *Manual {
	m := &Manual{now: start}
	m.q.now = func() time.Time { return m.now }
	return m
}

// Now implements Clock.Now.
func (m *Manual) Now() time.Time {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	return m.now
}

// AfterFunc implements Clock.AfterFunc.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer { return m.q.afterFunc(d, f) }

// Advance moves the clock forward by d, running every timer that falls due on
// the way at its own deadline.
func (m *Manual) Advance(d time.Duration) {
	m.q.mu.Lock()
	target := m.now.Add(d)
	m.q.mu.Unlock()
	m.AdvanceTo(target)
}

// AdvanceTo moves the clock to t (if t is later than now), running due timers.
func (m *Manual) AdvanceTo(t time.Time) {
	for {
		m.q.mu.Lock()
		next, due := m.q.popDue(t)
		if !due {
			if t.After(m.now) {
				m.now = t
			}
			m.q.mu.Unlock()
			return
		}
		if next.when.After(m.now) {
			m.now = next.when
		}
		f := next.f
		m.q.mu.Unlock()
		f()
	}
}

// Next returns the deadline of the earliest pending timer and true, or false
// when no timer is pending.
func (m *Manual) Next() (time.Time, bool) {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	if len(m.q.heap) == 0 {
		return time.Time{}, false
	}
	return m.q.heap[0].when, true
}

// Pending returns the number of timers waiting to run.
func (m *Manual) Pending() int {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	return len(m.q.heap)
}
