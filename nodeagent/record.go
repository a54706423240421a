package nodeagent

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/netlab/netlab/trace"
)

// DefaultTraceMaxBytes bounds one node's recorded trace: the current file
// and one rotated file hold at most this much together.
const DefaultTraceMaxBytes = 64 << 20

// recorder writes a node's probe events as JSON lines, off the stack's
// path: it reads from a tracer subscription, so a slow disk loses events
// (counted as "lost" lines) rather than slowing TCP down.
//
// The current file and the rotated one hold at most max bytes together:
// each holds at most half. An event is encoded before it is written, so
// its exact size is known: when it would take the current file past half
// the limit, the file becomes the rotated part (replacing the previous
// one) and a new one starts, so lines are never torn. An event larger
// than half the limit cannot be kept and counts as lost.
type recorder struct {
	path string
	max  int64
	sub  *subscription
	t    *tracer
	wg   sync.WaitGroup
}

func startRecorder(t *tracer, path string, max int64, b *recordBudget) (*recorder, error) {
	if max <= 0 {
		max = DefaultTraceMaxBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("trace directory: %w", err)
	}
	r := &recorder{path: path, max: max, t: t, sub: t.subscribeWithin(trace.Selector{}, b)}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// recordFlushEvery bounds how long a recorded event may wait in the
// recorder's buffer before it is in the file.
const recordFlushEvery = 20 * time.Millisecond

// part is one open trace file and what it holds.
type part struct {
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes in the file and its buffer
}

func (r *recorder) run() {
	defer r.wg.Done()
	defer func() {
		for range r.sub.ch { // whatever happened, never leave the tracer blocked on us
		}
	}()
	half := r.max / 2
	p, err := r.open(half)
	if err != nil {
		return
	}
	var line []byte
	write := func(e trace.Event) error {
		line = append(trace.AppendJSON(line[:0], &e), '\n')
		n := int64(len(line))
		if n > half {
			r.sub.dropped.Add(1) // reported by the next "lost" line
			return nil
		}
		if p.size+n > half {
			if err := r.rotate(p); err != nil {
				return err
			}
		}
		if _, err := p.w.Write(line); err != nil {
			return err
		}
		p.size += n
		return nil
	}
	var lost, skipped uint64
	var last int64
	// What is written reaches the file at most recordFlushEvery after it
	// was written, or when the buffer fills: not after every burst, which
	// under load was a write(2) every few events. The timer runs only
	// while something waits in the buffer, so an idle node costs nothing.
	flush := time.NewTimer(recordFlushEvery)
	flush.Stop()
	armed := false
loop:
	for {
		select {
		case e, ok := <-r.sub.ch:
			if !ok {
				break loop
			}
			if m, ok := r.sub.lostSince(&lost, e.TimeUS); ok {
				if write(m) != nil {
					break loop
				}
			}
			if m, ok := r.sub.skippedSince(&skipped, e.TimeUS); ok {
				if write(m) != nil {
					break loop
				}
			}
			if write(e) != nil {
				break loop
			}
			last = e.TimeUS
			if !armed && p.w.Buffered() > 0 {
				flush.Reset(recordFlushEvery)
				armed = true
			}
		case <-flush.C:
			armed = false
			if p.w.Flush() != nil {
				break loop
			}
		}
	}
	flush.Stop()
	if m, ok := r.sub.lostSince(&lost, last); ok {
		write(m)
	}
	if m, ok := r.sub.skippedSince(&skipped, last); ok {
		write(m)
	}
	p.w.Flush()
	p.f.Close()
}

// open opens the current file to append to it. A file left bigger than
// half the limit (by an earlier agent with a larger one) is rotated at
// once, and a rotated part still bigger is removed: the cap holds from the
// start.
func (r *recorder) open(half int64) (*part, error) {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &part{f: f, w: bufio.NewWriterSize(f, int(min(256<<10, max(half, 4096))))}
	if fi, err := f.Stat(); err == nil {
		p.size = fi.Size()
	}
	if p.size > half {
		if err := r.rotate(p); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(trace.RotatedPath(r.path)); err == nil && fi.Size() > half {
		os.Remove(trace.RotatedPath(r.path))
	}
	return p, nil
}

// rotate makes the current file the rotated part and starts a new one.
func (r *recorder) rotate(p *part) error {
	if err := p.w.Flush(); err != nil {
		return err
	}
	p.f.Close()
	if err := os.Rename(r.path, trace.RotatedPath(r.path)); err != nil {
		return err
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	p.f, p.size = f, 0
	p.w.Reset(f)
	return nil
}

// stop ends the recording and flushes it.
func (r *recorder) stop() {
	r.t.unsubscribe(r.sub)
	r.wg.Wait()
}
