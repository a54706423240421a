package impair

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNetsim is a netsim-style golden table (smoltcp's tests/netsim.rs): a
// constant-rate sender offers 12 Mbit/s of 1500-byte frames for 5 s to a
// 10 Mbit/s link, over a grid of loss × delay × queue limit, and the
// counters, latency percentiles and goodput are checked against
// testdata/netsim.golden (rewritten with -update; review the diff).
func TestNetsim(t *testing.T) {
	const (
		rate     = 10_000_000
		overhead = 24
		size     = 1500
		offered  = 12_000_000
		duration = 5 * time.Second
	)
	gap := time.Duration(float64((size+overhead)*8) / offered * float64(time.Second))
	var b strings.Builder
	b.WriteString("# 12 Mbit/s of 1500-byte frames for 5 s into a 10 Mbit/s link (overhead 24),\n")
	b.WriteString("# jitter delay/10 uniform, netem order, seed 1. Latency percentiles in ms.\n")
	fmt.Fprintf(&b, "%6s %6s %5s | %6s %6s %5s %5s %5s %4s | %8s %8s | %7s\n",
		"loss", "delay", "limit", "offer", "passed", "dloss", "dqueue", "late", "maxq", "p50", "p99", "Mbit/s")
	for _, loss := range []float64{0, 0.01, 0.05} {
		for _, delay := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond} {
			for _, limit := range []int{10, 100, 1000} {
				cfg := Config{
					Rate: rate, Overhead: overhead, Limit: limit,
					Delay: delay, Jitter: delay / 10, Loss: RandomLoss(loss, 0), Seed: 1,
				}
				h := newHarness(t, cfg)
				n := 0
				for h.now() < duration {
					h.send(uint64(n), size)
					n++
					h.clk.Advance(gap)
				}
				h.drain()
				s := h.d.Stats()
				checkConservation(t, s)
				lat := h.latencies()
				slices.Sort(lat)
				ms := func(q int) float64 { return float64(lat[len(lat)*q/100]) / 1e6 }
				goodput := float64(len(h.got)*size*8) / h.got[len(h.got)-1].at.Seconds() / 1e6
				fmt.Fprintf(&b, "%5.1f%% %6v %5d | %6d %6d %5d %5d %5d %4d | %8.3f %8.3f | %7.3f\n",
					loss*100, delay, limit, s.Offered, s.Passed, s.DroppedLoss, s.DroppedQueue, s.Late, s.MaxQueueLen,
					ms(50), ms(99), goodput)
			}
		}
	}
	got := b.String()
	path := filepath.Join("testdata", "netsim.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./impair -run TestNetsim -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("netsim table line %d (-want +got):\n- %s\n+ %s", i+1, w, g)
			}
		}
	}
}
