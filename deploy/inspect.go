package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/runtime"
)

// What Inspect found of a node's agent (NodeState.Agent).
const (
	// AgentUp: the agent answers and serves the node.
	AgentUp = "up"
	// AgentDown: the node should have an agent that does not answer for
	// it (NodeState.Reason says what happened).
	AgentDown = "down"
	// AgentNone: the lab was deployed without agents.
	AgentNone = "none"
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
	// Runtime tells which nodes run. Required.
	Runtime runtime.Runtime
	// RunDir holds the registry of running labs; empty means
	// labdir.DefaultRunDir.
	RunDir string
}

// Inspect returns the state of the selected running labs, sorted by name.
// Each node's liveness comes from the source, not from what deploy
// recorded: a node is Alive when the runtime lists it running with its
// namespace and, in a lab with agents, its agent answers for it;
// otherwise Reason says why not. A lab whose state directory is gone is
// shown from its registry entry and the runtime. With All and no lab
// running it returns none; otherwise no such lab is an error wrapping
// ErrNotRunning.
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
		st, err := inspectLab(ctx, o.Runtime, reg, e)
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", e.Lab, err)
		}
		states = append(states, st)
	}
	return states, nil
}

func inspectLab(ctx context.Context, rt runtime.Runtime, reg registry, e *entry) (*State, error) {
	st, _ := readState(reg.lab(e).StateDir())
	if st == nil || st.Lab != e.Lab {
		st = &State{Lab: e.Lab, TopoFile: e.TopoFile, LabDir: e.LabDir, Run: e.Run, Runtime: e.Runtime,
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
	byName := map[string]runtime.Node{}
	for _, n := range listed {
		byName[n.LongName] = n
	}
	seen := map[string]bool{}
	for i := range st.Nodes {
		ns := &st.Nodes[i]
		seen[ns.LongName] = true
		n, ok := byName[ns.LongName]
		if ok && ns.ID == "" {
			ns.ID, ns.NSPath, ns.PID = n.ID, n.NSPath, n.PID
		}
		ns.Alive, ns.Reason = nodeRuns(n, ok)
	}
	for _, n := range listed {
		if !seen[n.LongName] {
			alive, why := nodeRuns(n, true)
			st.Nodes = append(st.Nodes, NodeState{Name: n.Name, LongName: n.LongName, ID: n.ID, NSPath: n.NSPath, PID: n.PID,
				Alive: alive, Reason: why, Agent: AgentNone})
		}
	}
	if st.Status == StatusRunning {
		checkAgents(ctx, st)
	}
	return st, nil
}

// nodeRuns says whether the runtime's node n (listed: the runtime listed
// it) runs with its namespace, and if not why.
func nodeRuns(n runtime.Node, listed bool) (bool, string) {
	switch {
	case !listed:
		return false, "the runtime no longer has it"
	case !n.Running:
		if n.Status != "" {
			return false, "not running: " + n.Status
		}
		return false, "not running"
	case n.NSPath == "":
		return false, "it has no network namespace"
	}
	if _, err := os.Stat(n.NSPath); err != nil {
		return false, "its network namespace is gone"
	}
	return true, ""
}

// checkAgents asks every agent of st (once each, in parallel) whom it
// serves, and marks the nodes whose agent does not answer for them.
func checkAgents(ctx context.Context, st *State) {
	bySocket := map[string][]*NodeState{}
	for i := range st.Nodes {
		ns := &st.Nodes[i]
		switch {
		case !st.Agent:
			ns.Agent = AgentNone
		case ns.Socket == "":
			ns.Agent = AgentDown
		default:
			bySocket[ns.Socket] = append(bySocket[ns.Socket], ns)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 16)
	for sock, nodes := range bySocket {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h, err := nodeagent.NewClient(sock, "").PatientHealth(ctx)
			served := map[string]bool{}
			for _, n := range h.Nodes {
				served[n] = true
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ns := range nodes {
				switch {
				case err == nil && served[ns.Name]:
					ns.Agent = AgentUp
				case err == nil:
					ns.Agent = AgentDown
					ns.Alive = false
					ns.Reason = joinReason(ns.Reason, "its agent answers but does not serve it (see "+ns.Log+")")
				default:
					ns.Agent = AgentDown
					ns.Alive = false
					ns.Reason = joinReason(ns.Reason, AgentDeadReason(err, ns.Log))
				}
			}
		}()
	}
	wg.Wait()
}

// AgentDeadReason says, for people, that an agent did not answer because
// of err, and where its log is.
func AgentDeadReason(err error, log string) string {
	var what string
	switch {
	case errors.Is(err, os.ErrNotExist):
		what = "its agent's socket is gone"
	case errors.Is(err, context.DeadlineExceeded):
		what = fmt.Sprintf("its agent did not answer within %v, %d times (stopped or stuck?)", nodeagent.HealthTimeout, nodeagent.HealthTries)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not the URL, which is made up
		}
		what = "its agent does not answer (it has died?): " + err.Error()
	}
	if log != "" {
		what += "; see " + log
	}
	return what
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
