package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/check"
)

// background runs the steps that run in the background (steps of
// labs.BackgroundActions with `background: true`) and waits for them.
type background struct {
	inst   *Instance
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	steps  map[string]*bgStep
	order  []string
}

type bgStep struct {
	done chan struct{}
	res  any
	err  error
	out  strings.Builder // its transcript, added to the run's when waited for
	seen bool            // waited for
}

func (inst *Instance) background(ctx context.Context) *background {
	ctx, cancel := context.WithCancel(ctx)
	return &background{inst: inst, ctx: ctx, cancel: cancel, steps: map[string]*bgStep{}}
}

// start runs step st in a goroutine of its own.
func (b *background) start(st labs.Step, sub *submission) {
	s := &bgStep{done: make(chan struct{})}
	b.mu.Lock()
	b.steps[st.Name] = s
	b.order = append(b.order, st.Name)
	b.mu.Unlock()
	go func() {
		defer close(s.done)
		s.res, s.err = b.inst.runStep(b.ctx, st, sub, &s.out)
	}()
}

// wait is the `wait` step: it waits for the background step its args name
// (within the step's bound) and records that step's result.
func (b *background) wait(st labs.Step, out *strings.Builder, ev *check.Evidence) (any, error) {
	name, _ := st.Args["step"].(string)
	b.mu.Lock()
	s, ok := b.steps[name]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("wait: %q is no step started in the background before it", name)
	}
	ctx := b.ctx
	if st.Within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Within)
		defer cancel()
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return map[string]any{"ended": false}, nil
	}
	if err := b.collect(name, s, out, ev); err != nil {
		return nil, err
	}
	return map[string]any{"ended": true}, nil
}

// collect records a finished background step, once.
func (b *background) collect(name string, s *bgStep, out *strings.Builder, ev *check.Evidence) error {
	if s.seen {
		return nil
	}
	s.seen = true
	out.WriteString(s.out.String())
	if s.err != nil {
		return s.err
	}
	ev.Steps[name] = s.res
	return nil
}

// waitAll waits for every background step not waited for yet, in the
// order they started, and records them; it returns the first one's error
// with its name.
func (b *background) waitAll(out *strings.Builder, ev *check.Evidence) (string, error) {
	defer b.cancel()
	for _, name := range b.order {
		s := b.steps[name]
		select {
		case <-s.done:
		case <-b.ctx.Done():
			<-s.done // its context ended too: it returns
		}
		if err := b.collect(name, s, out, ev); err != nil {
			return name, err
		}
	}
	return "", nil
}

// stop ends the background steps (the run failed) and waits for them.
func (b *background) stop() {
	b.cancel()
	for _, s := range b.steps {
		<-s.done
	}
}
