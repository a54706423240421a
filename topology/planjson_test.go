package topology_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/topology"
)

// TestDecodePlan: every example's plan survives JSON unchanged, with its
// references restored, so agents can serve the plan deploy resolved.
func TestDecodePlan(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			lab, err := topology.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(lab)
			if err != nil {
				t.Fatal(err)
			}
			got, err := topology.DecodePlan(data)
			if err != nil {
				t.Fatalf("DecodePlan: %v", err)
			}
			again, _ := json.Marshal(got)
			if !bytes.Equal(data, again) {
				t.Fatalf("plan changed through JSON:\n%s\n%s", data, again)
			}
			for _, n := range got.Nodes {
				if got.Node(n.Name) != n {
					t.Errorf("Node(%s) does not find it", n.Name)
				}
				for _, ifc := range n.Interfaces {
					want := lab.Node(n.Name).Interface(ifc.Name)
					if ifc.Node != n || ifc.Net() != want.Net() || ifc.Peer.String() != want.Peer.String() {
						t.Errorf("%s: node/net/peer %v %q %q, want %q %q", ifc, ifc.Node.Name, ifc.Net(), ifc.Peer, want.Net(), want.Peer)
					}
					if ifc.Link != nil && ifc.Link.A != ifc && ifc.Link.B != ifc {
						t.Errorf("%s: its link does not end at it", ifc)
					}
				}
			}
			for _, s := range got.Segments {
				for _, m := range s.Members {
					if m.Segment != s {
						t.Errorf("member %s of %s: Segment = %v", m, s.Name, m.Segment)
					}
				}
			}
			if len(got.Relays()) != len(lab.Relays()) {
				t.Errorf("Relays() = %d, want %d", len(got.Relays()), len(lab.Relays()))
			}
		})
	}
}

func TestDecodePlanRefusesBrokenReferences(t *testing.T) {
	lab, err := topology.Parse("t.yml", []byte(`name: t
topology:
  nodes: {a: {}, b: {}}
  links: [{endpoints: ["a:eth1", "b:eth1"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(lab)
	for _, tc := range []struct{ from, to, want string }{
		{`"a":"a:eth1"`, `"a":"c:eth1"`, "no node has"},
		{`"b":"b:eth1"`, `"b":"a:eth1"`, "two networks"},
		{`"index":1`, `"index":7`, "misplaced"},
	} {
		bad := strings.Replace(string(data), tc.from, tc.to, 1)
		if bad == string(data) {
			t.Fatalf("%s not in the plan %s", tc.from, data)
		}
		if _, err := topology.DecodePlan([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodePlan(%s -> %s) = %v, want an error saying %q", tc.from, tc.to, err, tc.want)
		}
	}
}
