package topology

import (
	"errors"
	"strings"
	"testing"
)

// TestImpairTargets maps links and interfaces to the agents that apply
// their directions: a Go stack's own egress, a Go peer's ingress for a
// Linux node, and relays, from either end.
func TestImpairTargets(t *testing.T) {
	lab := mustParse(t, `name: rt
topology:
  nodes: {l1: {stack: linux}, l2: {stack: linux}, l3: {stack: linux}, g1: {}, g2: {}}
  links:
    - {name: ll, endpoints: ["l1:eth1", "l2:eth1"], netem: {}}
    - {name: lg, endpoints: ["l1:eth2", "g1:eth1"]}
    - {name: gg, endpoints: ["g1:eth2", "g2:eth1"]}
    - {name: plain, endpoints: ["l2:eth2", "l3:eth1"]}
    - {endpoints: ["l3:eth2", "g2:eth2", "l2:eth3"], netem: {delay: 1ms}}
`)
	str := func(ss []ImpairSide) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.String())
		}
		return strings.Join(out, ", ")
	}
	for _, tc := range []struct {
		target, dir, want, err string
	}{
		{"ll", "both", "l1:eth1 egress (relay), l1:eth1 ingress (relay)", ""},
		{"ll", "", "l1:eth1 egress (relay), l1:eth1 ingress (relay)", ""},
		{"ll", "b-to-a", "l1:eth1 ingress (relay)", ""},
		{"l2:eth1", "egress", "l1:eth1 ingress (relay)", ""},
		{"l2:eth1", "both", "l1:eth1 ingress (relay), l1:eth1 egress (relay)", ""},
		{"l1:eth1", "ingress", "l1:eth1 ingress (relay)", ""},
		{"lg", "both", "g1:eth1 ingress, g1:eth1 egress", ""},
		{"l1:eth2", "egress", "g1:eth1 ingress", ""},
		{"gg", "a-to-b", "g1:eth2 egress", ""},
		{"g2:eth1", "both", "g2:eth1 egress, g2:eth1 ingress", ""},
		{"l3:eth2", "egress", "l3:eth2 egress (relay)", ""}, // a LAN member's relay
		{"plain", "both", "", "add `netem: {}` to that link in test.yml"},
		{"l3:eth1", "egress", "", "no netem: block"},
		{"ll", "egress", "", "for a link want a-to-b, b-to-a or both"},
		{"g1:eth1", "a-to-b", "", "for NODE:IFACE want egress, ingress or both"},
		{"g1:eth9", "both", "", "lab rt has no interface g1:eth9"},
		{"nosuch", "both", "", "no link or interface"},
	} {
		got, err := lab.ImpairTargets(tc.target, tc.dir)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ImpairTargets(%q, %q) error = %v, want one containing %q", tc.target, tc.dir, err, tc.err)
			}
			continue
		}
		if err != nil || str(got) != tc.want {
			t.Errorf("ImpairTargets(%q, %q) = %q, %v; want %q", tc.target, tc.dir, str(got), err, tc.want)
		}
	}
	// The advice names the file the caller says.
	_, err := lab.ImpairTargets("plain", "both")
	var ne *NotImpairableError
	if !errors.As(err, &ne) || ne.Interface != "l2:eth2" {
		t.Fatalf("error %v, want a NotImpairableError for l2:eth2", err)
	}
	ne.File = "/topo/file.yml"
	if !strings.Contains(err.Error(), "in /topo/file.yml and redeploy") {
		t.Errorf("error %q does not name /topo/file.yml", err)
	}
	want := "g1:eth1 both, g1:eth2 both, g2:eth1 both, g2:eth2 both, l1:eth1 both (relay), l2:eth3 both (relay), l3:eth2 both (relay)"
	if got := str(lab.ImpairedInterfaces()); got != want {
		t.Errorf("ImpairedInterfaces() = %q\nwant %q", got, want)
	}
}

// TestWrittenInterfaceNames: an interface the file names as containerlab
// does (ethernet-1/1, e1-1 in Linux) is found by either name, and by any
// name of the same mapping, wherever a user names one after deploy; the
// messages about such a name say how it was written.
func TestWrittenInterfaceNames(t *testing.T) {
	lab := mustParse(t, `name: wn
topology:
  nodes: {r1: {}, r2: {}}
  links:
    - endpoints: ["r1:ethernet-1/1", "r2:eth1"]
`)
	r1 := lab.Node("r1")
	for _, name := range []string{"e1-1", "ethernet-1/1", "e1/1"} {
		if i := r1.Interface(name); i == nil || i.Name != "e1-1" {
			t.Errorf("Interface(%q) = %v; want r1:e1-1", name, i)
		}
	}
	for _, name := range []string{"ethernet-1/2", "eth1", "e1-1/"} {
		if i := r1.Interface(name); i != nil {
			t.Errorf("Interface(%q) = %v; want none", name, i)
		}
	}
	for _, target := range []string{"r1:ethernet-1/1", "r1:e1-1"} {
		sides, err := lab.ImpairTargets(target, DirEgress)
		if err != nil || len(sides) != 1 || sides[0].String() != "r1:e1-1 egress" {
			t.Errorf("ImpairTargets(%q) = %v, %v; want r1:e1-1 egress", target, sides, err)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`{nodes: {r1: {}, r2: {}}, links: [{endpoints: ["r1:e1-1", "r2:eth1"]}, {endpoints: ["r1:ethernet-1/1", "r2:eth2"]}]}`,
			`interface r1:ethernet-1/1 (e1-1 in Linux) is used twice (first at 2:58 as e1-1)`},
		{`{nodes: {r1: {capture: {interfaces: [ethernet-1/9]}}, r2: {}}, links: [{endpoints: ["r1:ethernet-1/1", "r2:eth1"]}]}`,
			`capture: node "r1" has no interface "ethernet-1/9" (e1-9 in Linux); did you mean "ethernet-1/1"? (its interfaces: ethernet-1/1 (e1-1 in Linux))`},
		{`{nodes: {r1: {routes: [{dst: 10.9.0.0/16, dev: ethernet-1/9}]}, r2: {}}, links: [{endpoints: ["r1:ethernet-1/1", "r2:eth1"]}]}`,
			`dev "ethernet-1/9": node "r1" has no interface "ethernet-1/9" (e1-9 in Linux) (it has: ethernet-1/1 (e1-1 in Linux))`},
	} {
		_, err := Parse("x.yml", []byte("name: wn\ntopology: "+tc.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error:\n%v\nwant %q", err, tc.want)
		}
	}
}
