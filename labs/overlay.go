package labs

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/topology"
)

// DefaultOverlayKeys are the node keys an overlay may set when lab.yml
// does not say (overlay: [...]).
var DefaultOverlayKeys = []string{"routes"}

// OverlayKeys are the node keys an overlay may ever set: what a student
// configures on a node, never what the lab is made of (links, kinds,
// impairments) nor what runs commands (exec).
var OverlayKeys = []string{"routes", "tcp", "sysctls", "stack", "forwarding"}

// ApplyOverlay returns the topology text base with overlay, a student's
// file of the topology's shape, merged in:
//
//	topology:
//	  nodes:
//	    r1:
//	      routes: [{dst: 10.0.2.0/24, via: 10.0.1.2}]
//
// Only the nodes of base, and only the keys the lab allows (l.Overlay),
// may be given; each replaces the node's own. Every problem is reported
// at its line and column in the overlay, named file.
func (l *Lab) ApplyOverlay(base []byte, overlay []byte, file string) ([]byte, error) {
	d := &decoder{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(overlay, &doc); err != nil {
		return nil, topology.ErrorList{&topology.Error{File: file, Msg: "not YAML: " + err.Error()}}
	}
	var baseDoc yaml.Node
	if err := yaml.Unmarshal(base, &baseDoc); err != nil || len(baseDoc.Content) == 0 {
		return nil, fmt.Errorf("lab %s: its topology is not YAML: %v", l.Name, err)
	}
	baseNodes := lookup(baseDoc.Content[0], "topology", "nodes")
	if baseNodes == nil {
		return nil, fmt.Errorf("lab %s: its topology has no nodes", l.Name)
	}
	if len(doc.Content) == 0 {
		return nil, topology.ErrorList{&topology.Error{File: file, Msg: "empty: want topology: {nodes: {NODE: {...}}}"}}
	}
	allowed := l.Overlay
	for _, te := range d.mapping(doc.Content[0], "overlay", []string{"topology"}) {
		for _, ne := range d.mapping(te.v, "topology", []string{"nodes"}) {
			for _, node := range d.mapping(ne.v, "nodes", nil) {
				target := lookup(baseNodes, node.key)
				if target == nil {
					names := keysOf(baseNodes)
					d.errorf(pos(node.k), "node %q is not in the lab (its nodes: %s)", node.key, strings.Join(names, ", "))
					continue
				}
				if target.Kind != yaml.MappingNode {
					continue
				}
				for _, kv := range d.mapping(node.v, "node "+node.key, nil) {
					if !slices.Contains(allowed, kv.key) {
						d.errorf(pos(kv.k), "node %s: %s cannot be changed in this lab (it lets you set %s)", node.key, kv.key, strings.Join(allowed, ", "))
						continue
					}
					set(target, kv.key, kv.v)
				}
			}
		}
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&baseDoc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// lookup follows keys through mappings; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// set sets key of mapping n to v, replacing its value if it has one.
func set(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func keysOf(n *yaml.Node) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}
