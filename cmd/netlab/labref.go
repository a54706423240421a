package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// labRef is a deployed lab as the read verbs find it.
type labRef struct {
	lab      *topology.Lab // as deployed: the lab directory's copy
	labDir   string
	topoFile string // the topology file the user named (or the running lab's)
}

// labDirName is where deploy keeps a lab's files: netlab-<lab> next to the
// topology file (containerlab's clab-<lab>).
func labDirName(topoFile, lab string) string {
	return filepath.Join(filepath.Dir(topoFile), "netlab-"+lab)
}

// findLab resolves -t (or, when it is left out, the one running lab).
func findLab(t *topoOptions) (*labRef, error) {
	file := t.file
	if file == "" {
		f, err := onlyRunningLab()
		if err != nil {
			return nil, err
		}
		file = f
	}
	lab, err := topology.Load(file)
	if err != nil {
		return nil, err
	}
	dir := labDirName(lab.File, lab.Name)
	if rl, _ := runningLab(lab.File); rl != nil && rl.LabDir != "" {
		dir = rl.LabDir
	}
	if _, err := os.Stat(filepath.Join(dir, nodeagent.TopologyCopy)); err != nil {
		return nil, fmt.Errorf("lab %s is not deployed (no %s): run `netlab deploy -t %s`", lab.Name, dir, file)
	}
	deployed, err := topology.Load(filepath.Join(dir, nodeagent.TopologyCopy))
	if err != nil {
		return nil, err
	}
	return &labRef{lab: deployed, labDir: dir, topoFile: lab.File}, nil
}

func (r *labRef) client(node string) (*nodeagent.Client, error) {
	if r.lab.Node(node) == nil {
		return nil, fmt.Errorf("lab %s has no node %q", r.lab.Name, node)
	}
	return nodeagent.NewClient(nodeagent.SocketPath(r.labDir, node), node), nil
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

var errNoLab = errors.New("no lab is running: deploy one with `netlab deploy -t FILE`, or name it with -t")
