package clock

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestPreciseRunsTimersInOrderAndOnTime(t *testing.T) {
	p := NewPrecise()
	defer p.Close()
	var mu sync.Mutex
	var order []int
	var late []time.Duration
	var wg sync.WaitGroup
	for i, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 500 * time.Microsecond} {
		wg.Add(1)
		start := time.Now()
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
	if want := []int{3, 1, 2, 0}; len(order) != 4 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Fatalf("timers ran in order %v, want %v", order, want)
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
