package nodeagent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// DefaultTraceMaxBytes bounds one node's recorded trace: the current file
// and one rotated file hold at most this much together.
const DefaultTraceMaxBytes = 64 << 20

// TraceFile is where a node's probe stream is recorded in the lab
// directory; the previous part is TraceFile + ".1".
func TraceFile(labDir, node string) string {
	return filepath.Join(labDir, "traces", node+".jsonl")
}

// recorder writes a node's probe events as JSON lines, off the stack's
// path: it reads from a tracer subscription, so a slow disk loses events
// (counted as "lost" lines) rather than slowing TCP down. When the file
// reaches half the limit it becomes .1 and a new one starts.
type recorder struct {
	path string
	max  int64
	ch   chan TraceEvent
	t    *tracer
	wg   sync.WaitGroup
}

func startRecorder(t *tracer, path string, max int64) (*recorder, error) {
	if max <= 0 {
		max = DefaultTraceMaxBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("trace directory: %w", err)
	}
	r := &recorder{path: path, max: max, t: t, ch: t.subscribe()}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func (r *recorder) run() {
	defer r.wg.Done()
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		for range r.ch {
		}
		return
	}
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	w := bufio.NewWriterSize(f, 256<<10)
	enc := json.NewEncoder(w)
	lost := r.t.dropped.Load()
	for e := range r.ch {
		if d := r.t.dropped.Load(); d != lost {
			enc.Encode(TraceEvent{Kind: "lost", Len: int(d - lost), TimeUS: e.TimeUS})
			lost = d
		}
		before := w.Buffered()
		enc.Encode(e)
		size += int64(w.Buffered() - before)
		if len(r.ch) == 0 {
			w.Flush()
		}
		if size >= r.max/2 {
			w.Flush()
			f.Close()
			os.Rename(r.path, r.path+".1")
			if f, err = os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644); err != nil {
				for range r.ch {
				}
				return
			}
			w.Reset(f)
			size = 0
		}
	}
	w.Flush()
	f.Close()
}

// stop ends the recording and flushes it.
func (r *recorder) stop() {
	r.t.unsubscribe(r.ch)
	r.wg.Wait()
}
