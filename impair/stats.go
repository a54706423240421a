package impair

import (
	"fmt"
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
