package topology

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPart: a lab cut in two: each part has its nodes, the links inside
// it, its segments, and of each node the interfaces on those; the parts
// encode and decode as plans; a segment across the cut is refused.
func TestPart(t *testing.T) {
	lab, err := Parse("lab.yml", []byte(`name: part
topology:
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    r2: {kind: router}
    h2: {kind: host}
    sw: {kind: bridge}
    h3: {kind: host}
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - endpoints: [r1:eth2, r2:eth1]
    - endpoints: [r2:eth2, h2:eth1]
    - endpoints: [r2:eth3, sw:p1]
    - endpoints: [h3:eth1, sw:p2]
`))
	if err != nil {
		t.Fatal(err)
	}
	left, err := lab.Part(func(n *Node) bool { return n.Name == "h1" || n.Name == "r1" })
	if err != nil {
		t.Fatal(err)
	}
	right, err := lab.Part(func(n *Node) bool { return n.Name != "h1" && n.Name != "r1" })
	if err != nil {
		t.Fatal(err)
	}
	names := func(l *Lab) string {
		var s []string
		for _, n := range l.Nodes {
			var ifs []string
			for _, i := range n.Interfaces {
				ifs = append(ifs, i.Name)
			}
			s = append(s, n.Name+"("+strings.Join(ifs, ",")+")")
		}
		for _, k := range l.Links {
			s = append(s, k.A.String()+"-"+k.B.String())
		}
		for _, g := range l.Segments {
			s = append(s, "seg:"+g.Name)
		}
		return strings.Join(s, " ")
	}
	if got, want := names(left), "h1(eth1) r1(eth1) h1:eth1-r1:eth1"; got != want {
		t.Errorf("left part %q; want %q", got, want)
	}
	if got, want := names(right), "h2(eth1) h3(eth1) r2(eth2,eth3) r2:eth2-h2:eth1 seg:sw"; got != want {
		t.Errorf("right part %q; want %q", got, want)
	}
	// The whole lab is untouched.
	if len(lab.Links) != 3 || len(lab.Node("r1").Interfaces) != 2 || lab.Node("r1").Index != 3 {
		t.Errorf("Part changed the lab")
	}
	// A part is a plan like any other.
	for _, p := range []*Lab{left, right} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodePlan(b); err != nil {
			t.Errorf("a part does not decode: %v", err)
		}
	}
	if _, err := lab.Part(func(n *Node) bool { return n.Name == "h3" }); err == nil || !strings.Contains(err.Error(), "segment sw") {
		t.Errorf("a part across a segment: %v", err)
	}
}
