package impair

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// DropReason says why a frame was dropped.
type DropReason uint8

const (
	// DropNone is the DropReason of a frame that was not dropped.
	DropNone DropReason = iota
	// DropLoss is a loss-model drop (Config.Loss).
	DropLoss
	// DropQueue is a tail drop: the rate queue was full (Limit,
	// LimitBytes) or the Direction held MaxHeld frames.
	DropQueue
	// DropCoDel is a CoDel drop at the head of the rate queue.
	DropCoDel
	// DropSchedule is a deterministic drop (DropEveryNth, DropPackets,
	// DropMatch).
	DropSchedule
	// DropOutage is a frame offered while the link was down (Outage, Down).
	DropOutage
)

// String returns "none", "loss", "queue", "codel", "schedule" or "outage".
func (r DropReason) String() string {
	switch r {
	case DropNone:
		return "none"
	case DropLoss:
		return "loss"
	case DropQueue:
		return "queue"
	case DropCoDel:
		return "codel"
	case DropSchedule:
		return "schedule"
	case DropOutage:
		return "outage"
	}
	return fmt.Sprintf("DropReason(%d)", uint8(r))
}

// Event is what a Verdict reports happened to a frame.
type Event uint8

const (
	// EventDrop means the frame was dropped; Verdict.Reason says why.
	EventDrop Event = iota + 1
	// EventQueue means the frame was accepted and will be sent later, after
	// the rate queue and the delay line. It is followed by an EventSend or
	// (CoDel) an EventDrop for the same Seq.
	EventQueue
	// EventSend means the frame is being handed to out.
	EventSend
)

// String returns "drop", "queue" or "send".
func (e Event) String() string {
	switch e {
	case EventDrop:
		return "drop"
	case EventQueue:
		return "queue"
	case EventSend:
		return "send"
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// Verdict is one decision about one frame, given to Config.Trace.
type Verdict struct {
	// Seq numbers the frames of the direction from 1 in the order they were
	// offered; a copy made by Duplicate takes the number after its
	// original's. It never restarts.
	Seq uint64
	// Event is what happened.
	Event Event
	// Reason is why the frame was dropped (EventDrop), else DropNone.
	Reason DropReason
	// At is the clock time of the decision.
	At time.Time
	// Delay is the delay drawn for the frame (EventQueue), after the
	// distribution's truncation at zero and before any wait KeepOrder adds.
	Delay time.Duration
	// Copy says the frame is a copy made by Duplicate.
	Copy bool
	// Corrupted says a bit of the frame was flipped.
	Corrupted bool
	// Marked says the frame was marked CE instead of dropped.
	Marked bool
	// Ahead says the frame was sent at once, ahead of waiting frames, by
	// Config.Reorder.
	Ahead bool
}

// String formats v on one line, for logs and test failures.
func (v Verdict) String() string {
	s := fmt.Sprintf("#%d %s", v.Seq, v.Event)
	if v.Event == EventDrop {
		s += " " + v.Reason.String()
	}
	if v.Event == EventQueue {
		s += " delay=" + v.Delay.String()
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{v.Copy, "copy"}, {v.Corrupted, "corrupted"}, {v.Marked, "ce"}, {v.Ahead, "ahead"}} {
		if f.on {
			s += " " + f.name
		}
	}
	return s
}

// Stats are the counters of one Direction. Until Close (which discards what
// is held), frames offered plus copies made equal frames passed plus frames
// dropped plus frames held (QueueLen + InFlight).
type Stats struct {
	// Offered counts the frames given to Send.
	Offered uint64 `json:"offered"`
	// Passed counts the frames handed to out, copies included.
	Passed uint64 `json:"passed"`
	// DroppedLoss counts loss-model drops.
	DroppedLoss uint64 `json:"dropped_loss"`
	// DroppedQueue counts tail drops of a full queue.
	DroppedQueue uint64 `json:"dropped_queue"`
	// DroppedCoDel counts CoDel drops.
	DroppedCoDel uint64 `json:"dropped_codel"`
	// DroppedSchedule counts deterministic drops.
	DroppedSchedule uint64 `json:"dropped_schedule"`
	// DroppedOutage counts frames offered while the link was down.
	DroppedOutage uint64 `json:"dropped_outage"`
	// Duplicated counts the copies Duplicate made.
	Duplicated uint64 `json:"duplicated"`
	// Corrupted counts frames with a bit flipped.
	Corrupted uint64 `json:"corrupted"`
	// Reordered counts frames sent ahead of waiting ones by Reorder
	// (netem's "requeues").
	Reordered uint64 `json:"reordered"`
	// Late counts frames that left after a frame offered after them, from
	// any cause (Reorder, jitter): RFC 4737's reordered packets.
	Late uint64 `json:"late"`
	// ECNMarked counts frames marked CE instead of dropped (including ECT
	// frames already CE, which stay as they are).
	ECNMarked uint64 `json:"ecn_marked"`
	// QueueLen is the number of frames waiting in the rate queue now.
	QueueLen int `json:"queue_len"`
	// QueueBytes is the number of bytes waiting in the rate queue now.
	QueueBytes int `json:"queue_bytes"`
	// MaxQueueLen is the largest QueueLen seen.
	MaxQueueLen int `json:"max_queue_len"`
	// MaxQueueBytes is the largest QueueBytes seen.
	MaxQueueBytes int `json:"max_queue_bytes"`
	// InFlight is the number of frames past the rate queue and not yet
	// passed: on the link or in the delay line.
	InFlight int `json:"in_flight"`
	// OfferedBytes is the bytes of the frames counted in Offered.
	OfferedBytes uint64 `json:"offered_bytes"`
	// PassedBytes is the bytes of the frames counted in Passed, copies
	// included: the rate achieved over an interval is the difference of
	// two snapshots' PassedBytes × 8 ÷ the difference of their Elapsed.
	PassedBytes uint64 `json:"passed_bytes"`

	// The queueing delay: the sojourn in the rate queue of each frame that
	// left it for the link, from entering the queue (when it was offered)
	// to the moment the link started sending it, exact on the direction's
	// clock. Only a direction with a Rate has a rate queue; frames that
	// leave it otherwise (CoDel drops, Close) are not counted. The interval
	// between two snapshots has the differences of their counters, and of
	// their histograms bucket by bucket.

	// QueueDelayCount counts the frames that left the rate queue for the
	// link.
	QueueDelayCount uint64 `json:"queue_delay_count"`
	// QueueDelaySum is the sum of their sojourns (in JSON, nanoseconds);
	// the mean is QueueDelaySum ÷ QueueDelayCount.
	QueueDelaySum time.Duration `json:"queue_delay_sum_ns"`
	// QueueDelayMax is the longest of their sojourns since the direction
	// was created (in JSON, nanoseconds); an interval's longest is
	// QueueDelayQuantile(its histogram, 1), within a bucket.
	QueueDelayMax time.Duration `json:"queue_delay_max_ns"`
	// QueueDelayHist counts their sojourns by bucket: bucket i holds those
	// below QueueDelayBucketBound(i) and at or above bucket i-1's bound.
	// QueueDelayQuantile reads it. JSON leaves it out while it is all zero.
	QueueDelayHist [QueueDelayBuckets]uint64 `json:"queue_delay_hist,omitzero"`

	// QueueFrameNanos integrates QueueLen over the direction's clock, in
	// frame·nanoseconds, up to Elapsed: the mean number of frames queued
	// over an interval is the difference of two snapshots'
	// QueueFrameNanos ÷ the difference of their Elapsed (in nanoseconds).
	// It is summed exactly in integers, and rounded to float64 only in the
	// snapshot (relative error 2⁻⁵³ of the total).
	QueueFrameNanos float64 `json:"queue_frame_ns"`
	// QueueByteNanos is QueueFrameNanos for QueueBytes, in
	// byte·nanoseconds.
	QueueByteNanos float64 `json:"queue_byte_ns"`
	// BackloggedTime is how long, on the direction's clock up to Elapsed,
	// the rate queue held at least one frame (in JSON, nanoseconds): an
	// interval between two snapshots whose BackloggedTime grew by as much
	// as their Elapsed had the link busy throughout.
	BackloggedTime time.Duration `json:"backlogged_ns"`
	// ReleaseLateSum is how late, summed over the frames counted in Passed,
	// each was handed to out after the time it was due on the direction's
	// clock (in JSON, nanoseconds): zero on a manual clock; on the real
	// clock the lateness of timers and of the scheduler, which delays
	// frames but not the schedule (rates stay exact). The mean is
	// ReleaseLateSum ÷ Passed.
	ReleaseLateSum time.Duration `json:"release_late_sum_ns"`
	// ReleaseLateHist counts those latenesses in QueueDelayHist's buckets
	// (QueueDelayQuantile reads it). JSON leaves it out while it is all
	// zero.
	ReleaseLateHist [QueueDelayBuckets]uint64 `json:"release_late_hist,omitzero"`
	// Elapsed is the time on the direction's clock, since the direction
	// was created, as of which the snapshot counts (the time of Close for
	// a closed direction): the exact length of the interval between two
	// snapshots of one direction is the difference of their Elapsed. (In
	// JSON, nanoseconds.)
	Elapsed time.Duration `json:"elapsed_ns"`
}

// QueueDelayBuckets is the number of buckets of Stats.QueueDelayHist.
// Bucket 0 counts the frames that did not wait (a sojourn of 0), bucket 1
// the sojourns below 1.024 µs, then each power of two from 2¹⁰ ns (1.024
// µs) to 2³⁴ ns (17.2 s) is split into 8 equal buckets, and the last
// bucket counts the sojourns of 2³⁴ ns and more. Above 1.024 µs a bucket is
// at most 12.5 % wider than its lower bound (6.7 % at the least), so its
// midpoint is within 6.25 % of any sojourn it holds.
const QueueDelayBuckets = 2 + 24*8 + 1

// queueDelayBucket returns the bucket of a sojourn of ns nanoseconds: a
// few bit operations, no table.
func queueDelayBucket(ns int64) int {
	switch {
	case ns <= 0:
		return 0
	case ns < 1024:
		return 1
	}
	e := bits.Len64(uint64(ns)) - 1 // 2^e <= ns < 2^(e+1), e >= 10
	sub := int(ns>>(e-3)) & 7
	return min(2+(e-10)*8+sub, QueueDelayBuckets-1)
}

// QueueDelayBucketBound returns the upper bound (exclusive) of bucket i of
// Stats.QueueDelayHist: 1 ns for bucket 0 (only zero sojourns), 1.024 µs
// for bucket 1, then (9+i%8)×2^(i/8+7) ns for bucket i+2 up to 2³⁴ ns, and
// the largest Duration for the last, open-ended bucket. The bounds
// increase with i.
func QueueDelayBucketBound(i int) time.Duration {
	switch {
	case i <= 0:
		return 1
	case i == 1:
		return 1024
	case i >= QueueDelayBuckets-1:
		return math.MaxInt64
	}
	e, sub := (i-2)/8+10, (i-2)%8
	return time.Duration(int64(9+sub) << (e - 3))
}

// queueDelayLower returns the lower bound of bucket i.
func queueDelayLower(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	return QueueDelayBucketBound(i - 1)
}

// QueueDelayQuantile returns the q-quantile of the sojourns a histogram
// counts (Stats.QueueDelayHist, or the difference of two snapshots'): the
// smallest sojourn with at least q of them at or below it, interpolated
// linearly within its bucket, so within the bucket's width (12.5 %) of the
// true one. q is clamped to (0, 1]; an empty histogram gives 0, and so
// does the zero bucket. The open-ended last bucket gives its lower bound,
// 2³⁴ ns (Stats.QueueDelayMax says how far it goes).
func QueueDelayQuantile(hist [QueueDelayBuckets]uint64, q float64) time.Duration {
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 || !(q > 0) {
		return 0
	}
	rank := min(q, 1) * float64(total)
	var below float64
	for i, n := range hist {
		if n == 0 {
			continue
		}
		if below+float64(n) >= rank {
			lo := queueDelayLower(i)
			if i == 0 || i == QueueDelayBuckets-1 {
				return lo
			}
			hi := QueueDelayBucketBound(i)
			frac := (rank - below) / float64(n)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		below += float64(n)
	}
	// Only rounding of a huge total gets here: the last non-empty bucket.
	i := QueueDelayBuckets - 1
	for hist[i] == 0 {
		i--
	}
	if i == 0 || i == QueueDelayBuckets-1 {
		return queueDelayLower(i)
	}
	return QueueDelayBucketBound(i)
}

// countSojourn counts a frame that waited d in the rate queue.
func (s *Stats) countSojourn(d int64) {
	d = max(d, 0)
	s.QueueDelayCount++
	s.QueueDelaySum += time.Duration(d)
	s.QueueDelayMax = max(s.QueueDelayMax, time.Duration(d))
	s.QueueDelayHist[queueDelayBucket(d)]++
}

// countRelease counts a frame handed out late nanoseconds after it was
// due.
func (s *Stats) countRelease(late int64) {
	late = max(late, 0)
	s.ReleaseLateSum += time.Duration(late)
	s.ReleaseLateHist[queueDelayBucket(late)]++
}

// Dropped returns the frames dropped for any reason.
func (s Stats) Dropped() uint64 {
	return s.DroppedLoss + s.DroppedQueue + s.DroppedCoDel + s.DroppedSchedule + s.DroppedOutage
}

func (s *Stats) countDrop(r DropReason) {
	switch r {
	case DropLoss:
		s.DroppedLoss++
	case DropQueue:
		s.DroppedQueue++
	case DropCoDel:
		s.DroppedCoDel++
	case DropSchedule:
		s.DroppedSchedule++
	case DropOutage:
		s.DroppedOutage++
	}
}
