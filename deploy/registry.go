package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netlab/netlab/labdir"
)

// entry is a lab's entry in the registry of running labs,
// <RunDir>/labs/<lab>.json. It is written before anything of the lab is
// created and removed after everything is gone, so it lists every lab with
// something left on the machine, and lets destroy and inspect find a lab by
// name or topology file, or the only one running.
type entry struct {
	// Lab is the lab's name.
	Lab string `json:"lab"`
	// TopoFile is the absolute path of the topology file.
	TopoFile string `json:"topo-file"`
	// LabDir is the absolute path of the lab directory.
	LabDir string `json:"lab-dir"`
	// Run is the id of the lab's run.
	Run string `json:"run,omitempty"`
	// Runtime is the name of the runtime the nodes run on.
	Runtime string `json:"runtime"`
	// SwitchNS is the switch namespace's name; empty without segments or relays.
	SwitchNS string `json:"switch-ns,omitempty"`
	// DeployPID is the process that deployed the lab.
	DeployPID int `json:"deploy-pid"`
	// Started is when the deploy started.
	Started time.Time `json:"started"`
}

// registry is the directory of entry files.
type registry struct {
	runDir string // "" is labdir.DefaultRunDir
	dir    string
}

func newRegistry(runDir string) registry {
	return registry{runDir: runDir, dir: labdir.RegistryDir(runDir)}
}

// lab returns the directories of the lab of e.
func (r registry) lab(e *entry) labdir.Lab {
	l := labdir.New(r.runDir, e.Lab, e.TopoFile)
	if e.LabDir != "" {
		l.Dir = e.LabDir
	}
	return l
}

func (r registry) path(lab string) string { return filepath.Join(r.dir, lab+".json") }

// claim writes e's entry, failing with fs.ErrExist when the lab has one.
func (r registry) claim(e *entry) error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := createExclusiveJSON(r.path(e.Lab), e); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// update rewrites e's entry, which exists.
func (r registry) update(e *entry) error {
	if err := writeJSON(r.path(e.Lab), e, true); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// get returns lab's entry, or nil if it has none.
func (r registry) get(lab string) (*entry, error) {
	data, err := os.ReadFile(r.path(lab))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	e := &entry{}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("registry: %s: %w", r.path(lab), err)
	}
	return e, nil
}

// list returns every entry, sorted by lab name.
func (r registry) list() ([]*entry, error) {
	des, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var es []*entry
	for _, de := range des {
		lab, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || de.IsDir() {
			continue
		}
		e, err := r.get(lab)
		if err != nil {
			return nil, err
		}
		if e != nil {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(a, b *entry) int { return strings.Compare(a.Lab, b.Lab) })
	return es, nil
}

// remove deletes lab's entry (and temporary files a crash may have left).
func (r registry) remove(lab string) error {
	if err := os.Remove(r.path(lab)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry: %w", err)
	}
	if tmps, err := filepath.Glob(r.path(lab) + ".tmp-*"); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return nil
}

// RunningLab is a lab in the registry of running labs.
type RunningLab struct {
	Lab      string `json:"lab"`
	TopoFile string `json:"topo-file"`
	LabDir   string `json:"lab-dir"`
	Runtime  string `json:"runtime"`
	// Dirs are the lab's directories.
	Dirs labdir.Lab `json:"-"`
}

// Running lists the labs in the registry (runDir empty: labdir.DefaultRunDir),
// sorted by name. It needs no root and no runtime.
func Running(runDir string) ([]RunningLab, error) {
	reg := newRegistry(runDir)
	es, err := reg.list()
	if err != nil {
		return nil, err
	}
	out := make([]RunningLab, 0, len(es))
	for _, e := range es {
		out = append(out, RunningLab{Lab: e.Lab, TopoFile: e.TopoFile, LabDir: e.LabDir, Runtime: e.Runtime, Dirs: reg.lab(e)})
	}
	return out, nil
}
