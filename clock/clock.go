// Package clock supplies time as an input. The stack and the impairment engine
// never read the wall clock themselves: they take a Clock, which is the real
// clock in production and a ManualClock that tests advance by hand.
package clock

import "time"

// Clock tells the time and runs functions after a delay.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or in the goroutine that
	// advances time (Manual) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call created by Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call from running. It reports whether it did so.
	Stop() bool
	// Reset makes the call run after d from now, whether or not it already
	// ran or was stopped. It reports whether the timer was pending.
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now implements Clock.Now.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.AfterFunc with time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
