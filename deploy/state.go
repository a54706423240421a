package deploy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/netlab/netlab/labdir"
)

// The Status of a lab.
const (
	// StatusDeploying: a deploy is under way (or crashed: see
	// State.DeployPID).
	StatusDeploying = "deploying"
	// StatusRunning: deployed.
	StatusRunning = "running"
	// StatusDestroyed: destroyed; the lab directory stays for its runs.
	StatusDestroyed = "destroyed"
)

// State is what netlab knows of a deployed lab: written to the lab
// directory's StateFile when a deploy starts and when it ends, and returned
// by Deploy and Inspect.
type State struct {
	// Lab is the lab's name.
	Lab string `json:"lab"`
	// TopoFile is the absolute path of the topology file.
	TopoFile string `json:"topo-file"`
	// LabDir is the absolute path of the lab directory.
	LabDir string `json:"lab-dir"`
	// StateDir is the lab's state directory (see package labdir).
	StateDir string `json:"state-dir"`
	// Run is the id of the run this deploy started; its traces, captures
	// and logs are in the lab directory's runs/<Run>.
	Run string `json:"run"`
	// Runtime is the name of the runtime the nodes run on.
	Runtime string `json:"runtime"`
	// Status is StatusDeploying, StatusRunning or StatusDestroyed.
	Status string `json:"status"`
	// Running reports whether the lab is in the registry of running labs
	// (set by Inspect; a lab whose deploy crashed is "running" until it is
	// destroyed).
	Running bool `json:"running"`
	// DeployPID is the process that deployed the lab.
	DeployPID int `json:"deploy-pid"`
	// Started is when the deploy started.
	Started time.Time `json:"started"`
	// Deployed is when the deploy ended; zero while it runs.
	Deployed time.Time `json:"deployed,omitzero"`
	// SwitchNS is the name of the switch namespace holding the lab's
	// bridges; empty without LAN segments.
	SwitchNS string `json:"switch-ns,omitempty"`
	// Agent reports whether node agents were started.
	Agent bool `json:"agent"`
	// RelaySocket is the control socket of the agent that runs the lab's
	// relays; empty without relays.
	RelaySocket string `json:"relay-socket,omitempty"`
	// Cluster says where a lab deployed on a Kubernetes cluster runs;
	// nil for a lab of this machine.
	Cluster *ClusterState `json:"cluster,omitempty"`
	// Nodes are the lab's nodes, sorted by name.
	Nodes []NodeState `json:"nodes"`
}

// ClusterState is where a lab on a Kubernetes cluster runs: its Lab
// resource and the client configuration that reaches it.
type ClusterState struct {
	// Kubeconfig is the absolute path of the kubeconfig file used; empty
	// for kubectl's default ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Namespace and Resource name the Lab resource.
	Namespace string `json:"namespace"`
	Resource  string `json:"resource"`
	// Workers is how many worker pods share the nodes.
	Workers int `json:"workers"`
}

// NodeState is one node of a State.
type NodeState struct {
	// Name is the node's name in the topology.
	Name string `json:"name"`
	// LongName is the name of its namespace or container.
	LongName string `json:"long-name"`
	// Kind is the node's kind, as the plan says.
	Kind string `json:"kind,omitempty"`
	// Stack is "go" or "linux", as the plan says.
	Stack string `json:"stack,omitempty"`
	// ID is the runtime's id of the node.
	ID string `json:"id,omitempty"`
	// NSPath is the path of its network namespace.
	NSPath string `json:"ns-path,omitempty"`
	// PID is a process in the node, if the runtime has one.
	PID int `json:"pid,omitempty"`
	// MgmtIPv4 is the node's address on the lab's management network.
	MgmtIPv4 string `json:"mgmt-ipv4,omitempty"`
	// Alive reports whether the node can be used: the runtime lists it
	// running with its namespace, and its agent, where it has one,
	// answers for it (set by Inspect).
	Alive bool `json:"alive"`
	// Agent is what Inspect found of the node's agent: AgentUp,
	// AgentDown, or AgentNone for a lab deployed without agents.
	Agent string `json:"agent,omitempty"`
	// Reason says why the node is not alive.
	Reason string `json:"reason,omitempty"`
	// Socket is the control socket of the agent that serves the node;
	// empty without agents.
	Socket string `json:"socket,omitempty"`
	// Log is the file the agent that serves the node logs to.
	Log string `json:"log,omitempty"`
	// Pod is the worker pod that runs the node, on a cluster, and
	// KubeNode the Kubernetes node that pod runs on.
	Pod      string `json:"pod,omitempty"`
	KubeNode string `json:"kube-node,omitempty"`
	// Interfaces are the node's data interfaces.
	Interfaces []InterfaceState `json:"interfaces,omitempty"`
}

// InterfaceState is one data interface of a NodeState.
type InterfaceState struct {
	// Name is the interface name inside the node.
	Name string `json:"name"`
	// Written is the name the topology file gave it when Name is its
	// Linux mapping (containerlab's ethernet-1/1 is e1-1).
	Written string `json:"written,omitempty"`
	// MAC is the plan's Ethernet address.
	MAC string `json:"mac"`
	// IPv4 is the plan's address with its prefix length: the kernel's on
	// a Linux-stack node, the Go stack's on a Go-stack node.
	IPv4 string `json:"ipv4,omitempty"`
	// Net is the link or segment the interface is on.
	Net string `json:"net"`
}

// journal record operations.
const (
	opNode        = "node"         // a node is about to be created
	opNodeCreated = "node-created" // the runtime made it (ID, NSPath known)
	opSwitch      = "switch"       // the switch namespace is about to be created
	opAgent       = "agent"        // agents are about to be started
)

// record is one line of the journal.
type record struct {
	Op       string    `json:"op"`
	Node     string    `json:"node,omitempty"`
	LongName string    `json:"long-name,omitempty"`
	ID       string    `json:"id,omitempty"`
	NSPath   string    `json:"ns-path,omitempty"`
	PID      int       `json:"pid,omitempty"`
	NS       string    `json:"ns,omitempty"`
	Time     time.Time `json:"time"`
}

// journal appends records to a lab's JournalFile. Each record is one
// write(2) of one line on an O_APPEND file, so a crash leaves whole records
// (and at worst a torn last line, which readJournal skips). It is safe for
// concurrent use.
type journal struct {
	mu sync.Mutex
	f  *os.File
}

func openJournal(stateDir string) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(stateDir, labdir.JournalFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return &journal{f: f}, nil
}

func (j *journal) add(r record) error {
	r.Time = time.Now().UTC()
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// readJournal returns the records of the journal in stateDir; a missing
// journal has none. Lines that do not parse (a torn last write) are
// skipped.
func readJournal(stateDir string) ([]record, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, labdir.JournalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	var recs []record
	for line := range bytes.Lines(data) {
		var r record
		if json.Unmarshal(line, &r) == nil && r.Op != "" {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// LabState returns the State of the lab whose directories are dirs, as
// its last deploy or destroy wrote it (Inspect asks the runtime and the
// agents what is alive now).
func LabState(dirs labdir.Lab) (*State, error) { return readState(dirs.StateDir()) }

// readState reads the State in stateDir.
func readState(stateDir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, labdir.StateFile))
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("read lab state %s: %w", filepath.Join(stateDir, labdir.StateFile), err)
	}
	return st, nil
}

// writeJSON writes v as JSON to path atomically (temporary file, rename).
func writeJSON(path string, v any, indent bool) error {
	var data []byte
	var err error
	if indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFile(path, append(data, '\n'), 0o644)
}

// writeFile writes data to path atomically (temporary file, rename).
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := tempName(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// createExclusiveJSON writes v as JSON to path, failing with fs.ErrExist if
// path exists; the file appears complete or not at all (temporary file,
// hard link).
func createExclusiveJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := tempName(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

func tempName(path string) (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("temporary name for %s: %w", path, err)
	}
	return path + ".tmp-" + hex.EncodeToString(rnd[:]), nil
}
