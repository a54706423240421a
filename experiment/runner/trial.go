package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// flow is one planned flow of a trial and what became of it.
type flow struct {
	spec     nodeagent.FlowSpec
	workload int
	kind     string // the workload's kind
	from, to string // where the data goes from and to
	// kernelFrom and kernelTo say an end runs stack: linux, whose
	// sockets do not count RTOs and fast retransmits.
	kernelFrom, kernelTo bool
	rep                  nodeagent.FlowReport
	rec                  *nodeagent.ConnRecord // the sink's record; nil if it saw none
	prefix               string                // the digest a cut flow's receiver must have
	slowdown             float64               // FCT ÷ ideal FCT; 0 until measured
}

// probe is a probe workload's echo replies.
type probe struct {
	from, to        string
	start, interval time.Duration
	replies         []nodeagent.PingReply
	err             error
}

// linkSample is the bottleneck's state at a moment of the trial.
type linkSample struct {
	at    time.Duration
	links []linkReading
}

// trialResult is everything a trial measured.
type trialResult struct {
	n      int // the trial's number in the run, from 1
	trial  experiment.Trial
	params []experiment.Param
	at     time.Time // flows' time zero
	flows  []*flow
	probes []*probe
	link   []linkSample // the bottleneck's samples; empty without one
	cpu    time.Duration
	cpuWin time.Duration // the time cpu was measured over
	ring   uint64        // AF_PACKET ring drops in the trial
	rss    uint64        // the agents' peak memory
	events []EventMeta   // what the schedule did, with when
	m      map[string]float64
	why    []string // why the trial is invalid; empty when valid
}

func (r *trialResult) valid() bool { return len(r.why) == 0 }

// lead is how long before time zero the schedule is sent: every agent
// has its batch before the first flow is due.
func lead(nodes int) time.Duration {
	return 300*time.Millisecond + time.Duration(nodes)*2*time.Millisecond
}

// runTrial runs one trial on the deployed lab.
func runTrial(ctx context.Context, x *experiment.Experiment, l *labHandle, t experiment.Trial, n int, o Options) (*trialResult, error) {
	res := &trialResult{n: n, trial: t, params: x.Params}
	c := t.Cell
	// The cell's links, each with a seed of the trial's.
	touched := map[string]bool{}
	for i, ls := range c.Links {
		if err := l.setLink(ctx, ls.Link, ls.Fields, t.Seed+uint64(i)*1000); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %w", x.File, ls.Pos.Line, ls.Pos.Col, err)
		}
		touched[ls.Link] = true
	}
	stopped := map[string]bool{}
	for _, ev := range c.Events {
		if ev.Node != "" {
			stopped[ev.Node] = true
			continue
		}
		touched[ev.Link] = true
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for link := range touched {
			l.resetLink(rctx, link)
		}
		for node := range stopped {
			l.setPower(rctx, node, true)
		}
	}()

	// Plan the flows and start the servers they need.
	plan, err := planTrial(x, l, t)
	if err != nil {
		return nil, err
	}
	res.flows, res.probes = plan.flows, plan.probes
	batches := plan.batches
	apps, stopApps, err := startApps(ctx, x, l, plan.apps)
	if err != nil {
		return nil, err
	}
	defer stopApps()

	// Health before.
	cpu0, _, err := agentUsage(ctx, l)
	if err != nil {
		return nil, err
	}
	ring0 := ringDrops(ctx, l)

	at := time.Now().Add(lead(len(l.names)))
	res.at = at
	limit := x.Duration + max(5*time.Second, x.Duration/2)
	var wg sync.WaitGroup
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for node, b := range batches {
		b.At, b.Limit = at, limit
		cl, err := l.client(node)
		if err != nil {
			return nil, err
		}
		wg.Go(func() {
			reps, err := cl.Flows(tctx, *b)
			if err != nil {
				fail(fmt.Errorf("flows on %s: %w", node, err))
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range reps {
				for _, f := range res.flows {
					if f.spec.ID == r.ID {
						f.rep = r
					}
				}
			}
		})
	}
	for _, p := range res.probes {
		cl, err := l.client(p.from)
		if err != nil {
			return nil, err
		}
		dst, err := l.addr(p.to)
		if err != nil {
			return nil, err
		}
		wg.Go(func() {
			if !sleepUntil(tctx, at.Add(p.start)) {
				return
			}
			count := int((x.Duration - p.start) / p.interval)
			p.err = cl.Ping(tctx, nodeagent.PingSpec{To: dst.String(), Count: count, Interval: p.interval},
				func(r nodeagent.PingReply) { p.replies = append(p.replies, r) })
		})
	}
	// The schedule of events.
	var evMu sync.Mutex
	for _, ev := range c.Events {
		wg.Go(func() {
			if !sleepUntil(tctx, at.Add(ev.At)) {
				return
			}
			var err error
			switch ev.Action {
			case "down":
				err = l.setDown(tctx, ev.Link, true)
			case "up":
				err = l.setDown(tctx, ev.Link, false)
			case "set":
				err = l.setLink(tctx, ev.Link, ev.Fields, t.Seed+uint64(ev.At))
			case "stop", "start":
				err = l.setPower(tctx, ev.Node, ev.Action == "start")
			}
			if err != nil {
				fail(fmt.Errorf("%s:%d:%d: event at %v: %w", x.File, ev.Pos.Line, ev.Pos.Col, ev.At, err))
				return
			}
			evMu.Lock()
			res.events = append(res.events, EventMeta{At: time.Since(at).Seconds(), Link: ev.Link, Node: ev.Node, Action: ev.Action})
			evMu.Unlock()
		})
	}
	// The bottleneck, sampled from time zero to the end of the cell.
	if _, err := l.plan.ImpairTargets(x.Bottleneck, topology.DirBoth); err == nil {
		wg.Go(func() {
			if !sleepUntil(tctx, at) {
				return
			}
			tick := time.NewTicker(x.Sample)
			defer tick.Stop()
			for {
				since := time.Since(at)
				if rd, err := l.readLink(tctx, x.Bottleneck); err == nil {
					res.link = append(res.link, linkSample{at: since, links: rd})
				}
				if since >= x.Duration {
					return
				}
				select {
				case <-tick.C:
				case <-tctx.Done():
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cpu1, rss, err := agentUsage(ctx, l)
	if err != nil {
		return nil, err
	}
	res.rss = rss
	res.cpu, res.cpuWin = cpu1-cpu0, time.Since(at)
	res.ring = ringDrops(ctx, l) - ring0

	// The sinks' records: a connection may still be closing there.
	if err := collect(ctx, l, apps, res.flows); err != nil {
		return nil, err
	}
	measure(x, res, o.limits())
	return res, nil
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// collect joins every flow to its sink's record, waiting (a little) for
// connections that still close.
func collect(ctx context.Context, l *labHandle, apps map[appNeed]int, flows []*flow) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := map[string]nodeagent.ConnRecord{}
		for a, id := range apps {
			cl, err := l.agent(a.node)
			if err != nil {
				return err
			}
			rs, err := cl.AppConns(ctx, id)
			if err != nil {
				return fmt.Errorf("records of the %s server on %s: %w", a.mode, a.node, err)
			}
			for _, r := range rs {
				recs[r.Remote] = r
			}
		}
		missing := 0
		for _, f := range flows {
			f.rec = nil
			if r, ok := recs[f.rep.From]; ok && f.rep.From != "" {
				f.rec = &r
				if f.rep.End.IsZero() || r.EOF || f.rep.Cut && r.SHA256 != "" {
					continue
				}
			}
			if !f.rep.End.IsZero() {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return nil
		}
		tm := time.NewTimer(20 * time.Millisecond)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		}
	}
}

// agentUsage sums the processor time and the peak memory of the lab's
// agents.
func agentUsage(ctx context.Context, l *labHandle) (cpu time.Duration, rss uint64, err error) {
	for _, c := range l.agents() {
		h, err := c.Health(ctx)
		if err != nil {
			return 0, 0, err
		}
		cpu += h.CPU
		rss += h.MaxRSS
	}
	return cpu, rss, nil
}

// ringDrops sums the kernel's AF_PACKET ring drops over the Go-stack nodes.
func ringDrops(ctx context.Context, l *labHandle) uint64 {
	var sum uint64
	for _, n := range l.names {
		if !l.goStack(n) {
			continue
		}
		c, err := l.client(n)
		if err != nil {
			continue
		}
		st, err := c.Status(ctx)
		if err != nil {
			continue
		}
		for _, s := range st.Links {
			sum += s.RxKernelDrops
		}
	}
	return sum
}
