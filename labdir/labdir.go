// Package labdir knows where the files of a lab live, and keeps them
// where nobody but netlab can tamper with them.
//
// A lab has two directories:
//
//   - the lab directory, netlab-<lab>/ beside the topology file
//     (containerlab's clab-<lab>/), for what users read: one folder per
//     run under runs/ (traces, captures, logs, the plan as deployed), and
//     current, a link to the newest run. netlab creates it itself, owned
//     by root and writable by nobody else, and refuses one that is a
//     symbolic link, belongs to another user or is writable by others
//     (see Create);
//   - the state directory, under the run directory (/run/netlab, root's
//     only), for what root processes trust: the resolved plan the agents
//     serve, the lab's state and intent journal, the agents' control
//     sockets and process records. Its path is short whatever the lab's
//     name (a unix socket path has at most 107 bytes).
//
// The registry of running labs (/run/netlab/labs) and the per-lab locks
// (/run/netlab/locks) sit beside the state directories. The package only
// names and creates directories; what goes into them is the business of
// deploy (state, journal, registry), the agent (traces, captures) and the
// CLI (reading them).
package labdir

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// DefaultRunDir is where netlab keeps what must not outlive the machine's
// uptime, as the namespaces do not, and what only root may write.
const DefaultRunDir = "/run/netlab"

// Names inside the state directory.
const (
	// PlanFile is the resolved plan (topology.Lab as JSON): written once
	// by deploy, read by agents and the CLI; nothing re-parses YAML.
	PlanFile = "plan.json"
	// StateFile is deploy's State (JSON).
	StateFile = "state.json"
	// JournalFile is deploy's intent log, one JSON record per line.
	JournalFile = "journal.jsonl"
	// AgentConfigFile lists the nodes the lab's agent serves.
	AgentConfigFile = "agent.json"
	// AgentSocketName is the control socket of the lab's agent.
	AgentSocketName = "agent.sock"
	// PIDDir holds the records of processes that belong to the lab.
	PIDDir = "pids"
)

// Names inside the lab directory and a run's folder.
const (
	// RunsDir holds one folder per run.
	RunsDir = "runs"
	// CurrentLink points to the newest run's folder.
	CurrentLink = "current"
	// RunInfoFile describes a run (RunInfo, JSON).
	RunInfoFile = "run.json"
	// TracesDir holds the nodes' probe streams, <node>.jsonl.
	TracesDir = "traces"
	// CapturesDir holds continuous capture rings.
	CapturesDir = "captures"
	// LogsDir holds the agent's log and the nodes' exec output.
	LogsDir = "logs"
	// AgentLogName is the shared agent's log in LogsDir.
	AgentLogName = "agent.log"
)

// Lab names the directories of one lab.
type Lab struct {
	// Name is the lab's name.
	Name string
	// Dir is the lab directory (absolute).
	Dir string
	// RunDir is the run directory (DefaultRunDir unless a test says
	// otherwise).
	RunDir string
}

// DirName is the name of a lab's directory beside its topology file.
func DirName(lab string) string { return "netlab-" + lab }

// New returns the directories of the lab called name whose topology file
// is topoFile (absolute); runDir "" means DefaultRunDir.
func New(runDir, name, topoFile string) Lab {
	if runDir == "" {
		runDir = DefaultRunDir
	}
	return Lab{Name: name, Dir: filepath.Join(filepath.Dir(topoFile), DirName(name)), RunDir: runDir}
}

// key is a short name for the lab, the same for every run of it.
func (l Lab) key() string {
	h := sha256.Sum256([]byte(l.Name))
	return hex.EncodeToString(h[:6])
}

// StateDir is the lab's state directory: <run dir>/l/<12 hex digits>.
func (l Lab) StateDir() string { return filepath.Join(l.RunDir, "l", l.key()) }

// LockFile is the file whose flock(2) serialises deploy, reconfigure and
// destroy of the lab. Its holder removes it when done; a waiter that gets
// the lock of a removed file tries again on the new one (see Lock).
func (l Lab) LockFile() string { return filepath.Join(l.RunDir, "locks", l.key()+".lock") }

// RegistryDir is the directory of the registry of running labs.
func RegistryDir(runDir string) string {
	if runDir == "" {
		runDir = DefaultRunDir
	}
	return filepath.Join(runDir, "labs")
}

// State returns the path of name in the state directory.
func (l Lab) State(name string) string { return filepath.Join(l.StateDir(), name) }

// Run returns run id's folder.
func (l Lab) Run(id string) Run {
	return Run{ID: id, Dir: filepath.Join(l.Dir, RunsDir, id)}
}

// Run is one run's folder in the lab directory.
type Run struct {
	// ID is the run's id (see NewRunID).
	ID string
	// Dir is its folder.
	Dir string
}

// Trace is where node's probe stream is recorded; the part before the last
// rotation is Trace + ".1".
func (r Run) Trace(node string) string { return filepath.Join(r.Dir, TracesDir, node+".jsonl") }

// Path returns the path of name (a file or folder of the run).
func (r Run) Path(name ...string) string { return filepath.Join(append([]string{r.Dir}, name...)...) }

// Log is node's log (its exec: commands' output).
func (r Run) Log(node string) string { return filepath.Join(r.Dir, LogsDir, node+".log") }
