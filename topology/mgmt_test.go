package topology

import (
	"fmt"
	"strings"
	"testing"
)

// TestMgmtAddressPlan: with mgmt's ipv4-subnet given, netlab picks every
// node's management address at plan time (the lowest free one, nodes by
// name), around the fixed ones, the network's, the gateway's and the
// broadcast; the runtime never picks one, so a picked address cannot take
// a fixed one while nodes are made in parallel. network-mode: none keeps a
// node off the network (it may use eth0 for the lab).
func TestMgmtAddressPlan(t *testing.T) {
	lab := mustParse(t, `name: mp
mgmt: {ipv4-subnet: 172.20.20.0/29}
topology:
  nodes:
    a: {}
    b: {mgmt-ipv4: 172.20.20.2}
    c: {mgmt-ipv4: 172.20.20.4}
    d: {}
    e: {network-mode: none}
    f: {}
  links:
    - endpoints: ["a:eth1", "e:eth0"]
`)
	got := map[string]string{}
	for _, n := range lab.Nodes {
		got[n.Name] = fmt.Sprintf("%v auto=%v on=%v", n.MgmtIPv4, n.AutoMgmtIPv4, lab.OnMgmt(n))
	}
	want := map[string]string{
		"a": "172.20.20.3 auto=true on=true",
		"b": "172.20.20.2 auto=false on=true",
		"c": "172.20.20.4 auto=false on=true",
		"d": "172.20.20.5 auto=true on=true",
		"e": "invalid IP auto=false on=false",
		"f": "172.20.20.6 auto=true on=true",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("node %s: %s; want %s", name, got[name], w)
		}
	}
	if e := lab.Node("e"); e.NetworkMode != NetworkModeNone {
		t.Errorf("e's network-mode %q; want none", e.NetworkMode)
	}
	// Without a subnet the runtime picks them all: none is fixed.
	lab = mustParse(t, "name: mp\nmgmt: {}\ntopology:\n  nodes: {a: {}, b: {}}\n")
	for _, n := range lab.Nodes {
		if n.MgmtIPv4.IsValid() || !lab.OnMgmt(n) {
			t.Errorf("node %s: mgmt-ipv4 %v, on %v; want none picked, on the network", n.Name, n.MgmtIPv4, lab.OnMgmt(n))
		}
	}
}

// TestMgmtChecks: the management subnet must be apart from the lab's
// addresses (the ipv4-pool, written or default, the addresses and routes
// the file writes), and a fixed address a host address of it.
func TestMgmtChecks(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"mgmt: {ipv4-subnet: 10.0.0.0/24}\ntopology: {nodes: {a: {}}}",
			"x.yml:1:21: ipv4-subnet 10.0.0.0/24 overlaps netlab's default ipv4-pool 10.0.0.0/16, which lab addresses come from: the management network must be apart from the lab's (allowed: a subnet apart from the lab's addresses, e.g. 172.20.20.0/24; or move topology.ipv4-pool)"},
		{"mgmt: {ipv4-subnet: 172.16.0.0/12}\ntopology: {ipv4-pool: 172.20.0.0/16, nodes: {a: {}}}",
			"x.yml:1:21: ipv4-subnet 172.16.0.0/12 overlaps the ipv4-pool (at 2:23) 172.20.0.0/16, which lab addresses come from: the management network must be apart from the lab's (allowed: a subnet apart from the lab's addresses; or move topology.ipv4-pool)"},
		{"mgmt: {ipv4-subnet: 192.168.0.0/16}\ntopology:\n  nodes: {a: {}, b: {}}\n  links:\n    - endpoints: [{node: a, interface: ethernet-1/1, ipv4: 192.168.1.1/24}, {node: b, interface: eth1, ipv4: 192.168.1.2/24}]",
			"x.yml:1:21: ipv4-subnet 192.168.0.0/16 overlaps 192.168.1.1/24 of a:ethernet-1/1 (at 5:60) and 1 more written in the file: the management network must be apart from the lab's addresses (allowed: a subnet apart from the lab's addresses, e.g. 172.20.20.0/24)"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/24}\ntopology:\n  nodes: {a: {routes: [{dst: 172.20.20.128/25, via: 10.0.0.1}]}, b: {}}\n  links: [{endpoints: [a:eth1, b:eth1]}]",
			"x.yml:1:21: ipv4-subnet 172.20.20.0/24 overlaps the route to 172.20.20.128/25 of node a (at 3:30) written in the file"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/24}\ntopology: {nodes: {a: {mgmt-ipv4: 172.20.20.255}}}",
			"x.yml:2:35: mgmt-ipv4 172.20.20.255 of node a: not a host address of mgmt's ipv4-subnet 172.20.20.0/24 (allowed: 172.20.20.2 to 172.20.20.254; the first address is the network's, the second this machine's, the last the broadcast)"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/24}\ntopology: {nodes: {a: {mgmt-ipv4: 172.20.20.0}}}",
			"x.yml:2:35: mgmt-ipv4 172.20.20.0 of node a: not a host address"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/24}\ntopology: {nodes: {a: {mgmt-ipv4: 172.20.20.9, network-mode: none}}}",
			"x.yml:2:35: mgmt-ipv4 of node a: its network-mode: none keeps it off the management network"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/29}\ntopology: {nodes: {a: {}, b: {}, c: {}, d: {}, e: {}, f: {}}}",
			"x.yml:1:21: ipv4-subnet 172.20.20.0/29 has room for 5 nodes (its first two addresses are the network's and this machine's, its last the broadcast), the lab puts 6 on the management network (allowed: a larger subnet)"},
		{"mgmt: {ipv4-subnet: 172.20.20.0/24}\ntopology: {nodes: {a: {network-mode: host}}}",
			"x.yml:2:38: network-mode \"host\": netlab nodes have no network but the lab's links and its mgmt: network (allowed: none"},
	} {
		_, err := Parse("x.yml", []byte(tc.src+"\nname: mc\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\nerror:\n%v\nwant %q", tc.src, err, tc.want)
		}
	}
	// A /29 holds five nodes.
	mustParse(t, "name: mc\nmgmt: {ipv4-subnet: 172.20.20.0/29}\ntopology: {nodes: {a: {}, b: {}, c: {}, d: {}, e: {}}}")
}

// TestMgmtNetworkName: the default network name says whose it is, also
// without a prefix; the file's network: is kept.
func TestMgmtNetworkName(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{"mgmt: {}", "netlab-nm-mgmt"},
		{"prefix: lab\nmgmt: {}", "lab-nm-mgmt"},
		{"prefix: \"\"\nmgmt: {}", "nm-mgmt"},
		{"prefix: __lab-name\nmgmt: {}", "nm-mgmt"},
		{"prefix: \"\"\nmgmt: {network: clab}", "clab"},
	} {
		lab := mustParse(t, "name: nm\n"+tc.head+"\ntopology: {nodes: {a: {}}}\n")
		if lab.Mgmt.Network != tc.want {
			t.Errorf("%q: network %q; want %q", tc.head, lab.Mgmt.Network, tc.want)
		}
	}
}
