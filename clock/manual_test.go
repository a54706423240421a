package clock

import (
	"testing"
	"time"
)

func TestManualRunsTimersInDeadlineOrder(t *testing.T) {
	m := NewManual(Epoch)
	var got []string
	var at []time.Duration
	rec := func(name string) func() {
		return func() { got = append(got, name); at = append(at, m.Now().Sub(Epoch)) }
	}
	m.AfterFunc(30*time.Millisecond, rec("c"))
	m.AfterFunc(10*time.Millisecond, rec("a"))
	m.AfterFunc(10*time.Millisecond, rec("b"))
	stopped := m.AfterFunc(20*time.Millisecond, rec("never"))
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer = false, want true")
	}
	m.Advance(25 * time.Millisecond)
	if want := []string{"a", "b"}; !equal(got, want) {
		t.Fatalf("after 25ms ran %v, want %v", got, want)
	}
	if now := m.Now().Sub(Epoch); now != 25*time.Millisecond {
		t.Fatalf("Now = %v, want 25ms", now)
	}
	m.Advance(time.Second)
	if want := []string{"a", "b", "c"}; !equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if at[2] != 30*time.Millisecond {
		t.Fatalf("c ran at %v, want 30ms", at[2])
	}
}

func TestManualTimerArmedFromCallbackRunsInSameAdvance(t *testing.T) {
	m := NewManual(Epoch)
	n := 0
	var tick func()
	tick = func() {
		n++
		if n < 5 {
			m.AfterFunc(time.Millisecond, tick)
		}
	}
	m.AfterFunc(time.Millisecond, tick)
	m.Advance(10 * time.Millisecond)
	if n != 5 {
		t.Fatalf("ticks = %d, want 5", n)
	}
	if m.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", m.Pending())
	}
}

func TestManualReset(t *testing.T) {
	m := NewManual(Epoch)
	fired := 0
	tm := m.AfterFunc(10*time.Millisecond, func() { fired++ })
	if !tm.Reset(50 * time.Millisecond) {
		t.Fatal("Reset of pending timer = false, want true")
	}
	m.Advance(20 * time.Millisecond)
	if fired != 0 {
		t.Fatal("timer fired at its old deadline")
	}
	if next, ok := m.Next(); !ok || next.Sub(Epoch) != 50*time.Millisecond {
		t.Fatalf("Next = %v %v, want 50ms true", next.Sub(Epoch), ok)
	}
	m.Advance(30 * time.Millisecond)
	if fired != 1 {
		t.Fatalf("fired = %d, want 1", fired)
	}
	if tm.Stop() {
		t.Fatal("Stop after firing = true, want false")
	}
	if tm.Reset(time.Millisecond) {
		t.Fatal("Reset after firing = true, want false")
	}
	m.Advance(time.Millisecond)
	if fired != 2 {
		t.Fatalf("fired = %d after re-arm, want 2", fired)
	}
}

func TestRealClockFires(t *testing.T) {
	done := make(chan struct{})
	Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("real timer did not fire")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
