package runner

import (
	"fmt"
	"math"
	goruntime "runtime"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/metrics"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
)

// Limits are the health checks: a trial beyond one is marked invalid,
// its numbers the machine's, not the network's.
type Limits struct {
	// MaxCPU is the share of the machine's cores the agents may use.
	MaxCPU float64 `json:"max_cpu"`
	// MinRate is the least share of its rate a backlogged bottleneck must
	// pass.
	MinRate float64 `json:"min_rate"`
	// MaxStartSkew is the latest a flow may start.
	MaxStartSkew time.Duration `json:"max_start_skew"`
	// MaxTimerLate is the most the bottleneck may hand out a frame after
	// the time it was due, at the 99th percentile: beyond it the machine's
	// timers, not the emulated link, shape the delays.
	MaxTimerLate time.Duration `json:"max_timer_late"`
}

// DefaultLimits are the limits of Options' zero value.
var DefaultLimits = Limits{MaxCPU: 0.9, MinRate: 0.9, MaxStartSkew: 100 * time.Millisecond, MaxTimerLate: 2 * time.Millisecond}

// received returns what f's sink read, as a cumulative counter over the
// trial's time (0 when it accepted the connection).
func (r *trialResult) received(f *flow) []metrics.Sample {
	if f.rec == nil {
		return nil
	}
	base := f.rec.Accepted.Sub(r.at)
	out := make([]metrics.Sample, 0, len(f.rec.Samples)+1)
	out = append(out, metrics.Sample{T: base})
	for _, s := range f.rec.Samples {
		out = append(out, metrics.Sample{T: base + s.At, Bytes: s.Bytes})
	}
	return out
}

// complete reports whether f delivered everything it sent, intact: the
// same bytes and digest at both ends, every response whole and right, or
// for a flow cut after its drain an intact prefix of what it wrote.
func (f *flow) complete() bool {
	if f.rep.Error != "" || f.rep.End.IsZero() || f.rec == nil {
		return false
	}
	if f.rep.Cut {
		return f.rec.Bytes <= f.rep.Bytes && f.rec.SHA256 == f.digest()
	}
	if !f.rec.EOF || f.rec.Bytes != f.rep.Bytes {
		return false
	}
	if f.spec.Requests > 0 {
		if len(f.rep.Queries) != f.spec.Requests {
			return false
		}
		for _, q := range f.rep.Queries {
			if !q.OK {
				return false
			}
		}
		return true
	}
	return f.rec.SHA256 == f.rep.SHA256
}

// digest is the pattern's digest for the bytes f's receiver read.
func (f *flow) digest() string {
	if f.prefix == "" {
		f.prefix = nodeagent.PatternDigest(f.rec.Bytes)
	}
	return f.prefix
}

// fct is f's completion time: from connect to the last byte read by its
// receiver; 0 when it did not complete or has no size of its own.
func (f *flow) fct() time.Duration {
	if !f.complete() || f.spec.Bytes == 0 {
		return 0
	}
	return f.rec.Last.Sub(f.rep.Start)
}

// goodput is f's own goodput: over the measured window for flows that send
// for the cell's duration, size ÷ FCT for flows of a size.
func (r *trialResult) goodput(x *experiment.Experiment, f *flow) float64 {
	if f.spec.Requests > 0 {
		if life := f.rep.End.Sub(f.rep.Connected); life > 0 && f.complete() {
			return float64(f.rep.Bytes) * 8 / life.Seconds()
		}
		return math.NaN()
	}
	if f.spec.Bytes > 0 {
		if fct := f.fct(); fct > 0 {
			return float64(f.rec.Bytes) * 8 / fct.Seconds()
		}
		return math.NaN()
	}
	s := r.received(f)
	if len(s) == 0 {
		return 0
	}
	return metrics.Goodput(s, x.Warmup, x.Duration)
}

// measure computes the trial's metrics and health.
func measure(x *experiment.Experiment, r *trialResult, lim Limits) {
	m := map[string]float64{}
	for _, d := range experiment.Metrics {
		m[d.Name] = math.NaN()
	}
	w0, w1 := x.Warmup, x.Duration
	win := (w1 - w0).Seconds()

	var agg, thr float64
	var goodputs, long, rtts, fcts, slows []float64
	var retrans, segs, rtos, fast, spurious, failed float64
	goEnds := 0 // the flows' ends on the Go stack, which count RTOs
	var skew time.Duration
	base := time.Duration(math.MaxInt64)
	var rcts []float64
	for _, f := range r.flows {
		if f.spec.Requests > 0 {
			for _, q := range f.rep.Queries {
				if q.OK && q.Done >= w0 && q.Done <= w1 {
					agg += float64(f.spec.Response)
				}
				if q.OK && f.kind == experiment.KindRR && q.Sent >= w0 {
					rcts = append(rcts, (q.Done - q.Sent).Seconds())
				}
			}
		} else if s := r.received(f); len(s) > 0 {
			agg += metrics.BytesAt(s, w1) - metrics.BytesAt(s, w0)
		}
		if g := r.goodput(x, f); !math.IsNaN(g) {
			goodputs = append(goodputs, g)
			if f.spec.Duration > 0 {
				long = append(long, g)
			}
		}
		if life := f.rep.End.Sub(f.rep.Connected); life > 0 {
			thr += float64(f.rep.BytesSent) * 8 / life.Seconds()
		}
		for _, s := range f.rep.Samples {
			if s.At >= w0 && s.At <= w1 && s.SRTT > 0 {
				rtts = append(rtts, s.SRTT.Seconds())
			}
		}
		if f.rep.MinRTT > 0 {
			base = min(base, f.rep.MinRTT)
		}
		retrans += float64(f.rep.Retrans)
		segs += float64(f.rep.DataSegsOut)
		spurious += float64(f.rep.Spurious)
		if !f.kernelFrom {
			rtos += float64(f.rep.RTOs)
			fast += float64(f.rep.FastRetrans)
			goEnds++
		}
		if f.rec != nil { // the other end's
			retrans += float64(f.rec.Retrans)
			segs += float64(f.rec.DataSegsOut)
			spurious += float64(f.rec.Spurious)
			if !f.kernelTo {
				rtos += float64(f.rec.RTOs)
				fast += float64(f.rec.FastRetrans)
				goEnds++
			}
		}
		if !f.complete() {
			failed++
		}
		skew = max(skew, f.rep.Skew)
	}
	m["rct_p50"] = metrics.Percentile(rcts, 50)
	m["rct_p99"] = metrics.Percentile(rcts, 99)
	qcts, igp := r.incast()
	m["qct_p50"] = metrics.Percentile(qcts, 50)
	m["qct_p99"] = metrics.Percentile(qcts, 99)
	if len(igp) > 0 {
		m["incast_goodput"] = metrics.Summarize(igp).Mean
	}
	m["flows"] = float64(len(r.flows))
	m["flows_failed"] = failed
	m["goodput"] = agg * 8 / win
	m["throughput"] = thr
	if len(long) > 0 {
		goodputs = long // fairness is among the flows that share the whole cell
	}
	m["jain"] = metrics.Jain(goodputs)
	if len(goodputs) > 0 {
		m["flow_goodput_min"] = minOf(goodputs)
	}
	m["jain_1s"] = r.jainPerSecond(x)
	m["rtt_p50"] = metrics.Percentile(rtts, 50)
	m["rtt_p95"] = metrics.Percentile(rtts, 95)
	m["rtt_p99"] = metrics.Percentile(rtts, 99)
	if base < math.MaxInt64 {
		m["rtt_base"] = base.Seconds()
		m["rtt_inflation"] = m["rtt_p50"] / base.Seconds()
	}
	if segs > 0 {
		m["retrans_rate"] = retrans / segs
	}
	m["rtos"], m["fast_retrans"], m["spurious_retrans"] = rtos, fast, spurious
	if goEnds == 0 && len(r.flows) > 0 {
		// The kernel keeps no per-socket count of either.
		m["rtos"], m["fast_retrans"] = math.NaN(), math.NaN()
	}
	m["start_skew_max"] = skew.Seconds()

	var probeRTTs []float64
	for _, p := range r.probes {
		for _, rep := range p.replies {
			if sent := p.start + time.Duration(rep.Seq)*p.interval; !rep.Lost && rep.Err == "" && sent >= w0 {
				probeRTTs = append(probeRTTs, rep.RTT.Seconds())
			}
		}
	}
	m["probe_rtt_p50"] = metrics.Percentile(probeRTTs, 50)
	m["probe_rtt_p99"] = metrics.Percentile(probeRTTs, 99)

	rate := r.measureBottleneck(x, m)
	if rate > 0 {
		for _, f := range r.flows {
			if fct := f.fct(); f.spec.Bytes > 0 && fct > 0 && base < math.MaxInt64 {
				fcts = append(fcts, fct.Seconds())
				f.slowdown = metrics.Slowdown(fct, f.spec.Bytes, base, rate)
				slows = append(slows, f.slowdown)
			}
		}
	} else {
		for _, f := range r.flows {
			if fct := f.fct(); f.spec.Bytes > 0 && fct > 0 {
				fcts = append(fcts, fct.Seconds())
			}
		}
	}
	m["fct_p50"] = metrics.Percentile(fcts, 50)
	m["fct_p99"] = metrics.Percentile(fcts, 99)
	m["slowdown_p50"] = metrics.Percentile(slows, 50)
	m["slowdown_p99"] = metrics.Percentile(slows, 99)

	// Health.
	cores := float64(goruntime.NumCPU())
	if r.cpuWin > 0 {
		m["agent_cpu"] = r.cpu.Seconds() / r.cpuWin.Seconds()
	}
	m["ring_drops"] = float64(r.ring)
	m["agent_mem"] = float64(r.rss)
	if v := m["agent_cpu"]; v > lim.MaxCPU*cores {
		r.why = append(r.why, fmt.Sprintf("the agents used %.2f of the machine's %d cores", v, int(cores)))
	}
	if v := m["rate_achieved"]; v < lim.MinRate {
		r.why = append(r.why, fmt.Sprintf("the bottleneck passed %.0f%% of its configured rate while its queue was full", v*100))
	}
	if skew > lim.MaxStartSkew {
		r.why = append(r.why, fmt.Sprintf("a flow started %v late", skew.Round(time.Millisecond)))
	}
	if v := m["timer_late_p99"]; lim.MaxTimerLate > 0 && v > lim.MaxTimerLate.Seconds() {
		r.why = append(r.why, fmt.Sprintf("the bottleneck handed out 1%% of its frames %v or more after they were due", time.Duration(v*1e9).Round(10*time.Microsecond)))
	}
	if r.ring > 0 {
		r.why = append(r.why, fmt.Sprintf("the kernel dropped %d frames from full AF_PACKET rings", r.ring))
	}
	m["valid"] = 1
	if len(r.why) > 0 {
		m["valid"] = 0
	}
	r.m = m
}

func minOf(xs []float64) float64 {
	v := math.Inf(1)
	for _, x := range xs {
		v = min(v, x)
	}
	return v
}

// incast returns every incast query's completion time (from its first
// request sent to its last response read) in seconds, and its goodput
// (senders × block × 8 ÷ that time); queries with a failed response are
// left out.
func (r *trialResult) incast() (qcts, goodputs []float64) {
	byWorkload := map[int][]*flow{}
	var order []int
	for _, f := range r.flows {
		if f.kind == experiment.KindIncast {
			if byWorkload[f.workload] == nil {
				order = append(order, f.workload)
			}
			byWorkload[f.workload] = append(byWorkload[f.workload], f)
		}
	}
	for _, wi := range order {
		fs := byWorkload[wi]
		for k := range fs[0].spec.Requests {
			var first, last time.Duration
			ok := true
			for i, f := range fs {
				if k >= len(f.rep.Queries) || !f.rep.Queries[k].OK {
					ok = false
					break
				}
				q := f.rep.Queries[k]
				if i == 0 || q.Sent < first {
					first = q.Sent
				}
				last = max(last, q.Done)
			}
			if !ok || last <= first {
				continue
			}
			qct := (last - first).Seconds()
			qcts = append(qcts, qct)
			goodputs = append(goodputs, float64(len(fs))*float64(fs[0].spec.Response)*8/qct)
		}
	}
	return qcts, goodputs
}

// jainPerSecond is Jain's index of each whole second after warmup over the
// flows that delivered bytes in it, averaged.
func (r *trialResult) jainPerSecond(x *experiment.Experiment) float64 {
	var per [][]float64
	for _, f := range r.flows {
		s := r.received(f)
		if len(s) == 0 {
			continue
		}
		rates := metrics.Rates(s, x.Warmup, x.Duration, time.Second)
		for k, v := range rates {
			for len(per) <= k {
				per = append(per, nil)
			}
			if v > 0 {
				per[k] = append(per[k], v)
			}
		}
	}
	var sum float64
	n := 0
	for _, xs := range per {
		if len(xs) > 0 {
			sum += metrics.Jain(xs)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// backloggedThroughout tells whether the queue held a frame all the time
// between two snapshots: exactly, from the engine's backlogged time, or
// (a snapshot without it) from the queue being non-empty at both.
func backloggedThroughout(a, b impair.Stats) bool {
	if b.Elapsed > a.Elapsed && a.Elapsed > 0 {
		return b.BackloggedTime-a.BackloggedTime >= b.Elapsed-a.Elapsed
	}
	return a.QueueLen > 0 && b.QueueLen > 0
}

// elapsed is the time between two snapshots of one direction in seconds:
// exact on the direction's clock, or the sampler's interval when a
// snapshot lacks it.
func elapsed(a, b impair.Stats, sampled time.Duration) float64 {
	if b.Elapsed > a.Elapsed && a.Elapsed > 0 {
		return (b.Elapsed - a.Elapsed).Seconds()
	}
	return sampled.Seconds()
}

// measureBottleneck fills the bottleneck's metrics from its samples in the
// measured window, and returns its configured rate (0: none). The data
// direction is the one that passed the most bytes.
func (r *trialResult) measureBottleneck(x *experiment.Experiment, m map[string]float64) float64 {
	var win []linkSample
	for _, s := range r.link {
		if s.at >= x.Warmup {
			win = append(win, s)
		}
	}
	if len(win) < 2 {
		return 0
	}
	first, last := win[0], win[len(win)-1]
	dir, best := -1, uint64(0)
	for i := range last.links {
		if i < len(first.links) {
			if d := last.links[i].stats.PassedBytes - first.links[i].stats.PassedBytes; dir < 0 || d > best {
				dir, best = i, d
			}
		}
	}
	a, b := first.links[dir].stats, last.links[dir].stats
	dt := elapsed(a, b, last.at-first.at)
	if off := b.Offered - a.Offered; off > 0 {
		m["loss"] = float64(b.Dropped()-a.Dropped()) / float64(off)
	}
	if n := b.QueueDelayCount - a.QueueDelayCount; n > 0 {
		m["queue_delay_mean"] = (b.QueueDelaySum - a.QueueDelaySum).Seconds() / float64(n)
		var h [impair.QueueDelayBuckets]uint64
		for i := range h {
			h[i] = b.QueueDelayHist[i] - a.QueueDelayHist[i]
		}
		m["queue_delay_p99"] = impair.QueueDelayQuantile(h, 0.99).Seconds()
	}
	if n := b.Passed - a.Passed; n > 0 {
		m["timer_late_mean"] = (b.ReleaseLateSum - a.ReleaseLateSum).Seconds() / float64(n)
		var h [impair.QueueDelayBuckets]uint64
		for i := range h {
			h[i] = b.ReleaseLateHist[i] - a.ReleaseLateHist[i]
		}
		m["timer_late_p99"] = impair.QueueDelayQuantile(h, 0.99).Seconds()
	}
	if dt > 0 {
		m["queue_len_mean"] = (b.QueueFrameNanos - a.QueueFrameNanos) / (dt * 1e9)
	}
	// The achieved rate, over the intervals the queue was not empty at
	// either end (the link was busy all along).
	maxLen := 0
	var busyDt float64
	var busyBytes uint64
	for k, smp := range win {
		st := smp.links[dir].stats
		maxLen = max(maxLen, st.QueueLen)
		if k > 0 {
			prev := win[k-1].links[dir].stats
			if backloggedThroughout(prev, st) {
				busyDt += elapsed(prev, st, smp.at-win[k-1].at)
				busyBytes += st.PassedBytes - prev.PassedBytes
			}
		}
	}
	m["queue_len_max"] = float64(maxLen)
	cfg := last.links[dir].cfg
	if cfg == nil || cfg.Rate == 0 {
		return 0
	}
	rate := float64(cfg.Rate)
	if dt > 0 {
		m["utilisation"] = float64(b.PassedBytes-a.PassedBytes) * 8 / (rate * dt)
	}
	if busyDt > 0 && busyDt >= 0.25*dt {
		m["rate_achieved"] = float64(busyBytes) * 8 / (rate * busyDt)
	}
	return rate
}
