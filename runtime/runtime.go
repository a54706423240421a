// Package runtime declares how lab nodes come to exist. A Runtime makes a
// node's network namespace (a bare named namespace for netns, a container's
// for docker), finds nodes again by their labels after a crash, and deletes
// them. Wiring the namespaces together (veths, bridges) and starting the
// node agent are not a runtime's job: they work on namespace paths, the same
// for every runtime.
package runtime

import (
	"context"
	"io"
)

// Labels every runtime object of a lab carries (containerlab's habit:
// `containerlab=<lab>`), so destroy finds everything after a crash.
const (
	LabelLab      = "netlab-lab"       // the lab's name
	LabelNode     = "netlab-node"      // the node's name in the topology
	LabelTopoFile = "netlab-topo-file" // absolute path of the topology file
	LabelLabDir   = "netlab-lab-dir"   // absolute path of the lab directory
)

// NodeSpec is what a runtime needs to make one node.
type NodeSpec struct {
	Lab      string // lab name
	Name     string // node name in the topology
	LongName string // unique name: the netns name or container name (<prefix>-<lab>-<node>)
	// Image is the container image (docker); empty means netlab's own
	// node image. The other fields up to Labels are the container's too;
	// a runtime without containers ignores them.
	Image string
	// Entrypoint and Cmd replace the image's when not nil.
	Entrypoint, Cmd []string
	// User is the user the container's processes run as ("" the image's).
	User string
	// Binds are bind mounts, "host-path:container-path[:ro|rw]", the host
	// path absolute.
	Binds []string
	// Memory limits the container's memory (bytes; 0 no limit).
	Memory int64
	// CPUs limits the container's CPU (cores; 0 no limit).
	CPUs float64
	// CapAdd are capabilities added to the container's.
	CapAdd []string
	// MgmtNetwork is the management network (see Networker) the node's
	// eth0 joins; empty for none. MgmtIPv4 is its address there, empty
	// for one the runtime picks.
	MgmtNetwork, MgmtIPv4 string
	// Interfaces is the number of lab interfaces the node gets once it
	// is wired, after Create (the management interface, eth0, not
	// counted): a container of a user's image finds it in CLAB_INTFS,
	// as containerlab sets it, to wait for them.
	Interfaces int
	Env        map[string]string
	Labels     map[string]string // user labels plus the Label* ones
	// Sysctls are net.* sysctls for the node's namespace.
	Sysctls map[string]string
}

// Node is a node that exists.
type Node struct {
	Name     string            // node name in the topology
	LongName string            // netns or container name
	NSPath   string            // path of its network namespace, usable with setns
	ID       string            // runtime-specific id (container id; netns name)
	PID      int               // a process in the namespace, if any (container init)
	Labels   map[string]string // the labels it carries
	// Running reports, in what List returns, whether the node runs with
	// its network namespace (a stopped container does not).
	Running bool
	// Status is the runtime's word for the node's state, for people
	// ("Exited (137) 2 minutes ago"); may be empty.
	Status string
	// MgmtIPv4 is its address on the management network, if it has one.
	MgmtIPv4 string
}

// NetworkSpec is a lab's management network.
type NetworkSpec struct {
	Name       string            // the network's name
	IPv4Subnet string            // its subnet; empty: the runtime picks one
	Labels     map[string]string // runtime.LabelLab and runtime.LabelLabDir at least
}

// Networker is a Runtime that can give a lab's nodes a management network:
// an internal bridge with no route and no NAT beyond this machine, apart
// from the lab's links.
type Networker interface {
	// EnsureNetwork makes the network, or finds it made by an earlier
	// call with the same spec.
	EnsureNetwork(ctx context.Context, spec NetworkSpec) error
	// DeleteNetworks removes the networks carrying every one of labels;
	// none is not an error. Whatever is still connected to one (a
	// container someone attached by hand) is disconnected first.
	DeleteNetworks(ctx context.Context, labels map[string]string) error
}

// Runtime makes, finds and deletes nodes. Implementations are safe for
// concurrent use: deploy creates nodes from a pool of workers.
type Runtime interface {
	// Name is "netns" or "docker".
	Name() string
	// Create makes the node and its network namespace (no interfaces but
	// lo) and returns it. On error nothing is left behind.
	Create(ctx context.Context, spec NodeSpec) (Node, error)
	// List returns the nodes carrying every one of the labels.
	List(ctx context.Context, labels map[string]string) ([]Node, error)
	// Delete removes the node and its namespace (and so the interfaces in
	// it). Deleting a node that is already gone is not an error.
	Delete(ctx context.Context, n Node) error
}

// Execer is a Runtime that can run a command inside a node: what a
// topology's `exec:` asks for. The command runs inside the node and can
// reach no more than the node can: on docker, a process of the node's
// container; on netns, a process in the node's network namespace that
// runs as an unprivileged user with only the node's network to
// administer (see the runtime's Exec).
type Execer interface {
	// Exec runs argv inside node n, with env added to its environment,
	// writing its output (stdout and stderr) to out, and returns once it
	// ended: an error if it could not run or exited non-zero.
	Exec(ctx context.Context, n Node, argv []string, env map[string]string, out io.Writer) error
}
