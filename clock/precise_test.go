package clock

import (
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestPreciseRunsTimersInOrderAndOnTime: timers run in the order of
// their deadlines, none early. The deadlines are each timer's own arming
// time plus its delay: a loaded machine can pause the loop that arms them
// for longer than the delays differ, and then the order they are due in is
// not the order of the delays.
func TestPreciseRunsTimersInOrderAndOnTime(t *testing.T) {
	p := NewPrecise()
	defer p.Close()
	var mu sync.Mutex
	var order []int
	var late []time.Duration
	var wg sync.WaitGroup
	delays := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 500 * time.Microsecond}
	due := make([]time.Time, len(delays))
	for i, d := range delays {
		wg.Add(1)
		start := time.Now()
		due[i] = start.Add(d)
		p.AfterFunc(d, func() {
			mu.Lock()
			order = append(order, i)
			late = append(late, time.Since(start)-d)
			mu.Unlock()
			wg.Done()
		})
	}
	stopped := p.AfterFunc(time.Millisecond, func() { t.Error("a stopped timer ran") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer = false")
	}
	wg.Wait()
	want := []int{0, 1, 2, 3}
	sort.Slice(want, func(a, b int) bool { return due[want[a]].Before(due[want[b]]) })
	if len(order) != len(want) || !slices.Equal(order, want) {
		t.Fatalf("timers ran in order %v, want %v (by deadline)", order, want)
	}
	for _, l := range late {
		if l < 0 {
			t.Fatalf("a timer ran %v early", -l)
		}
	}
}

// TestPreciseLateness is the point of Precise: it must beat the runtime's
// millisecond-grained timers. A loose bound, for shared machines: the
// median lateness of 200 timers of 500 µs stays under 300 µs.
func TestPreciseLateness(t *testing.T) {
	p := NewPrecise()
	defer p.Close()
	var late []time.Duration
	for i := 0; i < 200; i++ {
		done := make(chan time.Duration, 1)
		start := time.Now()
		p.AfterFunc(500*time.Microsecond, func() { done <- time.Since(start) - 500*time.Microsecond })
		late = append(late, <-done)
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	if late[100] > 300*time.Microsecond {
		t.Fatalf("median lateness %v, want < 300µs (p99 %v)", late[100], late[198])
	}
	t.Logf("lateness p50 %v p99 %v", late[100], late[198])
}

func TestPreciseResetAndClose(t *testing.T) {
	p := NewPrecise()
	fired := make(chan struct{}, 2)
	tm := p.AfterFunc(time.Hour, func() { fired <- struct{}{} })
	if !tm.Reset(time.Millisecond) {
		t.Fatal("Reset of a pending timer = false")
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("a reset timer did not fire")
	}
	p.AfterFunc(50*time.Millisecond, func() { fired <- struct{}{} })
	p.Close()
	select {
	case <-fired:
		t.Fatal("a timer fired after Close")
	case <-time.After(150 * time.Millisecond):
	}
}
