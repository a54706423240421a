package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/nodeagent"
)

// trialPlan is what a trial runs: its flows by the node that starts them,
// and the server apps they need.
type trialPlan struct {
	flows   []*flow
	probes  []*probe
	batches map[string]*nodeagent.FlowBatch
	apps    []appNeed
}

// appNeed is a server app a trial needs on a node.
type appNeed struct {
	node           string
	mode           string // sink or rr
	port           uint16
	sndbuf, rcvbuf int // its connections' socket buffers (0: the stack's)
}

// serverKind is a kind of server: its mode and buffers. Each kind has its
// own port: x.Port for sinks, the next for rr servers, with the stacks'
// buffers; the ports after those for the kinds with buffers set, in the
// order the trial first needs them.
type serverKind struct {
	mode           string
	sndbuf, rcvbuf int
}

// sinkPort and rrPort are the ports of a trial's sinks and rr servers.
func sinkPort(x *experiment.Experiment) uint16 { return uint16(x.Port) }
func rrPort(x *experiment.Experiment) uint16   { return uint16(x.Port + 1) }

// planTrial turns the cell's workloads into flows. Poisson arrivals and
// sizes are drawn from the trial's seed: the same trial always plans the
// same flows.
func planTrial(x *experiment.Experiment, l *labHandle, t experiment.Trial) (*trialPlan, error) {
	p := &trialPlan{batches: map[string]*nodeagent.FlowBatch{}}
	need := map[appNeed]bool{}
	ports := map[serverKind]uint16{{mode: "sink"}: sinkPort(x), {mode: "rr"}: rrPort(x)}
	nextPort := rrPort(x) + 1
	id := 0
	add := func(w experiment.Workload, wi int, src, dst string, spec nodeagent.FlowSpec, batchOn string) error {
		// The data goes from src to dst: a sink receives it from the
		// connecting sender; an rr server sends it to the connecting
		// client.
		sk, server := serverKind{mode: "sink", rcvbuf: w.RcvBuf}, dst
		spec.SndBuf = w.SndBuf
		if spec.Requests > 0 {
			sk, server = serverKind{mode: "rr", sndbuf: w.SndBuf}, src
			spec.SndBuf, spec.RcvBuf = 0, w.RcvBuf
		}
		port, ok := ports[sk]
		if !ok {
			port, nextPort = nextPort, nextPort+1
			ports[sk] = port
		}
		addr, err := l.addr(server)
		if err != nil {
			return err
		}
		id++
		spec.ID, spec.To = id, netip.AddrPortFrom(addr, port).String()
		if a := (appNeed{server, sk.mode, port, sk.sndbuf, sk.rcvbuf}); !need[a] {
			need[a] = true
			p.apps = append(p.apps, a)
		}
		p.flows = append(p.flows, &flow{spec: spec, workload: wi, kind: w.Kind, from: src, to: dst,
			kernelFrom: !l.goStack(src), kernelTo: !l.goStack(dst)})
		b := p.batches[batchOn]
		if b == nil {
			b = &nodeagent.FlowBatch{Sample: x.Sample}
			p.batches[batchOn] = b
		}
		b.Flows = append(b.Flows, spec)
		return nil
	}
	for wi, w := range t.Cell.Workloads {
		at := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d:%d: %s: %s", x.File, w.Pos.Line, w.Pos.Col, w.Kind, fmt.Sprintf(format, args...))
		}
		from, err := l.selectNodes(w.From)
		if err != nil {
			return nil, at("from: %v", err)
		}
		to, err := l.selectNodes(w.To)
		if err != nil {
			return nil, at("to: %v", err)
		}
		switch w.Kind {
		case experiment.KindProbe:
			for i, f := range from {
				p.probes = append(p.probes, &probe{from: f, to: to[i%len(to)], start: w.Start, interval: w.Interval})
			}
		case experiment.KindBulk:
			n := w.Flows
			if n == 0 {
				n = len(from)
			}
			for j := range n {
				spec := nodeagent.FlowSpec{Start: w.Start + time.Duration(j)*w.Stagger, Bytes: w.Bytes, CC: w.CC}
				if spec.Bytes == 0 {
					if spec.Duration = x.Duration - spec.Start; spec.Duration <= 0 {
						return nil, at("flow %d would start at %v, after the cell's end (%v): fewer flows or a shorter stagger", j+1, spec.Start, x.Duration)
					}
					spec.Drain = drain(x)
				}
				src, dst := from[j%len(from)], pickReceiver(to, j, from[j%len(from)])
				if dst == "" {
					return nil, at("%s is the only receiver and the sender: a flow needs two nodes", src)
				}
				if err := add(w, wi, src, dst, spec, src); err != nil {
					return nil, err
				}
			}
		case experiment.KindRR:
			// The data flows from the servers (to:) to the clients (from:):
			// a flow here is named by its data's direction.
			n := w.Flows
			if n == 0 {
				n = len(from)
			}
			for j := range n {
				client := from[j%len(from)]
				server := pickReceiver(to, j, client)
				if server == "" {
					return nil, at("%s is the only server and the client: a flow needs two nodes", client)
				}
				spec := nodeagent.FlowSpec{Start: w.Start + time.Duration(j)*w.Stagger, Requests: w.Requests, Response: w.Response, Every: w.Every, CC: w.CC}
				if err := add(w, wi, server, client, spec, client); err != nil {
					return nil, err
				}
			}
		case experiment.KindIncast:
			if len(to) != 1 {
				return nil, at("to: picks %d nodes; an incast has one aggregator, the node its senders (from:) answer", len(to))
			}
			if w.Senders > 0 {
				if w.Senders > len(from) {
					return nil, at("senders: %d, but from: picks %d nodes", w.Senders, len(from))
				}
				from = from[:w.Senders]
			}
			for _, sender := range from {
				if sender == to[0] {
					return nil, at("%s is both a sender and the aggregator", sender)
				}
				spec := nodeagent.FlowSpec{Start: w.Start, Requests: w.Requests, Response: w.Response, Every: w.Every, CC: w.CC,
					Group: fmt.Sprintf("incast-%d", wi+1)}
				if err := add(w, wi, sender, to[0], spec, to[0]); err != nil {
					return nil, err
				}
			}
		case experiment.KindPoisson:
			r := rand.New(rand.NewPCG(t.Seed, uint64(wi)+1))
			for s := w.Start + expGap(r, w.Rate); s < x.Duration; s += expGap(r, w.Rate) {
				src := from[r.IntN(len(from))]
				dst := to[r.IntN(len(to))]
				for k := 0; dst == src && k < 8 && len(to) > 1; k++ {
					dst = to[r.IntN(len(to))]
				}
				if dst == src {
					continue // a flow needs two nodes
				}
				spec := nodeagent.FlowSpec{Start: s, Bytes: w.Size.Sample(r), CC: w.CC}
				if err := add(w, wi, src, dst, spec, src); err != nil {
					return nil, err
				}
				if len(p.flows) > 100000 {
					return nil, at("more than 100000 flows in one trial: a lower rate or a shorter duration")
				}
			}
		}
	}
	return p, nil
}

// drain is how long a flow that sent for the cell's duration may take to
// deliver what its buffers still hold before it is cut (reset): what the
// buffers hold at the end is not part of the cell.
func drain(x *experiment.Experiment) time.Duration { return max(2*time.Second, x.Duration/10) }

// pickReceiver is flow j's receiver: the j-th of to, round-robin; when
// that is the sender itself, one further on, by one more each round, so
// that flows among one set of nodes spread over all pairs; "" when to is
// only the sender.
func pickReceiver(to []string, j int, sender string) string {
	if n := to[j%len(to)]; n != sender {
		return n
	}
	if len(to) < 2 {
		return ""
	}
	shift := 1 + j/len(to)%(len(to)-1)
	for k := range len(to) {
		if n := to[(j+shift+k)%len(to)]; n != sender {
			return n
		}
	}
	return ""
}

// expGap draws the gap to the next arrival of a Poisson process of rate
// per second.
func expGap(r *rand.Rand, rate float64) time.Duration {
	return time.Duration(r.ExpFloat64() / rate * float64(time.Second))
}

// startApps starts the plan's server apps, each recording its
// connections, and returns a function that stops them.
func startApps(ctx context.Context, x *experiment.Experiment, l *labHandle, apps []appNeed) (map[appNeed]int, func(), error) {
	ids := map[appNeed]int{}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for a, id := range ids {
			if cl, err := l.agent(a.node); err == nil {
				cl.StopApp(sctx, id)
			}
		}
	}
	for _, a := range apps {
		cl, err := l.agent(a.node)
		if err != nil {
			stop()
			return nil, nil, err
		}
		app, err := cl.StartApp(ctx, nodeagent.AppSpec{Mode: a.mode, Port: a.port, Record: x.Sample, SndBuf: a.sndbuf, RcvBuf: a.rcvbuf})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("%s server on %s: %w", a.mode, a.node, err)
		}
		ids[a] = app.ID
	}
	return ids, stop, nil
}
