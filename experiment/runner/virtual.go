package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/sim"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// runVirtualTrial runs one trial on a fresh lab on a virtual clock, seeded
// by the trial: the same trial gives the same result. It plans, starts and
// measures as runTrial does; what only a machine has (agent CPU and
// memory, ring drops) is n/a, and nothing is late.
func runVirtualTrial(ctx context.Context, x *experiment.Experiment, plan *topology.Lab, t experiment.Trial, n int, o Options) (*trialResult, error) {
	vl, err := sim.New(plan, sim.Options{Seed: t.Seed})
	if err != nil {
		return nil, err
	}
	defer vl.Close()
	l := newLabHandle(plan, nil)
	l.vlab = vl
	res := &trialResult{n: n, trial: t, params: x.Params}
	c := t.Cell
	for i, ls := range c.Links {
		if err := l.setLink(ctx, ls.Link, ls.Fields, t.Seed+uint64(i)*1000); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %w", x.File, ls.Pos.Line, ls.Pos.Col, err)
		}
	}
	tp, err := planTrial(x, l, t)
	if err != nil {
		return nil, err
	}
	res.flows, res.probes = tp.flows, tp.probes
	apps, stopApps, err := startApps(ctx, x, l, tp.apps)
	if err != nil {
		return nil, err
	}
	defer stopApps()

	at := vl.Now().Add(100 * time.Millisecond)
	res.at = at
	limit := x.Duration + max(5*time.Second, x.Duration/2)
	// In a fixed order: flows due at one instant start in the order given.
	nodes := slices.Sorted(maps.Keys(tp.batches))
	for _, node := range nodes {
		b := tp.batches[node]
		b.At, b.Limit = at, limit
		if err := vl.Flows(node, *b); err != nil {
			return nil, fmt.Errorf("flows on %s: %w", node, err)
		}
	}
	for _, p := range res.probes {
		dst, err := l.addr(p.to)
		if err != nil {
			return nil, err
		}
		count := int((x.Duration - p.start) / p.interval)
		if err := vl.Ping(p.from, at.Add(p.start), nodeagent.PingSpec{To: dst.String(), Count: count, Interval: p.interval},
			func(r nodeagent.PingReply) { p.replies = append(p.replies, r) }); err != nil {
			return nil, fmt.Errorf("probe from %s: %w", p.from, err)
		}
	}
	var evErrs []error
	for _, ev := range c.Events {
		_, err := vl.At(at.Add(ev.At), func() {
			var err error
			switch ev.Action {
			case "down", "up":
				err = l.setDown(ctx, ev.Link, ev.Action == "down")
			case "set":
				err = l.setLink(ctx, ev.Link, ev.Fields, t.Seed+uint64(ev.At))
			case "stop", "start":
				err = l.setPower(ctx, ev.Node, ev.Action == "start")
			}
			if err != nil {
				evErrs = append(evErrs, fmt.Errorf("%s:%d:%d: event at %v: %w", x.File, ev.Pos.Line, ev.Pos.Col, ev.At, err))
				return
			}
			res.events = append(res.events, EventMeta{At: ev.At.Seconds(), Link: ev.Link, Node: ev.Node, Action: ev.Action})
		})
		if err != nil {
			return nil, err
		}
	}
	// The bottleneck, sampled from time zero to the end of the cell.
	if _, err := plan.ImpairTargets(x.Bottleneck, topology.DirBoth); err == nil {
		for k := 0; ; k++ {
			since := time.Duration(k) * x.Sample
			if err := vl.RunUntil(at.Add(since)); err != nil {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rd, err := l.readLink(ctx, x.Bottleneck)
			if err != nil {
				return nil, err
			}
			res.link = append(res.link, linkSample{at: since, links: rd})
			if since >= x.Duration {
				break
			}
		}
	}
	if _, err := vl.RunFlows(at.Add(limit)); err != nil {
		return nil, err
	}
	if len(evErrs) > 0 {
		return nil, errors.Join(evErrs...)
	}
	for _, node := range nodes {
		reps, err := vl.Reports(node)
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			for _, f := range res.flows {
				if f.spec.ID == r.ID {
					f.rep = r
				}
			}
		}
	}
	if err := collect(ctx, l, apps, res.flows); err != nil {
		return nil, err
	}
	measure(x, res, o.limits())
	for _, k := range []string{"agent_cpu", "agent_mem", "ring_drops"} {
		res.m[k] = math.NaN() // a machine's, not the model's
	}
	return res, nil
}
