package impair

import (
	"testing"
	"time"
)

// TestQueueStats sends ten 1250-byte frames at once into a 1 Mbit/s link:
// frame k waits exactly k×10 ms in the queue.
func TestQueueStats(t *testing.T) {
	h := newHarness(t, Config{Rate: 1_000_000, Seed: 1})
	for i := range 10 {
		h.send(uint64(i), 1250)
	}
	h.clk.Advance(45 * time.Millisecond)
	mid := h.d.Stats()
	// Queued 9 frames for [0,10ms), 8 for [10,20)... 5 from 40 to 45 ms.
	if want := float64((9+8+7+6)*10+5*5) * 1e6; mid.QueueFrameNanos != want {
		t.Errorf("at 45 ms the queue integral is %v frame·ns, want %v", mid.QueueFrameNanos, want)
	}
	h.drain()
	s := h.d.Stats()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"offered bytes", float64(s.OfferedBytes), 12500},
		{"passed bytes", float64(s.PassedBytes), 12500},
		{"sojourns", float64(s.QueueDelayCount), 10},
		{"sojourn sum", float64(s.QueueDelaySum), float64(450 * time.Millisecond)},
		{"sojourn max", float64(s.QueueDelayMax), float64(90 * time.Millisecond)},
		{"queue frame integral", s.QueueFrameNanos, 450e6},
		{"queue byte integral", s.QueueByteNanos, 450e6 * 1250},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	// The interval's histogram: the difference of two snapshots.
	var diff [QueueDelayBuckets]uint64
	for i := range diff {
		diff[i] = s.QueueDelayHist[i] - mid.QueueDelayHist[i]
	}
	// After 45 ms: the frames that started at 50..90 ms.
	if q := QueueDelayQuantile(diff, 1); q < 80*time.Millisecond || q > 90*time.Millisecond*1125/1000 {
		t.Errorf("the interval's largest sojourn %v, want 90 ms within a bucket", q)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 40 * time.Millisecond}, {0.9, 80 * time.Millisecond}, {1, 90 * time.Millisecond}} {
		got := QueueDelayQuantile(s.QueueDelayHist, c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.125 || d > 0.125 {
			t.Errorf("quantile %v: %v, want %v within 12.5%%", c.q, got, c.want)
		}
	}
}

func TestQueueDelayBuckets(t *testing.T) {
	prev := time.Duration(0)
	for i := range QueueDelayBuckets - 1 {
		b := QueueDelayBucketBound(i)
		if b <= prev {
			t.Fatalf("bucket %d's bound %v not above %v", i, b, prev)
		}
		if i > 1 && float64(b-prev)/float64(prev) > 0.125+1e-9 {
			t.Fatalf("bucket %d spans %v..%v: more than 12.5%%", i, prev, b)
		}
		prev = b
	}
	if QueueDelayBucketBound(0) > time.Microsecond*2 || prev < 10*time.Second {
		t.Errorf("buckets cover %v..%v, want 1 µs..10 s", QueueDelayBucketBound(0), prev)
	}
	for _, ns := range []int64{0, 1023, 1024, 1500, 1e6, 33e6, 1e9, 9e9, 1e12} {
		i := queueDelayBucket(ns)
		if time.Duration(ns) >= QueueDelayBucketBound(i) || time.Duration(ns) < queueDelayLower(i) {
			t.Errorf("%d ns in bucket %d [%v, %v)", ns, i, queueDelayLower(i), QueueDelayBucketBound(i))
		}
	}
	var empty [QueueDelayBuckets]uint64
	if QueueDelayQuantile(empty, 0.99) != 0 {
		t.Error("an empty histogram's quantile is not 0")
	}
}
