// Package runner grades a submission: it deploys a fresh instance of a
// lab's variant, runs the lab's steps (the submission among them),
// gathers what happened on the wire from the run's traces, computes the
// lab's measures, evaluates its checks (prerequisites first; a check with
// `within` polls until it passes or its time is up), and tears the lab
// down, whatever happened. A lab that does not deploy, or a step of the
// lab's own that fails, is an infrastructure error: the report says so and
// gives no score, never points gained or lost.
package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/check"
	"github.com/netlab/netlab/labs/grade"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/netns"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// Options say how to grade.
type Options struct {
	// Runtime makes the lab's nodes. Required.
	Runtime runtime.Runtime
	// Exe is the netlab binary the agents run; empty means the running
	// one.
	Exe string
	// RunDir is netlab's run directory; empty means the default.
	RunDir string
	// Student is whose variant to grade ("" for the lab's own).
	Student string
	// Submission is the submitted file (a socket script, an answers
	// file); empty for labs that take none.
	Submission string
	// WorkDir is where the lab instance's topology and lab directory go;
	// empty means a fresh temporary directory, removed after.
	WorkDir string
	// Keep leaves the lab deployed (netlab lab start); the report then
	// holds only the variant.
	Keep bool
	// OutDir, if set, receives plots of failed checks.
	OutDir string
	// Progress, if not nil, is told what the grader does.
	Progress    func(string)
	overlay     []byte // the submission's overlay, applied by Start
	overlayName string

	// AnswerWithTruth grades an answers lab as if the student had
	// answered exactly what the run measured: the reference solution of
	// every answers lab, which `lab solve` and `lab lint` grade.
	AnswerWithTruth bool
	// Solution says the submission is one of the lab's own solutions. In
	// an answers file of the lab's own, a value written ${truth} stands
	// for the value the run measured for that answer (${truth.NAME}: the
	// measure NAME), so that a wrong solution can be right on all but
	// what it gets wrong in every variant. Never set for a student's
	// file: theirs are compared as written.
	Solution bool
}

// Instance is a deployed lab instance of a variant.
type Instance struct {
	Runtime runtime.Runtime
	// WorkDir is where exec and program steps run, and may write
	// (${workdir}).
	WorkDir string
	Lab     *labs.Lab
	Variant *labs.Variant
	// Topo is the instance's topology file.
	Topo  string
	Plan  *topology.Lab
	State *deploy.State
	Dirs  labdir.Lab
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Grade grades the submission of o.Student in a fresh instance of lab. It
// returns a report in every case but a cancelled context; infrastructure
// failures are the report's Error.
func Grade(ctx context.Context, lab *labs.Lab, o Options) (*grade.Report, error) {
	start := time.Now()
	rep := &grade.Report{Lab: lab.Name, Title: lab.Title, Version: lab.Version, Student: o.Student,
		Submission: o.Submission, Started: start}
	defer func() { rep.Duration = time.Since(start) }()
	v, err := lab.Variant(o.Student)
	if err != nil {
		rep.Error = err.Error()
		return rep, nil
	}
	rep.Seed, rep.Variant = v.Seed, paramsOf(lab, v)
	if err := Lint(lab); err != nil {
		// The teacher's mistake, never the student's.
		rep.Error = "the lab is not valid (netlab lab lint):\n" + err.Error()
		return rep, nil
	}
	path := o.Submission
	if o.AnswerWithTruth && lab.Submit == labs.SubmitAnswers {
		path = "" // the truth, once measured
	}
	sub, err := readSubmission(lab, v, path, o.AnswerWithTruth)
	if err != nil {
		rep.Error = err.Error()
		return rep, nil
	}
	defer sub.close()
	ctx, cancel := context.WithTimeout(ctx, lab.Timeout)
	defer cancel()
	o.overlay, o.overlayName = sub.overlay, sub.name
	inst, err := Start(ctx, lab, v, o)
	var se *SubmissionError
	if errors.As(err, &se) {
		rep.Error = se.Error()
		return rep, nil
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		rep.Error = "the lab could not be deployed: " + err.Error()
		return rep, nil
	}
	if !o.Keep {
		defer inst.Stop(o)
	}
	if err := inst.makeWorkDir(o.WorkDir == ""); err != nil {
		return nil, err
	}
	ev := &check.Evidence{Traces: map[string][]trace.Event{}, Steps: map[string]any{}, Answers: sub.answers, Truth: map[string]string{}}
	var out strings.Builder
	if name, err := inst.runSteps(ctx, sub, o, &out, ev); err != nil {
		var se *SubmissionError
		switch {
		case errors.As(err, &se):
			rep.Error = se.Error()
		case ctx.Err() != nil:
			rep.Error = fmt.Sprintf("step %s: the lab's time (%v) ran out", name, lab.Timeout)
		default:
			rep.Error = fmt.Sprintf("step %s: %v", name, err)
		}
		return rep, nil
	}
	rep.Stdout = out.String()
	if err := inst.gather(ctx, ev); err != nil {
		rep.Error = "reading what happened: " + err.Error()
		return rep, nil
	}
	if err := inst.measure(ev); err != nil {
		rep.Error = err.Error()
		return rep, nil
	}
	if o.AnswerWithTruth && lab.Submit == labs.SubmitAnswers {
		for k, v := range ev.Truth {
			ev.Answers[k] = v
		}
	}
	if o.Solution && lab.Submit == labs.SubmitAnswers {
		if err := answerTruths(ev); err != nil {
			rep.Error = fmt.Sprintf("the solution %s: %v", sub.name, err)
			return rep, nil
		}
	}
	rep.Results = inst.evaluate(ctx, ev, o)
	rep.RunDigest = digest(ev)
	return rep, nil
}

// answerTruths replaces, in a lab's own answers file, the values
// ${truth} and ${truth.NAME} with what the run measured.
func answerTruths(ev *check.Evidence) error {
	for k, v := range ev.Answers {
		name, ok := "", false
		switch v = strings.TrimSpace(v); {
		case v == "${truth}":
			name, ok = k, true
		case strings.HasPrefix(v, "${truth.") && strings.HasSuffix(v, "}"):
			name, ok = strings.TrimSuffix(strings.TrimPrefix(v, "${truth."), "}"), true
		}
		if !ok {
			continue
		}
		t, found := ev.Truth[name]
		if !found {
			return fmt.Errorf("answer %s: %s names no measure of the lab", k, v)
		}
		ev.Answers[k] = t
	}
	return nil
}

// runSteps runs the lab's steps in order, background ones beside the
// others, into ev.Steps; on an error it names the step at fault.
func (inst *Instance) runSteps(ctx context.Context, sub *submission, o Options, out *strings.Builder, ev *check.Evidence) (string, error) {
	bg := inst.background(ctx)
	for _, st := range inst.Lab.Steps {
		o.progress("step %s", st.Name)
		if st.Background {
			bg.start(st, sub)
			continue
		}
		var res any
		var err error
		if st.Kind == "wait" {
			res, err = bg.wait(st, out, ev)
		} else {
			res, err = inst.runStep(ctx, st, sub, out)
		}
		if err != nil {
			bg.stop()
			return st.Name, err
		}
		ev.Steps[st.Name] = res
	}
	return bg.waitAll(out, ev)
}

// Scenario runs the lab's own steps on a started instance, as grading
// does, for a lab that needs no submission to run them (one that takes
// answers, or nothing): the run a student reads the answers from. It
// returns what the steps printed.
func (inst *Instance) Scenario(ctx context.Context) (string, error) {
	lab := inst.Lab
	if lab.Submit != labs.SubmitAnswers && lab.Submit != labs.SubmitNone {
		return "", fmt.Errorf("lab %s runs the submission (%s) in its steps: grade one with netlab lab check", lab.Name, lab.Submit)
	}
	ctx, cancel := context.WithTimeout(ctx, lab.Timeout)
	defer cancel()
	if err := inst.makeWorkDir(false); err != nil {
		return "", err
	}
	var out strings.Builder
	ev := &check.Evidence{Steps: map[string]any{}}
	if name, err := inst.runSteps(ctx, &submission{answers: map[string]string{}}, Options{}, &out, ev); err != nil {
		return out.String(), fmt.Errorf("step %s: %w", name, err)
	}
	return out.String(), nil
}

// paramsOf returns the variant's values of the lab's params.
func paramsOf(lab *labs.Lab, v *labs.Variant) map[string]string {
	out := map[string]string{}
	for _, p := range lab.Params {
		out[p.Name] = v.Values[p.Name]
	}
	return out
}

// submission is what the student gave, read for the lab.
type submission struct {
	name    string // as errors name it
	script  []byte // SubmitScript: the script, ${...} replaced
	answers map[string]string
	program string // SubmitProgram: a copy the nodes' commands can run
	overlay []byte // SubmitOverlay: the file, ${...} replaced
}

func readSubmission(lab *labs.Lab, v *labs.Variant, path string, truth bool) (*submission, error) {
	sub := &submission{name: filepath.Base(path), answers: map[string]string{}}
	if lab.Submit == labs.SubmitNone || truth && lab.Submit == labs.SubmitAnswers {
		return sub, nil
	}
	if path == "" {
		return nil, fmt.Errorf("lab %s takes a submission (%s): none was given", lab.Name, lab.Submit)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the submission: %w", err)
	}
	switch lab.Submit {
	case labs.SubmitScript:
		s, err := v.Expand(string(data))
		if err != nil {
			return nil, fmt.Errorf("the submission %s: %w", sub.name, err)
		}
		sub.script = []byte(s)
	case labs.SubmitAnswers:
		if sub.answers, err = parseAnswers(path, data); err != nil {
			return nil, err
		}
	case labs.SubmitOverlay:
		s, err := v.Expand(string(data))
		if err != nil {
			return nil, fmt.Errorf("the submission %s: %w", sub.name, err)
		}
		sub.overlay = []byte(s)
	case labs.SubmitProgram:
		// Commands in a netns node run as nobody: a copy it may read and
		// run, in a directory of its own.
		dir, err := os.MkdirTemp("", "netlab-program-")
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		sub.program = filepath.Join(dir, sub.name)
		if err := os.WriteFile(sub.program, data, 0o755); err != nil {
			return nil, err
		}
	}
	return sub, nil
}

// close removes what reading the submission made.
func (s *submission) close() {
	if s.program != "" {
		os.RemoveAll(filepath.Dir(s.program))
	}
}

// Start deploys an instance of lab's variant v (the topology named
// <lab>-<6 random hex digits>, in o.WorkDir or a temporary directory).
func Start(ctx context.Context, lab *labs.Lab, v *labs.Variant, o Options) (_ *Instance, err error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	name := lab.Name + "-" + hex.EncodeToString(rnd[:])
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	data, err := lab.TopologyFor(v, name)
	if err != nil {
		return nil, err
	}
	if o.overlay != nil {
		if data, err = lab.ApplyOverlay(data, o.overlay, o.overlayName); err != nil {
			return nil, &SubmissionError{err}
		}
	}
	dir := o.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "netlab-grade-"); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.RemoveAll(dir)
			}
		}()
	}
	topo := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(topo, data, 0o644); err != nil {
		return nil, err
	}
	plan, err := topology.Load(topo)
	if err != nil && o.overlay != nil {
		return nil, &SubmissionError{fmt.Errorf("with it the lab's topology is not valid:\n%w", err)}
	}
	if err != nil {
		return nil, fmt.Errorf("the lab's topology: %w", err)
	}
	o.progress("deploy %s", name)
	// TraceEventsPerSecond -1: the checks read whole traces, every event recorded.
	st, err := deploy.Deploy(ctx, deploy.Options{Lab: plan, Runtime: o.Runtime, Agent: deploy.Agents{Exe: o.Exe, TraceEventsPerSecond: -1},
		RunDir: o.RunDir, AllowExec: true, MaxRunBytes: -1})
	if err != nil {
		return nil, err
	}
	return &Instance{Runtime: o.Runtime, Lab: lab, Variant: v, Topo: topo, Plan: plan, State: st, Dirs: labdir.New(o.RunDir, plan.Name, topo)}, nil
}

// makeWorkDir makes the directory where exec and program steps run
// (${workdir}), beside the instance's topology: commands in a netns node
// run as nobody, who must be able to reach and write it; own says the
// directory it goes in is the runner's own, which may be opened to them.
func (inst *Instance) makeWorkDir(own bool) error {
	dir := filepath.Dir(inst.Topo)
	work := strings.TrimSuffix(inst.Topo, ".yml") + ".work"
	if err := os.Mkdir(work, 0o755); err != nil {
		return err
	}
	inst.WorkDir = work
	if inst.Runtime.Name() == "netns" {
		if own { // os.MkdirTemp made it 0700
			if err := os.Chmod(dir, 0o755); err != nil {
				return err
			}
		}
		if err := os.Chown(work, netns.ExecUID, netns.ExecGID); err != nil {
			return err
		}
	}
	v := *inst.Variant
	v.Values = maps.Clone(v.Values)
	v.Values["workdir"] = work
	inst.Variant = &v
	return nil
}

// Stop destroys the instance and, when it made it, its directory.
func (inst *Instance) Stop(o Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: inst.Plan.Name, Runtime: o.Runtime, Agent: deploy.Agents{},
		RunDir: o.RunDir, Cleanup: true})
	if o.WorkDir == "" {
		os.RemoveAll(filepath.Dir(inst.Topo))
	} else if inst.WorkDir != "" {
		os.RemoveAll(inst.WorkDir)
	}
	return err
}

// client returns the agent client of node.
func (inst *Instance) client(node string) (*nodeagent.Client, error) {
	for _, n := range inst.State.Nodes {
		if n.Name == node {
			if n.Socket == "" {
				return nil, fmt.Errorf("node %s has no agent", node)
			}
			return nodeagent.NewClient(n.Socket, node).WithLog(n.Log), nil
		}
	}
	return nil, fmt.Errorf("the lab has no node %q", node)
}

// gather reads what happened: every Go-stack node's trace, once the
// agent has written out what it holds.
func (inst *Instance) gather(ctx context.Context, ev *check.Evidence) error {
	run := inst.Dirs.Run(inst.State.Run)
	for _, n := range inst.Plan.Nodes {
		if n.Stack != topology.StackGo {
			continue
		}
		path := run.Trace(n.Name)
		if err := settled(ctx, path); err != nil {
			return err
		}
		evs, err := trace.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		ev.Traces[n.Name] = evs
	}
	return nil
}

// settled waits until the file at path has not grown for a little while
// (the agent's recorder writes out what it holds once the stack is idle),
// at most a few seconds.
func settled(ctx context.Context, path string) error {
	const quiet, limit = 300 * time.Millisecond, 5 * time.Second
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	last, since, deadline := size(), time.Now(), time.Now().Add(limit)
	for time.Since(since) < quiet && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if s := size(); s != last {
			last, since = s, time.Now()
		}
	}
	return nil
}

// measure computes the lab's measures into ev.Truth.
func (inst *Instance) measure(ev *check.Evidence) error {
	for _, m := range inst.Lab.Measures {
		kind, ok := findMeasure(m.Kind)
		if !ok {
			return fmt.Errorf("measure %s: unknown kind %q", m.Name, m.Kind)
		}
		args, err := inst.Variant.ExpandArgs(m.Args)
		if err != nil {
			return fmt.Errorf("measure %s: %w", m.Name, err)
		}
		f, err := kind.New(check.Args(args))
		if err != nil {
			return fmt.Errorf("measure %s: %w", m.Name, err)
		}
		v, err := f(ev)
		if err != nil {
			return fmt.Errorf("measure %s: %w", m.Name, err)
		}
		ev.Truth[m.Name] = v
	}
	return nil
}

func findMeasure(kind string) (check.Measure, bool) {
	for _, m := range check.Measures() {
		if m.Name == kind {
			return m, true
		}
	}
	return check.Measure{}, false
}

func findKind(kind string) (check.Kind, bool) {
	for _, k := range check.Kinds() {
		if k.Name == kind {
			return k, true
		}
	}
	return check.Kind{}, false
}

// evaluate grades the checks in order.
func (inst *Instance) evaluate(ctx context.Context, ev *check.Evidence, o Options) []grade.Result {
	var results []grade.Result
	status := map[string]grade.Status{}
	for _, c := range inst.Lab.Checks {
		start := time.Now()
		r := grade.Result{Number: c.Number, Name: c.Name, MaxPoints: c.Points, Visibility: grade.Visibility(c.Visibility), Tags: []string{c.Kind}}
		for _, req := range c.Requires {
			if status[req] != grade.StatusPassed {
				r.Status = grade.StatusSkipped
				r.BlockedBy = append(r.BlockedBy, req)
			}
		}
		if r.Status == "" {
			inst.evalOne(ctx, c, ev, &r, o)
		}
		r.Duration = time.Since(start)
		status[c.Name] = r.Status
		results = append(results, r)
	}
	return results
}

// evalOne evaluates check c into r, polling until it passes when c has a
// `within`.
func (inst *Instance) evalOne(ctx context.Context, c labs.Check, ev *check.Evidence, r *grade.Result, o Options) {
	kind, ok := findKind(c.Kind)
	if !ok {
		r.Status, r.Output = grade.StatusError, fmt.Sprintf("The lab is wrong: check %q has an unknown kind %q.", c.Name, c.Kind)
		return
	}
	args, err := inst.Variant.ExpandArgs(c.Args)
	if err == nil {
		var chk check.Check
		if chk, err = kind.New(check.Args(args)); err == nil {
			out := chk.Eval(ev)
			deadline := time.Now().Add(c.Within)
			for !out.Pass && time.Now().Before(deadline) && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
				if inst.gather(ctx, ev) == nil {
					out = chk.Eval(ev)
				}
			}
			inst.fill(c, out, r, o)
			return
		}
	}
	r.Status, r.Output = grade.StatusError, fmt.Sprintf("The lab is wrong: check %q: %v.", c.Name, err)
}

// fill turns a check's outcome into its result.
func (inst *Instance) fill(c labs.Check, out check.Outcome, r *grade.Result, o Options) {
	text := func(s string) string {
		if x, err := inst.Variant.Expand(s); err == nil {
			return x
		}
		return s
	}
	if out.Pass {
		r.Status, r.Points = grade.StatusPassed, c.Points
		var b []string
		if c.Pass != "" {
			b = append(b, text(c.Pass))
		}
		if out.Actual != "" {
			// What passed, so a student sees by how much.
			label := "Measured"
			if c.Kind == "answer" {
				label = "Your answer"
			}
			b = append(b, label+": "+out.Actual)
		}
		r.Output = strings.Join(b, "\n\n")
		return
	}
	r.Status = grade.StatusFailed
	var b strings.Builder
	if c.Fail != "" {
		b.WriteString(text(c.Fail) + "\n\n")
	}
	if c.Kind == "answer" {
		// The truth is the student's to find: resubmitting it must not
		// be the way to it.
		fmt.Fprintf(&b, "Your answer: %s\n", out.Actual)
	} else {
		fmt.Fprintf(&b, "Expected: %s\n\nActual: %s\n", out.Expected, out.Actual)
	}
	r.Output = b.String()
	r.Context = out.Lines
	if o.OutDir != "" && out.Conn != nil && out.Node != "" {
		f := filepath.Join(o.OutDir, fmt.Sprintf("check-%s-seq.svg", c.Number))
		po := plot.Options{Subtitle: "check " + c.Number + ": " + c.Name}
		if out.Mark != nil {
			po.Highlight, po.HighlightLabel = out.Mark, "check "+c.Number+": the segment it failed on"
		}
		if err := plot.RenderFile(f, plot.KindSeq, inst.lastEvents(out.Node), *out.Conn, po); err == nil {
			r.Plot = f
		}
	}
}

// lastEvents returns node's trace as last gathered (for plots).
func (inst *Instance) lastEvents(node string) []trace.Event {
	evs, _ := trace.ReadFile(inst.Dirs.Run(inst.State.Run).Trace(node))
	return evs
}

// digest is a short digest of the evidence, for telling runs apart.
func digest(ev *check.Evidence) string {
	h := sha256.New()
	json.NewEncoder(h).Encode(ev)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
