package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// needDocker skips the test when no Docker engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	needRoot(t)
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine answers `docker info`")
	}
}

// busyboxImage builds a user's image that is not netlab's: Debian's
// static busybox in a FROM-scratch image, entrypoint busybox, command sh.
// It is removed when the test ends. Without busybox the test fails in CI
// (.ci/run installs busybox-static) and is skipped elsewhere.
func busyboxImage(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("busybox is not installed; .ci/run installs busybox-static")
		}
		t.Skip("busybox not installed (apt-get install busybox-static)")
	}
	ctx := t.TempDir()
	os.MkdirAll(filepath.Join(ctx, "bin"), 0o755)
	b, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ctx, "bin", "busybox"), b, 0o755)
	os.Symlink("busybox", filepath.Join(ctx, "bin", "sh"))
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nCOPY bin/ /bin/\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"sh\"]\n"), 0o644)
	ref := "netlab-test/busybox:" + filepath.Base(ctx)
	ref = strings.ToLower(strings.NewReplacer("_", "-").Replace(ref))
	if out, err := exec.Command("docker", "build", "-q", "-t", ref, ctx).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	return ref
}

// TestDockerUserImage: a kind: linux node of a user's image runs that
// image's own entrypoint with the file's cmd, binds, limits and environment;
// netlab's agent serves the Go-stack host beside it from outside; a
// transfer crosses an impaired link between them; exec runs inside the
// container; destroy leaves nothing.
func TestDockerUserImage(t *testing.T) {
	needDocker(t)
	img := busyboxImage(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("served by busybox httpd\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "web.env"), []byte("# from a file\nROLE=web\n"), 0o644)
	topo, name := writeLab(t, dir, `topology:
  nodes:
    web:
      kind: linux
      image: `+img+`
      cmd: httpd -f -p 8080 -h /www
      binds: [www:/www:ro]
      env-files: [web.env]
      env: {node.name: web-1}
      memory: 64m
      exec: ["echo started as $(id -u)"]
    h1: {}
  links:
    - endpoints: ["web:eth1", "h1:eth1"]
      netem: {delay: 2ms}
`)
	cleanupLab(t, topo, name)
	// Someone else's file: its binds, like its commands, are listed and
	// need --allow-exec.
	if err := os.Chown(topo, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := netlabErr(t, "deploy", "-t", topo, "--runtime", "docker")
	if err == nil || !strings.Contains(stderr, "web: bind "+filepath.Join(dir, "www")+":/www:ro") || !strings.Contains(stderr, "--allow-exec") {
		t.Fatalf("deploy of someone else's file with binds: %v\n%s", err, stderr)
	}
	netlab(t, "deploy", "-t", topo, "--runtime", "docker", "--allow-exec")
	st := inspectJSON(t, topo)
	var webLong string
	for _, n := range st.Nodes {
		if n.Name == "web" {
			webLong = n.LongName
		}
	}
	// The container runs the image's entrypoint with the file's cmd.
	out, err := exec.Command("docker", "inspect", "-f", "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.HostConfig.Memory}} {{.State.Running}}", webLong).CombinedOutput()
	if want := `["/bin/busybox"] ["httpd","-f","-p","8080","-h","/www"] 67108864 true`; err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("docker inspect web: %v %s; want %s", err, out, want)
	}
	// exec runs inside the container: its files and the environment of
	// its command (a dotted name too, which shells do not pass on).
	if out := netlab(t, "exec", "web", "-t", topo, "--", "sh", "-c", "tr '\\0' '\\n' </proc/1/environ; cat /www/index.html"); !strings.Contains(out, "node.name=web-1") ||
		!strings.Contains(out, "ROLE=web") || !strings.Contains(out, "served by busybox httpd") {
		t.Errorf("exec in web:\n%s", out)
	}
	// h1 runs netlab's own image, which holds nothing but netlab: exec
	// runs this machine's programs in its namespace, as on netns.
	if out := netlab(t, "exec", "h1", "-t", topo, "--", "ip", "-br", "link"); !strings.Contains(out, "eth1") {
		t.Errorf("exec ip in h1 (netlab's image):\n%s", out)
	}
	// A program the image lacks: the engine's 127, and why.
	_, stderr, err = netlabErr(t, "exec", "web", "-t", topo, "--", "no-such-program")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 && ee.ExitCode() != 126 || !strings.Contains(stderr, "netlab: exit status 12") || !strings.Contains(stderr, "give the node an `image:` that has no-such-program") {
		t.Errorf("exec of a program web's image lacks: %v\n%s", err, stderr)
	}
	// The Go-stack host fetches from the container's kernel-stack httpd.
	lab := loadLab(t, topo)
	url := "http://" + lab.Node("web").Interfaces[0].Addr.Addr().String() + ":8080/index.html"
	if out := netlab(t, "tcp", "get", "h1", url, "-o", "-", "-t", topo); !strings.Contains(out, "served by busybox httpd") {
		t.Errorf("tcp get %s:\n%s", url, out)
	}
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)
}

// writeLab writes a topology file of a uniquely named lab into dir, body
// being everything after its name line, and returns its path and name.
func writeLab(t *testing.T, dir, body string) (string, string) {
	t.Helper()
	var rnd [3]byte
	rand.Read(rnd[:])
	name := "e2e" + hex.EncodeToString(rnd[:])
	path := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(path, []byte("name: "+name+"\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, name
}

func loadLab(t *testing.T, topo string) *topology.Lab {
	t.Helper()
	lab, err := topology.Load(topo)
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

// TestFRROSPF runs examples/frr-ospf.yml on docker: FRR routers of the
// locally built netlab/frr image (kind: linux, their own entrypoint)
// between two Go-stack hosts (checkFRROSPF).
func TestFRROSPF(t *testing.T) {
	needDocker(t)
	out := netlab(t, "image", "build", "frr")
	t.Logf("%s", out)
	topo, name := frrOSPFCopy(t)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	checkFRROSPF(t, topo)
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)
}

// frrOSPFCopy writes examples/frr-ospf.yml and its routers' files into a
// folder of the test's, under a lab name of its own.
func frrOSPFCopy(t *testing.T) (topo, name string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "frr-ospf"), 0o755)
	for _, r := range []string{"r1", "r2", "r3"} {
		conf, err := os.ReadFile("../../examples/frr-ospf/" + r + ".conf")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "frr-ospf", r+".conf"), conf, 0o644)
	}
	b, err := os.ReadFile("../../examples/frr-ospf.yml")
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)^.*?\nname: frr-ospf\n`).ReplaceAllString(string(b), "")
	return writeLab(t, dir, body)
}

// checkFRROSPF checks the frr-ospf lab of topo, deployed: OSPF
// converges; a transfer crosses the lossy WAN with retransmissions; the
// WAN goes down and OSPF routes round it by r3; a transfer then still gets
// through.
func checkFRROSPF(t *testing.T, topo string) {
	t.Helper()
	route := func() string {
		out, _, _ := netlabErr(t, "exec", "r1", "-t", topo, "--", "vtysh", "-c", "show ip route 10.1.2.0/24")
		return out
	}
	defer func() {
		if t.Failed() {
			for _, r := range []string{"r1", "r2", "r3"} {
				out, errs, _ := netlabErr(t, "exec", r, "-t", topo, "--", "sh", "-c", "ps ax; vtysh -c 'show ip ospf neighbor' -c 'show ip route' -c 'show interface brief'")
				t.Logf("%s:\n%s%s", r, out, errs)
			}
		}
	}()
	waitForSaying(t, 90*time.Second, "OSPF to route 10.1.2.0/24 over the WAN (r1 eth2)", func() (bool, string) {
		r := route()
		return strings.Contains(r, `"ospf"`) && strings.Contains(r, "eth2"), r
	})
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	var rep nodeagent.SendReport
	if err := json.Unmarshal([]byte(netlab(t, "tcp", "send", "h1", "--to", "10.1.2.2:5001", "--bytes", "2MB", "-t", topo, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 2e6 || rep.Retransmits == 0 {
		t.Errorf("over the lossy WAN: %d bytes, %d retransmissions; want 2 MB with some retransmitted", rep.Bytes, rep.Retransmits)
	}
	netlab(t, "link", "down", "wan", "-t", topo)
	waitForSaying(t, 60*time.Second, "OSPF to route 10.1.2.0/24 round by r3 (r1 eth3)", func() (bool, string) {
		r := route()
		return strings.Contains(r, `"ospf"`) && strings.Contains(r, "eth3") && !strings.Contains(r, "eth2"), r
	})
	if err := json.Unmarshal([]byte(netlab(t, "tcp", "send", "h1", "--to", "10.1.2.2:5001", "--bytes", "500KB", "-t", topo, "--format", "json")), &rep); err != nil || rep.Bytes != 5e5 {
		t.Errorf("round by r3: %v %+v", err, rep)
	}
}

// waitForSaying polls cond until it holds or limit passes; the test then
// fails with cond's last word.
func waitForSaying(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last:\n%s", limit, what, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestDockerDebianImages builds the nginx, iperf3 and Python images on the
// Debian base and runs each as a node: a Go-stack host fetches nginx's
// page; an iperf3 client crosses an impaired link to an iperf3 server (the
// kernel's TCP on both ends); Python runs in its node. A second build of
// the same recipe finds the image instead of making it; a missing
// netlab/NAME image is refused at deploy with the command that builds it.
func TestDockerDebianImages(t *testing.T) {
	needDocker(t)
	netlab(t, "image", "build", "nginx", "iperf3", "python")
	var again []struct {
		Name  string
		Built bool
	}
	if err := json.Unmarshal([]byte(netlab(t, "image", "build", "nginx", "--format", "json")), &again); err != nil || len(again) != 1 || again[0].Built {
		t.Errorf("a second build of nginx: %v %+v; want it found, not built", err, again)
	}
	dir := t.TempDir()
	topo, name := writeLab(t, dir, `topology:
  nodes:
    web: {kind: linux, image: netlab/nginx}
    srv: {kind: linux, image: netlab/iperf3}
    cli: {kind: linux, image: netlab/iperf3, cmd: sleep infinity}
    py: {kind: linux, image: netlab/python}
    h1: {}
  links:
    - endpoints: ["h1:eth1", "web:eth1"]
    - endpoints: ["cli:eth1", "srv:eth1"]
      netem: {delay: 5ms, loss: 2%}
    - endpoints: ["py:eth1", "h1:eth2"]
`)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	lab := loadLab(t, topo)
	addr := func(n string) string { return lab.Node(n).Interfaces[0].Addr.Addr().String() }
	if out := netlab(t, "tcp", "get", "h1", "http://"+addr("web")+"/", "-o", "-", "-t", topo); !strings.Contains(out, "nginx") {
		t.Errorf("nginx's page: %.300s", out)
	}
	var ip struct {
		End struct {
			SumSent struct {
				Bytes       int64
				Retransmits int
			} `json:"sum_sent"`
		} `json:"end"`
	}
	var out string
	waitForSaying(t, 30*time.Second, "iperf3's server to answer", func() (bool, string) {
		o, e, err := netlabErr(t, "exec", "cli", "-t", topo, "--", "iperf3", "-c", addr("srv"), "-n", "2M", "-J")
		out = o
		return err == nil, o + e
	})
	if err := json.Unmarshal([]byte(out), &ip); err != nil || ip.End.SumSent.Bytes < 2<<20 || ip.End.SumSent.Retransmits == 0 {
		t.Errorf("iperf3 across the lossy link: %v, sent %d bytes, %d retransmissions; want 2 MiB, some retransmitted",
			err, ip.End.SumSent.Bytes, ip.End.SumSent.Retransmits)
	}
	if out := netlab(t, "exec", "py", "-t", topo, "--", "python3", "-c", "print(6*7)"); strings.TrimSpace(out) != "42" {
		t.Errorf("python3 in its node: %q", out)
	}
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)

	topo, name = writeLab(t, dir, "topology:\n  nodes:\n    n1: {kind: linux, image: netlab/nginx:no-such-recipe}\n")
	cleanupLab(t, topo, name)
	if _, errs, err := netlabErr(t, "deploy", "-t", topo, "--runtime", "docker"); err == nil || !strings.Contains(errs, "build it with `netlab image build nginx`") {
		t.Errorf("deploy of a missing netlab image: %v\n%s", err, errs)
	}
}

// TestDockerMgmtNetwork: with mgmt:, every node's eth0 is on an internal
// bridge that this machine reaches (a fixed address where the file gives
// one) and that has no route beyond; lab traffic keeps to the lab's links;
// destroy removes the network.
func TestDockerMgmtNetwork(t *testing.T) {
	needDocker(t)
	img := busyboxImage(t)
	dir := t.TempDir()
	var rnd [2]byte
	rand.Read(rnd[:])
	subnet := fmt.Sprintf("172.31.%d.0/24", 100+int(rnd[0])%100)
	// The lowest address a node can have: before netlab picked every
	// address at plan time, h1 could be given it by the engine first.
	fixed := strings.TrimSuffix(subnet, "0/24") + "2"
	topo, name := writeLab(t, dir, `mgmt:
  ipv4-subnet: `+subnet+`
topology:
  nodes:
    web: {kind: linux, image: `+img+`, cmd: httpd -f -p 8080 -h /, mgmt-ipv4: `+fixed+`}
    h1: {}
  links:
    - endpoints: ["web:eth1", "h1:eth1"]
`)
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	st := inspectJSON(t, topo)
	addrs := map[string]string{}
	for _, n := range st.Nodes {
		addrs[n.Name] = n.MgmtIPv4
	}
	if picked := strings.TrimSuffix(subnet, "0/24") + "3"; addrs["web"] != fixed || addrs["h1"] != picked {
		t.Fatalf("management addresses %v; want web at %s and h1 at %s, the next free one", addrs, fixed, picked)
	}
	if out := netlab(t, "inspect", "-t", topo); !strings.Contains(out, "eth0 (mgmt) "+fixed) {
		t.Errorf("inspect does not show the management address:\n%s", out)
	}
	// This machine reaches the node on it.
	waitForSaying(t, 20*time.Second, "web's httpd on its management address", func() (bool, string) {
		c, err := net.DialTimeout("tcp", fixed+":8080", time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	// No route leads beyond it; the lab's link is still the lab's.
	if out := netlab(t, "exec", "web", "-t", topo, "--", "busybox", "ip", "route"); strings.Contains(out, "default") || !strings.Contains(out, "eth0") {
		t.Errorf("web's routes: want its management subnet on eth0 and no default route:\n%s", out)
	}
	lab := loadLab(t, topo)
	url := "http://" + lab.Node("web").Interfaces[0].Addr.Addr().String() + ":8080/"
	netlab(t, "tcp", "get", "h1", url, "-o", "-", "-t", topo)
	netlab(t, "destroy", "-t", topo, "--cleanup")
	assertGone(t, name)
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label=netlab-lab="+name).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("the management network is left: %s", out)
	}
}
