package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/netlab/netlab/runtime"
)

// InspectOptions configures Inspect. At most one of TopoFile, LabName and
// All says which labs to show; with none, the only running lab.
type InspectOptions struct {
	// TopoFile selects the lab deployed from this topology file.
	TopoFile string
	// LabName selects the lab of this name.
	LabName string
	// All selects every running lab.
	All bool
	// Runtime tells which nodes are alive. Required.
	Runtime runtime.Runtime
	// RunDir holds the registry of running labs; empty means
	// DefaultRunDir.
	RunDir string
}

// Inspect returns the state of the selected running labs, sorted by name,
// with each node's Alive set from the runtime. A lab whose lab directory is
// gone is shown from its registry entry and the runtime. With All and no lab
// running it returns none; otherwise no such lab is an error wrapping
// ErrNotRunning. It needs no root.
func Inspect(ctx context.Context, o InspectOptions) ([]*State, error) {
	if o.Runtime == nil {
		return nil, errors.New("inspect: no runtime given")
	}
	reg := newRegistry(o.RunDir)
	entries, err := findLabs(ctx, reg, o.Runtime, o.TopoFile, o.LabName, o.All)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	var states []*State
	for _, e := range entries {
		st, err := inspectLab(ctx, o.Runtime, e)
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", e.Lab, err)
		}
		states = append(states, st)
	}
	return states, nil
}

func inspectLab(ctx context.Context, rt runtime.Runtime, e *entry) (*State, error) {
	var st *State
	if e.LabDir != "" {
		st, _ = readState(e.LabDir)
	}
	if st == nil || st.Lab != e.Lab {
		st = &State{Lab: e.Lab, TopoFile: e.TopoFile, LabDir: e.LabDir, Runtime: e.Runtime,
			Status: StatusDeploying, DeployPID: e.DeployPID, Started: e.Started, SwitchNS: e.SwitchNS}
	}
	st.Running = true
	if e.Runtime != "" && e.Runtime != rt.Name() {
		return st, nil // cannot tell which nodes are alive
	}
	listed, err := rt.List(ctx, map[string]string{runtime.LabelLab: e.Lab})
	if err != nil {
		return nil, err
	}
	alive := map[string]runtime.Node{}
	for _, n := range listed {
		if n.NSPath != "" {
			if _, err := os.Stat(n.NSPath); err != nil {
				continue
			}
		}
		alive[n.LongName] = n
	}
	seen := map[string]bool{}
	for i := range st.Nodes {
		ns := &st.Nodes[i]
		n, ok := alive[ns.LongName]
		ns.Alive = ok
		seen[ns.LongName] = true
		if ok && ns.ID == "" {
			ns.ID, ns.NSPath, ns.PID = n.ID, n.NSPath, n.PID
		}
	}
	for _, n := range listed {
		if !seen[n.LongName] {
			_, ok := alive[n.LongName]
			st.Nodes = append(st.Nodes, NodeState{Name: n.Name, LongName: n.LongName, ID: n.ID, NSPath: n.NSPath, PID: n.PID, Alive: ok})
		}
	}
	return st, nil
}
