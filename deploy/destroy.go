package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/workpool"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// DestroyOptions configures Destroy. At most one of TopoFile, LabName and
// All says which labs go; with none, the only running lab goes.
type DestroyOptions struct {
	// TopoFile selects the lab deployed from this topology file.
	TopoFile string
	// LabName selects the lab of this name.
	LabName string
	// All selects every lab netlab knows of: the registry's, and any whose
	// nodes the runtime still lists.
	All bool
	// Runtime deletes the nodes. Required; a lab deployed on another
	// runtime is an error.
	Runtime runtime.Runtime
	// Agent stops the node agents; nil leaves that to the processes
	// recorded with RecordProcess and to the runtime.
	Agent AgentStarter
	// MaxWorkers bounds the nodes deleted at once; 0 means
	// DefaultMaxWorkers().
	MaxWorkers int
	// Cleanup also removes the lab directory (logs included), as
	// containerlab's destroy --cleanup.
	Cleanup bool
	// Progress, if not nil, is told of the progress of each lab.
	Progress ProgressFunc
	// RunDir holds the registry of running labs, the locks and the state
	// directories; empty means labdir.DefaultRunDir.
	RunDir string
	// NoWait makes Destroy fail at once for a lab another command holds
	// the lock of (an error wrapping labdir.ErrLocked), rather than wait.
	NoWait bool
	// Notice, if not nil, is told that Destroy waits for another command,
	// and of what it could not remove but did not stop for (a management
	// network something else is connected to, with the commands to run).
	Notice func(msg string)
}

// Destroy removes the selected labs: agents and recorded processes first,
// then the nodes (and with them their interfaces), the switch namespace,
// the state directory, and last the lab's registry entry; it ends the
// lab's run (its folder stays in the lab directory unless Cleanup). It
// works from what the registry, the state directory's journal and state,
// and the runtime's labels say, so it also removes what a crashed deploy
// left. Each lab is destroyed holding its lock. A lab that is not running
// is an error wrapping ErrNotRunning. A lab whose removal failed stays in
// the registry, so Destroy can be run again.
func Destroy(ctx context.Context, o DestroyOptions) error {
	if o.Runtime == nil {
		return errors.New("destroy: no runtime given")
	}
	if os.Geteuid() != 0 {
		return ErrNeedRoot
	}
	reg := newRegistry(o.RunDir)
	entries, err := findLabs(ctx, reg, o.Runtime, o.TopoFile, o.LabName, o.All)
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.Runtime != "" && e.Runtime != o.Runtime.Name() {
			errs = append(errs, fmt.Errorf("destroy %s: it runs on the %s runtime: run destroy with --runtime %s", e.Lab, e.Runtime, e.Runtime))
			continue
		}
		if err := destroyLocked(ctx, reg, e, o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// destroyLocked destroys the lab of e holding its lock. A deploy or
// destroy that held it before may have changed the lab: its registry
// entry is read again once the lock is held.
func destroyLocked(ctx context.Context, reg registry, e *entry, o DestroyOptions) error {
	lock, err := lockLab(ctx, reg.lab(e), "destroy", o.NoWait, o.Notice)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	defer lock.Unlock()
	if now, err := reg.get(e.Lab); err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	} else if now != nil {
		e = now
	} else if e.DeployPID != 0 {
		// It was in the registry and someone destroyed it meanwhile.
		return fmt.Errorf("%w: lab %s was destroyed meanwhile", ErrNotRunning, e.Lab)
	}
	return destroyLab(ctx, e, destroyer{
		rt: o.Runtime, agent: o.Agent, workers: o.MaxWorkers, reg: reg,
		progress: o.Progress, cleanup: o.Cleanup, notice: o.Notice,
	})
}

// destroyer is how destroyLab works.
type destroyer struct {
	rt       runtime.Runtime
	agent    AgentStarter
	workers  int
	reg      registry
	progress ProgressFunc
	cleanup  bool
	notice   func(string) // told of what destroy leaves behind; may be nil
}

// destroyLab removes everything of the lab of e (see Destroy). The caller
// holds the lab's lock.
func destroyLab(ctx context.Context, e *entry, d destroyer) error {
	dirs := d.reg.lab(e)
	recs, err := readJournal(dirs.StateDir())
	if err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	st, _ := readState(dirs.StateDir()) // may be missing: a crash before it was written
	// Every node any record names, by long name; later records win.
	nodes := map[string]runtime.Node{}
	switchNS := e.SwitchNS
	agentStarted := false
	if st != nil && st.Lab == e.Lab {
		for _, n := range st.Nodes {
			if n.ID != "" {
				nodes[n.LongName] = runtime.Node{Name: n.Name, LongName: n.LongName, ID: n.ID, NSPath: n.NSPath, PID: n.PID}
			}
		}
		if switchNS == "" {
			switchNS = st.SwitchNS
		}
		agentStarted = st.Agent && st.Status == StatusRunning
	}
	for _, r := range recs {
		switch r.Op {
		case opNode:
			if _, ok := nodes[r.LongName]; !ok {
				nodes[r.LongName] = runtime.Node{Name: r.Node, LongName: r.LongName}
			}
		case opNodeCreated:
			nodes[r.LongName] = runtime.Node{Name: r.Node, LongName: r.LongName, ID: r.ID, NSPath: r.NSPath, PID: r.PID}
		case opSwitch:
			if switchNS == "" {
				switchNS = r.NS
			}
		case opAgent:
			agentStarted = true
		}
	}
	listed, err := d.rt.List(ctx, map[string]string{runtime.LabelLab: e.Lab})
	if err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	for _, n := range listed {
		nodes[n.LongName] = n
	}
	order := slices.Sorted(maps.Keys(nodes))

	total := len(order) + 3
	done := 0
	var mu sync.Mutex
	step := func(what string) {
		if d.progress != nil {
			mu.Lock()
			done++
			d.progress(done, total, what)
			mu.Unlock()
		}
	}
	if d.progress != nil {
		d.progress(0, total, "destroy "+e.Lab)
	}

	var errs []error
	if agentStarted && d.agent != nil {
		if err := d.agent.Stop(ctx, dirs); err != nil {
			errs = append(errs, fmt.Errorf("stop agents: %w", err))
		}
	}
	if err := stopRecordedProcesses(ctx, dirs.StateDir()); err != nil {
		errs = append(errs, err)
	}
	step("agents")

	workers := d.workers
	if workers <= 0 {
		workers = DefaultMaxWorkers()
	}
	_ = workpool.ForEach(ctx, len(order), workers, func(ctx context.Context, i int) error {
		n := nodes[order[i]]
		labels := maps.Clone(n.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[runtime.LabelLab] = e.Lab
		n.Labels = labels
		if err := d.rt.Delete(ctx, n); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		step("node " + n.Name)
		return nil
	})
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if nw, ok := d.rt.(runtime.Networker); ok && len(errs) == 0 {
		labels := map[string]string{runtime.LabelLab: e.Lab}
		if e.LabDir != "" {
			labels[runtime.LabelLabDir] = e.LabDir
		}
		// A network left behind holds no node of the lab any more: say
		// how to remove it, and finish destroying the lab.
		if err := nw.DeleteNetworks(ctx, labels); err != nil {
			notice(d.notice, "warning: destroy %s: %v", e.Lab, err)
		}
	}
	if switchNS != "" {
		if err := wiring.DeleteSwitchNS(switchNS); err != nil {
			errs = append(errs, err)
		}
	}
	step("switch namespace")
	if len(errs) > 0 {
		return fmt.Errorf("destroy %s: %w", e.Lab, errors.Join(errs...))
	}

	if err := finishLab(dirs, e, st, d.cleanup); err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	if err := d.reg.remove(e.Lab); err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	step("registry")
	return nil
}

// finishLab ends the lab's run, removes its state directory and, with
// cleanup, the lab directory (every run of the lab).
func finishLab(dirs labdir.Lab, e *entry, st *State, cleanup bool) error {
	run := e.Run
	if run == "" && st != nil && st.Lab == e.Lab {
		run = st.Run
	}
	if run != "" && !cleanup {
		if err := dirs.EndRun(run, time.Now()); err != nil {
			return err
		}
	}
	if err := dirs.RemoveStateDir(); err != nil {
		return err
	}
	if !cleanup || e.LabDir == "" {
		return nil
	}
	// Only ever a directory named as a lab directory of this lab.
	if filepath.Base(e.LabDir) != labdir.DirName(e.Lab) {
		return fmt.Errorf("not removing %s: not named %s", e.LabDir, labdir.DirName(e.Lab))
	}
	if err := os.RemoveAll(e.LabDir); err != nil {
		return fmt.Errorf("remove lab directory: %w", err)
	}
	return nil
}

// findLabs returns the registry entries of the selected labs (see
// DestroyOptions). A lab with nodes left but no entry gets one made from its
// nodes' labels.
func findLabs(ctx context.Context, reg registry, rt runtime.Runtime, topoFile, labName string, all bool) ([]*entry, error) {
	switch {
	case all:
		es, err := reg.list()
		if err != nil {
			return nil, err
		}
		known := map[string]bool{}
		for _, e := range es {
			known[e.Lab] = true
		}
		nodes, err := rt.List(ctx, nil)
		if err != nil {
			return nil, err
		}
		orphans := map[string][]runtime.Node{}
		for _, n := range nodes {
			if lab := n.Labels[runtime.LabelLab]; lab != "" && !known[lab] {
				orphans[lab] = append(orphans[lab], n)
			}
		}
		for _, lab := range slices.Sorted(maps.Keys(orphans)) {
			es = append(es, entryFromNodes(lab, rt.Name(), orphans[lab]))
		}
		return es, nil

	case topoFile != "":
		abs, err := filepath.Abs(topoFile)
		if err != nil {
			return nil, err
		}
		es, err := reg.list()
		if err != nil {
			return nil, err
		}
		var found []*entry
		for _, e := range es {
			if e.TopoFile == abs {
				found = append(found, e)
			}
		}
		if len(found) > 0 {
			return found, nil
		}
		lab, err := topology.Load(topoFile)
		if err != nil {
			return nil, fmt.Errorf("%w: none was deployed from %s (and it does not load: %v)", ErrNotRunning, topoFile, err)
		}
		return findByName(ctx, reg, rt, lab.Name)

	case labName != "":
		return findByName(ctx, reg, rt, labName)
	}
	es, err := reg.list()
	if err != nil {
		return nil, err
	}
	switch len(es) {
	case 0:
		return nil, fmt.Errorf("%w: no lab is running", ErrNotRunning)
	case 1:
		return es, nil
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Lab
	}
	return nil, fmt.Errorf("%d labs are running (%s): say which with -t FILE, or use --all", len(es), strings.Join(names, ", "))
}

func findByName(ctx context.Context, reg registry, rt runtime.Runtime, lab string) ([]*entry, error) {
	e, err := reg.get(lab)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return []*entry{e}, nil
	}
	nodes, err := rt.List(ctx, map[string]string{runtime.LabelLab: lab})
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: lab %s is not running", ErrNotRunning, lab)
	}
	return []*entry{entryFromNodes(lab, rt.Name(), nodes)}, nil
}

// entryFromNodes makes a registry entry for a lab that has none from its
// nodes' labels.
func entryFromNodes(lab, rt string, nodes []runtime.Node) *entry {
	e := &entry{Lab: lab, Runtime: rt}
	for _, n := range nodes {
		if e.LabDir == "" {
			e.LabDir = n.Labels[runtime.LabelLabDir]
		}
		if e.TopoFile == "" {
			e.TopoFile = n.Labels[runtime.LabelTopoFile]
		}
	}
	return e
}
