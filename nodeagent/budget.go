package nodeagent

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/wire"
	"github.com/netlab/netlab/trace"
)

// DefaultTraceEventsPerSecond is how many ordinary segment events (see
// routine) an agent's recorders write per second at most, all its nodes
// together: a lab at teaching rates (100 Mbit/s is about 20,000 a second,
// both ends) is recorded whole, and one at gigabits costs the agent a few
// per cent of a core instead of half its time.
const DefaultTraceEventsPerSecond = 50_000

// budgetWindow is how often a recordBudget is refilled: the recorded
// trace of a busy lab holds the first events of every window.
const budgetWindow = 100 * time.Millisecond

// recordBudget bounds the ordinary segment events an agent's recorders
// write: at most per each budgetWindow, the rest left out and counted (a
// KindLost marker with Reason trace.LostBudget). Everything else is always
// recorded: handshakes, FINs and resets, retransmissions, state changes,
// timers and drops. A nil *recordBudget allows everything.
type recordBudget struct {
	left atomic.Int64
	per  int64
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// newRecordBudget refills perSecond/10 every budgetWindow until close; a
// perSecond below 0 means no budget (nil).
func newRecordBudget(perSecond int) *recordBudget {
	if perSecond < 0 {
		return nil
	}
	if perSecond == 0 {
		perSecond = DefaultTraceEventsPerSecond
	}
	b := &recordBudget{per: max(int64(perSecond)*int64(budgetWindow)/int64(time.Second), 1), stop: make(chan struct{})}
	b.left.Store(b.per)
	b.wg.Go(func() {
		t := time.NewTicker(budgetWindow)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.left.Store(b.per)
			case <-b.stop:
				return
			}
		}
	})
	return b
}

// allows reports whether e may be recorded, taking one from the budget
// when e is routine.
func (b *recordBudget) allows(e *trace.Event) bool {
	if b == nil || !routine(e) {
		return true
	}
	return b.left.Add(-1) >= 0
}

func (b *recordBudget) close() {
	if b != nil {
		b.once.Do(func() { close(b.stop) })
		b.wg.Wait()
	}
}

// routine reports whether e is an ordinary segment of an established
// connection in or out: data or a pure ACK, not retransmitted, with no
// SYN, FIN, RST, ECN flag or SACK block, not a zero window, not an ACK
// arriving while data is outstanding (the ACKs a sender counts, duplicate
// ones included: with batch ACKs they are few), while congestion control
// is in its open state: everything around a loss or a closed window is
// recorded.
func routine(e *trace.Event) bool {
	if (e.Kind != trace.KindIn && e.Kind != trace.KindOut) || e.Retrans || e.State != "ESTABLISHED" ||
		e.SACK > 0 || (e.CAState != "" && e.CAState != "open") || e.Window == 0 ||
		(e.Kind == trace.KindIn && e.Len == 0 && e.SndNxt != e.SndUna) {
		return false
	}
	if !strings.Contains(e.Flags, ".") {
		return false // no ACK
	}
	for _, f := range e.Flags {
		if f != '.' && f != 'P' {
			return false
		}
	}
	return true
}

// routineProbe is routine for the stack's event, before it is converted.
func routineProbe(e *stack.ProbeEvent) bool {
	return (e.Kind == stack.ProbeSegmentIn || e.Kind == stack.ProbeSegmentOut) && !e.Retrans &&
		e.State == stack.StateEstablished && e.SACKBlocks == 0 && e.CAState == stack.CAOpen &&
		e.Flags&wire.TCPFlagACK != 0 && e.Flags&^(wire.TCPFlagACK|wire.TCPFlagPSH) == 0 && e.Window != 0 &&
		!(e.Kind == stack.ProbeSegmentIn && e.DataLen == 0 && e.SndNxt != e.SndUna)
}

// spent reports whether nothing is left of the budget until its refill.
func (b *recordBudget) spent() bool { return b != nil && b.left.Load() <= 0 }
