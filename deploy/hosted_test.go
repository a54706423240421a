package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/topology"
)

// TestHostedLab: a lab whose nodes run elsewhere is recorded as a lab of
// this machine — in the registry under its runtime, with its plan, state
// and a run — so the verbs find it; a second start is refused; ending it
// has Remove remove what runs elsewhere holding the lock, ends the run and
// leaves nothing but the run's folder; a Remove that fails keeps the lab
// recorded, to be ended again.
func TestHostedLab(t *testing.T) {
	requireRoot(t) // the state directory is root's
	e := isolatedEnv(t)
	ctx := context.Background()
	path, name := copyExample(t, "two-hosts")
	lab, err := topology.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := deploy.StartHosted(ctx, deploy.HostedOptions{Lab: lab, Runtime: "kubernetes", RunDir: e.runDir})
	if err != nil {
		t.Fatal(err)
	}
	st := h.State(deploy.StatusRunning)
	st.Cluster = &deploy.ClusterState{Namespace: "ns", Resource: name, Workers: 1}
	for i := range st.Nodes {
		st.Nodes[i].Pod = name + "-worker-0"
	}
	if err := h.Done(st); err != nil {
		t.Fatal(err)
	}
	running, err := deploy.Running(e.runDir)
	if err != nil || len(running) != 1 || running[0].Lab != name || running[0].Runtime != "kubernetes" {
		t.Fatalf("running: %+v, %v", running, err)
	}
	dirs := running[0].Dirs
	got, err := deploy.LabState(dirs)
	if err != nil || got.Cluster == nil || got.Cluster.Namespace != "ns" || got.Status != deploy.StatusRunning || len(got.Nodes) != 2 || got.Nodes[0].Pod == "" {
		t.Fatalf("state: %+v, %v", got, err)
	}
	if _, err := topology.ReadPlan(dirs.State(labdir.PlanFile)); err != nil {
		t.Errorf("no plan: %v", err)
	}
	if _, err := deploy.StartHosted(ctx, deploy.HostedOptions{Lab: lab, Runtime: "kubernetes", RunDir: e.runDir}); !errors.Is(err, deploy.ErrRunning) {
		t.Errorf("a second start: %v; want ErrRunning", err)
	}

	failing := errors.New("the cluster is unreachable")
	err = deploy.EndHosted(ctx, deploy.EndHostedOptions{LabName: name, RunDir: e.runDir, Remove: func(context.Context, *deploy.State, labdir.Run) error { return failing }})
	if !errors.Is(err, failing) {
		t.Errorf("a failing Remove: %v", err)
	}
	if running, _ := deploy.Running(e.runDir); len(running) != 1 {
		t.Fatalf("a lab whose removal failed left the registry: %+v", running)
	}
	var removed *deploy.State
	err = deploy.EndHosted(ctx, deploy.EndHostedOptions{LabName: name, RunDir: e.runDir, Remove: func(_ context.Context, st *deploy.State, run labdir.Run) error {
		removed = st
		return os.WriteFile(run.Trace("h1"), []byte("{}\n"), 0o644) // what Remove fetched
	}})
	if err != nil || removed == nil || removed.Cluster == nil {
		t.Fatalf("end: %v, Remove given %+v", err, removed)
	}
	if running, _ := deploy.Running(e.runDir); len(running) != 0 {
		t.Errorf("still running: %+v", running)
	}
	if _, err := os.Stat(dirs.StateDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory left: %v", err)
	}
	runs, err := dirs.Runs()
	if err != nil || len(runs) != 1 || runs[0].Ended.IsZero() {
		t.Errorf("runs: %+v, %v; want one, ended", runs, err)
	}
	if _, err := os.Stat(filepath.Join(dirs.Run(st.Run).Trace("h1"))); err != nil {
		t.Errorf("the fetched trace: %v", err)
	}
	if err := deploy.EndHosted(ctx, deploy.EndHostedOptions{LabName: name, RunDir: e.runDir}); !errors.Is(err, deploy.ErrNotRunning) {
		t.Errorf("ending it again: %v; want ErrNotRunning", err)
	}
}
