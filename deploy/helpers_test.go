package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime/netns"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// examplesDir holds the topologies a newcomer deploys.
const examplesDir = "../examples"

// requireRoot skips the test unless it runs as root (CI does).
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veths, bridges): run the tests as root, as CI does")
	}
}

var nameLine = regexp.MustCompile(`(?m)^name:\s*(\S+)\s*$`)

// copyExample copies examples/<name>.yml into a fresh directory with the lab
// renamed <name>-<6 random hex digits>, so that test runs and parallel
// packages never share a lab, namespace or lab directory. It returns the
// copy's path and the new lab name.
func copyExample(t testing.TB, name string) (path, lab string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examplesDir, name+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	lab = name + "-" + hex.EncodeToString(rnd[:])
	if !nameLine.Match(data) {
		t.Fatalf("%s.yml has no `name:` line", name)
	}
	data = nameLine.ReplaceAll(data, []byte("name: "+lab))
	path = filepath.Join(t.TempDir(), name+".yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, lab
}

// writeTopology writes a topology (with the lab name lab) into a fresh
// directory.
func writeTopology(t testing.TB, lab, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), lab+".yml")
	if err := os.WriteFile(path, []byte("name: "+lab+"\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// uniqueLab returns tag-<6 random hex digits>.
func uniqueLab(t testing.TB, tag string) string {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	return tag + "-" + hex.EncodeToString(rnd[:])
}

// env is where a test's labs are recorded: the default places unless the
// test isolates itself.
type env struct {
	runDir string // "" is labdir.DefaultRunDir
	rt     *netns.Runtime
}

func defaultEnv() env { return env{rt: netns.New(netns.Options{})} }

// isolatedEnv has its own registry and netns state directory, so that
// Destroy{All} and "the only running lab" see only the test's labs.
func isolatedEnv(t testing.TB) env {
	dir := t.TempDir()
	return env{runDir: dir, rt: netns.New(netns.Options{StateDir: filepath.Join(dir, "netns")})}
}

func (e env) registryFile(lab string) string {
	dir := e.runDir
	if dir == "" {
		dir = labdir.DefaultRunDir
	}
	return filepath.Join(dir, "labs", lab+".json")
}

// hostLinks returns the names of the veths and bridges of the host (the
// test's) namespace that netlab could have left there. Those other
// programs make while the tests of several packages run at once are not
// counted: a veth enslaved to a bridge (a Docker container's, a pod's),
// Docker's and the test cluster's bridges.
func hostLinks(t testing.TB) []string {
	t.Helper()
	var links []netlink.Link
	var err error
	for range 10 {
		// A dump is interrupted when links change meanwhile.
		if links, err = netlink.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		t.Fatalf("list host links: %v", err)
	}
	var names []string
	for _, l := range links {
		a := l.Attrs()
		switch {
		case l.Type() == "veth" && a.MasterIndex != 0,
			l.Type() == "bridge" && (a.Name == "docker0" || a.Name == "nlk8s0" || dockerBridge.MatchString(a.Name)):
			continue
		case l.Type() == "veth" || l.Type() == "bridge":
			names = append(names, a.Name)
		}
	}
	slices.Sort(names)
	return names
}

// dockerBridge is the name Docker gives a network's bridge.
var dockerBridge = regexp.MustCompile(`^br-[0-9a-f]{12}$`)

// liveLabs holds the labs this test process may have deployed and not yet
// cleaned up, so that an interrupted run still destroys them.
var liveLabs = struct {
	sync.Mutex
	envs map[string]env
}{envs: map[string]env{}}

// TestMain destroys the live labs when the test process gets SIGINT or
// SIGTERM, because t.Cleanup does not run then.
func TestMain(m *testing.M) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		liveLabs.Lock()
		for lab, e := range liveLabs.envs {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			deploy.Destroy(ctx, deploy.DestroyOptions{LabName: lab, Runtime: e.rt, RunDir: e.runDir, Cleanup: true})
			cancel()
		}
		liveLabs.Unlock()
		fmt.Fprintf(os.Stderr, "deploy tests: %v: destroyed the labs still running\n", s)
		os.Exit(1)
	}()
	os.Exit(m.Run())
}

// cleanupLab makes sure that nothing of lab survives the test, even when it
// fails: Destroy, then removal of any namespace, state file or registry
// entry of the lab Destroy left (reported as errors).
func cleanupLab(t testing.TB, e env, lab string) {
	t.Helper()
	liveLabs.Lock()
	liveLabs.envs[lab] = e
	liveLabs.Unlock()
	t.Cleanup(func() {
		defer func() {
			liveLabs.Lock()
			delete(liveLabs.envs, lab)
			liveLabs.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: lab, Runtime: e.rt, RunDir: e.runDir, Cleanup: true})
		if err != nil && !errors.Is(err, deploy.ErrNotRunning) {
			t.Errorf("cleanup: Destroy(%s): %v", lab, err)
		}
		for _, ns := range labNamespaces(t, lab) {
			t.Errorf("cleanup: namespace %s left; deleting it", ns)
			linuxnet.DeleteNamedNS(ns)
			os.Remove(filepath.Join(e.rt.StateDir(), ns+".json"))
		}
		if _, err := os.Stat(e.registryFile(lab)); err == nil {
			t.Errorf("cleanup: registry entry of %s left; removing it", lab)
			os.Remove(e.registryFile(lab))
		}
	})
}

// labNamespaces returns the names under /run/netns that belong to lab
// (netlab-<lab>-*).
func labNamespaces(t testing.TB, lab string) []string {
	t.Helper()
	des, err := os.ReadDir(linuxnet.NetnsRunDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read %s: %v", linuxnet.NetnsRunDir, err)
	}
	var names []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "netlab-"+lab+"-") {
			names = append(names, de.Name())
		}
	}
	return names
}

// assertGone checks that nothing of lab is left: no namespace (also as `ip
// netns list` shows them), no netns state file, no registry entry, no new
// veth or bridge in the host namespace (compared with before).
func assertGone(t testing.TB, e env, lab string, hostBefore []string) {
	t.Helper()
	if ns := labNamespaces(t, lab); len(ns) > 0 {
		t.Errorf("namespaces left in %s: %v", linuxnet.NetnsRunDir, ns)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Errorf("ip netns list: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "netlab-"+lab+"-") {
			t.Errorf("ip netns list shows %q", line)
		}
	}
	des, _ := os.ReadDir(e.rt.StateDir())
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "netlab-"+lab+"-") {
			t.Errorf("netns state file left: %s", de.Name())
		}
	}
	if _, err := os.Stat(e.registryFile(lab)); err == nil {
		t.Errorf("registry entry left: %s", e.registryFile(lab))
	}
	if hostBefore != nil {
		after := hostLinks(t)
		for _, n := range after {
			if !slices.Contains(hostBefore, n) {
				t.Errorf("new veth or bridge in the host namespace: %s", n)
			}
		}
	}
}

// forceLinux returns lab with every node on the Linux stack (the Go
// stack's agent is not part of these tests).
func forceLinux(lab *topology.Lab) *topology.Lab {
	for _, n := range lab.Nodes {
		n.Stack = topology.StackLinux
	}
	return lab
}

// checkDeployed checks that every planned object exists as planned: each
// node's namespace and interfaces (name, MAC, MTU, up, TX checksum offload
// and IPv6 off), for Linux-stack nodes the addresses, routes and forwarding,
// for Go-stack nodes no kernel address and no ARP, and the bridges of the
// segments with their ports.
func checkDeployed(t *testing.T, lab *topology.Lab, st *deploy.State) {
	t.Helper()
	if len(st.Nodes) != len(lab.Nodes) {
		t.Fatalf("state has %d nodes, want %d", len(st.Nodes), len(lab.Nodes))
	}
	paths := map[string]string{}
	for _, n := range st.Nodes {
		paths[n.Name] = n.NSPath
		if n.NSPath != filepath.Join(linuxnet.NetnsRunDir, n.LongName) {
			t.Errorf("node %s: NSPath %q, want /run/netns/%s", n.Name, n.NSPath, n.LongName)
		}
	}
	for _, n := range lab.Nodes {
		err := linuxnet.InNamespace(paths[n.Name], func() error {
			checkNode(t, n)
			return nil
		})
		if err != nil {
			t.Errorf("node %s: %v", n.Name, err)
		}
	}
	if len(lab.Segments) == 0 {
		if st.SwitchNS != "" {
			t.Errorf("switch namespace %q for a lab without segments", st.SwitchNS)
		}
		return
	}
	layout := wiring.Layout(lab)
	if st.SwitchNS != layout.NS {
		t.Errorf("switch namespace %q, want %q", st.SwitchNS, layout.NS)
	}
	err := linuxnet.InNamespace(layout.NS, func() error {
		for i, s := range lab.Segments {
			br, err := netlink.LinkByName(layout.Bridges[i])
			if err != nil {
				t.Errorf("segment %s: bridge %s: %v", s.Name, layout.Bridges[i], err)
				continue
			}
			if br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("segment %s: %s is a %s, flags %v; want an up bridge", s.Name, layout.Bridges[i], br.Type(), br.Attrs().Flags)
			}
			for j, m := range s.Members {
				p, err := netlink.LinkByName(layout.Ports[i][j])
				if err != nil {
					t.Errorf("segment %s member %s: port %s: %v", s.Name, m, layout.Ports[i][j], err)
					continue
				}
				if p.Attrs().MasterIndex != br.Attrs().Index {
					t.Errorf("port %s: master %d, want bridge %s (%d)", p.Attrs().Name, p.Attrs().MasterIndex, br.Attrs().Name, br.Attrs().Index)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("switch namespace: %v", err)
	}
}

// checkNode checks n's interfaces in the calling thread's namespace.
func checkNode(t *testing.T, n *topology.Node) {
	t.Helper()
	for _, ifc := range n.Interfaces {
		l, err := netlink.LinkByName(ifc.Name)
		if err != nil {
			t.Errorf("%s: %v", ifc, err)
			continue
		}
		a := l.Attrs()
		if l.Type() != "veth" {
			t.Errorf("%s: type %s, want veth", ifc, l.Type())
		}
		if got, want := a.HardwareAddr.String(), ifc.MAC.String(); got != want {
			t.Errorf("%s: MAC %s, want %s", ifc, got, want)
		}
		if a.MTU != ifc.MTU {
			t.Errorf("%s: MTU %d, want %d", ifc, a.MTU, ifc.MTU)
		}
		if a.Flags&net.FlagUp == 0 || a.OperState != netlink.OperUp {
			t.Errorf("%s: flags %v, oper state %v; want up", ifc, a.Flags, a.OperState)
		}
		off, err := linuxnet.GetOffloads(ifc.Name)
		if err != nil || off.TXChecksum {
			t.Errorf("%s: offloads %v (%v); want TX checksum off", ifc, off, err)
		}
		if v6off, err := linuxnet.IPv6Disabled(ifc.Name); err != nil || !v6off {
			t.Errorf("%s: IPv6 disabled %v (%v), want disabled", ifc, v6off, err)
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			t.Errorf("%s: %v", ifc, err)
			continue
		}
		switch n.Stack {
		case topology.StackLinux:
			if len(addrs) != 1 || addrs[0].IPNet.String() != ifc.Addr.String() {
				t.Errorf("%s: addresses %v, want %s", ifc, addrs, ifc.Addr)
			}
		case topology.StackGo:
			if len(addrs) != 0 {
				t.Errorf("%s (go stack): kernel addresses %v, want none", ifc, addrs)
			}
			if a.RawFlags&unix.IFF_NOARP == 0 {
				t.Errorf("%s (go stack): ARP on, want off", ifc)
			}
		}
	}
	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	wantFwd := "0"
	if n.Forwarding && n.Stack == topology.StackLinux {
		wantFwd = "1"
	}
	if err != nil || strings.TrimSpace(string(fwd)) != wantFwd {
		t.Errorf("%s (%s stack): ip_forward %q (%v), want %s", n.Name, n.Stack, fwd, err, wantFwd)
	}
	if n.Stack != topology.StackLinux {
		return
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Errorf("%s: routes: %v", n.Name, err)
		return
	}
	for _, want := range n.Routes {
		found := false
		for _, r := range routes {
			dst := "0.0.0.0/0"
			if r.Dst != nil {
				dst = r.Dst.String()
			}
			if dst == want.Dst.String() && (!want.Via.IsValid() || r.Gw.String() == want.Via.String()) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no route %s", n.Name, want)
		}
	}
}

// pingPair is one ping to run: from a node's namespace to an address.
type pingPair struct {
	from, fromNS, to string
}

// pingAll runs the pings (ping -c 1 inside the source namespace, one retry),
// a few at a time, and reports the failures.
func pingAll(t *testing.T, pairs []pingPair) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	var failed []string
	for _, p := range pairs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var out []byte
			var err error
			for range 2 {
				out, err = exec.Command("ip", "netns", "exec", p.fromNS, "ping", "-n", "-q", "-c", "1", "-W", "3", p.to).CombinedOutput()
				if err == nil {
					return
				}
			}
			mu.Lock()
			failed = append(failed, p.from+" -> "+p.to+": "+err.Error()+": "+strings.TrimSpace(string(out)))
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(failed)
	for _, f := range failed {
		t.Errorf("ping %s", f)
	}
	t.Logf("%d pings, %d failed", len(pairs), len(failed))
}
