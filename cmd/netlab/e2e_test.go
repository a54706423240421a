package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// netlabBin is the binary the end-to-end tests drive, built once, static.
var netlabBin string

// liveLabs holds the topology files of the labs this test process has
// deployed and not yet destroyed, so that an interrupted run (Ctrl-C, a CI
// runner's SIGTERM) still removes them.
var liveLabs = struct {
	sync.Mutex
	topos map[string]bool
}{topos: map[string]bool{}}

// destroyOnSignal destroys the live labs and exits when the test process is
// interrupted or terminated; t.Cleanup does not run then.
func destroyOnSignal(binDir string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		liveLabs.Lock()
		for topo := range liveLabs.topos {
			exec.Command(netlabBin, "destroy", "-t", topo, "--cleanup").Run()
		}
		liveLabs.Unlock()
		os.RemoveAll(binDir)
		fmt.Fprintf(os.Stderr, "e2e: %v: destroyed the labs still running\n", s)
		os.Exit(1)
	}()
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "netlab-e2e-bin")
	if err != nil {
		panic(err)
	}
	netlabBin = filepath.Join(dir, "netlab")
	build := exec.Command("go", "build", "-o", netlabBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build netlab: %v\n%s", err, out)
		os.Exit(1)
	}
	destroyOnSignal(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// labCopy copies an example into a temp dir under a unique lab name, so
// parallel runs never collide, and returns the copy's path and lab name.
func labCopy(t *testing.T, example string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../examples", example))
	if err != nil {
		t.Fatal(err)
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	name := "e2e" + hex.EncodeToString(rnd[:])
	b = regexp.MustCompile(`(?m)^name: .*$`).ReplaceAll(b, []byte("name: "+name))
	path := filepath.Join(t.TempDir(), example)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, name
}

func netlab(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, err := netlabErr(t, args...)
	if err != nil {
		t.Fatalf("netlab %s: %v\n%s%s", strings.Join(args, " "), err, out, errs)
	}
	return out
}

// netlabErr runs netlab and returns its stdout, stderr and error, for
// commands that are meant to fail.
func netlabErr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(netlabBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// cleanupLab destroys the lab when the test ends, pass or fail, and checks
// that nothing of it is left.
func cleanupLab(t *testing.T, topo, name string) {
	t.Helper()
	liveLabs.Lock()
	liveLabs.topos[topo] = true
	liveLabs.Unlock()
	t.Cleanup(func() {
		exec.Command(netlabBin, "destroy", "-t", topo, "--cleanup").Run()
		liveLabs.Lock()
		delete(liveLabs.topos, topo)
		liveLabs.Unlock()
		assertGone(t, name)
	})
}

// assertGone checks that nothing of the lab is left on the machine.
func assertGone(t *testing.T, lab string) {
	t.Helper()
	ns, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(ns), lab) {
		t.Errorf("namespaces of %s left:\n%s", lab, ns)
	}
	if _, err := os.Stat(filepath.Join("/run/netlab/labs", lab+".json")); err == nil {
		t.Errorf("registry entry of %s left", lab)
	}
	dirs := labdir.New("", lab, "/x.yml")
	if _, err := os.Stat(dirs.StateDir()); err == nil {
		t.Errorf("state directory of %s left: %s", lab, dirs.StateDir())
	}
	if _, err := os.Stat(dirs.LockFile()); err == nil {
		t.Errorf("lock file of %s left: %s", lab, dirs.LockFile())
	}
	procs, _ := exec.Command("pgrep", "-af", "netlab agent").Output()
	if strings.Contains(string(procs), lab) {
		t.Errorf("agent of %s left:\n%s", lab, procs)
	}
	if out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=netlab-lab="+lab).Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("containers of %s left: %s", lab, out)
	}
}

// transferAll sends size bytes between every ordered pair of hosts (at
// most maxPairs) and checks the sink saw the sender's sha256.
func transferAll(t *testing.T, topo string, size string, maxPairs int) {
	t.Helper()
	lab, err := topology.Load(topo)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []*topology.Node
	for _, n := range lab.Nodes {
		if n.Base == topology.KindHost && len(n.Interfaces) > 0 {
			hosts = append(hosts, n)
		}
	}
	for _, h := range hosts {
		netlab(t, "tcp", "serve", h.Name, "--port", "5001", "-t", topo)
	}
	pairs := 0
	for _, src := range hosts {
		for _, dst := range hosts {
			if src == dst || pairs >= maxPairs {
				continue
			}
			pairs++
			to := dst.Interfaces[0].Addr.Addr().String() + ":5001"
			var rep nodeagent.SendReport
			out := netlab(t, "tcp", "send", src.Name, "--to", to, "--bytes", size, "-t", topo, "--format", "json")
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("send report: %v\n%s", err, out)
			}
			var apps []nodeagent.AppInfo
			for i := 0; i < 100; i++ {
				apps = appsOf(t, topo, dst.Name)
				if len(apps) == 1 && apps[0].LastSHA256 == rep.SHA256 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(apps) != 1 || apps[0].LastSHA256 != rep.SHA256 {
				t.Fatalf("%s -> %s (%s, %s stack): sink %+v, sender sha256 %s", src.Name, dst.Name, to, dst.Stack, apps, rep.SHA256)
			}
		}
	}
	if pairs == 0 {
		t.Fatal("no host pairs to test")
	}
}

func appsOf(t *testing.T, topo, node string) []nodeagent.AppInfo {
	t.Helper()
	_, c, err := nodeClient(&topoOptions{file: topo}, node)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := c.Apps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// currentRun returns the folder of the current run of the lab deployed
// from topo.
func currentRun(t *testing.T, topo string) labdir.Run {
	t.Helper()
	_, run, err := findRun(&topoOptions{file: topo}, "")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestDeployExamplesEndToEnd(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		example  string
		size     string
		maxPairs int
	}{
		{"two-hosts.yml", "2MB", 10},
		{"line-of-routers.yml", "2MB", 10}, // through Go-stack routers
		{"lan-star.yml", "500KB", 12},      // over a bridge
		{"lossy-wan.yml", "1MB", 10},
		{"go-beside-linux.yml", "2MB", 10}, // Go <-> Linux kernel TCP
		{"linux-wan.yml", "1MB", 12},       // Linux only, through relays
		{"fabric-100.yml", "200KB", 6},
	} {
		t.Run(strings.TrimSuffix(tc.example, ".yml"), func(t *testing.T) {
			topo, name := deployLab(t, tc.example)
			out := netlab(t, "inspect", "-t", topo, "--format", "json")
			if !strings.Contains(out, `"alive": true`) {
				t.Fatalf("inspect shows no live node:\n%s", out)
			}
			transferAll(t, topo, tc.size, tc.maxPairs)
			netlab(t, "destroy", "-t", topo, "--cleanup")
			assertGone(t, name)
		})
	}
}

func TestKill9MidDeployThenDestroy(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "fabric-100.yml")
	cleanupLab(t, topo, name)
	cmd := exec.Command(netlabBin, "deploy", "-t", topo)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the first namespaces exist, well before it finishes.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ns, _ := exec.Command("ip", "netns", "list").Output()
		if strings.Count(string(ns), name) >= 10 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)
}

func TestDockerEndToEnd(t *testing.T) {
	needRoot(t)
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine answers `docker info`")
	}
	topo, name := labCopy(t, "two-hosts.yml")
	cleanupLab(t, topo, name)
	out := netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	if !strings.Contains(out, "deployed on docker") {
		t.Fatalf("deploy output:\n%s", out)
	}
	transferAll(t, topo, "2MB", 2)
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)

	// Linux-stack containers with relays: a host agent runs them.
	topo, name = labCopy(t, "linux-wan.yml")
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	transferAll(t, topo, "1MB", 12)
	var all map[string][]nodeagent.ImpairState
	if err := json.Unmarshal([]byte(netlab(t, "impair", "show", "r1", "-t", topo, "--format", "json")), &all); err != nil {
		t.Fatal(err)
	}
	if len(all["r1"]) != 2 || all["r1"][0].Stats.Egress.Passed == 0 {
		t.Errorf("r1's relays on docker: %+v, want two, with frames through the WAN's", all["r1"])
	}
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs as root)")
	}
}

// needTshark skips the test when tshark is missing, except in CI, which
// installs it: there a missing tshark fails the test.
func needTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed; .ci/run installs it")
		}
		t.Skip("tshark not installed")
	}
}

// deployLab deploys a unique copy of an example on the netns runtime,
// destroyed when the test ends, and returns the copy's path and lab name.
func deployLab(t *testing.T, example string) (string, string) {
	t.Helper()
	topo, name := labCopy(t, example)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo)
	return topo, name
}

func TestValidateReportsPositions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("name: x\ntopology:\n  nodes:\n    h1: {kind: host}\n  links:\n    - endpoints: [\"h1:eth1\", \"h9:eth1\"]\n"), 0o644)
	out, err := exec.Command(netlabBin, "validate", "-t", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yml:6:") || !strings.Contains(string(out), "h9") {
		t.Fatalf("validate of a bad file: %v\n%s", err, out)
	}
	out, err = exec.Command(netlabBin, "validate", "-t", "../../examples/two-hosts.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Fatalf("validate of an example: %v\n%s", err, out)
	}
}

func TestNodeExecCommandsRun(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "two-hosts.yml")
	b, _ := os.ReadFile(topo)
	// h1 runs a command in its namespace at deploy; it sees its interface.
	b = regexp.MustCompile(`(?m)^    h1:.*$`).ReplaceAll(b, []byte("    h1:\n      kind: host\n      exec: [\"ip -o link show eth1\", \"echo NETLAB_EXEC_OK $$GREETING\"]\n      env: {GREETING: hello}"))
	os.WriteFile(topo, b, 0o644)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo)
	log, err := os.ReadFile(currentRun(t, topo).Log("h1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "eth1") || !strings.Contains(string(log), "NETLAB_EXEC_OK hello") {
		t.Fatalf("h1's exec log:\n%s", log)
	}
}

// TestAgentExitsWhenNamespacesGo: removing a lab's namespaces by hand (not
// with destroy) must not leave its agent running.
func TestAgentExitsWhenNamespacesGo(t *testing.T) {
	needRoot(t)
	_, name := deployLab(t, "two-hosts.yml")
	for _, n := range []string{"h1", "h2"} {
		if out, err := exec.Command("ip", "netns", "del", "netlab-"+name+"-"+n).CombinedOutput(); err != nil {
			t.Fatalf("ip netns del: %v\n%s", err, out)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		procs, _ := exec.Command("pgrep", "-af", "netlab agent").Output()
		if !strings.Contains(string(procs), name) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the agent is still running 10 s after its namespaces were deleted")
}

// TestTraceRecordedAndPlotted: a transfer is recorded in the lab directory,
// replayed, and plotted to SVG and PNG.
func TestTraceRecordedAndPlotted(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
	time.Sleep(200 * time.Millisecond) // the recorder flushes when idle
	if other := netlab(t, "trace", "h1", "--replay", "--conn", ":6001", "-t", topo); strings.TrimSpace(other) != "" {
		t.Fatalf("trace --conn :6001 printed events of another connection:\n%.500s", other)
	}
	out := netlab(t, "trace", "h1", "--replay", "--conn", ":5001", "-t", topo)
	if !strings.Contains(out, "[S]") || !strings.Contains(out, "SYN-SENT -> ESTABLISHED") || !strings.Contains(out, "FIN-WAIT-1") {
		t.Fatalf("replayed trace lacks the handshake or the close:\n%.2000s", out)
	}
	rdir := t.TempDir()
	netlab(t, "report", "h1", "-o", rdir, "-t", topo)
	md, err := os.ReadFile(filepath.Join(rdir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"client (active open)", "initial sequence numbers", "mss 1460,sackOK,TS val", "wscale 7", "1448 bytes", "1000000 / 0 bytes", ".svg)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	for _, kind := range []string{"seq", "cwnd", "rtt", "tput"} {
		for _, ext := range []string{"svg", "png"} {
			f := filepath.Join(dir, kind+"."+ext)
			netlab(t, "plot", "h1", "--kind", kind, "-o", f, "-t", topo)
			if fi, err := os.Stat(f); err != nil || fi.Size() < 1000 {
				t.Fatalf("plot %s: %v", f, err)
			}
		}
	}
}

// TestCaptureTwoNodesReadByTshark: capture on both hosts during a transfer
// into one pcapng; tshark reads it, with an interface block per node.
func TestCaptureTwoNodesReadByTshark(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	pcap := filepath.Join(t.TempDir(), "two.pcapng")
	capture := exec.Command(netlabBin, "capture", "h1:eth1", "h2", "-w", pcap, "--duration", "3s", "-t", topo)
	var stderr bytes.Buffer
	capture.Stderr = &stderr
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "2MB", "-t", topo)
	if err := capture.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, stderr.String())
	}
	fields := func(filter, field string) []string {
		// The sink's port carries data: otherwise tshark may dissect
		// the payload by the client's random port, as whatever protocol
		// owns it, and call it malformed.
		out, err := exec.Command("tshark", "-r", pcap, "-d", "tcp.port==5001,data", "-Y", filter, "-T", "fields", "-e", field).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Fields(string(out))
	}
	if n := len(fields("tcp.flags.syn == 1", "frame.number")); n != 4 {
		t.Errorf("%d SYN segments, want 4 (SYN and SYN+ACK seen on both nodes)", n)
	}
	if n := len(fields("_ws.malformed", "frame.number")); n != 0 {
		t.Errorf("%d malformed frames", n)
	}
	ifs := map[string]bool{}
	for _, f := range fields("frame", "frame.interface_name") {
		ifs[f] = true
	}
	if !ifs["h1:eth1"] || !ifs["h2:eth1"] {
		t.Errorf("interfaces in the capture: %v, want h1:eth1 and h2:eth1", ifs)
	}
}

// TestLossyWANTransfers: 20 MB over the lossy-wan example's 20 ms / 2 %
// link, byte-exact, with the retransmissions in the sender's counters —
// from a Go-stack host, from a Linux-stack host (the kernel's tcp_info,
// what `ss -ti` shows), and with every node on the Linux stack, where the
// WAN link's relay applies the impairment.
func TestLossyWANTransfers(t *testing.T) {
	needRoot(t)
	for _, stackName := range []string{"go", "linux", "all-linux"} {
		t.Run(stackName+"-sender", func(t *testing.T) {
			topo, name := labCopy(t, "lossy-wan.yml")
			if stackName != "go" {
				b, _ := os.ReadFile(topo)
				b = bytes.Replace(b, []byte("h1: {kind: host}"), []byte("h1: {kind: host, stack: linux}"), 1)
				if stackName == "all-linux" {
					b = bytes.Replace(b, []byte("r1: {kind: router}"), []byte("r1: {kind: router, stack: linux}"), 1)
					b = bytes.Replace(b, []byte("h2: {kind: host}"), []byte("h2: {kind: host, stack: linux}"), 1)
				}
				os.WriteFile(topo, b, 0o644)
			}
			cleanupLab(t, topo, name)
			netlab(t, "deploy", "-t", topo)
			lab, err := topology.Load(topo)
			if err != nil {
				t.Fatal(err)
			}
			dst := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5001"
			netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
			var rep nodeagent.SendReport
			out := netlab(t, "tcp", "send", "h1", "--to", dst, "--bytes", "20MB", "-t", topo, "--format", "json")
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			apps := appsOf(t, topo, "h2")
			for i := 0; i < 100 && (len(apps) != 1 || apps[0].LastSHA256 == ""); i++ {
				time.Sleep(20 * time.Millisecond)
				apps = appsOf(t, topo, "h2")
			}
			if len(apps) != 1 || apps[0].LastSHA256 != rep.SHA256 || rep.Bytes != 20e6 {
				t.Fatalf("%d bytes sent, sha256 %s; the sink saw %+v", rep.Bytes, rep.SHA256, apps)
			}
			if rep.Retransmits == 0 {
				t.Fatalf("no retransmissions over a 2%% lossy link: %+v", rep)
			}
			if rep.SRTT < 35*time.Millisecond || rep.SRTT > 200*time.Millisecond {
				t.Errorf("srtt %v over a link delaying 20 ms each way", rep.SRTT)
			}
			t.Logf("%s sender: %.2f Mbit/s, %d retransmits (%d fast, %d RTOs), srtt %v, cc %s", stackName, rep.GoodputMbps, rep.Retransmits, rep.FastRetrans, rep.RTOs, rep.SRTT, rep.CC)
			if stackName != "go" && (rep.CC == "" || rep.CC == "kernel") {
				t.Errorf("Linux sender's congestion control %q, want the kernel's name for it (TCP_CONGESTION)", rep.CC)
			}
			if stackName == "all-linux" {
				// The relay's counters: 2 % of the data frames lost.
				var all map[string][]nodeagent.ImpairState
				if err := json.Unmarshal([]byte(netlab(t, "impair", "show", "-t", topo, "--format", "json")), &all); err != nil {
					t.Fatal(err)
				}
				if len(all["r1"]) != 1 {
					t.Fatalf("impair show: %+v, want r1:eth2's relay", all)
				}
				eg := all["r1"][0].Stats.Egress
				if frac := float64(eg.DroppedLoss) / float64(eg.Passed+eg.DroppedLoss); eg.Passed < 13000 || frac < 0.01 || frac > 0.03 {
					t.Errorf("relay egress: %d passed, %d lost (%.3f), want 20 MB of frames and 2 %%", eg.Passed, eg.DroppedLoss, frac)
				}
			}
		})
	}
}

// TestImpairAndLinkAtRuntime: netlab impair adds delay, link down drops
// everything, impair reset restores the file's values.
func TestImpairAndLinkAtRuntime(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	avg := func() (float64, int) { return pingAvg(t, topo, "h1", "10.0.0.1") }
	if ms, n := avg(); n != 3 || ms > 10 {
		t.Fatalf("before: %d replies, %.2f ms", n, ms)
	}
	netlab(t, "impair", "h1:eth1", "--direction", "egress", "--delay", "40ms", "-t", topo)
	if ms, n := avg(); n != 3 || ms < 40 || ms > 80 {
		t.Fatalf("with 40 ms egress delay: %d replies, %.2f ms", n, ms)
	}
	show := netlab(t, "impair", "show", "-t", topo)
	if !strings.Contains(show, "delay 40ms") {
		t.Fatalf("impair show:\n%s", show)
	}
	netlab(t, "link", "down", "h1:eth1", "-t", topo)
	if _, n := avg(); n != 0 {
		t.Fatalf("%d replies across a link that is down", n)
	}
	netlab(t, "link", "up", "h1:eth1", "-t", topo)
	netlab(t, "impair", "reset", "-t", topo)
	if ms, n := avg(); n != 3 || ms > 10 {
		t.Fatalf("after reset: %d replies, %.2f ms", n, ms)
	}
}

// pingAvg pings addr from node three times, 50 ms apart, and returns the
// average RTT in milliseconds and the number of replies.
func pingAvg(t *testing.T, topo, node, addr string) (float64, int) {
	t.Helper()
	var got int
	var sum time.Duration
	out := netlab(t, "ping", node, addr, "-c", "3", "-i", "50ms", "-t", topo, "--format", "json")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p nodeagent.PingReply
		if json.Unmarshal([]byte(line), &p) == nil && !p.Lost && p.Seq > 0 {
			got++
			sum += p.RTT
		}
	}
	if got == 0 {
		return 0, 0
	}
	return float64(sum.Microseconds()) / float64(got) / 1000, got
}

// kernelPingAvg is pingAvg from a `stack: linux` node, with the host's ping
// run in the node's namespace.
func kernelPingAvg(t *testing.T, topo, node, addr string) (float64, int) {
	t.Helper()
	out, _, _ := netlabErr(t, "exec", "-t", topo, node, "--", "ping", "-n", "-q", "-c", "3", "-i", "0.05", "-W", "1", addr)
	m := regexp.MustCompile(`(\d+) received`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping from %s: no summary in:\n%s", node, out)
	}
	got, _ := strconv.Atoi(m[1])
	if got == 0 {
		return 0, 0
	}
	m = regexp.MustCompile(`= [\d.]+/([\d.]+)/`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping from %s: no RTT in:\n%s", node, out)
	}
	ms, _ := strconv.ParseFloat(m[1], 64)
	return ms, got
}

// TestImpairRelaysAtRuntime: on the linux-wan example, where only Linux
// stacks run and relays impair, netlab impair and netlab link reach the
// relays by link name and by either end's NODE:IFACE, on the WAN link and
// on a LAN member; a Linux-only link without netem: says how to make it
// impairable.
func TestImpairRelaysAtRuntime(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "linux-wan.yml")
	lab, err := topology.Load(topo)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(n, i string) string { return lab.Node(n).Interface(i).Addr.Addr().String() }
	wan := func() (float64, int) { return kernelPingAvg(t, topo, "h1", addr("h2", "eth1")) }
	lan := func() (float64, int) { return kernelPingAvg(t, topo, "h3", addr("h2", "eth2")) }
	within := func(what string, ms float64, n int, lo, hi float64) {
		t.Helper()
		if n == 0 || ms < lo || ms > hi {
			t.Fatalf("%s: %d replies, %.2f ms, want about %.0f-%.0f ms", what, n, ms, lo, hi)
		}
	}
	// Resolve ARP first: its own round trip would weigh on the average.
	wan()
	lan()
	// The file's 20 ms each way (2 % loss may cost a reply).
	ms, n := wan()
	within("wan as deployed", ms, n, 40, 60)
	netlab(t, "impair", "wan", "--direction", "b-to-a", "--delay", "5ms", "-t", topo)
	netlab(t, "impair", "wan", "--direction", "a-to-b", "--delay", "10ms", "-t", topo)
	ms, n = wan()
	within("wan at 10 + 5 ms", ms, n, 15, 30)
	// h2 is the relay's far end: its egress is the relay's ingress.
	out := netlab(t, "impair", "h2:eth1", "--direction", "egress", "--delay", "30ms", "-t", topo)
	if !strings.Contains(out, "r1:eth2 ingress: delay 30ms") {
		t.Fatalf("impair h2:eth1 egress says:\n%s", out)
	}
	ms, n = wan()
	within("wan at 10 + 30 ms", ms, n, 40, 60)
	netlab(t, "link", "down", "wan", "-t", topo)
	if _, n := wan(); n != 0 {
		t.Fatalf("%d replies across a relayed link that is down", n)
	}
	netlab(t, "link", "up", "wan", "-t", topo)
	// A LAN member's relay.
	ms, n = lan()
	within("lan as deployed", ms, n, 2, 15)
	netlab(t, "impair", "h3:eth1", "--direction", "egress", "--delay", "30ms", "-t", topo)
	ms, n = lan()
	within("lan with h3 egress 30 ms", ms, n, 30, 50)
	netlab(t, "impair", "reset", "-t", topo)
	ms, n = wan()
	within("wan after reset", ms, n, 40, 60)
	ms, n = lan()
	within("lan after reset", ms, n, 2, 15)
	// h1:eth1--r1:eth1 has no netem: block: a plain veth.
	_, stderr, err := netlabErr(t, "impair", "h1:eth1", "--delay", "5ms", "-t", topo)
	if err == nil || !strings.Contains(stderr, "netem: {}") || !strings.Contains(stderr, topo) {
		t.Fatalf("impair of a plain Linux-only link: err %v, stderr (should name %s):\n%s", err, topo, stderr)
	}
	// Without the agent, the relays would carry nothing: refused.
	_, stderr, err = netlabErr(t, "deploy", "--no-agent", "--reconfigure", "-t", topo)
	if err == nil || !strings.Contains(stderr, "relay") {
		t.Fatalf("deploy --no-agent of a lab with relays: err %v, stderr:\n%s", err, stderr)
	}
}

// TestSockSessionShowsTheSeedPhases drives the seed's socket calls by hand
// (netlab sock --script) and checks each phase in the recorded trace:
// descriptors, the handshake, small writes held by Nagle, a large write in
// MSS-sized segments, the window closing when the peer stops reading
// (persist probes), and the FIN exchange ending in TIME-WAIT.
func TestSockSessionShowsTheSeedPhases(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	// 20 ms each way, so that writes come faster than ACKs (Nagle shows).
	netlab(t, "impair", "h1:eth1", "--delay", "20ms", "-t", topo)
	script := filepath.Join(t.TempDir(), "seed.sock")
	os.WriteFile(script, []byte(`# the four phases of the seed
s = h2 socket
h2 setopt $s rcvbuf 65536
h2 bind $s :80
h2 listen $s 5
c = h1 socket
h1 connect $c 10.0.0.1 80
a = h2 accept $s
h1 write $c a
h1 write $c b
h1 write $c c
sleep 300ms
h2 read $a
h1 write $c --size 100000
sleep 500ms
-h2 read $a 65536
-h2 read $a 65536
# the receiver stops reading: the window closes, h1 probes it
h1 write $c --size 200000
sleep 2500ms
-h2 read $a 65536
sleep 200ms
-h2 read $a 65536
sleep 200ms
-h2 read $a 65536
sleep 200ms
-h2 read $a 65536
sleep 200ms
-h2 read $a 65536
sleep 200ms
-h2 read $a 65536
h1 close $c
sleep 300ms
-h2 read $a 65536
h2 read $a
h2 close $a
`), 0o644)
	out := netlab(t, "sock", "h1", "--script", script, "--timeout", "1s", "-t", topo)
	for _, want := range []string{"fd 3", "fd 4 from 10.0.0.0:", "1 bytes into the send buffer", "100000 bytes into the send buffer", "end of stream"} {
		if !strings.Contains(out, want) {
			t.Errorf("script output lacks %q:\n%s", want, out)
		}
	}
	time.Sleep(300 * time.Millisecond) // recorders flush when idle
	read := func(node string) []trace.Event {
		f, err := os.Open(currentRun(t, topo).Trace(node))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var evs []trace.Event
		dec := json.NewDecoder(f)
		for {
			var e trace.Event
			if dec.Decode(&e) != nil {
				return evs
			}
			evs = append(evs, e)
		}
	}
	h1, h2 := read("h1"), read("h2")
	var flags []string
	var small, mss, probes, states, fins int
	var firstData []int
	for _, e := range h1 {
		if e.Kind == "out" || e.Kind == "in" {
			if len(flags) < 3 {
				flags = append(flags, e.Kind+":"+e.Flags)
			}
			if e.Kind == "out" && e.Len > 0 {
				if len(firstData) < 2 {
					firstData = append(firstData, e.Len)
				}
				if e.Len < 10 {
					small++
				}
				if e.Len == 1448 {
					mss++
				}
			}
			if e.Kind == "out" && strings.Contains(e.Flags, "F") {
				fins++
			}
		}
		if e.Kind == "timer" && e.Timer == "persist" {
			probes++
		}
		if e.Kind == "state" && e.State == "TIME-WAIT" {
			states++
		}
	}
	if strings.Join(flags, " ") != "out:S in:S. out:." {
		t.Errorf("handshake on h1: %v, want out:S in:S. out:.", flags)
	}
	if len(firstData) != 2 || firstData[0] != 1 || firstData[1] != 2 {
		t.Errorf("the three 1-byte writes left as %v, want [1 2]: the first alone, the next two held by Nagle", firstData)
	}
	if mss < 60 {
		t.Errorf("%d MSS-sized (1448-byte) segments, want the 100 KB write cut at the MSS", mss)
	}
	var zeroWin bool
	for _, e := range h2 {
		zeroWin = zeroWin || (e.Kind == "out" && e.Window == 0 && strings.Contains(e.Flags, "."))
	}
	if !zeroWin || probes == 0 {
		t.Errorf("receiver stopped reading: zero window advertised %v, persist probes %d; want both", zeroWin, probes)
	}
	if fins != 1 || states != 1 {
		t.Errorf("close: %d FINs sent by h1, TIME-WAIT reached %d times; want 1 and 1", fins, states)
	}
}

// TestDropFirstSYNSchedule: a deterministic schedule (drop-match "syn
// first") makes the connect wait for the SYN's retransmission (1 s).
func TestDropFirstSYNSchedule(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "impair", "h1:eth1", "--direction", "egress", "--drop-match", `["syn first"]`, "-t", topo)
	var rep nodeagent.SendReport
	out := netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "10KB", "-t", topo, "--format", "json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Connect < time.Second || rep.Connect > 3*time.Second {
		t.Fatalf("connect took %v with the first SYN dropped, want about the 1 s initial RTO", rep.Connect)
	}
	show := netlab(t, "impair", "show", "h1", "-t", topo, "--format", "json")
	if !strings.Contains(show, `"dropped_schedule": 1`) {
		t.Fatalf("impair show does not count the scheduled drop:\n%s", show)
	}
}

// TestCaptureOnLinuxNode: capture on a stack: linux node sees what the
// kernel sends and receives (both directions), into a pcapng tshark reads.
func TestCaptureOnLinuxNode(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "go-beside-linux.yml")
	netlab(t, "tcp", "serve", "gohost", "--port", "5001", "-t", topo)
	pcap := filepath.Join(t.TempDir(), "linux.pcapng")
	capture := exec.Command(netlabBin, "capture", "linuxhost", "-w", pcap, "--duration", "3s", "-t", topo)
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	netlab(t, "tcp", "send", "linuxhost", "--to", "192.168.50.1:5001", "--bytes", "500KB", "-t", topo)
	capture.Wait()
	out, err := exec.Command("tshark", "-r", pcap, "-Y", "tcp.flags.syn == 1", "-T", "fields", "-e", "ip.src").Output()
	if err != nil {
		t.Fatal(err)
	}
	srcs := strings.Fields(string(out))
	if len(srcs) != 2 || srcs[0] != "192.168.50.2" || srcs[1] != "192.168.50.1" {
		t.Fatalf("SYN senders in the Linux node's capture: %v, want the kernel's SYN out and the Go stack's SYN+ACK in", srcs)
	}
}

// TestCaptureMarksImpairmentDrops: frames the impairment layer dropped are
// in the capture, each with a comment saying why, as many as it counted.
func TestCaptureMarksImpairmentDrops(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "impair", "h1:eth1", "--direction", "egress", "--loss", "10%", "--seed", "5", "-t", topo)
	pcap := filepath.Join(t.TempDir(), "drops.pcapng")
	capture := exec.Command(netlabBin, "capture", "h1", "-w", pcap, "--duration", "4s", "-t", topo)
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "300KB", "-t", topo)
	capture.Wait()
	var states map[string][]nodeagent.ImpairState
	if err := json.Unmarshal([]byte(netlab(t, "impair", "show", "h1", "-t", topo, "--format", "json")), &states); err != nil {
		t.Fatal(err)
	}
	lost := states["h1"][0].Stats.Egress.DroppedLoss
	out, err := exec.Command("tshark", "-r", pcap, "-Y", `frame.comment contains "dropped by the impairment layer: loss"`, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatal(err)
	}
	marked := len(strings.Fields(string(out)))
	if lost == 0 || uint64(marked) != lost {
		t.Fatalf("%d frames marked dropped in the capture, the impairment counted %d losses", marked, lost)
	}

	// The same capture, read as tcptrace would, without the lab.
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	events, err := plot.FromPcap(f, "")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	conns := trace.Conns(events)
	if len(conns) != 1 || conns[0].Local.String() != "10.0.0.0:"+strings.Split(conns[0].Local.String(), ":")[1] || uint64(conns[0].Retransmits) < lost {
		t.Fatalf("connections in the capture: %+v; want one, from h1, with at least the %d lost segments retransmitted", conns, lost)
	}
	dir := t.TempDir()
	for _, kind := range []string{"seq", "tput"} {
		netlab(t, "plot", "--trace", pcap, "--kind", kind, "-o", filepath.Join(dir, kind+".svg"))
	}
	if err := exec.Command(netlabBin, "plot", "--trace", pcap, "--kind", "cwnd", "-o", filepath.Join(dir, "c.svg")).Run(); err == nil {
		t.Fatal("plotting cwnd from a capture should say it cannot")
	}
}

// TestContinuousCaptureRing: a node with `capture:` in the topology records
// from deploy on into a ring of pcapng files that stays within its cap.
func TestContinuousCaptureRing(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, name := labCopy(t, "two-hosts.yml")
	b, _ := os.ReadFile(topo)
	b = regexp.MustCompile(`(?m)^    h1:.*$`).ReplaceAll(b, []byte("    h1:\n      kind: host\n      capture: {file-size: 64KiB, files: 3}"))
	os.WriteFile(topo, b, 0o644)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo)
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
	time.Sleep(1500 * time.Millisecond) // the agent flushes every second
	dir := currentRun(t, topo).Path(labdir.CapturesDir)
	var total int64
	for k := 0; k < 3; k++ {
		f := nodeagent.CaptureFile(dir, "h1", k)
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("ring file %d: %v (1 MB through a 3 x 64 KiB ring must fill it)", k, err)
		}
		if fi.Size() > 64<<10 {
			t.Errorf("%s holds %d bytes, cap 64 KiB", f, fi.Size())
		}
		total += fi.Size()
		out, err := exec.Command("tshark", "-r", f, "-d", "tcp.port==5001,data", "-Y", "_ws.malformed").Output()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("tshark on %s: %v %s", f, err, out)
		}
	}
	if _, err := os.Stat(nodeagent.CaptureFile(dir, "h1", 3)); err == nil {
		t.Error("the ring has a fourth file")
	}
}
