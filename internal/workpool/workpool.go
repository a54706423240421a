// Package workpool runs a numbered set of jobs on a bounded number of
// goroutines, stopping at the first error: deploy, wiring and the node
// agent use it for their parallel steps.
package workpool

import (
	"context"
	"sync"
)

// ForEach calls fn(ctx, i) for i in [0, n) from at most workers goroutines.
// It stops handing out work at the first error (or when ctx is done) and
// returns that error once the running calls have returned.
func ForEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next == n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				err := ctx.Err()
				if err == nil {
					err = fn(ctx, i)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
