// Package runtime declares how lab nodes come to exist. A Runtime makes a
// node's network namespace (a bare named namespace for netns, a container's
// for docker), finds nodes again by their labels after a crash, and deletes
// them. Wiring the namespaces together (veths, bridges) and starting the
// node agent are not a runtime's job: they work on namespace paths, the same
// for every runtime.
package runtime

import "context"

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
	Image    string // docker: the image; empty means netlab's own node image
	Env      map[string]string
	Labels   map[string]string // user labels plus the Label* ones
	Sysctls  map[string]string // net.* sysctls for the node's namespace
	LabDir   string            // the lab directory (docker mounts it at /netlab)
	// AgentArgs are the arguments of the node agent process when the
	// runtime starts one per node (docker: the container's command).
	AgentArgs []string
}

// Node is a node that exists.
type Node struct {
	Name     string            // node name in the topology
	LongName string            // netns or container name
	NSPath   string            // path of its network namespace, usable with setns
	ID       string            // runtime-specific id (container id; netns name)
	PID      int               // a process in the namespace, if any (container init)
	Labels   map[string]string // the labels it carries
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
