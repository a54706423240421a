package topology

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// FuzzDecodePlan feeds arbitrary bytes to DecodePlan (the agents read the
// plan with it): it must not panic, and a plan it accepts must have every
// reference restored, so that code walking it never meets a nil.
func FuzzDecodePlan(f *testing.F) {
	files, err := filepath.Glob("../examples/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		lab, err := Load(file)
		if err != nil {
			f.Fatal(err)
		}
		data, err := json.Marshal(lab)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"nodes":[null]}`))
	f.Add([]byte(`{"links":[{"index":0}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lab, err := DecodePlan(data)
		if err != nil {
			return
		}
		for _, n := range lab.Nodes {
			if lab.Node(n.Name) != n {
				t.Fatalf("node %q not found by name", n.Name)
			}
			for _, ifc := range n.Interfaces {
				_ = ifc.String() + ifc.Net()
				if ifc.Peer != nil && ifc.Peer.Peer != ifc {
					t.Fatalf("%s: peer's peer is not it", ifc)
				}
			}
		}
		for _, k := range lab.Links {
			if k.A == nil || k.B == nil {
				t.Fatalf("link %q has a missing end", k.Name)
			}
		}
		lab.Relays()
		if _, err := json.Marshal(lab); err != nil {
			t.Fatalf("json.Marshal of a decoded plan: %v", err)
		}
	})
}
