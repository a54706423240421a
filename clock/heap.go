package clock

import "time"

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
