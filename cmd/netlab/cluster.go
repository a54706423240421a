package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/kubelab"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/topology"
)

// onlyOnCluster fails when a flag for --runtime kubernetes is given with
// another runtime: nothing a user wrote is dropped.
func (c *clusterOptions) onlyOnCluster(rt string) error {
	set := []string{}
	if c.kubeconfig != "" {
		set = append(set, "--kubeconfig")
	}
	if c.workers != 0 {
		set = append(set, "--workers")
	}
	if c.image != "" {
		set = append(set, "--image")
	}
	if c.namespace != "netlab" {
		set = append(set, "--namespace")
	}
	if c.timeout != kubelab.DefaultTimeout {
		set = append(set, "--timeout")
	}
	if len(set) > 0 {
		return fmt.Errorf("%s: only for --runtime kubernetes (this deploy is on %s)", set[0], rt)
	}
	return nil
}

// runDeployCluster deploys the lab on a Kubernetes cluster.
func runDeployCluster(ctx context.Context, o *options, d *deployOptions, lab *topology.Lab) error {
	if d.noAgent {
		return errors.New("--no-agent: on kubernetes the worker pods are the agents: deploy without --no-agent")
	}
	if d.maxWorkers != 0 {
		return errors.New("--max-workers: not for --runtime kubernetes (the controller makes the pods); --workers says how many worker pods share the nodes")
	}
	allow, err := allowExec(o, lab, kubelab.Runtime, d.allowExec)
	if err != nil {
		return err
	}
	// The text, and what resolving it read besides, go with the lab: the
	// controller resolves the same text from them alone (read once here,
	// so that both are of one version of the file).
	lab, text, inputs, err := topology.LoadInputs(lab.File)
	if err != nil {
		return err
	}
	keep, err := d.maxRunBytes()
	if err != nil {
		return err
	}
	image := d.cluster.image
	if image == "" {
		if image, err = imageRef(); err != nil {
			return err
		}
	}
	opts := kubelab.Options{Lab: lab, Text: text, Inputs: inputs, Kubeconfig: d.cluster.kubeconfig, Namespace: d.cluster.namespace, Workers: d.cluster.workers,
		Image: image, Timeout: d.cluster.timeout, AllowExec: allow, Reconfigure: d.reconfigure, RunDir: runDir(), NoWait: d.noWait, MaxRunBytes: keep,
		Notice: func(msg string) { fmt.Fprintln(o.stderr, msg) }}
	if d.format != "json" && interactive() {
		opts.Progress = deploy.ProgressLine(o.stderr, "deploy")
	}
	st, err := kubelab.Deploy(ctx, opts)
	if err != nil {
		return err
	}
	return printDeployed(o, d, st)
}

// destroyCluster destroys the lab name, which runs on a cluster.
func destroyCluster(ctx context.Context, o *options, d *destroyOptions, name string) error {
	return kubelab.Destroy(ctx, kubelab.DestroyOptions{LabName: name, RunDir: runDir(), NoWait: d.noWait, Cleanup: d.cleanup, Forget: d.forget,
		Notice: func(msg string) { fmt.Fprintln(o.stderr, msg) }})
}

// clusterLabs lists the registry's labs on a cluster.
func clusterLabs() ([]deploy.RunningLab, error) {
	labs, err := deploy.Running(runDir())
	if err != nil {
		return nil, err
	}
	var out []deploy.RunningLab
	for _, l := range labs {
		if l.Runtime == kubelab.Runtime {
			out = append(out, l)
		}
	}
	return out, nil
}

// conn returns the connection to the cluster the lab runs on, made once.
func (r *labRef) conn() (*kubelab.Conn, error) {
	r.clusterMu.Lock()
	defer r.clusterMu.Unlock()
	if r.cluster == nil {
		c, err := kubelab.Connect(r.state.Cluster)
		if err != nil {
			return nil, fmt.Errorf("lab %s runs on a cluster: %w", r.lab.Name, err)
		}
		r.cluster = c
	}
	return r.cluster, nil
}

// podConn returns the connection to the cluster that reaches n's worker
// pod, or says that no pod runs n.
func (r *labRef) podConn(n *deploy.NodeState) (*kubelab.Conn, error) {
	c, err := r.conn()
	if err != nil {
		return nil, err
	}
	if n.Pod == "" {
		return nil, fmt.Errorf("lab %s: no worker pod runs node %s (netlab inspect -t %s says why)", r.lab.Name, n.Name, r.topoFile)
	}
	return c, nil
}

// syncRun fetches into run the files the worker pods recorded, when run is
// the current run of a lab running on a cluster; what cannot be fetched
// is said on stderr (what was fetched before is still read).
func syncRun(dirs labdir.Lab, run labdir.Run) {
	st, err := deploy.LabState(dirs)
	if err != nil || st.Cluster == nil || st.Run != run.ID || st.Status != deploy.StatusRunning {
		return
	}
	c, err := kubelab.Connect(st.Cluster)
	if err == nil {
		defer c.Close()
		err = c.Collect(context.Background(), st, run)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: lab %s: the run's files could not all be fetched from its worker pods (showing what was fetched before): %v\n", st.Lab, err)
	}
}

// inspectCluster sets what runs of st, a lab on a cluster, from its Lab's
// status; other labs are left as they are.
func inspectCluster(ctx context.Context, st *deploy.State) error {
	if st.Cluster == nil || st.Status != deploy.StatusRunning {
		return nil
	}
	c, err := kubelab.Connect(st.Cluster)
	if err != nil {
		return fmt.Errorf("lab %s runs on a cluster: %w", st.Lab, err)
	}
	defer c.Close()
	return c.Inspect(ctx, st)
}
