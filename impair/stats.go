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
	// OfferedBytes and PassedBytes are the bytes of the frames counted in
	// Offered and Passed: the achieved rate over an interval is the
	// difference of two PassedBytes ×8 ÷ its length.
	OfferedBytes uint64 `json:"offered_bytes"`
	PassedBytes  uint64 `json:"passed_bytes"`
	// The queueing delay of the frames that left the rate queue for the
	// link (the sojourn from entering the queue to starting on the link;
	// frames CoDel dropped are not counted), exact on the direction's
	// clock: their number, their sum, the largest, and a histogram with
	// buckets QueueDelayBucketBound (QueueDelayQuantile reads it; the
	// difference of two snapshots is the histogram of the interval).
	QueueDelayCount uint64                    `json:"queue_delay_count"`
	QueueDelaySum   time.Duration             `json:"queue_delay_sum_ns"`
	QueueDelayMax   time.Duration             `json:"queue_delay_max_ns"`
	QueueDelayHist  [QueueDelayBuckets]uint64 `json:"queue_delay_hist,omitzero"`
	// QueueFrameNanos and QueueByteNanos integrate the rate queue's
	// length over time (frames × nanoseconds, bytes × nanoseconds), up to
	// the moment of the snapshot: the mean length over an interval is the
	// difference of two ÷ its length in nanoseconds.
	QueueFrameNanos float64 `json:"queue_frame_ns"`
	QueueByteNanos  float64 `json:"queue_byte_ns"`
}

// QueueDelayBuckets is the number of buckets of Stats.QueueDelayHist:
// below 1.024 µs, then eight a power of two up to 2^34 ns (17 s), then
// one open-ended; a bucket spans at most 12.5 % of its values.
const QueueDelayBuckets = 1 + 24*8 + 1

// queueDelayBucket returns the bucket of a sojourn of ns nanoseconds.
func queueDelayBucket(ns int64) int {
	if ns < 1024 {
		return 0
	}
	e := bits.Len64(uint64(ns)) - 1 // 2^e <= ns < 2^(e+1), e >= 10
	sub := int(ns>>(e-3)) & 7
	return min(1+(e-10)*8+sub, QueueDelayBuckets-1)
}

// QueueDelayBucketBound returns the upper bound of bucket i (exclusive);
// the last bucket's is the largest Duration.
func QueueDelayBucketBound(i int) time.Duration {
	switch {
	case i <= 0:
		return 1024
	case i >= QueueDelayBuckets-1:
		return math.MaxInt64
	}
	e, sub := (i-1)/8+10, (i-1)%8
	return time.Duration(int64(8+sub+1) << (e - 3))
}

// queueDelayLower returns the lower bound of bucket i.
func queueDelayLower(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	return QueueDelayBucketBound(i - 1)
}

// QueueDelayQuantile returns the q-quantile (0 < q <= 1) of the sojourns a
// histogram counts, interpolated within its bucket; 0 for an empty one.
// The open-ended last bucket answers with its lower bound.
func QueueDelayQuantile(hist [QueueDelayBuckets]uint64, q float64) time.Duration {
	var total uint64
	for _, n := range hist {
		total += n
	}
	if total == 0 || q <= 0 {
		return 0
	}
	rank := q * float64(total)
	var below float64
	for i, n := range hist {
		if n == 0 {
			continue
		}
		if below+float64(n) >= rank {
			lo := queueDelayLower(i)
			if i == QueueDelayBuckets-1 {
				return lo
			}
			hi := QueueDelayBucketBound(i)
			frac := (rank - below) / float64(n)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		below += float64(n)
	}
	return queueDelayLower(QueueDelayBuckets - 1)
}

// countSojourn counts a frame that waited d in the rate queue.
func (s *Stats) countSojourn(d int64) {
	d = max(d, 0)
	s.QueueDelayCount++
	s.QueueDelaySum += time.Duration(d)
	s.QueueDelayMax = max(s.QueueDelayMax, time.Duration(d))
	s.QueueDelayHist[queueDelayBucket(d)]++
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
