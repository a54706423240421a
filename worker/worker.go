// Package worker runs one worker's share of a lab spread over several
// machines (the worker pods of a lab on Kubernetes): it makes a network
// namespace for each of its lab nodes, wires the links and segments
// between them as deploy does on one machine (topology.Lab.Part), carries
// the links to other workers' nodes over a UDP wire (udpwire), and runs
// one node agent for all its nodes, whose Go stacks send and receive on
// those tunnels as on a veth: impairment, capture and traces are the
// same.
package worker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
	"github.com/netlab/netlab/stack/link/udpwire"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// Config is a worker's share of a lab.
type Config struct {
	// Lab is the whole lab's plan; Placement says which worker runs each
	// of its nodes; Index is this worker's.
	Lab       *topology.Lab
	Placement *placement.Placement
	Index     int
	// Mux carries this worker's tunnels; Peers[i] is worker i's Mux
	// address (this worker's own is not used).
	Mux   *udpwire.Mux
	Peers []netip.AddrPort
	// Run is where the nodes' traces and captures go ("" none).
	Run labdir.Run
	Log *slog.Logger
	// Adopt names nodes that run in a network namespace that exists
	// already (a name under /run/netns or a path): the namespace of a pod
	// whose own container is the node. The worker makes their interfaces
	// there and removes them on Close, but neither makes nor removes the
	// namespace.
	Adopt map[string]string
}

// Worker is a running share of a lab.
type Worker struct {
	Agent    *nodeagent.Agent
	nodes    []string // the lab nodes it runs
	nsPaths  []string // their network namespaces, in the pod
	nsNames  []string
	switchNS string
	// adopted are the interfaces made in adopted namespaces: namespace
	// path → interface names.
	adopted map[string][]string

	mu      sync.Mutex
	tunnels []tunnelEnd
}

// tunnelEnd is one of the worker's tunnels, and the worker its far end
// runs on.
type tunnelEnd struct {
	ep  *udpwire.Endpoint
	far int
}

// SetPeers points the worker's tunnels at new addresses of the other
// workers (one came back at another address).
func (w *Worker) SetPeers(peers []netip.AddrPort) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.tunnels {
		if t.far >= len(peers) {
			return fmt.Errorf("worker: %d peers; a tunnel leads to worker %d", len(peers), t.far)
		}
	}
	for _, t := range w.tunnels {
		t.ep.SetRemote(peers[t.far])
	}
	return nil
}

// Start makes the worker's nodes and links, and starts its agent. On
// error, what it made is removed.
func Start(ctx context.Context, cfg Config) (w *Worker, err error) {
	lab, p := cfg.Lab, cfg.Placement
	if p == nil || len(p.Worker) != len(lab.Nodes) || cfg.Index < 0 || cfg.Index >= p.Workers || len(cfg.Peers) != p.Workers {
		return nil, fmt.Errorf("worker %d: the placement or the peers do not match lab %s", cfg.Index, lab.Name)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	mine := func(n *topology.Node) bool { return p.Worker[n.Index] == cfg.Index }
	// The tunnels: the links with one end here and one on another worker.
	type tunnel struct {
		id     uint32
		far    int // the far end's worker
		remote netip.AddrPort
		ifc    *topology.Interface
	}
	tunnels := map[string]tunnel{} // "node:ifname" → its tunnel
	for _, k := range lab.Links {
		a, b := mine(k.A.Node), mine(k.B.Node)
		if a == b {
			continue
		}
		near, far := k.A, k.B
		if b {
			near, far = k.B, k.A
		}
		tunnels[near.String()] = tunnel{id: uint32(k.Index), far: p.Worker[far.Node.Index], remote: cfg.Peers[p.Worker[far.Node.Index]], ifc: near}
	}
	part, err := lab.Part(mine)
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", cfg.Index, err)
	}
	w = &Worker{}
	defer func() {
		if err != nil {
			w.Close()
			w = nil
		}
	}()
	// Namespace names carry a random suffix: workers of one lab may share
	// a machine (tests), and a crashed worker's are never reused.
	sfx := make([]byte, 3)
	rand.Read(sfx)
	suffix := "-" + hex.EncodeToString(sfx)
	nsOf := map[string]string{}
	var refs []nodeagent.NodeRef
	var switchPath string
	for _, n := range part.Nodes {
		if path, ok := cfg.Adopt[n.Name]; ok {
			if path, err = linuxnet.NSPath(path); err != nil {
				return w, fmt.Errorf("worker %d: node %s: %w", cfg.Index, n.Name, err)
			}
			if w.adopted == nil {
				w.adopted = map[string][]string{}
			}
			for _, ifc := range n.Interfaces {
				w.adopted[path] = append(w.adopted[path], ifc.Name)
			}
			nsOf[n.Name] = path
			refs = append(refs, nodeagent.NodeRef{Name: n.Name, NSPath: path})
			w.nodes = append(w.nodes, n.Name)
			w.nsPaths = append(w.nsPaths, path)
			continue
		}
		name := shorten(n.LongName, suffix)
		path, err := linuxnet.NewNamedNS(name)
		if err != nil {
			return w, fmt.Errorf("worker %d: node %s: %w", cfg.Index, n.Name, err)
		}
		w.nsNames = append(w.nsNames, name)
		nsOf[n.Name] = path
		refs = append(refs, nodeagent.NodeRef{Name: n.Name, NSPath: path})
		w.nodes = append(w.nodes, n.Name)
		w.nsPaths = append(w.nsPaths, path)
	}
	if wiring.NeedsSwitchNS(part) {
		name := shorten(wiring.SwitchNSName(part), suffix)
		if switchPath, err = wiring.CreateSwitchNS(ctx, name); err != nil {
			return w, fmt.Errorf("worker %d: %w", cfg.Index, err)
		}
		w.switchNS = name
	}
	if err := wiring.Wire(ctx, part, nsOf, switchPath, wiring.Options{}); err != nil {
		return w, fmt.Errorf("worker %d: %w", cfg.Index, err)
	}
	// A `stack: linux` node's tunnel end is relayed from the switch
	// namespace (wiring makes its veth there): the relay's far port is
	// the tunnel.
	farPorts := map[string]string{} // relay's far port → "node:ifname"
	for _, r := range wiring.Layout(part).Relays {
		if r.Tunnel {
			farPorts[r.Far] = r.Interface.String()
		}
	}
	open := func(node, nsPath, ifname string) (link.Endpoint, error) {
		key := node + ":" + ifname
		if k, ok := farPorts[ifname]; ok && nsPath == switchPath {
			key = k
		}
		if t, ok := tunnels[key]; ok {
			ep, err := cfg.Mux.Link(t.id, t.remote, t.ifc.MTU, t.ifc.MAC[:])
			if err != nil {
				return nil, err
			}
			w.mu.Lock()
			w.tunnels = append(w.tunnels, tunnelEnd{ep: ep, far: t.far})
			w.mu.Unlock()
			return ep, nil
		}
		return afpacket.OpenInNamespace(nsPath, ifname, afpacket.Options{RingBlocks: 16})
	}
	w.Agent, err = nodeagent.New(ctx, nodeagent.Config{Lab: lab, Wired: part, Nodes: refs, Log: cfg.Log,
		OpenLink: open, SwitchNS: switchPath, Run: cfg.Run})
	if err != nil {
		return w, fmt.Errorf("worker %d: %w", cfg.Index, err)
	}
	cfg.Log.Info("worker ready", "worker", cfg.Index, "nodes", len(refs), "tunnels", len(tunnels))
	return w, nil
}

// shorten makes a namespace name of long and suffix that fits the
// kernel's limits, keeping the suffix: a long name keeps its start and
// ends with a hash of the whole, so two names cut alike stay apart.
func shorten(long, suffix string) string {
	const max = 60
	if len(long)+len(suffix) <= max {
		return long + suffix
	}
	sum := sha256.Sum256([]byte(long))
	tag := "-" + hex.EncodeToString(sum[:4])
	return long[:max-len(suffix)-len(tag)] + tag + suffix
}

// Close stops the agent and removes the worker's namespaces.
func (w *Worker) Close() error {
	var errs []error
	if w.Agent != nil {
		w.Agent.Close()
	}
	for _, name := range w.nsNames {
		if err := linuxnet.DeleteNamedNS(name); err != nil {
			errs = append(errs, err)
		}
	}
	if w.switchNS != "" {
		errs = append(errs, wiring.DeleteSwitchNS(w.switchNS))
	}
	// An adopted namespace stays: the interfaces made in it go (those
	// that went with the switch namespace, their veths' other ends, or
	// that exist only in a Go stack, are not there).
	for path, ifnames := range w.adopted {
		for _, ifname := range ifnames {
			if err := linuxnet.DeleteLink(path, ifname); err != nil && !errors.Is(err, linuxnet.ErrNoLink) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
