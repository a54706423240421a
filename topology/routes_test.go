package topology

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deliver follows the plan's routes from src to dst the way a kernel would:
// an address on a connected subnet is delivered, anything else follows the
// longest matching route to a next hop that must forward. It returns the
// nodes on the way.
func deliver(lab *Lab, src *Node, dst netip.Addr) ([]string, error) {
	owner := map[netip.Addr]*Interface{}
	for _, n := range lab.Nodes {
		for _, i := range n.Interfaces {
			owner[i.Addr.Addr()] = i
		}
	}
	cur, path := src, []string{src.Name}
	for range 64 {
		for _, i := range cur.Interfaces {
			if i.Addr.Addr() == dst {
				return path, nil
			}
		}
		for _, i := range cur.Interfaces {
			if i.Addr.Masked().Contains(dst) {
				o := owner[dst]
				if o == nil || o.Net() != i.Net() {
					return path, fmt.Errorf("%s: %s is on %s's subnet but nobody there has it", cur.Name, dst, i)
				}
				return append(path, o.Node.Name), nil
			}
		}
		var best *Route
		for k, r := range cur.Routes {
			if r.Dst.Contains(dst) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
				best = &cur.Routes[k]
			}
		}
		if best == nil {
			return path, fmt.Errorf("%s has no route to %s", cur.Name, dst)
		}
		dev := cur.Interface(best.Dev)
		nh := owner[best.Via]
		if dev == nil || nh == nil || nh.Net() != dev.Net() {
			return path, fmt.Errorf("%s: route %s does not lead to a neighbor", cur.Name, best)
		}
		if !nh.Node.Forwarding {
			return path, fmt.Errorf("%s: next hop %s for %s does not forward", cur.Name, nh, dst)
		}
		cur = nh.Node
		path = append(path, cur.Name)
	}
	return path, fmt.Errorf("loop: %s", strings.Join(path, " "))
}

// checkAllHostsReach checks that every host reaches every address of every
// other host.
func checkAllHostsReach(t *testing.T, lab *Lab) {
	t.Helper()
	for _, a := range lab.Nodes {
		if a.Forwarding {
			continue
		}
		for _, b := range lab.Nodes {
			if b == a || b.Forwarding {
				continue
			}
			for _, i := range b.Interfaces {
				if path, err := deliver(lab, a, i.Addr.Addr()); err != nil {
					t.Errorf("%s to %s (%s): %v (path %v)", a.Name, i, i.Addr.Addr(), err, path)
				}
			}
		}
	}
}

func routeStrings(n *Node) []string {
	var out []string
	for _, r := range n.Routes {
		s := r.String()
		if r.Auto {
			s += " (auto)"
		}
		out = append(out, s)
	}
	return out
}

func TestAutoRoutes(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  map[string][]string // node -> routes
		paths map[string][]string // "a>b" -> path to b's first address
		split bool                // hosts cannot all reach each other
	}{
		{
			name: "diamond ties go to the smaller name",
			src: `
  nodes: {h1: , h2: , r1: {kind: router}, ra: {kind: router}, rb: {kind: router}, r2: {kind: router}}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["r1:eth2", "rb:eth1"]
    - endpoints: ["r1:eth3", "ra:eth1"]
    - endpoints: ["rb:eth2", "r2:eth2"]
    - endpoints: ["ra:eth2", "r2:eth1"]
    - endpoints: ["r2:eth3", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1 (auto)"},
				"r1": {
					"10.0.0.6/31 via 10.0.0.3 dev eth2 (auto)",
					"10.0.0.8/31 via 10.0.0.5 dev eth3 (auto)",
					"10.0.0.10/31 via 10.0.0.5 dev eth3 (auto)",
				},
			},
			paths: map[string][]string{"h1>h2": {"h1", "r1", "ra", "r2", "h2"}},
		},
		{
			name: "two routers: specific routes, not a default",
			src: `
  nodes: {h1: , h2: , h3: , r1: {kind: router}, r2: {kind: router}}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["h1:eth2", "r2:eth1"]
    - endpoints: ["r1:eth2", "h2:eth1"]
    - endpoints: ["r2:eth2", "h3:eth1"]
    - endpoints: ["r1:eth3", "r2:eth3"]`,
			want: map[string][]string{
				"h1": {
					"10.0.0.4/31 via 10.0.0.1 dev eth1 (auto)",
					"10.0.0.6/31 via 10.0.0.3 dev eth2 (auto)",
					"10.0.0.8/31 via 10.0.0.1 dev eth1 (auto)",
				},
				"h2": {"default via 10.0.0.4 dev eth1 (auto)"},
			},
		},
		{
			name: "hosts do not forward",
			src: `
  nodes: {h1: , hx: , r1: {kind: router}, h2: }
  links:
    - endpoints: ["h1:eth1", "hx:eth1"]
    - endpoints: ["hx:eth2", "r1:eth1"]
    - endpoints: ["r1:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": nil,
				"r1": nil,
				"h2": {"default via 10.0.0.4 dev eth1 (auto)"},
				"hx": {"default via 10.0.0.3 dev eth2 (auto)"},
			},
			split: true,
		},
		{
			name: "a host that forwards is a router",
			src: `
  nodes: {h1: , hx: {forwarding: true}, h2: }
  links:
    - endpoints: ["h1:eth1", "hx:eth1"]
    - endpoints: ["hx:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1 (auto)"},
				"hx": nil,
			},
			paths: map[string][]string{"h1>h2": {"h1", "hx", "h2"}},
		},
		{
			name: "routes in the file win",
			src: `
  nodes:
    h1: {routes: [{dst: default, via: 10.0.0.1}]}
    h2: {routes: [{dst: 10.99.0.0/16, dev: eth1}]}
    r1: {kind: router, routes: [{dst: 10.0.0.4/31, via: 10.0.0.3}]}
    r2: {kind: router}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
    - endpoints: ["r1:eth2", "r2:eth1"]
    - endpoints: ["r2:eth2", "h2:eth1"]`,
			want: map[string][]string{
				"h1": {"default via 10.0.0.1 dev eth1"},
				"h2": {"10.99.0.0/16 dev eth1", "default via 10.0.0.4 dev eth1 (auto)"},
				"r1": {"10.0.0.4/31 via 10.0.0.3 dev eth2"},
			},
		},
		{
			name: "LANs through a router",
			src: `
  nodes: {a1: , a2: , b1: , r: {kind: router}}
  links:
    - endpoints: ["r:eth1", "a1:eth1", "a2:eth1"]
    - endpoints: ["b1:eth1", "r:eth2", "b2:eth1"]
  defaults: {}
  kinds: {}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: routes\ntopology:\n  auto-routes: true" + tc.src + "\n"
			if tc.name == "LANs through a router" {
				src = strings.Replace(src, "b1: ,", "b1: , b2: ,", 1)
			}
			lab := mustParse(t, src)
			for node, want := range tc.want {
				if diff := cmp.Diff(want, routeStrings(lab.Node(node))); diff != "" {
					t.Errorf("routes of %s (-want +got):\n%s", node, diff)
				}
			}
			for pair, want := range tc.paths {
				a, b, _ := strings.Cut(pair, ">")
				got, err := deliver(lab, lab.Node(a), lab.Node(b).Interfaces[0].Addr.Addr())
				if err != nil {
					t.Errorf("%s: %v", pair, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("path %s (-want +got):\n%s", pair, diff)
				}
			}
			if !tc.split {
				checkAllHostsReach(t, lab)
			}
		})
	}
}

func TestRoutesWithoutAuto(t *testing.T) {
	lab := mustParse(t, `
name: static
topology:
  nodes:
    h1:
      routes:
        - {dst: default, via: 10.0.0.1}
        - {dst: 10.50.0.0/16, dev: eth1}
    r1: {kind: router}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
`)
	want := []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.0.1"), Dev: "eth1"},
		{Dst: netip.MustParsePrefix("10.50.0.0/16"), Dev: "eth1"},
	}
	if diff := cmp.Diff(want, lab.Node("h1").Routes, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("h1 routes (-want +got):\n%s", diff)
	}
	if got := lab.Node("r1").Routes; got != nil {
		t.Errorf("r1 routes = %v, want none without auto-routes", got)
	}
}
