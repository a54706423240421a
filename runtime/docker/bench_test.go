package docker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/runtime"
)

// benchWorkers is the bounded parallelism of the benchmark, as deploy's
// default worker pool.
const benchWorkers = 4

// BenchmarkCreateDelete creates n nodes with benchWorkers workers, then
// deletes them the same way, and reports the seconds each phase took (per
// iteration; run with -benchtime=1x). The node image is built before the
// clock starts, as deploy builds it before starting its workers. The issue's
// goal is 100 docker nodes deployed in < 90 s.
//
//	go test -run '^$' -bench CreateDelete -benchtime 1x ./runtime/docker/
func BenchmarkCreateDelete(b *testing.B) {
	for _, n := range []int{10, 50, 100} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			e := needEngine(b)
			rt := e.runtime(b, e.bin)
			ctx := context.Background()
			if _, err := rt.EnsureImage(ctx); err != nil {
				b.Fatalf("EnsureImage: %v", err)
			}
			var createTotal, deleteTotal time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				specs := make([]runtime.NodeSpec, n)
				for j := range specs {
					specs[j] = e.spec(fmt.Sprintf("i%dn%d", i, j))
				}
				nodes := make([]runtime.Node, n)
				start := time.Now()
				err := pool(n, func(j int) error {
					var err error
					nodes[j], err = rt.Create(ctx, specs[j])
					return err
				})
				createTotal += time.Since(start)
				if err != nil {
					b.Fatalf("create: %v", err)
				}
				start = time.Now()
				err = pool(n, func(j int) error { return rt.Delete(ctx, nodes[j]) })
				deleteTotal += time.Since(start)
				if err != nil {
					b.Fatalf("delete: %v", err)
				}
			}
			b.StopTimer()
			e.assertNothingLeft(b)
			b.ReportMetric(createTotal.Seconds()/float64(b.N), "create-s")
			b.ReportMetric(deleteTotal.Seconds()/float64(b.N), "delete-s")
			b.ReportMetric((createTotal+deleteTotal).Seconds()/float64(b.N*n), "s/node")
		})
	}
}

// pool runs fn(0..n-1) on benchWorkers goroutines and returns the first
// error.
func pool(n int, fn func(int) error) error {
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := fn(j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for j := range n {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	return firstErr
}
