package clock

import (
	"time"

	"golang.org/x/sys/unix"
)

// nanosleep blocks the calling OS thread for d with the kernel's
// high-resolution timer (the runtime's poller would round up to 1 ms).
func nanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Nanosleep(&ts, nil)
}

// fineTimerSlack asks the kernel to wake this thread within 1 µs of its
// sleeps (the default slack is 50 µs).
func fineTimerSlack() { unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }
