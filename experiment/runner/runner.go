// Package runner runs an experiment: it deploys the experiment's topology
// under a name of its own, runs every trial (cell × repetition) through the
// node agents, writes the results as they come, and tears the lab down,
// also when interrupted. The agents start and time the flows themselves;
// the runner sends one request per node and trial.
package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
)

// Options are how to run an experiment.
type Options struct {
	// Runtime makes the nodes. Required.
	Runtime runtime.Runtime
	// Exe is the netlab binary the agents run; empty means this one.
	Exe string
	// RunDir is netlab's run directory ("" for the default).
	RunDir string
	// Out is the results directory; it must not exist or be empty.
	Out string
	// Version is netlab's version, for metadata.json.
	Version string
	// Progress, if not nil, is told what happens, a line at a time.
	Progress func(msg string)
	// Limits are the health checks; the zero value is DefaultLimits.
	Limits Limits
	// Virtual runs every trial on a virtual clock, in this process (see
	// package sim), instead of deploying the lab: the same seed gives
	// the same results byte for byte. Every node must run the Go stack,
	// and there is no probe workload. Runtime is not used.
	Virtual bool
}

func (o Options) limits() Limits {
	if o.Limits == (Limits{}) {
		return DefaultLimits
	}
	return o.Limits
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Outcome is what a run did.
type Outcome struct {
	// Dir is the results directory.
	Dir string
	// Trials counts the trials run; Invalid those marked invalid.
	Trials, Invalid int
	// Failed are the thresholds (assert:) not met, one line each.
	Failed []string
	// Interrupted says the run was stopped before its end; the finished
	// trials are in the results.
	Interrupted bool
}

// Run runs x. The results go to o.Out as trials end, so an interrupted run
// keeps its finished trials; the lab is destroyed in every case.
func Run(ctx context.Context, x *experiment.Experiment, o Options) (_ *Outcome, err error) {
	orig, err := topology.Load(x.Topology)
	if err != nil {
		return nil, err
	}
	if err := check(x, newLabHandle(orig, nil), o.Virtual); err != nil {
		return nil, err
	}
	if err := makeOut(o.Out); err != nil {
		return nil, err
	}
	lab, err := renamedTopology(x, o.Out)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Dir: o.Out}
	w, err := newWriter(x, o, lab)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := w.close(out); err == nil {
			err = cerr
		}
	}()

	if o.Virtual {
		o.progress("%s (%d nodes, %d links) on a virtual clock", lab.Name, len(lab.Nodes), len(lab.Links))
		return out, trials(ctx, x, o, w, out, func(t experiment.Trial, n int) (*trialResult, error) {
			return runVirtualTrial(ctx, x, lab, t, n, o)
		})
	}
	o.progress("deploy %s (%d nodes, %d links)", lab.Name, len(lab.Nodes), len(lab.Links))
	st, err := deploy.Deploy(ctx, deploy.Options{Lab: lab, Runtime: o.Runtime,
		Agent: deploy.Agents{Exe: o.Exe}, RunDir: o.RunDir, MaxRunBytes: -1})
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", x.Topology, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		o.progress("destroy %s", lab.Name)
		derr := deploy.Destroy(dctx, deploy.DestroyOptions{LabName: lab.Name, Runtime: o.Runtime,
			Agent: deploy.Agents{}, RunDir: o.RunDir, Cleanup: true})
		if derr != nil && err == nil {
			err = fmt.Errorf("destroy %s: %w", lab.Name, derr)
		}
	}()
	l := newLabHandle(lab, st)
	return out, trials(ctx, x, o, w, out, func(t experiment.Trial, n int) (*trialResult, error) {
		return runTrial(ctx, x, l, t, n, o)
	})
}

// trials runs every trial of x with run, writing each as it ends; an
// interruption keeps what finished.
func trials(ctx context.Context, x *experiment.Experiment, o Options, w *writer, out *Outcome, run func(experiment.Trial, int) (*trialResult, error)) error {
	trials := x.Trials()
	for i, t := range trials {
		if ctx.Err() != nil {
			out.Interrupted = true
			break
		}
		o.progress("trial %d/%d: %s rep %d", i+1, len(trials), t.Cell.Key(x.Params), t.Rep)
		res, err := run(t, i+1)
		if err != nil {
			if ctx.Err() != nil {
				out.Interrupted = true
				break
			}
			return fmt.Errorf("trial %d (%s rep %d): %w", i+1, t.Cell.Key(x.Params), t.Rep, err)
		}
		out.Trials++
		if !res.valid() {
			out.Invalid++
		}
		if err := w.add(res); err != nil {
			return err
		}
		o.progress("  %s", res.line())
	}
	return nil
}

// check finds, before anything is deployed, what the topology cannot do
// for the experiment: links and nodes it does not have.
func check(x *experiment.Experiment, l *labHandle, virtual bool) error {
	var errs []error
	at := func(p experiment.Pos, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", x.File, p.Line, p.Col, fmt.Sprintf(format, args...)))
	}
	if virtual {
		for _, n := range l.plan.Nodes {
			if !l.goStack(n.Name) {
				errs = append(errs, fmt.Errorf("%s: node %s runs stack: linux: a virtual clock needs every node on the Go stack (the kernel keeps its own time); run it without --clock virtual", x.Topology, n.Name))
			}
		}
	}
	if x.Bottleneck != experiment.DefaultBottleneck {
		if _, err := l.plan.ImpairTargets(x.Bottleneck, topology.DirBoth); err != nil {
			errs = append(errs, fmt.Errorf("%s: bottleneck: %w", x.File, err))
		}
	}
	seen := map[string]bool{}
	for _, c := range x.Cells {
		for _, ls := range c.Links {
			if _, err := l.plan.ImpairTargets(ls.Link, topology.DirBoth); err != nil && !seen[ls.Link] {
				seen[ls.Link] = true
				at(ls.Pos, "%v", err)
			}
		}
		for _, ev := range c.Events {
			if ev.Node != "" {
				switch n := l.plan.Node(ev.Node); {
				case seen["node "+ev.Node]:
				case n == nil:
					at(ev.Pos, "no node %q in %s", ev.Node, x.Topology)
				case !l.goStack(ev.Node):
					at(ev.Pos, "%s %s: a stack: linux node cannot be stopped and started (its sockets are the kernel's, not the agent's)", ev.Action, ev.Node)
				}
				seen["node "+ev.Node] = true
				continue
			}
			if _, err := l.plan.ImpairTargets(ev.Link, topology.DirBoth); err != nil && !seen[ev.Link] {
				seen[ev.Link] = true
				at(ev.Pos, "%v", err)
			}
		}
		for _, w := range c.Workloads {
			for _, sel := range []string{w.From, w.To} {
				_, err := l.selectNodes(sel)
				if err != nil && !seen[sel] {
					seen[sel] = true
					at(w.Pos, "%s: %v", w.Kind, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// makeOut makes the results directory, refusing one that holds files.
func makeOut(dir string) error {
	if dir == "" {
		return errors.New("say where the results go (-o DIR)")
	}
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty: give a new directory for the results (a run never mixes with another)", dir)
	}
	return os.MkdirAll(dir, 0o755)
}

// renamedTopology loads x's topology (errors at the user's file's
// positions), then writes a copy named for this run into dir and loads
// that: the run's lab never collides with one the user deployed.
func renamedTopology(x *experiment.Experiment, dir string) (*topology.Lab, error) {
	orig, err := topology.Load(x.Topology)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(x.Topology)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: %v", x.Topology, err)
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	name := orig.Name
	if len(name) > 40 {
		name = name[:40]
	}
	name += "-x" + hex.EncodeToString(rnd[:])
	top := doc.Content[0]
	set := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "name" {
			top.Content[i+1].Value, set = name, true
		}
	}
	if !set {
		top.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "name"}, {Kind: yaml.ScalarNode, Value: name}}, top.Content...)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, err
	}
	copyPath := filepath.Join(dir, "topology.yml")
	head := fmt.Sprintf("# %s as this experiment ran it (the lab renamed %s).\n", x.Topology, name)
	if err := os.WriteFile(copyPath, append([]byte(head), out...), 0o644); err != nil {
		return nil, err
	}
	lab, err := topology.Load(copyPath)
	if err != nil {
		return nil, fmt.Errorf("the renamed copy of %s: %w", x.Topology, err)
	}
	return lab, nil
}

func fileHash(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func machine() map[string]any {
	m := map[string]any{}
	if h, err := os.Hostname(); err == nil {
		m["hostname"] = h
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
