// Package deploy turns a topology file into a running lab and removes it
// again: the orchestration behind `netlab deploy`, `destroy` and `inspect`.
//
// Deploy loads the plan (package topology), makes one node per plan node
// through a runtime.Runtime, wires them (package wiring) and starts the node
// agents through an AgentStarter (Agents, netlab's own). Deploy,
// reconfigure and destroy of one lab hold its lock (labdir.Lab.Lock), so
// they never overlap; different labs deploy in parallel. What a deploy
// makes is recorded before it is made:
//
//   - a registry entry, <run dir>/labs/<lab>.json, written first and
//     removed last, names the lab, its topology file, lab directory, run,
//     runtime and switch namespace;
//   - the lab's state directory (labdir.Lab.StateDir, root's only) holds
//     the resolved plan (labdir.PlanFile) that agents and the CLI read, the
//     State, the intent log (a record before each node, the switch
//     namespace and the agents) and the records of the lab's processes;
//   - the lab directory beside the topology file gets a new run folder
//     (labdir.Lab.StartRun) for the run's traces, captures and logs;
//     earlier runs are kept up to Options.MaxRunBytes;
//   - runtime objects carry the runtime.Label* labels.
//
// So after a crash, even kill -9 in the middle of a deploy, Destroy finds
// and removes everything; a deploy that fails rolls back the same way.
// Veths and bridges never exist outside the lab's namespaces (see package
// wiring), so deleting the namespaces removes them.
package deploy

import (
	"context"
	"encoding/json"
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
	"github.com/netlab/netlab/labdir"
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

// AgentStarter starts and stops the node agents of a lab. Agents is
// netlab's; nil means no agent (the nodes are wired, nothing runs in
// them).
type AgentStarter interface {
	// Start starts the agents of lab's nodes once they are wired. nodes
	// maps node names to the runtime's nodes; dirs are the lab's
	// directories (the plan is in its state directory) and run the
	// run's folder. Processes it starts should be recorded with
	// RecordProcess, so that Destroy stops them even without an
	// AgentStarter. On error the deploy is rolled back (Stop is called).
	Start(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, dirs labdir.Lab, run labdir.Run) error
	// Stop stops the agents of the lab, also after a crash of the process
	// that started them. Stopping agents that are gone is not an error.
	Stop(ctx context.Context, dirs labdir.Lab) error
}

// agentEndpoints is what an AgentStarter may say of where its agents
// answer, for the State (Agents does).
type agentEndpoints interface {
	NodeEndpoint(dirs labdir.Lab, run labdir.Run, n *topology.Node) (socket, log string)
	RelayEndpoint(dirs labdir.Lab, run labdir.Run) (socket, log string)
}

// RecordProcess records, in the lab's state directory, that process pid
// belongs to the lab, under name (unique in the lab), so that Destroy
// stops it even after a crash of netlab, without an AgentStarter; the
// process is known by its start time and executable, never signalled once
// its number goes to another process. AgentStarters call it for each
// process they start.
func RecordProcess(dirs labdir.Lab, name string, pid int) error {
	return recordProcess(dirs.StateDir(), name, pid)
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
	// RunDir holds the registry of running labs, the locks and the state
	// directories; empty means labdir.DefaultRunDir.
	RunDir string
	// NoWait makes Deploy fail at once, with an error wrapping
	// labdir.ErrLocked, when another command holds the lab's lock, rather
	// than wait for it.
	NoWait bool
	// Notice, if not nil, is told what the user should know while Deploy
	// works: that it waits for another command, that it removed earlier
	// runs to keep under MaxRunBytes.
	Notice func(msg string)
	// AllowExec lets the lab's `exec:` commands run (see ExecCommands):
	// without it, Deploy refuses a lab that has any, wrapping
	// ErrExecNotAllowed. The commands run inside the nodes, with what the
	// runtime's Exec allows (runtime.Execer).
	AllowExec bool
	// MaxRunBytes caps what the lab's earlier runs keep in the lab
	// directory: the oldest go first once the new run has started. 0
	// means DefaultMaxRunBytes; less than 0 keeps no earlier run.
	MaxRunBytes int64
}

// DefaultMaxRunBytes is how much the earlier runs of a lab keep at most by
// default.
const DefaultMaxRunBytes = 1 << 30

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
	warnContainerKeys(o, lab)
	if err := checkExec(o, lab); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	topoFile, err := filepath.Abs(lab.File)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	dirs := labdir.New(o.RunDir, lab.Name, topoFile)
	lock, err := lockLab(ctx, dirs, "deploy", o.NoWait, o.Notice)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	defer lock.Unlock()
	reg := newRegistry(o.RunDir)
	if err := checkNotRunning(ctx, o, reg, lab); err != nil {
		return nil, err
	}
	d := &deployer{
		o:     o,
		lab:   lab,
		dirs:  dirs,
		reg:   reg,
		nodes: make(map[string]runtime.Node, len(lab.Nodes)),
		entry: &entry{
			Lab:       lab.Name,
			TopoFile:  topoFile,
			LabDir:    dirs.Dir,
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
			return nil, fmt.Errorf("deploy %s: the switch namespace %s already exists (what a crashed deploy of this lab left, or not netlab's): "+
				"run `netlab destroy -t %s`, or `ip netns del %s` if it is not netlab's", lab.Name, d.entry.SwitchNS, topoFile, d.entry.SwitchNS)
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

// notice tells f, if not nil, of a message.
// ContainerKeys returns the keys of n that only a container runtime
// (docker) acts on: its image and what runs from it.
func ContainerKeys(n *topology.Node) []string {
	var keys []string
	for _, k := range []struct {
		key string
		set bool
	}{
		{"image", n.Image != ""}, {"entrypoint", n.Entrypoint != nil}, {"cmd", n.Cmd != nil}, {"user", n.User != ""},
		{"binds", len(n.Binds) > 0}, {"memory", n.Memory > 0}, {"cpu", n.CPUs > 0}, {"cap-add", len(n.CapAdd) > 0},
	} {
		if k.set {
			keys = append(keys, k.key)
		}
	}
	return keys
}

// warnContainerKeys tells the user, once per set of keys, that a runtime
// without containers ignores them: nothing written is dropped silently.
func warnContainerKeys(o Options, lab *topology.Lab) {
	warnNoContainers(o.Notice, o.Runtime.Name(), lab)
}

// warnNoContainers is warnContainerKeys for the runtime called rt.
func warnNoContainers(tell func(string), rt string, lab *topology.Lab) {
	if rt == "docker" {
		return
	}
	if lab.Mgmt != nil {
		notice(tell, "warning: %s:%s: mgmt: ignored on the %s runtime (it has no management network); deploy with --runtime docker to have one",
			lab.File, lab.Mgmt.Pos, rt)
	}
	byKeys := map[string][]string{}
	var order []string
	for _, n := range lab.Nodes {
		if rt == "kubernetes" && n.Image != "" {
			continue // a pod of its own there, its container keys taken
		}
		keys := strings.Join(ContainerKeys(n), ", ")
		if keys == "" {
			continue
		}
		if byKeys[keys] == nil {
			order = append(order, keys)
		}
		byKeys[keys] = append(byKeys[keys], n.Name)
	}
	for _, keys := range order {
		names := byKeys[keys]
		list := strings.Join(names, ", ")
		if len(names) > 5 {
			list = fmt.Sprintf("%s and %d more", strings.Join(names[:5], ", "), len(names)-5)
		}
		if rt == "kubernetes" {
			notice(tell, "warning: %s of node %s ignored: without an image of its own a node is a network namespace in a worker pod; give it an image: to make it a pod of its own",
				keys, list)
			continue
		}
		notice(tell, "warning: %s of node %s ignored on the %s runtime (its nodes are network namespaces, with no image); deploy with --runtime docker to run them",
			keys, list, rt)
	}
}

// lockLab takes the lock of the lab of dirs for what (deploy, destroy),
// telling tell while another command holds it; with noWait it fails at
// once instead (labdir.ErrLocked).
func lockLab(ctx context.Context, dirs labdir.Lab, what string, noWait bool, tell func(string)) (*labdir.Lock, error) {
	return dirs.Lock(ctx, what, !noWait, func(holder string) {
		notice(tell, "lab %s is busy (%s): waiting for it", dirs.Name, holder)
	})
}

func notice(f func(string), format string, args ...any) {
	if f != nil {
		f(fmt.Sprintf(format, args...))
	}
}

// checkNotRunning fails if lab is running or left something behind, or
// destroys it first with o.Reconfigure. The caller holds the lab's lock.
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
				"remove them with `netlab destroy -t %s` or redeploy with --reconfigure", lab.Name, ErrRunning, len(left), lab.File)
		}
		e = entryFromNodes(lab.Name, o.Runtime.Name(), left)
	} else if !o.Reconfigure {
		return fmt.Errorf("deploy %s: %w (deployed from %s): destroy it first with `netlab destroy -t %s`, or redeploy with --reconfigure",
			lab.Name, ErrRunning, e.TopoFile, e.TopoFile)
	}
	if e.Runtime != o.Runtime.Name() {
		return fmt.Errorf("deploy %s: %w on the %s runtime: destroy it with --runtime %s first", lab.Name, ErrRunning, e.Runtime, e.Runtime)
	}
	if err := destroyLab(ctx, e, destroyer{rt: o.Runtime, agent: o.Agent, workers: o.MaxWorkers, reg: reg, notice: o.Notice}); err != nil {
		return fmt.Errorf("deploy %s: reconfigure: %w", lab.Name, err)
	}
	return nil
}

// deployer is one run of Deploy.
type deployer struct {
	o     Options
	lab   *topology.Lab
	dirs  labdir.Lab
	lrun  labdir.Run
	reg   registry
	entry *entry
	jr    *journal

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
		d.o.Progress(0, d.total, "prepare "+d.dirs.Dir)
	}
	if err := d.prepare(); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	jr, err := openJournal(d.dirs.StateDir())
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	d.jr = jr
	defer jr.close()
	st := d.state(StatusDeploying)
	if err := writeJSON(d.dirs.State(labdir.StateFile), st, true); err != nil {
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

	if nw, ok := d.o.Runtime.(runtime.Networker); ok && lab.Mgmt != nil {
		spec := runtime.NetworkSpec{Name: lab.Mgmt.Network, Labels: map[string]string{runtime.LabelLab: lab.Name, runtime.LabelLabDir: d.dirs.Dir}}
		if lab.Mgmt.IPv4Subnet.IsValid() {
			spec.IPv4Subnet = lab.Mgmt.IPv4Subnet.String()
		}
		if err := nw.EnsureNetwork(ctx, spec); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
		}
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
		if err := d.o.Agent.Start(ctx, lab, maps.Clone(d.nodes), d.dirs, d.lrun); err != nil {
			return nil, fmt.Errorf("deploy %s: start agents: %w", lab.Name, err)
		}
		d.step("agents")
	}
	d.runExec(ctx)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	st = d.state(StatusRunning)
	st.Deployed = time.Now().UTC()
	st.Running = true
	for i := range st.Nodes {
		st.Nodes[i].Alive = true
		st.Nodes[i].Agent = AgentNone
		if d.o.Agent != nil {
			st.Nodes[i].Agent = AgentUp
		}
	}
	if err := writeJSON(d.dirs.State(labdir.StateFile), st, true); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	return st, nil
}

// prepare makes a fresh state directory holding the resolved plan, and a
// new run folder in the lab directory (with a copy of the plan, for
// whoever reads the run later), then removes the oldest earlier runs
// beyond MaxRunBytes. The caller holds the lab's lock and knows nothing of
// the lab runs: what an earlier deploy left in the state directory goes.
func (d *deployer) prepare() error {
	if err := d.dirs.RemoveStateDir(); err != nil {
		return err
	}
	if err := d.dirs.MakeStateDir(); err != nil {
		return err
	}
	run, err := d.dirs.StartRun(labdir.RunInfo{Lab: d.lab.Name, TopoFile: d.entry.TopoFile, Runtime: d.entry.Runtime, Started: d.entry.Started})
	if err != nil {
		return err
	}
	d.lrun = run
	d.entry.Run = run.ID
	// The registry entry learns the run, so that a destroy after a crash
	// ends it.
	if err := d.reg.update(d.entry); err != nil {
		return err
	}
	plan, err := json.Marshal(d.lab)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if err := writeFile(d.dirs.State(labdir.PlanFile), plan, 0o600); err != nil {
		return err
	}
	if err := writeFile(run.Path(labdir.PlanFile), plan, 0o644); err != nil {
		return err
	}
	max := d.o.MaxRunBytes
	switch {
	case max == 0:
		max = DefaultMaxRunBytes
	case max < 0:
		max = 0
	}
	removed, err := d.dirs.Prune(max, run.ID)
	for _, r := range removed {
		notice(d.o.Notice, "removed run %s of lab %s (%s) to keep earlier runs under %s", r.ID, d.lab.Name, labdir.FormatBytes(r.Bytes), labdir.FormatBytes(max))
	}
	if err != nil {
		return err
	}
	return nil
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
	labels[runtime.LabelLabDir] = d.dirs.Dir
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
	var mgmt, mgmtAddr string
	if _, ok := d.o.Runtime.(runtime.Networker); ok && d.lab.OnMgmt(n) {
		mgmt = d.lab.Mgmt.Network
		if n.MgmtIPv4.IsValid() {
			mgmtAddr = n.MgmtIPv4.String()
		}
	}
	return runtime.NodeSpec{
		MgmtNetwork: mgmt,
		MgmtIPv4:    mgmtAddr,
		Interfaces:  len(n.Interfaces),
		Lab:         d.lab.Name,
		Name:        n.Name,
		LongName:    n.LongName,
		Image:       n.Image,
		Entrypoint:  n.Entrypoint,
		Cmd:         n.Cmd,
		User:        n.User,
		Binds:       n.Binds,
		Memory:      n.Memory,
		CPUs:        n.CPUs,
		CapAdd:      n.CapAdd,
		Env:         n.Env,
		Labels:      labels,
		Sysctls:     sysctls,
	}
}

// state returns the lab's State as far as the deploy got.
func (d *deployer) state(status string) *State {
	st := &State{
		Lab:       d.lab.Name,
		TopoFile:  d.entry.TopoFile,
		LabDir:    d.dirs.Dir,
		StateDir:  d.dirs.StateDir(),
		Run:       d.lrun.ID,
		Runtime:   d.entry.Runtime,
		Status:    status,
		DeployPID: d.entry.DeployPID,
		Started:   d.entry.Started,
		SwitchNS:  d.entry.SwitchNS,
		Agent:     d.o.Agent != nil,
	}
	ae, _ := d.o.Agent.(agentEndpoints)
	if ae != nil && len(d.lab.Relays()) > 0 {
		st.RelaySocket, _ = ae.RelayEndpoint(d.dirs, d.lrun)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.lab.Nodes {
		ns := NodeState{Name: n.Name, LongName: n.LongName, Kind: n.Kind, Stack: string(n.Stack)}
		if ae != nil {
			ns.Socket, ns.Log = ae.NodeEndpoint(d.dirs, d.lrun, n)
		}
		if rn, ok := d.nodes[n.Name]; ok {
			ns.LongName, ns.ID, ns.NSPath, ns.PID, ns.MgmtIPv4 = rn.LongName, rn.ID, rn.NSPath, rn.PID, rn.MgmtIPv4
		}
		for _, ifc := range n.Interfaces {
			is := InterfaceState{Name: ifc.Name, Written: ifc.Written, MAC: ifc.MAC.String(), Net: ifc.Net()}
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
