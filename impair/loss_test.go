package impair

import (
	"math"
	"testing"

	"github.com/netlab/netlab/clock"
)

// lossSequence offers n frames to a Direction with cfg (no delay, so frames
// leave at once) and returns which were lost.
func lossSequence(t *testing.T, cfg Config, n int) []bool {
	t.Helper()
	lost := make([]bool, n)
	sent := 0
	d := New(cfg, clock.NewManual(clock.Epoch), func([]byte) { sent++ })
	frame := udpFrame(1, 100, 0)
	for i := range n {
		before := sent
		d.Send(frame)
		lost[i] = sent == before
	}
	s := d.Stats()
	if s.DroppedLoss != uint64(count(lost)) {
		t.Errorf("DroppedLoss = %d, want %d", s.DroppedLoss, count(lost))
	}
	checkConservation(t, s)
	return lost
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// runLengths returns how many loss runs (maximal stretches of consecutive
// losses) of each length there are; index 0 holds the number of runs.
func runLengths(lost []bool, maxLen int) []int {
	h := make([]int, maxLen+2)
	run := 0
	flush := func() {
		if run > 0 {
			h[0]++
			h[min(run, maxLen+1)]++
		}
		run = 0
	}
	for _, l := range lost {
		if l {
			run++
		} else {
			flush()
		}
	}
	flush()
	return h
}

// markovLoss is a loss process: a Markov chain with transition matrix T that
// moves once per frame, the frame then lost with probability loss[j] in the
// new state j.
type markovLoss struct {
	T    [][]float64
	loss []float64
}

func (m markovLoss) stationary() []float64 {
	n := len(m.T)
	pi := make([]float64, n)
	for i := range pi {
		pi[i] = 1 / float64(n)
	}
	for range 100_000 {
		next := make([]float64, n)
		for i := range n {
			for j := range n {
				next[j] += pi[i] * m.T[i][j]
			}
		}
		pi = next
	}
	return pi
}

// lossRate is the long-run fraction of frames lost.
func (m markovLoss) lossRate() float64 {
	var r float64
	for j, p := range m.stationary() {
		r += p * m.loss[j]
	}
	return r
}

// runPMF returns P(a loss run has length k) for k = 1..maxLen: a run starts
// in state j with weight Σ_i π_i (1-loss_i) T_ij loss_j and goes on through
// M_ij = T_ij loss_j.
func (m markovLoss) runPMF(maxLen int) []float64 {
	n := len(m.T)
	pi := m.stationary()
	v := make([]float64, n)
	for i := range n {
		for j := range n {
			v[j] += pi[i] * (1 - m.loss[i]) * m.T[i][j] * m.loss[j]
		}
	}
	atLeast := make([]float64, maxLen+2)
	total := sum(v)
	for k := 1; k <= maxLen+1; k++ {
		atLeast[k] = sum(v) / total
		next := make([]float64, n)
		for i := range n {
			for j := range n {
				next[j] += v[i] * m.T[i][j] * m.loss[j]
			}
		}
		v = next
	}
	pmf := make([]float64, maxLen+1)
	for k := 1; k <= maxLen; k++ {
		pmf[k] = atLeast[k] - atLeast[k+1]
	}
	return pmf
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

func geChain(l Loss) markovLoss {
	return markovLoss{
		T:    [][]float64{{1 - l.P, l.P}, {l.R, 1 - l.R}},
		loss: []float64{l.OneMinusK, l.OneMinusH},
	}
}

func stateChain(l Loss) markovLoss {
	return markovLoss{
		T: [][]float64{
			{1 - l.P13 - l.P14, 0, l.P13, l.P14},
			{0, 1 - l.P23, l.P23, 0},
			{l.P31, l.P32, 1 - l.P31 - l.P32, 0},
			{1, 0, 0, 0},
		},
		loss: []float64{0, 0, 1, 1},
	}
}

func TestRandomLoss(t *testing.T) {
	const n = 100_000
	for _, p := range []float64{0.001, 0.01, 0.1, 0.5, 1} {
		t.Run("", func(t *testing.T) {
			lost := lossSequence(t, Config{Loss: RandomLoss(p, 0), Seed: 10}, n)
			within(t, "loss rate", float64(count(lost))/n, p, binomialTol(p, n))
			if p == 1 {
				return
			}
			// Independent: the runs are geometric.
			runs := runLengths(lost, 3)
			if runs[0] > 100 {
				within(t, "P(run = 1)", float64(runs[1])/float64(runs[0]), 1-p, binomialTol(1-p, runs[0])+0.005)
			}
		})
	}
}

// TestRandomLossCorrelation: netem's correlated loss clusters losses, and
// (its known weakness) lowers the effective rate, since the correlated
// value is no longer uniform.
func TestRandomLossCorrelation(t *testing.T) {
	const n, p = 200_000, 0.1
	lost := lossSequence(t, Config{Loss: RandomLoss(p, 0.5), Seed: 11}, n)
	rate := float64(count(lost)) / n
	var both, prev int
	for i := 1; i < n; i++ {
		if lost[i-1] {
			prev++
			if lost[i] {
				both++
			}
		}
	}
	cond := float64(both) / float64(prev)
	if cond < 1.5*rate {
		t.Errorf("P(loss | previous lost) = %.4f, want well above P(loss) = %.4f", cond, rate)
	}
	if rate >= p {
		t.Errorf("loss rate %.4f, want below %v (netem's correlation narrows the draws)", rate, p)
	}
}

// TestBurstLoss compares the loss rate and the distribution of loss-run
// lengths of the Gilbert-Elliott and 4-state models with the theory of
// their Markov chains.
func TestBurstLoss(t *testing.T) {
	const n, maxLen = 300_000, 6
	for _, tc := range []struct {
		name  string
		loss  Loss
		chain markovLoss
	}{
		{"gemodel bernoulli", GELoss(0.02), geChain(GELoss(0.02))},
		{"gemodel simple gilbert", GELoss(0.01, 0.3), geChain(GELoss(0.01, 0.3))},
		{"gemodel gilbert", GELoss(0.01, 0.3, 0.8), geChain(GELoss(0.01, 0.3, 0.8))},
		{"gemodel full", GELoss(0.02, 0.25, 0.7, 0.005), geChain(GELoss(0.02, 0.25, 0.7, 0.005))},
		{"state bernoulli", StateLoss(0.02), stateChain(StateLoss(0.02))},
		{"state two", StateLoss(0.01, 0.3), stateChain(StateLoss(0.01, 0.3))},
		{"state full", StateLoss(0.02, 0.2, 0.3, 0.4, 0.005), stateChain(StateLoss(0.02, 0.2, 0.3, 0.4, 0.005))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost := lossSequence(t, Config{Loss: tc.loss, Seed: 12}, n)
			wantRate := tc.chain.lossRate()
			pmf := tc.chain.runPMF(maxLen)
			var meanRun float64
			for k := 1; k <= maxLen; k++ {
				meanRun += float64(k) * pmf[k]
			}
			// Bursts make the count noisier than Bernoulli's: widen by the
			// mean run length.
			tol := 4 * math.Sqrt(wantRate*(1-wantRate)*2*meanRun/n)
			within(t, "loss rate", float64(count(lost))/n, wantRate, tol)
			runs := runLengths(lost, maxLen)
			t.Logf("rate %.5f want %.5f; runs %d; pmf %.4f", float64(count(lost))/n, wantRate, runs[0], pmf[1:5])
			for k := 1; k <= 4; k++ {
				got := float64(runs[k]) / float64(runs[0])
				within(t, "P(run = "+string(rune('0'+k))+")", got, pmf[k], 4*math.Sqrt(pmf[k]*(1-pmf[k])/float64(runs[0]))+0.002)
			}
		})
	}
}

func TestLossDefaults(t *testing.T) {
	if got, want := StateLoss(0.1), (Loss{Model: LossState, P13: 0.1, P31: 0.9, P23: 1}); got != want {
		t.Errorf("StateLoss(0.1) = %+v, want %+v", got, want)
	}
	if got, want := StateLoss(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), (Loss{Model: LossState, P13: 0.1, P31: 0.2, P32: 0.3, P23: 0.4, P14: 0.5}); got != want {
		t.Errorf("StateLoss(5 values) = %+v, want %+v", got, want)
	}
	if got, want := GELoss(0.1), (Loss{Model: LossGE, P: 0.1, R: 0.9, OneMinusH: 1}); got != want {
		t.Errorf("GELoss(0.1) = %+v, want %+v", got, want)
	}
	if got, want := GELoss(0.1, 0.2, 0.3, 0.4, 0.5), (Loss{Model: LossGE, P: 0.1, R: 0.2, OneMinusH: 0.3, OneMinusK: 0.4}); got != want {
		t.Errorf("GELoss(4 values) = %+v, want %+v", got, want)
	}
}
