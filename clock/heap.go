package clock

import (
	"container/heap"
	"sync"
	"time"
)

// entry is a pending timer in a clock's queue: the Manual and Precise
// clocks order their timers the same way.
type entry struct {
	f     func()
	when  time.Time
	seq   uint64 // order of arming, for timers due at the same time
	index int    // position in the heap, -1 when not pending
}

// timerHeap is a min-heap of entries by deadline (container/heap).
type timerHeap []*entry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}

// timerQueue is the pending timers of the Manual and Precise clocks, with
// the lock that guards them (and, for Manual, its time).
type timerQueue struct {
	mu   sync.Mutex
	seq  uint64
	heap timerHeap
	// now is the clock's time; it is called with mu held.
	now func() time.Time
	// armedFirst, if set, is called with mu held when an armed timer
	// becomes the earliest.
	armedFirst func()
}

// arm puts e in the queue to fire d from now (a negative d is 0); mu must
// be held.
func (q *timerQueue) arm(e *entry, d time.Duration) {
	e.when = q.now().Add(max(d, 0))
	q.seq++
	e.seq = q.seq
	heap.Push(&q.heap, e)
	if e.index == 0 && q.armedFirst != nil {
		q.armedFirst()
	}
}

// afterFunc returns a timer that runs f d from now.
func (q *timerQueue) afterFunc(d time.Duration, f func()) Timer {
	t := &queuedTimer{entry: entry{f: f, index: -1}, q: q}
	q.mu.Lock()
	q.arm(&t.entry, d)
	q.mu.Unlock()
	return t
}

// popDue removes and returns the earliest timer if it is due at or before
// t; mu must be held.
func (q *timerQueue) popDue(t time.Time) (*entry, bool) {
	if len(q.heap) == 0 || q.heap[0].when.After(t) {
		return nil, false
	}
	return heap.Pop(&q.heap).(*entry), true
}

// queuedTimer is the Timer of a timerQueue.
type queuedTimer struct {
	entry
	q *timerQueue
}

func (t *queuedTimer) Stop() bool {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.q.heap, t.index)
	return true
}

func (t *queuedTimer) Reset(d time.Duration) bool {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	pending := t.index >= 0
	if pending {
		heap.Remove(&t.q.heap, t.index)
	}
	t.q.arm(&t.entry, d)
	return pending
}
