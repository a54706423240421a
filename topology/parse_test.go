package topology

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netlab/netlab/impair"
)

func mustParse(t *testing.T, src string) *Lab {
	t.Helper()
	lab, err := Parse("test.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return lab
}

func ptr[T any](v T) *T { return &v }

func TestInheritance(t *testing.T) {
	lab := mustParse(t, `
name: inherit
topology:
  defaults:
    stack: linux
    image: base:1
    exec: [from-defaults]
    env: {A: d, B: d}
    labels: {tier: d}
    seed: 1
    tcp: {cc: reno, mss: 1400, nagle: false}
  kinds:
    edge:
      kind: router
      image: edge:1
      env: {B: k, C: k}
      tcp: {cc: cubic, sack: false}
    router: {stack: go}
  nodes:
    e1:
      kind: edge
      env: {C: n}
      tcp: {mss: 1000}
    h1: {}
    h2:
      forwarding: true
      exec: []
    r1: {kind: router, forwarding: false}
`)
	e1 := lab.Node("e1")
	want := &Node{
		Name: "e1", Index: 0, LongName: "netlab-inherit-e1", Kind: "edge", Base: KindRouter,
		Stack: StackLinux, Image: "edge:1", Exec: []string{"from-defaults"},
		Env:        map[string]string{"A": "d", "B": "k", "C": "n"},
		Labels:     map[string]string{"tier": "d"},
		Forwarding: true, Seed: 1,
		TCP:        TCPOptions{CC: CCCubic, MSS: 1000, Nagle: ptr(false), SACK: ptr(false)},
		Interfaces: nil, Pos: Pos{Line: 20, Col: 5},
	}
	if diff := cmp.Diff(want, e1, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("node e1 (-want +got):\n%s", diff)
	}
	tests := []struct {
		node       string
		stack      Stack
		forwarding bool
		exec       []string
		image      string
	}{
		{"h1", StackLinux, false, []string{"from-defaults"}, "base:1"},
		{"h2", StackLinux, true, nil, "base:1"},
		{"r1", StackGo, false, []string{"from-defaults"}, "base:1"},
	}
	for _, tc := range tests {
		t.Run(tc.node, func(t *testing.T) {
			n := lab.Node(tc.node)
			if n.Stack != tc.stack || n.Forwarding != tc.forwarding || n.Image != tc.image {
				t.Errorf("node %s = stack %s forwarding %v image %s, want %s %v %s", tc.node, n.Stack, n.Forwarding, n.Image, tc.stack, tc.forwarding, tc.image)
			}
			if diff := cmp.Diff(tc.exec, n.Exec); diff != "" {
				t.Errorf("node %s exec (-want +got):\n%s", tc.node, diff)
			}
		})
	}
	if got := []string{lab.Nodes[0].Name, lab.Nodes[1].Name, lab.Nodes[2].Name, lab.Nodes[3].Name}; !cmp.Equal(got, []string{"e1", "h1", "h2", "r1"}) {
		t.Errorf("nodes in order %v, want sorted by name", got)
	}
	for i, n := range lab.Nodes {
		if n.Index != i {
			t.Errorf("node %s Index = %d, want %d", n.Name, n.Index, i)
		}
	}
}

func TestTCPOptions(t *testing.T) {
	lab := mustParse(t, `
name: tcp
topology:
  nodes:
    h1:
      tcp:
        mss: 1.5KiB
        sndbuf: 4MB
        rcvbuf: 256KiB
        delayed-ack: 40ms
        time-wait: 0
        rto-initial: 1s
        rto-min: 200ms
        timestamps: true
        window-scaling: false
    h2: {tcp: {delayed-ack: false}}
    h3: {tcp: {delayed-ack: true}}
`)
	want := TCPOptions{
		MSS: 1536, SndBuf: 4_000_000, RcvBuf: 256 << 10,
		DelayedACK: ptr(40 * time.Millisecond), TimeWait: ptr(time.Duration(0)),
		RTOInitial: time.Second, RTOMin: 200 * time.Millisecond,
		Timestamps: ptr(true), WindowScaling: ptr(false),
	}
	if diff := cmp.Diff(want, lab.Node("h1").TCP); diff != "" {
		t.Errorf("h1 tcp (-want +got):\n%s", diff)
	}
	if got := lab.Node("h2").TCP.DelayedACK; got == nil || *got != 0 {
		t.Errorf("delayed-ack: false gives %v, want a pointer to 0", got)
	}
	if got := lab.Node("h3").TCP.DelayedACK; got != nil {
		t.Errorf("delayed-ack: true gives %v, want nil (the stack's default)", *got)
	}
}

func TestLongName(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"", "netlab-lab-h1"},
		{"prefix: ''", "h1"},
		{"prefix: __lab-name", "lab-h1"},
		{"prefix: clab", "clab-lab-h1"},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			lab := mustParse(t, "name: lab\n"+tc.prefix+"\ntopology: {nodes: {h1: }}\n")
			if got := lab.Node("h1").LongName; got != tc.want {
				t.Errorf("LongName = %q, want %q", got, tc.want)
			}
		})
	}
}

// addrs returns "node:iface=addr" for every interface, in node order.
func addrs(lab *Lab) []string {
	var out []string
	for _, n := range lab.Nodes {
		for _, i := range n.Interfaces {
			out = append(out, i.String()+"="+i.Addr.String())
		}
	}
	return out
}

func TestAddressPlan(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "p2p /31 in file order",
			src: `
  nodes: {a: , b: , c: }
  links:
    - endpoints: ["b:eth1", "c:eth1"]
    - endpoints: ["a:eth1", "b:eth2"]`,
			want: []string{"a:eth1=10.0.0.2/31", "b:eth1=10.0.0.0/31", "b:eth2=10.0.0.3/31", "c:eth1=10.0.0.1/31"},
		},
		{
			name: "p2p /30",
			src: `
  p2p-prefix: 30
  nodes: {a: , b: }
  links:
    - endpoints: ["a:eth1", "b:eth1"]
    - endpoints: ["a:eth2", "b:eth2"]`,
			want: []string{"a:eth1=10.0.0.1/30", "a:eth2=10.0.0.5/30", "b:eth1=10.0.0.2/30", "b:eth2=10.0.0.6/30"},
		},
		{
			name: "skips written subnets and fills partly written links",
			src: `
  ipv4-pool: 10.0.0.0/24
  nodes: {a: , b: , c: }
  links:
    - endpoints: ["a:eth1", "b:eth1"]
    - endpoints: [{node: a, interface: eth2, ipv4: 10.0.0.3/31}, "c:eth1"]
    - endpoints: ["b:eth2", {node: c, interface: eth2, ipv4: 10.0.0.6/30}]
    - endpoints: ["a:eth3", "c:eth3"]`,
			want: []string{
				"a:eth1=10.0.0.0/31", "a:eth2=10.0.0.3/31", "a:eth3=10.0.0.8/31",
				"b:eth1=10.0.0.1/31", "b:eth2=10.0.0.5/30",
				"c:eth1=10.0.0.2/31", "c:eth2=10.0.0.6/30", "c:eth3=10.0.0.9/31",
			},
		},
		{
			name: "LAN /24 after p2p",
			src: `
  nodes: {a: , b: , c: , r: {kind: router}}
  links:
    - endpoints: ["r:eth1", "a:eth9"]
    - endpoints: ["a:eth1", "b:eth1", "c:eth1"]
    - endpoints: ["r:eth2", "c:eth2"]`,
			want: []string{
				"a:eth1=10.0.1.1/24", "a:eth9=10.0.0.1/31", "b:eth1=10.0.1.2/24",
				"c:eth1=10.0.1.3/24", "c:eth2=10.0.0.3/31", "r:eth1=10.0.0.0/31", "r:eth2=10.0.0.2/31",
			},
		},
		{
			name: "LAN with a written address",
			src: `
  nodes: {a: , b: , c: }
  links:
    - endpoints: ["a:eth1", {node: b, interface: eth1, ipv4: 192.168.7.1/24}, "c:eth1"]`,
			want: []string{"a:eth1=192.168.7.2/24", "b:eth1=192.168.7.1/24", "c:eth1=192.168.7.3/24"},
		},
		{
			name: "lan-prefix and bridges in declaration order",
			src: `
  lan-prefix: 28
  nodes: {a: , b: , sw: {kind: bridge}}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
    - endpoints: ["a:eth2", "sw:p1"]
    - endpoints: ["b:eth2", "sw:p2"]`,
			want: []string{"a:eth1=10.0.0.16/31", "a:eth2=10.0.0.1/28", "b:eth1=10.0.0.17/31", "b:eth2=10.0.0.2/28"},
		},
		{
			name: "custom pool",
			src: `
  ipv4-pool: 172.16.8.0/22
  nodes: {a: , b: }
  links:
    - endpoints: ["a:eth1", "b:eth1"]`,
			want: []string{"a:eth1=172.16.8.0/31", "b:eth1=172.16.8.1/31"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab := mustParse(t, "name: plan\ntopology:"+tc.src+"\n")
			if diff := cmp.Diff(tc.want, addrs(lab)); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAddressStability checks that a link added at the end of the file
// moves no address, and that parsing twice gives the same plan.
func TestAddressStability(t *testing.T) {
	base := `name: stable
topology:
  nodes: {a: , b: , c: , d: }
  links:
    - endpoints: ["a:eth1", "b:eth1"]
    - endpoints: ["b:eth2", "c:eth1", "d:eth1"]
    - endpoints: ["c:eth2", "d:eth2"]
`
	before := mustParse(t, base)
	again := mustParse(t, base)
	after := mustParse(t, base+`    - endpoints: ["a:eth2", "d:eth3", "c:eth3"]
    - endpoints: ["a:eth3", "c:eth4"]
`)
	if diff := cmp.Diff(addrs(before), addrs(again)); diff != "" {
		t.Errorf("two parses differ (-first +second):\n%s", diff)
	}
	for _, n := range before.Nodes {
		for _, i := range n.Interfaces {
			j := after.Node(n.Name).Interface(i.Name)
			if i.Addr != j.Addr || i.MAC != j.MAC {
				t.Errorf("%s moved from %s %s to %s %s when links were added", i, i.Addr, i.MAC, j.Addr, j.MAC)
			}
		}
	}
}

func TestLargeLAN(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: big\ntopology:\n  defaults: {kind: host}\n  nodes:\n")
	for i := range 300 {
		b.WriteString("    h" + itoa(i) + ": {}\n")
	}
	b.WriteString("  links:\n    - endpoints: [")
	for i := range 300 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"h` + itoa(i) + `:eth1"`)
	}
	b.WriteString("]\n")
	lab := mustParse(t, b.String())
	if got, want := lab.Segments[0].Prefix, netip.MustParsePrefix("10.0.0.0/23"); got != want {
		t.Errorf("300-member LAN got %s, want %s", got, want)
	}
}

func TestMACs(t *testing.T) {
	lab := mustParse(t, `
name: macs
topology:
  nodes: {a: , b: }
  links:
    - endpoints: ["a:eth1", {node: b, interface: eth1, mac: "02:aa:bb:cc:dd:ee"}]
    - endpoints: ["a:eth2", "b:eth2"]
`)
	seen := map[MAC]bool{}
	for _, n := range lab.Nodes {
		for _, i := range n.Interfaces {
			if seen[i.MAC] {
				t.Errorf("%s MAC %s is used twice", i, i.MAC)
			}
			seen[i.MAC] = true
			if i.MAC[0] != 0x02 && i.String() != "b:eth1" {
				t.Errorf("%s MAC %s is not 02:...", i, i.MAC)
			}
		}
	}
	if got := lab.Node("b").Interface("eth1").MAC.String(); got != "02:aa:bb:cc:dd:ee" {
		t.Errorf("written MAC = %s, want 02:aa:bb:cc:dd:ee", got)
	}
	if got, want := lab.Node("a").Interface("eth1").MAC, autoMAC("macs", "a", "eth1", 0); got != want {
		t.Errorf("a:eth1 MAC = %s, want %s", got, want)
	}
}

func TestNetem(t *testing.T) {
	lab := mustParse(t, `
name: netem
topology:
  nodes: {a: {seed: 100}, b: , c: , sw: {kind: bridge}}
  links:
    - name: both
      endpoints: ["a:eth1", "b:eth1"]
      netem:
        delay: 20ms
        jitter: 5ms
        correlation: 25%
        loss: 2%
        duplicate: 0.5
        corrupt: 0.1%
        reorder: 10%
        rate: 10mbit
        rate-overhead: -4
        limit-bytes: 64KiB
    - name: dirs
      endpoints: ["a:eth2", "b:eth2"]
      netem:
        a-to-b: {loss-model: {model: gemodel, p: 1%}, ecn: true, seed: 9}
        b-to-a: {loss-model: {model: state, p13: 5%, p23: 50%}}
    - endpoints: ["sw:p1", "c:eth1"]
      netem: {a-to-b: {delay: 1ms}, b-to-a: {delay: 2ms}}
    - name: office
      endpoints: ["a:eth3", "b:eth3", "c:eth3"]
      netem: {delay: 3ms, seed: 50}
`)
	both := lab.Link("both")
	wantAtoB := &impair.Config{
		Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, DelayCorrelation: 0.25,
		DistributionName: "uniform", Loss: impair.Loss{Model: impair.LossRandom, P: 0.02},
		Duplicate: 0.005, Corrupt: 0.001, Reorder: 0.1, Gap: 1,
		Rate: 10_000_000, Overhead: -4, LimitBytes: 64 << 10,
		Seed: deriveSeed(100, "netem", "both", "a-to-b"),
	}
	if diff := cmp.Diff(wantAtoB, both.Netem.AtoB); diff != "" {
		t.Errorf("link both a-to-b (-want +got):\n%s", diff)
	}
	if both.Netem.BtoA.Seed == both.Netem.AtoB.Seed {
		t.Errorf("both directions have seed %d, want different seeds", both.Netem.AtoB.Seed)
	}
	if both.A.Egress != both.Netem.AtoB || both.B.Egress != both.Netem.BtoA || both.A.Ingress != nil {
		t.Errorf("link both: interface impairments do not match the link's")
	}

	dirs := lab.Link("dirs")
	wantGE := &impair.Config{Loss: impair.Loss{Model: impair.LossGE, P: 0.01, R: 0.99, OneMinusH: 1}, ECN: true, Limit: impair.DefaultLimit, Seed: 9}
	if diff := cmp.Diff(wantGE, dirs.Netem.AtoB); diff != "" {
		t.Errorf("link dirs a-to-b (-want +got):\n%s", diff)
	}
	wantState := impair.Loss{Model: impair.LossState, P13: 0.05, P31: 0.95, P23: 0.5}
	if diff := cmp.Diff(wantState, dirs.Netem.BtoA.Loss); diff != "" {
		t.Errorf("link dirs b-to-a loss (-want +got):\n%s", diff)
	}

	c1 := lab.Node("c").Interface("eth1")
	if c1.Segment != lab.Segment("sw") || c1.Port != "p1" {
		t.Fatalf("c:eth1 is on %v port %q, want segment sw port p1", c1.Segment, c1.Port)
	}
	// a-to-b is bridge to c: what c receives.
	if c1.Ingress == nil || c1.Ingress.Delay != time.Millisecond || c1.Egress == nil || c1.Egress.Delay != 2*time.Millisecond {
		t.Errorf("c:eth1 egress %v ingress %v, want egress delay 2ms, ingress delay 1ms", c1.Egress, c1.Ingress)
	}

	office := lab.Segment("office")
	for k, m := range office.Members {
		if m.Egress == nil || m.Egress.Delay != 3*time.Millisecond || m.Egress.Seed != 50+uint64(k) || m.Ingress != nil {
			t.Errorf("office member %s egress %+v ingress %v, want delay 3ms seed %d", m, m.Egress, m.Ingress, 50+k)
		}
	}
}

func TestBridgeAndLAN(t *testing.T) {
	lab := mustParse(t, `
name: lans
topology:
  nodes:
    sw1: {kind: bridge, labels: {rack: a}}
    h1: {}
    h2: {}
    h3: {}
  links:
    - endpoints: ["h1:eth1", "sw1:p1"]
      mtu: 9000
    - endpoints: ["sw1:p2", "h2:eth1"]
    - endpoints: ["h1:eth2", "h2:eth2", "h3:eth2"]
    - endpoints: ["h1:eth3", "h3:eth3", "h2:eth3"]
      name: lan1x
    - endpoints: ["h1:eth4", "h3:eth4", "h2:eth4"]
`)
	if lab.Node("sw1") != nil {
		t.Errorf("bridge sw1 is a node, want only a segment")
	}
	var names []string
	for i, s := range lab.Segments {
		names = append(names, s.Name)
		if s.Index != i {
			t.Errorf("segment %s Index = %d, want %d", s.Name, s.Index, i)
		}
	}
	if diff := cmp.Diff([]string{"sw1", "lan1", "lan1x", "lan2"}, names); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	sw := lab.Segment("sw1")
	if !sw.Bridge || sw.MTU != 1500 || sw.Labels["rack"] != "a" || len(sw.Members) != 2 {
		t.Errorf("sw1 = %+v, want a bridge with MTU 1500 (the smallest), label rack=a, 2 members", sw)
	}
	if got := lab.Node("h1").Interface("eth1").MTU; got != 9000 {
		t.Errorf("h1:eth1 MTU = %d, want 9000", got)
	}
	if len(lab.Links) != 0 {
		t.Errorf("got %d point-to-point links, want 0", len(lab.Links))
	}
}

func TestInterfaceOrder(t *testing.T) {
	lab := mustParse(t, `
name: order
topology:
  nodes: {a: , b: }
  links:
    - endpoints: ["a:eth10", "b:eth10"]
    - endpoints: ["a:eth2", "b:eth2"]
    - endpoints: ["a:eth1", "b:eth1"]
`)
	var got []string
	for i, ifc := range lab.Node("a").Interfaces {
		got = append(got, ifc.Name)
		if ifc.Index != i || ifc.Node != lab.Node("a") {
			t.Errorf("%s Index = %d, Node = %v; want %d, a", ifc.Name, ifc.Index, ifc.Node.Name, i)
		}
	}
	if diff := cmp.Diff([]string{"eth1", "eth2", "eth10"}, got); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
	k := lab.Link("a:eth10--b:eth10")
	if k == nil || k.A.Peer != k.B || k.B.Peer != k.A || k.A.Link != k {
		t.Errorf("link a:eth10--b:eth10 = %v, want ends that point at each other", k)
	}
	if lab.Link("nope") != nil || lab.Segment("nope") != nil || lab.Node("nope") != nil || lab.Node("a").Interface("nope") != nil {
		t.Errorf("lookups of unknown names should return nil")
	}
}

func TestYAMLFeatures(t *testing.T) {
	lab := mustParse(t, `
name: anchors
topology:
  kinds:
    fast: &fast
      kind: host
      tcp: {cc: cubic}
      env: {A: "1"}
  nodes:
    h1:
      <<: *fast
      env: {B: "2"}
    h2:
      <<: [*fast, {stack: linux}]
    h3:
  links:
    - endpoints: &eps ["h1:eth1", "h2:eth1"]
`)
	if got := lab.Node("h1"); got.TCP.CC != CCCubic || got.Env["B"] != "2" || got.Env["A"] != "" {
		t.Errorf("h1 = cc %q env %v, want cubic and the explicit env winning over the merged one", got.TCP.CC, got.Env)
	}
	if got := lab.Node("h2"); got.Stack != StackLinux || got.TCP.CC != CCCubic {
		t.Errorf("h2 = stack %s cc %s, want linux cubic from merged mappings", got.Stack, got.TCP.CC)
	}
	if lab.Node("h3") == nil {
		t.Errorf("a node with a null value should exist")
	}
}

func TestWarnings(t *testing.T) {
	lab := mustParse(t, `
name: warn
topology:
  defaults:
    tcp: {nagle: false, cc: cubic}
  nodes:
    l1: {stack: linux}
    l2: {stack: linux}
    g1: {}
    lonely: {}
    sw: {kind: bridge}
  links:
    - endpoints: ["l1:eth1", "g1:eth1"]
    - endpoints: ["l2:eth1", "g1:eth2"]
`)
	var got []string
	for _, w := range lab.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		"test.yml:5:18: tcp nagle has no Linux equivalent and is ignored on stack: linux nodes: l1, l2",
		"test.yml:10:5: node \"lonely\" has no links",
		"test.yml:11:5: bridge \"sw\" has no links",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestJSON(t *testing.T) {
	lab, err := Load("../examples/lossy-wan.yml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lab)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	links := back["links"].([]any)
	wan := links[1].(map[string]any)
	if wan["a"] != "r1:eth2" || wan["b"] != "h2:eth1" || wan["prefix"] != "10.0.0.2/31" {
		t.Errorf("wan link JSON = %v", wan)
	}
	ifc := back["nodes"].([]any)[1].(map[string]any)["interfaces"].([]any)[0].(map[string]any)
	if ifc["node"] != "h2" || ifc["net"] != "wan" || ifc["peer"] != "r1:eth2" || !strings.HasPrefix(ifc["mac"].(string), "02:") {
		t.Errorf("h2:eth1 JSON = %v", ifc)
	}
	if !filepath.IsAbs(lab.File) {
		t.Errorf("Load gave File %q, want an absolute path", lab.File)
	}
}

func TestErrors(t *testing.T) {
	_, err := Parse("x.yml", []byte("name: x\ntopology:\n  nodes: {a: {kind: nope}, b: {stack: nope}}\n"))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error %T, want ErrorList", err)
	}
	var first *Error
	if !errors.As(err, &first) || first.Line != 3 || first.Col != 21 {
		t.Errorf("errors.As(*Error) = %+v, want the first error at 3:21", first)
	}
	want := []*Error{
		{File: "x.yml", Line: 3, Col: 21, Msg: `unknown kind "nope" (allowed: host, router, linux, bridge)`},
		{File: "x.yml", Line: 3, Col: 39, Msg: `stack: unknown stack "nope" (allowed: go, linux)`},
	}
	if diff := cmp.Diff(want, list.Errors()); diff != "" {
		t.Errorf("Errors() (-want +got):\n%s", diff)
	}
	if got := (&Error{File: "f", Msg: "m"}).Error(); got != "f: m" {
		t.Errorf("Error without position = %q, want %q", got, "f: m")
	}
	if _, err := Load("testdata/does-not-exist.yml"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want an error wrapping os.ErrNotExist", err)
	}
	if _, err := Parse("empty.yml", nil); err == nil || !strings.Contains(err.Error(), "empty.yml:1:1: the file is empty") {
		t.Errorf("Parse(empty) = %v, want the file is empty", err)
	}
}

func TestAliasBomb(t *testing.T) {
	src := `name: bomb
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
`
	start := time.Now()
	_, err := Parse("bomb.yml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("Parse(alias bomb) = %v, want an expansion error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse(alias bomb) took %v", d)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// TestDistribution checks that a distribution's table is in the plan: a
// built-in one, or one read from a .dist file relative to the topology
// file, and that a table that cannot be read is an error where it is named.
func TestDistribution(t *testing.T) {
	abs, err := filepath.Abs("testdata/tables/small.dist")
	if err != nil {
		t.Fatal(err)
	}
	small := impair.DistTable{-8192, 0, 8192, 4096}
	tests := []struct {
		in, name string
		table    impair.DistTable
		err      string
	}{
		{in: "normal", name: "normal", table: impair.NormalTable()},
		{in: "uniform", name: "uniform"},
		{in: "tables/small.dist", name: filepath.Join("testdata", "tables/small.dist"), table: small},
		{in: abs, name: abs, table: small},
		{in: "tables/missing.dist", err: "d.yml:6:55: distribution: open testdata/tables/missing.dist: no such file or directory"},
		{in: "no-such-iproute2-table", err: "distribution: open /usr/lib/tc/no-such-iproute2-table.dist: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			src := "name: d\ntopology:\n  nodes: {a: , b: }\n  links:\n    - endpoints: [a:eth1, b:eth1]\n      netem: {delay: 10ms, jitter: 1ms, distribution: " + tc.in + "}\n"
			lab, err := Parse("testdata/d.yml", []byte(src))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := lab.Links[0].Netem.AtoB
			if got.DistributionName != tc.name || !slices.Equal(got.Distribution, tc.table) {
				t.Errorf("distribution %q gives %q with %d values, want %q with %d", tc.in, got.DistributionName, len(got.Distribution), tc.name, len(tc.table))
			}
		})
	}
}

// mustMatch reads a drop-match string.
func mustMatch(t *testing.T, s string) impair.Match {
	t.Helper()
	m, err := impair.ParseMatch(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNetemSchedules checks that order, the drop schedules and outages reach
// the plan, in the both-directions and the per-direction forms.
func TestNetemSchedules(t *testing.T) {
	tests := []struct {
		name       string
		netem      string
		atob, btoa *impair.Config // Seed and Limit are not compared
	}{
		{
			name:  "both",
			netem: `{delay: 10ms, jitter: 2ms, order: keep, drop-every: 10, drop-packets: [3, 7], drop-match: ["syn first", "seq=1101 data"], outage: {every: 10s, for: 2s, offset: 1s}}`,
			atob: &impair.Config{
				Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, DistributionName: "uniform",
				Order: impair.KeepOrder, DropEveryNth: 10, DropPackets: []uint64{3, 7},
				DropMatch: []impair.Match{mustMatch(t, "syn first"), mustMatch(t, "seq=1101 data")},
				Outage:    impair.Outage{Every: 10 * time.Second, For: 2 * time.Second, Offset: time.Second},
			},
		},
		{
			name:  "per direction",
			netem: `{a-to-b: {order: netem, drop-match: [fin, pure-ack]}, b-to-a: {drop-every: 1, outage: {every: 1m, for: 500ms}}}`,
			atob:  &impair.Config{DropMatch: []impair.Match{mustMatch(t, "fin"), mustMatch(t, "pure-ack")}},
			btoa:  &impair.Config{DropEveryNth: 1, Outage: impair.Outage{Every: time.Minute, For: 500 * time.Millisecond}},
		},
		{
			name:  "empty lists",
			netem: `{drop-packets: [], drop-match: []}`,
			atob:  &impair.Config{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab := mustParse(t, "name: s\ntopology:\n  nodes: {a: , b: }\n  links:\n    - endpoints: [a:eth1, b:eth1]\n      netem: "+tc.netem+"\n")
			k := lab.Links[0]
			wantBtoA := tc.btoa
			if wantBtoA == nil {
				wantBtoA = tc.atob // the both-directions form
			}
			ignore := cmpopts.IgnoreFields(impair.Config{}, "Seed", "Limit")
			if diff := cmp.Diff(tc.atob, k.Netem.AtoB, ignore); diff != "" {
				t.Errorf("a-to-b (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantBtoA, k.Netem.BtoA, ignore); diff != "" {
				t.Errorf("b-to-a (-want +got):\n%s", diff)
			}
			// No two directions share memory.
			a, b := k.Netem.AtoB, k.Netem.BtoA
			if len(a.DropPackets) > 0 && len(b.DropPackets) > 0 && &a.DropPackets[0] == &b.DropPackets[0] {
				t.Errorf("both directions share DropPackets")
			}
			if len(a.DropMatch) > 0 && len(b.DropMatch) > 0 && &a.DropMatch[0] == &b.DropMatch[0] {
				t.Errorf("both directions share DropMatch")
			}
		})
	}
}
