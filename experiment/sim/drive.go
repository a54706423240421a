package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/netlab/netlab/clock"
)

// maxRounds bounds the rounds of frame carrying and application turns at
// one instant, and maxFrames the frames carried: more means something
// keeps busy without time passing, typically a flow of a Duration on a
// path with neither rate nor delay, which is infinitely fast on a virtual
// clock.
// They are Lab fields (tests lower them).
const (
	defaultMaxRounds = 1 << 20
	defaultMaxFrames = 1 << 20
)

// Run advances the virtual time by d; see RunUntil.
func (l *Lab) Run(d time.Duration) error { return l.RunUntil(l.clk.Now().Add(d)) }

// RunUntil advances the virtual time to t. At each instant it carries every
// frame waiting on a wire to the other end (or ends) of it, gives every
// application its turn, and repeats until nothing moves; then it jumps to
// the next timer (the stacks', the impairments', the applications' own),
// never past t. Nodes, wires and applications always take their turn in
// the same order (plan order, then start order), so a run is
// reproducible. A t before Now does nothing.
func (l *Lab) RunUntil(t time.Time) error {
	_, err := l.run(t, nil)
	return err
}

// RunFlows runs until every flow of every batch given to Flows has
// finished and every connection of a recording sink has ended (so that the
// reports and records are final), or until limit. It reports whether
// everything finished.
func (l *Lab) RunFlows(limit time.Time) (bool, error) {
	return l.run(limit, l.quiet)
}

// run is the driver loop; it stops early, reporting true, when stop (if
// not nil) holds at a quiet instant.
func (l *Lab) run(t time.Time, stop func() bool) (bool, error) {
	if l.closed {
		return false, ErrClosed
	}
	if l.err != nil {
		return false, l.err
	}
	if l.running {
		return false, errors.New("sim: Run called from inside Run (from a function given to At?)")
	}
	l.running = true
	defer func() { l.running = false }()
	for {
		if l.closed {
			return false, ErrClosed // by a function given to At
		}
		if err := l.settle(); err != nil {
			l.err = err
			return false, err
		}
		if stop != nil && stop() {
			return true, nil
		}
		next, ok := l.clk.Next()
		if !ok || next.After(t) {
			l.clk.AdvanceTo(t)
			return stop != nil && stop(), nil
		}
		l.clk.AdvanceTo(next)
	}
}

// At arranges for f to run at virtual time t (at once, in the next Run,
// if t has passed), on the goroutine that drives the lab, between timer
// events: f may change the lab (SetImpairment, SetDown, StartApp, Flows,
// reading Impairments) but must not call Run, RunUntil or RunFlows.
func (l *Lab) At(t time.Time, f func()) (clock.Timer, error) {
	if l.closed {
		return nil, ErrClosed
	}
	return l.clk.AfterFunc(max(t.Sub(l.clk.Now()), 0), f), nil
}

// settle carries frames and runs the applications until nothing moves.
func (l *Lab) settle() error {
	frames := 0
	for range l.maxRounds {
		moved := l.carry()
		busy := l.poll()
		if moved == 0 && !busy {
			return nil
		}
		if frames += moved; frames > l.maxFrames {
			break
		}
	}
	return fmt.Errorf("sim: at %v the lab does not settle (%d frames carried without time passing): "+
		"is there a path with neither rate nor delay? It is infinitely fast on a virtual clock", l.clk.Now().Sub(l.opts.Epoch), frames)
}

// carry moves the frames every pipe endpoint sent to the other end of its
// wire, in wire order, and returns how many it moved.
func (l *Lab) carry() int {
	moved := 0
	for _, w := range l.wires {
		for i, e := range w.eps {
			frames := e.Take()
			if len(frames) == 0 {
				continue
			}
			moved += len(frames)
			if len(w.eps) == 2 {
				to := w.eps[1-i]
				for _, f := range frames {
					to.Inject(f)
				}
				continue
			}
			// A segment floods every frame to the other members; each
			// gets its own copy, since a stack may change what it
			// receives (a router's TTL).
			for _, f := range frames {
				for j, to := range w.eps {
					if j != i {
						to.Inject(append([]byte(nil), f...))
					}
				}
			}
		}
	}
	return moved
}

// poll gives every application its turn and reports whether any did
// something.
func (l *Lab) poll() bool {
	busy := false
	for _, n := range l.nodes {
		for _, a := range n.apps {
			if a.poll(l) {
				busy = true
			}
		}
		for _, b := range n.batches {
			for _, f := range b.flows {
				if f.poll(l) {
					busy = true
				}
			}
		}
	}
	return busy
}

// quiet reports whether every flow has finished and every connection of a
// recording sink has ended.
func (l *Lab) quiet() bool {
	for _, n := range l.nodes {
		for _, b := range n.batches {
			for _, f := range b.flows {
				if !f.done {
					return false
				}
			}
		}
		for _, a := range n.apps {
			if a.spec.Record > 0 && len(a.live) > 0 {
				return false
			}
		}
	}
	return true
}
