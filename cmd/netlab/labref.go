package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/kubelab"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// labRef is a deployed lab as the verbs that use it find it.
type labRef struct {
	lab      *topology.Lab // the plan as deployed (never the topology file re-read)
	dirs     labdir.Lab
	state    *deploy.State
	topoFile string // the topology file the user named (or the running lab's)
	// A lab on a cluster: the connection conn makes once, kept as long as
	// the command runs.
	clusterMu sync.Mutex
	cluster   *kubelab.Conn
}

// findLab resolves -t (or, when it is left out, the one running lab) to a
// running lab.
func findLab(t *topoOptions) (*labRef, error) {
	rl, err := runningLab(t.file)
	if err != nil {
		return nil, err
	}
	if rl == nil {
		lab, err := topology.Load(t.file)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("lab %s is not deployed: run `netlab deploy -t %s`", lab.Name, t.file)
	}
	st, err := deploy.LabState(rl.Dirs)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w (is it still being deployed?)", rl.Lab, err)
	}
	plan, err := topology.ReadPlan(rl.Dirs.State(labdir.PlanFile))
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", rl.Lab, err)
	}
	return &labRef{lab: plan, dirs: rl.Dirs, state: st, topoFile: rl.TopoFile}, nil
}

// node returns the state of node, or an error naming the lab's nodes.
func (r *labRef) node(name string) (*deploy.NodeState, error) {
	if r.lab.Node(name) == nil {
		return nil, fmt.Errorf("lab %s has no node %q", r.lab.Name, name)
	}
	for i := range r.state.Nodes {
		if r.state.Nodes[i].Name == name {
			return &r.state.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s: node %s has no state (is the lab still being deployed?)", r.lab.Name, name)
}

// client returns the client of the agent that serves node.
func (r *labRef) client(name string) (*nodeagent.Client, error) {
	ns, err := r.node(name)
	if err != nil {
		return nil, err
	}
	if r.state.Cluster != nil {
		c, err := r.podConn(ns)
		if err != nil {
			return nil, err
		}
		return c.Client(name, ns.Pod), nil
	}
	if !r.state.Agent || ns.Socket == "" {
		return nil, fmt.Errorf("lab %s was deployed without agents (--no-agent): nothing serves node %s; redeploy it with `netlab deploy --reconfigure -t %s`",
			r.lab.Name, name, r.topoFile)
	}
	return nodeagent.NewClient(ns.Socket, name).WithLog(ns.Log), nil
}

// nodeClient finds the lab (-t, or the only running one) and the agent
// client of one of its nodes.
func nodeClient(t *topoOptions, node string) (*labRef, *nodeagent.Client, error) {
	r, err := findLab(t)
	if err != nil {
		return nil, nil, err
	}
	c, err := r.client(node)
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// labDirs resolves -t (or the one running lab) to the lab's directories,
// whether or not the lab runs: the runs of a destroyed lab stay readable.
func labDirs(t *topoOptions) (labdir.Lab, error) {
	if t.file == "" {
		rl, err := runningLab("")
		if err != nil {
			return labdir.Lab{}, err
		}
		return rl.Dirs, nil
	}
	if rl, err := runningLab(t.file); err != nil {
		return labdir.Lab{}, err
	} else if rl != nil {
		return rl.Dirs, nil
	}
	lab, err := topology.Load(t.file)
	if err != nil {
		return labdir.Lab{}, err
	}
	abs, err := filepath.Abs(lab.File)
	if err != nil {
		return labdir.Lab{}, err
	}
	return labdir.New(runDir(), lab.Name, abs), nil
}

// findRun returns the run spec names (see labdir.Lab.FindRun) of the lab
// -t names (or the one running lab).
func findRun(t *topoOptions, spec string) (labdir.Lab, labdir.Run, error) {
	dirs, err := labDirs(t)
	if err != nil {
		return labdir.Lab{}, labdir.Run{}, err
	}
	run, err := dirs.FindRun(spec)
	return dirs, run, err
}

var errNoLab = errors.New("no lab is running: deploy one with `netlab deploy -t FILE`, or name it with -t")

// runRef is one run of a lab, as the verbs that read what happened find
// it: the lab need not run any more.
type runRef struct {
	dirs labdir.Lab
	run  labdir.Run
	lab  *topology.Lab // the plan as deployed in that run
}

// openRun finds run spec ("" for the current run) of the lab -t names (or
// of the one running lab) and the plan it was deployed with.
func openRun(t *topoOptions, spec string) (*runRef, error) {
	dirs, run, err := findRun(t, spec)
	if err != nil {
		return nil, err
	}
	plan, err := topology.ReadPlan(run.Path(labdir.PlanFile))
	if err != nil {
		return nil, fmt.Errorf("run %s of lab %s: %w", run.ID, dirs.Name, err)
	}
	syncRun(dirs, run)
	return &runRef{dirs: dirs, run: run, lab: plan}, nil
}

// openRuns returns the runs spec names: every run of the lab for "all",
// oldest first, else the one run openRun finds.
func openRuns(t *topoOptions, spec string) ([]*runRef, error) {
	if spec != "all" {
		r, err := openRun(t, spec)
		if err != nil {
			return nil, err
		}
		return []*runRef{r}, nil
	}
	dirs, err := labDirs(t)
	if err != nil {
		return nil, err
	}
	runs, err := dirs.Runs()
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%w: lab %s has no runs in %s", labdir.ErrNoRun, dirs.Name, dirs.Dir)
	}
	var out []*runRef
	for _, rs := range runs {
		run := dirs.Run(rs.ID)
		plan, err := topology.ReadPlan(run.Path(labdir.PlanFile))
		if err != nil {
			continue // a run whose deploy crashed before it had a plan
		}
		syncRun(dirs, run)
		out = append(out, &runRef{dirs: dirs, run: run, lab: plan})
	}
	return out, nil
}

// readNodeTrace reads node's recorded trace in each of runs, one after the
// other (connections of different runs are never one: see trace.Conns).
func readNodeTrace(runs []*runRef, node string) ([]trace.Event, error) {
	var all []trace.Event
	found := false
	for _, r := range runs {
		path, err := r.traceFile(node)
		if err != nil {
			continue
		}
		found = true
		ev, err := trace.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, ev...)
	}
	if !found {
		return nil, fmt.Errorf("lab %s has no node %q", runs[0].lab.Name, node)
	}
	return all, nil
}

// runLabel names the runs read, for titles.
func runLabel(runs []*runRef) string {
	if len(runs) == 1 {
		return "run " + runs[0].run.ID
	}
	return fmt.Sprintf("%d runs, %s to %s", len(runs), runs[0].run.ID, runs[len(runs)-1].run.ID)
}

// addRunFlag adds --run to a verb that reads what happened.
func addRunFlag(cmd *cobra.Command, spec *string) {
	cmd.Flags().StringVar(spec, "run", "", "which run of the lab to read: an id from `netlab runs` (or its first digits), latest, or all (default: the current run)")
}

// traceFile returns where node's trace of the run is, checking the node.
func (r *runRef) traceFile(node string) (string, error) {
	if r.lab.Node(node) == nil {
		return "", fmt.Errorf("lab %s has no node %q", r.lab.Name, node)
	}
	return r.run.Trace(node), nil
}

// checkPeer fails, naming the node and why, when the agent of c (the
// node a transfer starts from) does not answer, or when addr is the
// address of a node of the lab that is not alive: a transfer to it would
// only wait for TCP to give up.
func (r *labRef) checkPeer(ctx context.Context, c *nodeagent.Client, addr netip.Addr) error {
	if _, err := c.PatientHealth(ctx); err != nil {
		return c.Unreachable(err)
	}
	owner := ""
	for _, n := range r.lab.Nodes {
		for _, ifc := range n.Interfaces {
			if ifc.Addr.IsValid() && ifc.Addr.Addr() == addr {
				owner = n.Name
			}
		}
	}
	if owner == "" {
		return nil
	}
	nodes, err := r.liveNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Name == owner && !n.Alive {
			return fmt.Errorf("%s is the address of node %s, which is not alive: %s", addr, owner, n.Reason)
		}
	}
	return nil
}

// liveNodes returns the lab's nodes as inspect finds them now, nil when
// it cannot tell.
func (r *labRef) liveNodes(ctx context.Context) ([]deploy.NodeState, error) {
	if r.state.Cluster != nil {
		c, err := r.conn()
		if err != nil {
			return nil, err
		}
		st := *r.state
		st.Nodes = slices.Clone(r.state.Nodes)
		if err := c.Inspect(ctx, &st); err != nil {
			return nil, nil
		}
		return st.Nodes, nil
	}
	rt, err := newRuntime(ctx, r.state.Runtime)
	if err != nil {
		return nil, err
	}
	sts, err := deploy.Inspect(ctx, deploy.InspectOptions{LabName: r.lab.Name, Runtime: rt, RunDir: runDir()})
	if err != nil || len(sts) != 1 {
		return nil, nil
	}
	return sts[0].Nodes, nil
}
