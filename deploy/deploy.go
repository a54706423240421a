// Package deploy turns a topology file into a running lab and removes it
// again: the orchestration behind `netlab deploy`, `destroy` and `inspect`.
//
// Deploy loads the plan (package topology), makes one node per plan node
// through a runtime.Runtime, wires them (package wiring) and starts the node
// agents through an AgentStarter. What it makes is recorded before it is
// made:
//
//   - a registry entry, <RunDir>/labs/<lab>.json, written first and removed
//     last, names the lab, its topology file, lab directory, runtime and
//     switch namespace;
//   - the lab directory, netlab-<lab>/ next to the topology file, holds the
//     resolved topology (TopologyFile), the State (StateFile), the intent
//     log (JournalFile: a record before each node, the switch namespace and
//     the agents), the nodes' logs (LogDir) and the processes agents
//     recorded (PIDDir, see RecordProcess);
//   - runtime objects carry the runtime.Label* labels.
//
// So after a crash, even kill -9 in the middle of a deploy, Destroy finds
// and removes everything; a deploy that fails rolls back the same way.
// Veths and bridges never exist outside the lab's namespaces (see package
// wiring), so deleting the namespaces removes them.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/workpool"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// DefaultMaxWorkers returns the number of nodes or links worked on at once
// when Options.MaxWorkers is 0 (see wiring.DefaultMaxWorkers).
func DefaultMaxWorkers() int { return wiring.DefaultMaxWorkers() }

// rollbackTimeout bounds the rollback of a failed deploy, which runs even
// when the deploy's context was cancelled (Ctrl-C).
const rollbackTimeout = 5 * time.Minute

// ErrNeedRoot is returned when netlab does not run as root.
var ErrNeedRoot = errors.New("netlab needs root to create and delete network namespaces: run it with sudo")

// ErrRunning is wrapped by the error of Deploy when the lab is running
// already (or what a crashed deploy left is still there).
var ErrRunning = errors.New("lab is running")

// ErrNotRunning is wrapped by the errors of Destroy and Inspect when there
// is no such running lab.
var ErrNotRunning = errors.New("no such running lab")

// ProgressFunc is told of the progress of a deploy or destroy: done steps
// out of total (total stays the same through one call of Deploy or
// Destroy), and what the last step did. Calls never overlap. The CLI draws
// a progress line with it on a terminal (see ProgressLine), and passes nil
// in CI or with --format json.
type ProgressFunc func(done, total int, what string)

// AgentStarter starts and stops the node agents of a lab. netlab's node
// agent implements it; nil means no agent (the nodes are wired, nothing
// runs in them).
type AgentStarter interface {
	// Start starts the agents of lab's nodes once they are wired. nodes
	// maps node names to the runtime's nodes; labDir is the lab
	// directory. Processes it starts should be recorded with
	// RecordProcess, so that Destroy stops them even without an
	// AgentStarter. On error the deploy is rolled back (Stop is called).
	Start(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, labDir string) error
	// Stop stops the agents of the lab in labDir, also after a crash of
	// the process that started them. Stopping agents that are gone is not
	// an error.
	Stop(ctx context.Context, labDir string) error
}

// Options configures Deploy.
type Options struct {
	// TopoFile is the topology file to deploy.
	TopoFile string
	// Lab, if not nil, is the plan to deploy, already loaded (for example
	// to show its warnings first, or changed by a test); TopoFile is then
	// ignored. Lab.File places the lab directory.
	Lab *topology.Lab
	// Runtime makes the nodes. Required.
	Runtime runtime.Runtime
	// MaxWorkers bounds the nodes or links worked on at once; 0 means
	// DefaultMaxWorkers().
	MaxWorkers int
	// Reconfigure destroys the lab first if it is running (or a crashed
	// deploy left something), instead of failing.
	Reconfigure bool
	// Progress, if not nil, is told of the progress.
	Progress ProgressFunc
	// Agent starts the node agents; nil means none.
	Agent AgentStarter
	// AgentArgs, if set, gives each node's NodeSpec.AgentArgs: the command
	// of a runtime that runs one agent per node (docker).
	AgentArgs func(n *topology.Node) []string
	// RunDir holds the registry of running labs; empty means
	// DefaultRunDir.
	RunDir string
}

// Deploy deploys a lab and returns its state. A lab of the same name that is
// running is an error wrapping ErrRunning, unless o.Reconfigure. If
// anything fails (or ctx is cancelled), everything made is removed again
// before Deploy returns.
func Deploy(ctx context.Context, o Options) (*State, error) {
	if o.Runtime == nil {
		return nil, errors.New("deploy: no runtime given")
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	lab := o.Lab
	if lab == nil {
		var err error
		if lab, err = topology.Load(o.TopoFile); err != nil {
			return nil, err
		}
	}
	if err := preflight(lab); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	labDir, err := LabDir(lab)
	if err != nil {
		return nil, err
	}
	topoFile, err := filepath.Abs(lab.File)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	reg := newRegistry(o.RunDir)
	if err := checkNotRunning(ctx, o, reg, lab); err != nil {
		return nil, err
	}
	d := &deployer{
		o:      o,
		lab:    lab,
		labDir: labDir,
		reg:    reg,
		nodes:  make(map[string]runtime.Node, len(lab.Nodes)),
		entry: &entry{
			Lab:       lab.Name,
			TopoFile:  topoFile,
			LabDir:    labDir,
			Runtime:   o.Runtime.Name(),
			DeployPID: os.Getpid(),
			Started:   time.Now().UTC(),
		},
	}
	if wiring.NeedsSwitchNS(lab) {
		d.entry.SwitchNS = wiring.SwitchNSName(lab)
		// Checked before it is recorded: a rollback deletes what is
		// recorded, and must not delete someone else's namespace.
		if _, err := os.Lstat(filepath.Join(linuxnet.NetnsRunDir, d.entry.SwitchNS)); err == nil {
			return nil, fmt.Errorf("deploy %s: the switch namespace %s already exists (another lab, or what a crashed one left): "+
				"run `netlab destroy --all`, or `ip netns del %s` if it is not netlab's", lab.Name, d.entry.SwitchNS, d.entry.SwitchNS)
		}
	}
	d.total = 1 + len(lab.Nodes) + wiring.Steps(lab)
	if d.entry.SwitchNS != "" {
		d.total++
	}
	if o.Agent != nil {
		d.total++
	}
	// The registry entry before anything else: from here on, Destroy
	// finds the lab.
	if err := reg.claim(d.entry); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("deploy %s: %w: another deploy of it has just started", lab.Name, ErrRunning)
		}
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	st, err := d.run(ctx)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if rerr := destroyLab(rctx, d.entry, destroyer{rt: o.Runtime, agent: o.Agent, workers: o.MaxWorkers, reg: reg}); rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("roll back: %w (run `netlab destroy -t %s`)", rerr, topoFile))
		}
		return nil, err
	}
	return st, nil
}

// preflight finds the problems of lab on this host that would make the
// deploy fail half-way, and says how to fix them.
func preflight(lab *topology.Lab) error {
	const ccPath = "/proc/sys/net/ipv4/tcp_congestion_control"
	var allowed, available []string
	for _, n := range lab.Nodes {
		for _, k := range slices.Sorted(maps.Keys(n.Sysctls)) {
			if p, err := linuxnet.SysctlPath(k); err != nil || p != ccPath {
				continue
			}
			if allowed == nil {
				allowed = readWords("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
				available = readWords("/proc/sys/net/ipv4/tcp_available_congestion_control")
			}
			cc := n.Sysctls[k]
			if slices.Contains(allowed, cc) {
				continue
			}
			if slices.Contains(available, cc) {
				return fmt.Errorf("node %s: sysctl %s=%s: the host lets network namespaces choose only %q "+
					"(net.ipv4.tcp_allowed_congestion_control); allow %s on the host with `sysctl -w net.ipv4.tcp_allowed_congestion_control=%q`",
					n.Name, k, cc, strings.Join(allowed, " "), cc, strings.Join(append(allowed, cc), " "))
			}
			return fmt.Errorf("node %s: sysctl %s=%s: the host has no such congestion control (available: %q); "+
				"load it on the host with `modprobe tcp_%s` and allow it in net.ipv4.tcp_allowed_congestion_control, or choose one of %q",
				n.Name, k, cc, strings.Join(available, " "), cc, strings.Join(allowed, " "))
		}
	}
	return nil
}

// readWords returns the words of a file, none if it cannot be read.
func readWords(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{}
	}
	return strings.Fields(string(data))
}

// checkNotRunning fails if lab is running or left something behind, or
// destroys it first with o.Reconfigure.
func checkNotRunning(ctx context.Context, o Options, reg registry, lab *topology.Lab) error {
	e, err := reg.get(lab.Name)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	if e == nil {
		left, err := o.Runtime.List(ctx, map[string]string{runtime.LabelLab: lab.Name})
		if err != nil {
			return fmt.Errorf("deploy %s: %w", lab.Name, err)
		}
		if len(left) == 0 {
			return nil
		}
		if !o.Reconfigure {
			return fmt.Errorf("deploy %s: %w: %d of its nodes are left from an earlier run; "+
				"remove them with `netlab destroy --all` or redeploy with --reconfigure", lab.Name, ErrRunning, len(left))
		}
		e = entryFromNodes(lab.Name, o.Runtime.Name(), left)
	} else if !o.Reconfigure {
		return fmt.Errorf("deploy %s: %w (deployed from %s): destroy it first with `netlab destroy -t %s`, or redeploy with --reconfigure",
			lab.Name, ErrRunning, e.TopoFile, e.TopoFile)
	}
	if e.Runtime != o.Runtime.Name() {
		return fmt.Errorf("deploy %s: %w on the %s runtime: destroy it with --runtime %s first", lab.Name, ErrRunning, e.Runtime, e.Runtime)
	}
	if err := destroyLab(ctx, e, destroyer{rt: o.Runtime, agent: o.Agent, workers: o.MaxWorkers, reg: reg}); err != nil {
		return fmt.Errorf("deploy %s: reconfigure: %w", lab.Name, err)
	}
	return nil
}

// deployer is one run of Deploy.
type deployer struct {
	o      Options
	lab    *topology.Lab
	labDir string
	reg    registry
	entry  *entry
	jr     *journal

	mu    sync.Mutex
	nodes map[string]runtime.Node
	done  int
	total int
}

func (d *deployer) step(what string) {
	if d.o.Progress == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done++
	d.o.Progress(d.done, d.total, what)
}

func (d *deployer) run(ctx context.Context) (*State, error) {
	lab := d.lab
	if d.o.Progress != nil {
		d.o.Progress(0, d.total, "prepare "+d.labDir)
	}
	if err := d.prepareLabDir(); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	jr, err := openJournal(d.labDir)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	d.jr = jr
	defer jr.close()
	st := d.state(StatusDeploying)
	if err := writeJSON(filepath.Join(d.labDir, StateFile), st, true); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	d.step("lab directory")

	switchPath := ""
	if d.entry.SwitchNS != "" {
		if err := jr.add(record{Op: opSwitch, NS: d.entry.SwitchNS}); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
		}
		if switchPath, err = wiring.CreateSwitchNS(ctx, d.entry.SwitchNS); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
		}
		d.step("switch namespace " + d.entry.SwitchNS)
	}

	workers := d.o.MaxWorkers
	if workers <= 0 {
		workers = DefaultMaxWorkers()
	}
	err = workpool.ForEach(ctx, len(lab.Nodes), workers, func(ctx context.Context, i int) error {
		return d.createNode(ctx, lab.Nodes[i])
	})
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}

	nsPaths := make(map[string]string, len(d.nodes))
	for name, n := range d.nodes {
		nsPaths[name] = n.NSPath
	}
	err = wiring.Wire(ctx, lab, nsPaths, switchPath, wiring.Options{MaxWorkers: workers, Progress: d.step})
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}

	if d.o.Agent != nil {
		if err := jr.add(record{Op: opAgent}); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
		}
		if err := d.o.Agent.Start(ctx, lab, maps.Clone(d.nodes), d.labDir); err != nil {
			return nil, fmt.Errorf("deploy %s: start agents: %w", lab.Name, err)
		}
		d.step("agents")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	st = d.state(StatusRunning)
	st.Deployed = time.Now().UTC()
	st.Running = true
	for i := range st.Nodes {
		st.Nodes[i].Alive = true
	}
	if err := writeJSON(filepath.Join(d.labDir, StateFile), st, true); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	return st, nil
}

// prepareLabDir makes the lab directory and writes the resolved topology.
// What an earlier run left in it (journal, process records) goes; logs stay.
func (d *deployer) prepareLabDir() error {
	if err := os.MkdirAll(filepath.Join(d.labDir, LogDir), 0o755); err != nil {
		return fmt.Errorf("create lab directory: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(d.labDir, PIDDir)); err != nil {
		return fmt.Errorf("clean lab directory: %w", err)
	}
	return writeJSON(filepath.Join(d.labDir, TopologyFile), d.lab, false)
}

// createNode records node n in the journal, has the runtime make it, and
// records the result.
func (d *deployer) createNode(ctx context.Context, n *topology.Node) error {
	if err := d.jr.add(record{Op: opNode, Node: n.Name, LongName: n.LongName}); err != nil {
		return err
	}
	node, err := d.o.Runtime.Create(ctx, d.spec(n))
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.nodes[n.Name] = node
	d.mu.Unlock()
	if err := d.jr.add(record{Op: opNodeCreated, Node: n.Name, LongName: node.LongName, ID: node.ID, NSPath: node.NSPath, PID: node.PID}); err != nil {
		return err
	}
	d.step("node " + n.Name)
	return nil
}

// spec is the runtime's NodeSpec of n: netlab's labels over the user's, and
// the sysctls that can be set before the node has interfaces (wiring sets
// the per-interface ones).
func (d *deployer) spec(n *topology.Node) runtime.NodeSpec {
	labels := make(map[string]string, len(n.Labels)+4)
	maps.Copy(labels, n.Labels)
	labels[runtime.LabelLab] = d.lab.Name
	labels[runtime.LabelNode] = n.Name
	labels[runtime.LabelTopoFile] = d.entry.TopoFile
	labels[runtime.LabelLabDir] = d.labDir
	var sysctls map[string]string
	for k, v := range n.Sysctls {
		if wiring.InterfaceSysctl(k) {
			continue
		}
		if sysctls == nil {
			sysctls = make(map[string]string, len(n.Sysctls))
		}
		sysctls[k] = v
	}
	var args []string
	if d.o.AgentArgs != nil {
		args = d.o.AgentArgs(n)
	}
	return runtime.NodeSpec{
		Lab:       d.lab.Name,
		Name:      n.Name,
		LongName:  n.LongName,
		Image:     n.Image,
		Env:       n.Env,
		Labels:    labels,
		Sysctls:   sysctls,
		LabDir:    d.labDir,
		AgentArgs: args,
	}
}

// state returns the lab's State as far as the deploy got.
func (d *deployer) state(status string) *State {
	st := &State{
		Lab:       d.lab.Name,
		TopoFile:  d.entry.TopoFile,
		LabDir:    d.labDir,
		Runtime:   d.entry.Runtime,
		Status:    status,
		DeployPID: d.entry.DeployPID,
		Started:   d.entry.Started,
		SwitchNS:  d.entry.SwitchNS,
		Agent:     d.o.Agent != nil,
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.lab.Nodes {
		ns := NodeState{Name: n.Name, LongName: n.LongName, Kind: n.Kind, Stack: string(n.Stack)}
		if rn, ok := d.nodes[n.Name]; ok {
			ns.LongName, ns.ID, ns.NSPath, ns.PID = rn.LongName, rn.ID, rn.NSPath, rn.PID
		}
		for _, ifc := range n.Interfaces {
			is := InterfaceState{Name: ifc.Name, MAC: ifc.MAC.String(), Net: ifc.Net()}
			if ifc.Addr.IsValid() {
				is.IPv4 = ifc.Addr.String() // the kernel's or the Go stack's
			}
			ns.Interfaces = append(ns.Interfaces, is)
		}
		st.Nodes = append(st.Nodes, ns)
	}
	slices.SortFunc(st.Nodes, func(a, b NodeState) int { return strings.Compare(a.Name, b.Name) })
	return st
}
