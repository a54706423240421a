package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/topology"
)

// A hosted lab is one whose nodes something else makes and runs (the
// controller of a Kubernetes cluster, see package kubelab), recorded on
// this machine as netlab records its own labs: a registry entry, a state
// directory with the plan and the State, and a run in the lab directory
// for the traces and captures fetched from where the nodes run. So the
// verbs that find a lab by -t, list runs or read them work the same.

// HostedOptions configures StartHosted.
type HostedOptions struct {
	// Lab is the plan; Lab.File places the lab directory.
	Lab *topology.Lab
	// Runtime names where the nodes run ("kubernetes").
	Runtime string
	// RunDir, NoWait, Notice and MaxRunBytes are as in Options.
	RunDir      string
	NoWait      bool
	Notice      func(msg string)
	MaxRunBytes int64
}

// Hosted is a hosted lab being deployed: its lock is held until Done or
// Abort.
type Hosted struct {
	d    *deployer
	lock *labdir.Lock
}

// StartHosted takes the lab's lock, claims its registry entry and makes
// its state directory (with the plan) and a new run. A lab of the name
// that is in the registry is an error wrapping ErrRunning: the caller
// ends it first (EndHosted, or Destroy for a lab of this machine).
func StartHosted(ctx context.Context, o HostedOptions) (*Hosted, error) {
	if o.Lab == nil || o.Runtime == "" {
		return nil, errors.New("deploy: a hosted lab needs its plan and its runtime's name")
	}
	lab := o.Lab
	warnNoContainers(o.Notice, o.Runtime, lab)
	topoFile, err := filepath.Abs(lab.File)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	dirs := labdir.New(o.RunDir, lab.Name, topoFile)
	lock, err := lockLab(ctx, dirs, "deploy", o.NoWait, o.Notice)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	reg := newRegistry(o.RunDir)
	e, err := reg.get(lab.Name)
	if err == nil && e != nil {
		err = fmt.Errorf("%w on %s (deployed from %s): destroy it first with `netlab destroy -t %s`, or redeploy with --reconfigure",
			ErrRunning, e.Runtime, e.TopoFile, e.TopoFile)
	}
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	d := &deployer{
		o:   Options{Lab: lab, RunDir: o.RunDir, Notice: o.Notice, MaxRunBytes: o.MaxRunBytes},
		lab: lab, dirs: dirs, reg: reg,
		entry: &entry{Lab: lab.Name, TopoFile: topoFile, LabDir: dirs.Dir, Runtime: o.Runtime, DeployPID: os.Getpid(), Started: time.Now().UTC()},
	}
	if err := reg.claim(d.entry); err != nil {
		lock.Unlock()
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("deploy %s: %w: another deploy of it has just started", lab.Name, ErrRunning)
		}
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	h := &Hosted{d: d, lock: lock}
	if err := d.prepare(); err != nil {
		return nil, errors.Join(fmt.Errorf("deploy %s: %w", lab.Name, err), h.Abort())
	}
	if err := writeJSON(dirs.State(labdir.StateFile), h.State(StatusDeploying), true); err != nil {
		return nil, errors.Join(fmt.Errorf("deploy %s: %w", lab.Name, err), h.Abort())
	}
	return h, nil
}

// Dirs returns the lab's directories.
func (h *Hosted) Dirs() labdir.Lab { return h.d.dirs }

// Run returns the run this deploy started.
func (h *Hosted) Run() labdir.Run { return h.d.lrun }

// State returns the lab's State with status, its nodes as the plan has
// them: the caller adds where they run.
func (h *Hosted) State(status string) *State {
	st := h.d.state(status)
	st.Agent = true
	return st
}

// Done records st (from State, completed by the caller) as the running
// lab's and releases the lock.
func (h *Hosted) Done(st *State) error {
	defer h.lock.Unlock()
	st.Status, st.Running, st.Deployed = StatusRunning, true, time.Now().UTC()
	if err := writeJSON(h.d.dirs.State(labdir.StateFile), st, true); err != nil {
		return fmt.Errorf("deploy %s: %w", h.d.lab.Name, err)
	}
	return nil
}

// Abort ends the run, removes the state directory and the registry entry,
// and releases the lock: the caller has removed what it made elsewhere.
func (h *Hosted) Abort() error {
	defer h.lock.Unlock()
	if err := finishLab(h.d.dirs, h.d.entry, nil, false); err != nil {
		return err
	}
	return h.d.reg.remove(h.d.lab.Name)
}

// EndHostedOptions configures EndHosted.
type EndHostedOptions struct {
	// LabName is the lab to end.
	LabName string
	// RunDir, NoWait and Notice are as in DestroyOptions; Cleanup also
	// removes the lab directory.
	RunDir  string
	NoWait  bool
	Cleanup bool
	Notice  func(msg string)
	// Remove removes what the lab has where it runs, given its recorded
	// state (nil when none was written) and current run; the lab's lock
	// is held. An error leaves the lab in the registry.
	Remove func(ctx context.Context, st *State, run labdir.Run) error
}

// EndHosted ends a hosted lab: holding its lock, it has o.Remove remove
// what runs elsewhere, then ends the run, removes the state directory and
// last the registry entry. A lab not in the registry is an error wrapping
// ErrNotRunning.
func EndHosted(ctx context.Context, o EndHostedOptions) error {
	reg := newRegistry(o.RunDir)
	e, err := reg.get(o.LabName)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", o.LabName, err)
	}
	if e == nil {
		return fmt.Errorf("%w: lab %s is not running", ErrNotRunning, o.LabName)
	}
	dirs := reg.lab(e)
	lock, err := lockLab(ctx, dirs, "destroy", o.NoWait, o.Notice)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	defer lock.Unlock()
	if e, err = reg.get(o.LabName); err != nil {
		return fmt.Errorf("destroy %s: %w", o.LabName, err)
	} else if e == nil {
		return fmt.Errorf("%w: lab %s was destroyed meanwhile", ErrNotRunning, o.LabName)
	}
	st, _ := readState(dirs.StateDir())
	if st != nil && st.Lab != e.Lab {
		st = nil
	}
	if o.Remove != nil {
		if err := o.Remove(ctx, st, dirs.Run(e.Run)); err != nil {
			return fmt.Errorf("destroy %s: %w", e.Lab, err)
		}
	}
	if err := finishLab(dirs, e, st, o.Cleanup); err != nil {
		return fmt.Errorf("destroy %s: %w", e.Lab, err)
	}
	return reg.remove(e.Lab)
}
