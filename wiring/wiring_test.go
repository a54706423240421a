package wiring_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/afpacket"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

func parse(t *testing.T, src string) *topology.Lab {
	t.Helper()
	lab, err := topology.Parse("test.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return lab
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want wiring.SwitchLayout
	}{
		{
			name: "no segments",
			src: `name: l
topology:
  nodes: {a: {}, b: {}}
  links: [{endpoints: ["a:eth1", "b:eth1"]}]
`,
			want: wiring.SwitchLayout{},
		},
		{
			name: "bridge nodes with clashing port names",
			src: `name: l
topology:
  nodes: {sw1: {kind: bridge}, sw2: {kind: bridge}, h1: {}, h2: {}, h3: {}, h4: {}}
  links:
    - endpoints: ["h1:eth1", "sw1:p1"]
    - endpoints: ["h2:eth1", "sw1:p2"]
    - endpoints: ["h3:eth1", "sw2:p1"]
    - endpoints: ["h4:eth1", "sw2:p2"]
`,
			want: wiring.SwitchLayout{
				NS:      "netlab-l-sw",
				Bridges: []string{"sw1", "sw2"},
				Ports:   [][]string{{"p1", "p2"}, {"sw2p1", "sw2p2"}},
			},
		},
		{
			name: "LAN links, one name too long for an interface",
			src: `name: l
topology:
  nodes: {a: {}, b: {}, c: {}, d: {}, e: {}, f: {}}
  links:
    - endpoints: ["a:eth1", "b:eth1", "c:eth1"]
    - name: a-very-long-lan-name
      endpoints: ["d:eth1", "e:eth1", "f:eth1"]
`,
			want: wiring.SwitchLayout{
				NS:      "netlab-l-sw",
				Bridges: []string{"lan1", "br1"},
				Ports:   [][]string{{"lan1p1", "lan1p2", "lan1p3"}, {"br1p1", "br1p2", "br1p3"}},
			},
		},
		{
			name: "a node called sw",
			src: `name: l
prefix: ""
topology:
  nodes: {sw: {}, l-sw: {}, b: {}}
  links: [{endpoints: ["sw:eth1", "b:eth1", "l-sw:eth1"]}]
`,
			want: wiring.SwitchLayout{
				NS:      "l-sw0",
				Bridges: []string{"lan1"},
				Ports:   [][]string{{"lan1p1", "lan1p2", "lan1p3"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab := parse(t, tc.src)
			got := wiring.Layout(lab)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Layout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSwitchNSName(t *testing.T) {
	tests := []struct {
		prefix string // written as `prefix:` unless "-"
		nodes  string
		want   string
	}{
		{prefix: "-", nodes: "{a: {}}", want: "netlab-lab1-sw"},
		{prefix: "x", nodes: "{a: {}}", want: "x-lab1-sw"},
		{prefix: `""`, nodes: "{a: {}}", want: "lab1-sw"},
		{prefix: "__lab-name", nodes: "{a: {}}", want: "lab1-sw"},
		{prefix: "-", nodes: "{sw: {}, sw0: {}}", want: "netlab-lab1-sw1"},
	}
	for _, tc := range tests {
		src := "name: lab1\n"
		if tc.prefix != "-" {
			src += "prefix: " + tc.prefix + "\n"
		}
		src += "topology:\n  nodes: " + tc.nodes + "\n"
		lab := parse(t, src)
		if got := wiring.SwitchNSName(lab); got != tc.want {
			t.Errorf("SwitchNSName(prefix %s, nodes %s) = %q, want %q", tc.prefix, tc.nodes, got, tc.want)
		}
	}
}

func TestInterfaceSysctl(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"net.ipv4.conf.eth1.rp_filter", true},
		{"net/ipv4/conf/eth1.10/rp_filter", true},
		{"net.ipv6.conf.eth1.disable_ipv6", true},
		{"net.ipv4.neigh.eth1.gc_stale_time", true},
		{"net.ipv4.conf.all.rp_filter", false},
		{"net.ipv4.conf.default.rp_filter", false},
		{"net.ipv4.ip_forward", false},
		{"net.ipv4.tcp_congestion_control", false},
		{"kernel.panic", false},
	}
	for _, tc := range tests {
		if got := wiring.InterfaceSysctl(tc.key); got != tc.want {
			t.Errorf("InterfaceSysctl(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// newNS makes a namespace named nlw<8 hex digits>, deleted at the end of
// the test.
func newNS(t *testing.T) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "nlw" + hex.EncodeToString(b[:])
	if _, err := linuxnet.NewNamedNS(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := linuxnet.DeleteNamedNS(name); err != nil {
			t.Errorf("DeleteNamedNS(%s): %v", name, err)
		}
	})
	return name
}

// TestWire wires a router between a Linux host on a point-to-point link and
// a LAN of a Linux host and a Go-stack host, in namespaces of its own, and
// pings across it.
func TestWire(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veths, bridges): run the tests as root, as CI does")
	}
	lab := parse(t, `name: wiretest
topology:
  auto-routes: true
  nodes:
    h1: {stack: linux}
    r1: {kind: router, stack: linux, sysctls: {net.ipv4.conf.eth2.rp_filter: "2"}}
    h2: {stack: linux}
    g1: {}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
      mtu: 1400
    - endpoints: ["r1:eth2", "h2:eth1", "g1:eth1"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := map[string]string{}
	for _, n := range lab.Nodes {
		ns[n.Name] = newNS(t)
	}
	sw := newSwitchNS(t, ctx)

	if err := wiring.Wire(ctx, lab, map[string]string{"h1": ns["h1"]}, sw, wiring.Options{}); err == nil || !strings.Contains(err.Error(), "no network namespace for node") {
		t.Errorf("Wire without every namespace = %v, want an error", err)
	}
	steps := 0
	if err := wiring.Wire(ctx, lab, ns, sw, wiring.Options{MaxWorkers: 2, Progress: func(string) { steps++ }}); err != nil {
		t.Fatalf("Wire: %v", err)
	}
	if want := wiring.Steps(lab); steps != want {
		t.Errorf("Progress called %d times, Steps = %d", steps, want)
	}

	// The MTU of the first link, the user's per-interface sysctl, the Go
	// host's silence.
	err := linuxnet.InNamespace(ns["h1"], func() error {
		l, err := netlink.LinkByName("eth1")
		if err == nil && l.Attrs().MTU != 1400 {
			t.Errorf("h1:eth1 MTU %d, want 1400", l.Attrs().MTU)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	err = linuxnet.InNamespace(ns["r1"], func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/eth2/rp_filter")
		if strings.TrimSpace(string(b)) != "2" {
			t.Errorf("r1 eth2 rp_filter = %q, want the node's sysctl 2", b)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	err = linuxnet.InNamespace(ns["g1"], func() error {
		l, err := netlink.LinkByName("eth1")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if len(addrs) != 0 {
			t.Errorf("g1:eth1 (go stack) has kernel addresses %v", addrs)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}

	err = linuxnet.InNamespace(sw, func() error {
		b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
		if err == nil && strings.TrimSpace(string(b)) != "0" {
			t.Errorf("switch namespace: bridge-nf-call-iptables = %q, want 0", b)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	h2 := lab.Node("h2").Interfaces[0].Addr.Addr().String()
	h1 := lab.Node("h1").Interfaces[0].Addr.Addr().String()
	for _, p := range []struct{ from, to string }{{"h1", h2}, {"h2", h1}} {
		out, err := exec.Command("ip", "netns", "exec", ns[p.from], "ping", "-n", "-q", "-c", "1", "-W", "3", p.to).CombinedOutput()
		if err != nil {
			t.Errorf("ping from %s to %s: %v: %s", p.from, p.to, err, out)
		}
	}
}

func TestLayoutRelays(t *testing.T) {
	lab := parse(t, `name: l
topology:
  nodes: {a: {stack: linux}, b: {stack: linux}, c: {stack: linux}, g: {}, sw: {kind: bridge}}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      netem: {delay: 1ms}
    - endpoints: ["c:eth1", "sw:rl1a"]
      netem: {loss: 1%}
    - endpoints: ["g:eth1", "sw:p2"]
`)
	l := wiring.Layout(lab)
	if l.NS != "netlab-l-sw" {
		t.Errorf("NS = %q", l.NS)
	}
	var got []string
	for _, r := range l.Relays {
		got = append(got, r.Interface.String()+" "+r.Near+" "+r.Far)
	}
	// The file's port name rl1a wins; the relay that would take it moves.
	want := []string{"a:eth1 rl0a rl0b", "c:eth1 rl1a-1 rl1b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("relays (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"rl1a", "p2"}}, l.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

// TestWireRelays wires a relayed point-to-point link and a relayed bridge
// member: no frame crosses until somebody forwards between the relay ports,
// and with a forwarder of two packet sockets each way, pings do.
func TestWireRelays(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veths, bridges): run the tests as root, as CI does")
	}
	lab := parse(t, `name: relaytest
topology:
  nodes:
    h1: {stack: linux}
    h2: {stack: linux}
    h3: {stack: linux}
    sw: {kind: bridge}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      netem: {}
    - endpoints: ["h2:eth2", "sw:p1"]
    - endpoints: ["h3:eth1", "sw:p2"]
      netem: {delay: 1ms}
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := map[string]string{}
	for _, n := range lab.Nodes {
		ns[n.Name] = newNS(t)
	}
	sw := newSwitchNS(t, ctx)
	steps := 0
	if err := wiring.Wire(ctx, lab, ns, sw, wiring.Options{Progress: func(string) { steps++ }}); err != nil {
		t.Fatalf("Wire: %v", err)
	}
	if want := wiring.Steps(lab); steps != want {
		t.Errorf("Progress called %d times, Steps = %d", steps, want)
	}
	layout := wiring.Layout(lab)
	if len(layout.Relays) != 2 {
		t.Fatalf("relays %v, want 2", layout.Relays)
	}
	err := linuxnet.InNamespace(sw, func() error {
		for _, r := range layout.Relays {
			for _, p := range []string{r.Near, r.Far} {
				l, err := netlink.LinkByName(p)
				if err != nil {
					return err
				}
				if l.Attrs().Promisc == 0 {
					t.Errorf("relay port %s is not promiscuous", p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ping := func(from, to string) error {
		node, ifc, _ := strings.Cut(to, ":")
		addr := lab.Node(node).Interface(ifc).Addr.Addr().String()
		out, err := exec.Command("ip", "netns", "exec", ns[from], "ping", "-n", "-q", "-c", "1", "-W", "1", addr).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ping from %s to %s: %v: %s", from, to, err, out)
		}
		return nil
	}
	if err := ping("h1", "h2:eth1"); err == nil {
		t.Fatal("h1 reaches h2 with nothing forwarding between the relay ports")
	}
	for _, r := range layout.Relays {
		var near, far *afpacket.Endpoint
		err := linuxnet.InNamespace(sw, func() error {
			var err error
			if near, err = afpacket.New(r.Near, afpacket.Options{}); err != nil {
				return err
			}
			far, err = afpacket.New(r.Far, afpacket.Options{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { near.Close(); far.Close() })
		near.Attach(link.DispatcherFunc(func(f []byte) { far.WritePacket(f) }))
		far.Attach(link.DispatcherFunc(func(f []byte) { near.WritePacket(f) }))
	}
	for _, p := range []struct{ from, to string }{{"h1", "h2:eth1"}, {"h2", "h1:eth1"}, {"h3", "h2:eth2"}, {"h2", "h3:eth1"}} {
		// The refused ping above left h1's ARP entry failed: the kernel
		// asks again only a second later, so a first ping may time out.
		deadline := time.Now().Add(10 * time.Second)
		err := ping(p.from, p.to)
		for err != nil && time.Now().Before(deadline) {
			err = ping(p.from, p.to)
		}
		if err != nil {
			t.Error(err)
		}
	}
}

func newSwitchNS(t *testing.T, ctx context.Context) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	sw := "nlwsw" + hex.EncodeToString(b[:])
	if _, err := wiring.CreateSwitchNS(ctx, sw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := wiring.DeleteSwitchNS(sw); err != nil {
			t.Error(err)
		}
	})
	return sw
}
