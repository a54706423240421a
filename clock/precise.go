package clock

import (
	"runtime"
	"sync"
	"time"
)

// Precise is the wall clock with timers that fire within tens of
// microseconds of their deadline. Go's own timers wake through the
// runtime's poller, which on Linux sleeps in whole milliseconds: a 500 µs
// timer typically fires 0.6-1.3 ms late, too coarse to emulate a 0.5 ms link
// delay. Precise runs its timers on one goroutine locked to an OS thread
// that waits coarsely while the next deadline is far and in short
// nanosleeps (at most fine) as it comes near. Timer functions run on that
// goroutine, one at a time, and must be quick (they may arm timers).
type Precise struct {
	q      timerQueue
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

var _ Clock = (*Precise)(nil)

const (
	preciseFine   = 200 * time.Microsecond // longest nanosleep near a deadline
	preciseCoarse = 2 * time.Millisecond   // closer than this: sleep finely
)

// NewPrecise starts a precise clock; Close stops its goroutine.
func NewPrecise() *Precise {
	p := &Precise{wake: make(chan struct{}, 1), closed: make(chan struct{})}
	p.q.now = time.Now
	p.q.armedFirst = func() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	go p.run()
	return p
}

// Now implements Clock.Now.
func (p *Precise) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.AfterFunc.
func (p *Precise) AfterFunc(d time.Duration, f func()) Timer { return p.q.afterFunc(d, f) }

// Close stops the clock: pending timers never run.
func (p *Precise) Close() { p.once.Do(func() { close(p.closed) }) }

func (p *Precise) run() {
	runtime.LockOSThread()
	fineTimerSlack()
	coarse := time.NewTimer(time.Hour)
	defer coarse.Stop()
	for {
		p.q.mu.Lock()
		if len(p.q.heap) == 0 {
			p.q.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.closed:
				return
			}
		}
		d := time.Until(p.q.heap[0].when)
		if d <= 0 {
			t, _ := p.q.popDue(time.Now()) // due: d <= 0
			f := t.f
			p.q.mu.Unlock()
			f()
			continue
		}
		p.q.mu.Unlock()
		if d > preciseCoarse {
			coarse.Reset(d - preciseCoarse)
			select {
			case <-coarse.C:
			case <-p.wake:
				if !coarse.Stop() {
					<-coarse.C
				}
			case <-p.closed:
				return
			}
			continue
		}
		select {
		case <-p.closed:
			return
		default:
		}
		nanosleep(min(d, preciseFine))
	}
}
