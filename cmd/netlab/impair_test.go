package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netlab/netlab/topology"
)

// TestResolveTarget maps links and interfaces to the agents that apply
// their directions: a Go stack's own egress, a Go peer's ingress for a
// Linux node, and relays, from either end.
func TestResolveTarget(t *testing.T) {
	lab, err := topology.Parse("t.yml", []byte(`name: rt
topology:
  nodes: {l1: {stack: linux}, l2: {stack: linux}, l3: {stack: linux}, g1: {}, g2: {}}
  links:
    - {name: ll, endpoints: ["l1:eth1", "l2:eth1"], netem: {}}
    - {name: lg, endpoints: ["l1:eth2", "g1:eth1"]}
    - {name: gg, endpoints: ["g1:eth2", "g2:eth1"]}
    - {name: plain, endpoints: ["l2:eth2", "l3:eth1"]}
    - {endpoints: ["l3:eth2", "g2:eth2", "l2:eth3"], netem: {delay: 1ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	str := func(ss []side) string {
		var out []string
		for _, s := range ss {
			r := ""
			if s.relay {
				r = " relay"
			}
			out = append(out, fmt.Sprintf("%s:%s %s%s", s.node, s.iface, s.dir, r))
		}
		return strings.Join(out, ", ")
	}
	for _, tc := range []struct {
		target, dir, want, err string
	}{
		{"ll", "both", "l1:eth1 egress relay, l1:eth1 ingress relay", ""},
		{"ll", "b-to-a", "l1:eth1 ingress relay", ""},
		{"l2:eth1", "egress", "l1:eth1 ingress relay", ""},
		{"l2:eth1", "both", "l1:eth1 ingress relay, l1:eth1 egress relay", ""},
		{"l1:eth1", "ingress", "l1:eth1 ingress relay", ""},
		{"lg", "both", "g1:eth1 ingress, g1:eth1 egress", ""},
		{"l1:eth2", "egress", "g1:eth1 ingress", ""},
		{"gg", "a-to-b", "g1:eth2 egress", ""},
		{"g2:eth1", "both", "g2:eth1 egress, g2:eth1 ingress", ""},
		{"l3:eth2", "egress", "l3:eth2 egress relay", ""}, // a LAN member's relay
		{"plain", "both", "", "add `netem: {}` to that link in /topo/file.yml"},
		{"l3:eth1", "egress", "", "no netem: block"},
		{"ll", "egress", "", "for a link want a-to-b, b-to-a or both"},
		{"nosuch", "both", "", "no link or interface"},
	} {
		got, err := resolveTarget(lab, "/topo/file.yml", tc.target, tc.dir)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s --dir %s: err %v, want %q", tc.target, tc.dir, err, tc.err)
			}
			continue
		}
		if err != nil || str(got) != tc.want {
			t.Errorf("%s --dir %s = %q, %v; want %q", tc.target, tc.dir, str(got), err, tc.want)
		}
	}
}
