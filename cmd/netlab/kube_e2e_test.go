package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/internal/kubetest"
	"github.com/netlab/netlab/internal/kubetest/labcrd"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/web"
)

const clusterLab = `name: NAME
topology:
  auto-routes: true
  nodes:
    h1: {kind: host, env: {WHO: pod}, exec: ["echo hello from the $WHO", "exit 4"]}
    r1: {kind: router}
    r2: {kind: router, stack: linux}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - name: wan
      endpoints: [r1:eth2, r2:eth1]
      netem: {delay: 5ms, loss: 1%}
    - endpoints: [r2:eth2, h2:eth1]
`

// TestKubernetesEndToEnd (root and the test cluster): netlab installed
// in a namespace as an admin would (the manifests, the image loaded), then
// a user's commands: deploy --runtime kubernetes --workers 3, inspect,
// a transfer h1 → h2 across worker pods (and through r2, the kernel's
// stack at two tunnels' ends) captured on both hosts into one
// pcapng, the trace replayed from the files fetched from the pods, a
// second deploy refused, a redeploy with --reconfigure updating the Lab in
// place (the same pods, the wan's new delay), and destroy: the pods gone,
// the run's files kept in the lab directory, nothing left in the registry.
func TestKubernetesEndToEnd(t *testing.T) {
	cl := kubetest.Need(t)
	needRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ns, kubeconfig, _, tmp := installNetlab(t, ctx, cl)
	name := randomName("k8s")
	topo := filepath.Join(tmp, "wan.yml")
	if err := os.WriteFile(topo, []byte(strings.Replace(clusterLab, "NAME", name, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	destroyAtEnd(t, topo, name)
	var st deploy.State
	out := netlab(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns, "--workers", "3", "--format", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("deploy's state: %v\n%s", err, out)
	}
	// The exec: commands ran in h1's namespace, their output and the
	// failing one's status in its log of the run.
	if b, err := os.ReadFile(labdir.New("", name, topo).Run(st.Run).Log("h1")); err != nil ||
		!strings.Contains(string(b), "$ echo hello from the $WHO\nhello from the pod\n") || !strings.Contains(string(b), "exit status 4") {
		t.Errorf("h1's exec: log: %v\n%s", err, b)
	}
	podOf := map[string]string{}
	defer func() { t.Logf("nodes on pods: %v", podOf) }()
	for _, n := range st.Nodes {
		podOf[n.Name] = n.Pod
		if !n.Alive || n.Pod == "" || n.KubeNode == "" {
			t.Errorf("node %+v: not alive, or no pod", n)
		}
	}
	if st.Runtime != "kubernetes" || st.Cluster == nil || st.Cluster.Namespace != ns || st.Cluster.Workers != 3 || podOf["h1"] == podOf["h2"] || podOf["r1"] == podOf["r2"] {
		t.Fatalf("deployed: runtime %s, cluster %+v, pods %v; want 3 workers in %s, h1 and h2 apart, the wan between pods", st.Runtime, st.Cluster, podOf, ns)
	}
	pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
	if err != nil || len(pods.Items) != 3 {
		t.Fatalf("worker pods: %v, %v", pods, err)
	}

	// The same lab again is refused, saying what to do.
	if _, errs, err := netlabErr(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns); err == nil || !strings.Contains(errs, "--reconfigure") {
		t.Errorf("a second deploy: %v, %s", err, errs)
	}

	var sts []deploy.State
	if err := json.Unmarshal([]byte(netlab(t, "inspect", "-t", topo, "--format", "json")), &sts); err != nil || len(sts) != 1 {
		t.Fatalf("inspect: %v %+v", err, sts)
	}
	for _, n := range sts[0].Nodes {
		if !n.Alive || n.Agent != deploy.AgentUp {
			t.Errorf("inspect: %+v", n)
		}
	}
	if text := netlab(t, "inspect", "-t", topo); !strings.Contains(text, "POD on KUBERNETES NODE") || !strings.Contains(text, podOf["h2"]) {
		t.Errorf("inspect's table names no pods:\n%s", text)
	}
	if kn := sts[0].Nodes[0].KubeNode; kn == "" || !strings.Contains(netlab(t, "inspect", "-t", topo), " on "+kn) {
		t.Errorf("inspect does not say the Kubernetes node %q", kn)
	}

	// exec runs in the node's namespace in its pod, with the exit status
	// passed through.
	if out := netlab(t, "exec", "-t", topo, "h1", "--", "ip", "-o", "link"); !strings.Contains(out, " eth1") {
		t.Errorf("exec h1 -- ip -o link: no eth1:\n%s", out)
	}
	if _, _, err := netlabErr(t, "exec", "-t", topo, "h1", "--", "sh", "-c", "exit 3"); err == nil || err.(*exec.ExitError).ExitCode() != 3 {
		t.Errorf("exec h1 -- sh -c 'exit 3': %v; want exit status 3", err)
	}

	// The live page, started before the transfer: its connections come
	// from the traces the pods record, fetched as they grow.
	webCmd := exec.Command(netlabBin, "web", "-t", topo, "--format", "json")
	webOut, err := webCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := webCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { webCmd.Process.Signal(os.Interrupt); webCmd.Wait() }()
	var page struct{ URL string }
	if err := json.NewDecoder(webOut).Decode(&page); err != nil {
		t.Fatalf("netlab web's address: %v", err)
	}
	getJSON := func(path string, v any) error {
		resp, err := http.Get(strings.Replace(page.URL, "/?", path+"?", 1))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}

	// A transfer across the worker pods, captured on both ends.
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	pcap := filepath.Join(tmp, "across.pcapng")
	capture := exec.Command(netlabBin, "capture", "h1:eth1", "h2", "-w", pcap, "--count", "40", "--duration", "60s", "-t", topo)
	var capErr strings.Builder
	capture.Stderr = &capErr
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, time.Minute, "the capture started on both nodes (their interface blocks written)", func() (bool, error) {
		b, _ := os.ReadFile(pcap)
		return strings.Contains(string(b), "h1:eth1") && strings.Contains(string(b), "h2:eth1"), nil
	})
	to := ""
	for _, n := range st.Nodes {
		if n.Name == "h2" {
			to, _, _ = strings.Cut(n.Interfaces[0].IPv4, "/")
		}
	}
	to += ":5001"
	var rep nodeagent.SendReport
	if err := json.Unmarshal([]byte(netlab(t, "tcp", "send", "h1", "--to", to, "--bytes", "2MB", "-t", topo, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 2_000_000 || rep.SRTT < 5*time.Millisecond {
		t.Errorf("h1 → h2 across pods: %+v; want 2 MB and an RTT of at least the wan's 5 ms", rep)
	}
	if err := capture.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, capErr.String())
	}
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", pcap, "-Y", "tcp.flags.syn == 1", "-T", "fields", "-e", "frame.interface_name").Output()
		if err != nil {
			t.Fatal(err)
		}
		if ifs := strings.Fields(string(out)); len(ifs) != 4 || !strings.Contains(string(out), "h1:eth1") || !strings.Contains(string(out), "h2:eth1") {
			t.Errorf("SYN segments captured on %v; want SYN and SYN+ACK on h1:eth1 and on h2:eth1", ifs)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("tshark is not installed; .ci/run installs it")
	}

	// The trace recorded in h1's pod, read here.
	var trace string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the last trace read:\n%.3000s", trace)
		}
	})
	kubetest.Poll(t, time.Minute, "h1's trace with the handshake and the close", func() (bool, error) {
		out, errs, err := netlabErr(t, "trace", "h1", "--replay", "--conn", ":5001", "-t", topo)
		trace = out + errs
		return err == nil && strings.Contains(out, "SYN-SENT -> ESTABLISHED") && strings.Contains(out, "FIN-WAIT-1"), nil
	})

	kubetest.Poll(t, time.Minute, "the page lists h1's connection with its 2 MB", func() (bool, error) {
		var conns []web.ConnInfo
		if err := getJSON("/api/conns", &conns); err != nil {
			return false, err
		}
		for _, c := range conns {
			if c.Node == "h1" && strings.HasSuffix(c.Conn, ":5001") && c.BytesSent >= 2_000_000 {
				return true, nil
			}
		}
		return false, nil
	})
	var nodes []web.NodeState
	if err := getJSON("/api/nodes", &nodes); err != nil || len(nodes) != 4 {
		t.Errorf("the page's nodes: %+v, %v", nodes, err)
	}
	for _, n := range nodes {
		if !n.Alive {
			t.Errorf("the page says node %s is not alive: %s", n.Name, n.Error)
		}
	}

	// Redeployed with --reconfigure, the wan's delay changed: the Lab is
	// updated in place — the same three pods, a new run; the first run's
	// traces fetched into the lab directory first.
	podUIDs := func() map[string]string { return cl.PodUIDs(t, ctx, ns, kube.LabelLab+"="+name) }
	before := podUIDs()
	if err := os.WriteFile(topo, []byte(strings.Replace(strings.Replace(clusterLab, "NAME", name, 1), "delay: 5ms", "delay: 25ms", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	first := st.Run
	st = deploy.State{}
	out = netlab(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns, "--workers", "3", "--reconfigure", "--format", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("redeploy's state: %v\n%s", err, out)
	}
	if after := podUIDs(); !maps.Equal(before, after) || st.Run == first {
		t.Errorf("--reconfigure: pods %v → %v, run %s → %s; want the same pods, a new run", before, after, first, st.Run)
	}
	for _, n := range st.Nodes {
		if !n.Alive || n.Pod != podOf[n.Name] {
			t.Errorf("after --reconfigure, node %+v; want alive on %s", n, podOf[n.Name])
		}
	}
	dirs := labdir.New("", name, topo)
	if fi, err := os.Stat(dirs.Run(first).Trace("h1")); err != nil || fi.Size() == 0 {
		t.Errorf("the first run's trace of h1 not kept in the lab directory: %v", err)
	}
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	rep = nodeagent.SendReport{}
	if err := json.Unmarshal([]byte(netlab(t, "tcp", "send", "h1", "--to", to, "--bytes", "200KB", "-t", topo, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 200_000 || rep.SRTT < 25*time.Millisecond {
		t.Errorf("h1 → h2 after --reconfigure: %+v; want 200 KB and an RTT of at least the wan's new 25 ms", rep)
	}

	run := st.Run
	netlab(t, "destroy", "-t", topo)
	kubetest.Poll(t, 2*time.Minute, "the worker pods gone", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
		return err == nil && len(pods.Items) == 0, err
	})
	for _, n := range []string{"h1", "h2"} {
		if fi, err := os.Stat(dirs.Run(run).Trace(n)); err != nil || fi.Size() == 0 {
			t.Errorf("%s's trace not kept in the lab directory: %v", n, err)
		}
	}
	if _, errs, err := netlabErr(t, "inspect", "-t", topo); err == nil && !strings.Contains(errs, "not running") {
		t.Errorf("inspect after destroy: %v %s", err, errs)
	}
	if labs, err := deploy.Running(""); err != nil {
		t.Fatal(err)
	} else {
		for _, l := range labs {
			if l.Lab == name {
				t.Errorf("lab %s still in the registry", name)
			}
		}
	}
}

// installNetlab does what a cluster admin does in a new namespace — the
// Lab CRD, netlab's image into the nodes' runtime, the manifests applied —
// and returns the namespace, a kubeconfig of a user there with the Role
// the manifests give users and nothing more, the image, and a directory
// for the test's files.
func installNetlab(t *testing.T, ctx context.Context, cl *kubetest.Cluster) (ns, kubeconfig, image, dir string) {
	t.Helper()
	ns = cl.Namespace(t)
	labcrd.Install(t, cl)
	dir = t.TempDir()
	var img struct{ File, Image string }
	if err := json.Unmarshal([]byte(netlab(t, "k8s", "image", "-o", filepath.Join(dir, "netlab.tar"), "--format", "json")), &img); err != nil {
		t.Fatal(err)
	}
	cl.LoadImage(t, img.File)
	dyn, err := dynamic.NewForConfig(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	manifests := netlab(t, "k8s", "manifests", "-n", ns)
	if err := kube.Apply(ctx, dyn, []byte(manifests), func(kind string) bool { return kind != "CustomResourceDefinition" && kind != "Namespace" }); err != nil {
		t.Fatal(err)
	}
	return ns, userKubeconfig(t, ctx, cl, ns, dir), img.Image, dir
}

// randomName is prefix and six random hex digits: a lab name unique to a
// run.
func randomName(prefix string) string {
	var rnd [3]byte
	rand.Read(rnd[:])
	return prefix + hex.EncodeToString(rnd[:])
}

// destroyAtEnd destroys the lab of topo when the test ends, and checks
// that nothing of it is left here.
func destroyAtEnd(t *testing.T, topo, name string) {
	liveLabs.Lock()
	liveLabs.topos[topo] = true
	liveLabs.Unlock()
	t.Cleanup(func() {
		exec.Command(netlabBin, "destroy", "-t", topo).Run()
		liveLabs.Lock()
		delete(liveLabs.topos, topo)
		liveLabs.Unlock()
		assertGone(t, name)
	})
}

// TestKubernetesContainerNode (root and the test cluster): a node with an
// image of its own is a pod of its own, its container the node: started
// after netlab's sidecar moved the pod's eth0 out (its command lists its
// interfaces as it starts: no eth0), it has its lab
// interface and no way to the pod network; it reaches h1 across the
// tunnel and r1; exec runs in its container, with its env: (a variable of
// this machine's), env-files: and CLAB_INTFS, and its bind's file; destroy
// removes both pods.
func TestKubernetesContainerNode(t *testing.T) {
	cl := kubetest.Need(t)
	needRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	ns, kubeconfig, image, tmp := installNetlab(t, ctx, cl)
	name := randomName("ctr")
	topo := filepath.Join(tmp, "ctr.yml")
	// The node's image is netlab's (busybox's programs are in it): any
	// image on the cluster's nodes would do.
	if err := os.WriteFile(topo, []byte(fmt.Sprintf(`name: %s
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    c1:
      kind: host
      stack: linux
      image: %s
      entrypoint: /bin/sh
      cmd: "-c 'ip -o link > /tmp/links-at-start; exec sleep 100000'"
      env: {ROLE: "${NETLAB_E2E_ROLE}"}
      env-files: [c1.env]
      binds: [files/motd:/etc/motd:ro]
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - endpoints: [r1:eth2, c1:eth1]
`, name, image)), 0o644); err != nil {
		t.Fatal(err)
	}
	// What the file reads besides its text — a variable, an env-file, a
	// bind's source — is this machine's: the Lab carries it to the
	// controller.
	t.Setenv("NETLAB_E2E_ROLE", "edge")
	os.MkdirAll(filepath.Join(tmp, "files"), 0o755)
	if err := os.WriteFile(filepath.Join(tmp, "files", "motd"), []byte("welcome to c1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "c1.env"), []byte("SITE=lab-b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	destroyAtEnd(t, topo, name)
	var st deploy.State
	out := netlab(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns, "--workers", "1", "--format", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("deploy's state: %v\n%s", err, out)
	}
	podOf, addr := map[string]string{}, map[string]string{}
	for _, n := range st.Nodes {
		podOf[n.Name] = n.Pod
		if len(n.Interfaces) > 0 {
			addr[n.Name], _, _ = strings.Cut(n.Interfaces[0].IPv4, "/")
		}
		if !n.Alive {
			t.Errorf("node %+v not alive", n)
		}
	}
	if podOf["c1"] == "" || podOf["c1"] == podOf["h1"] || podOf["h1"] != podOf["r1"] {
		t.Fatalf("pods %v; want h1 and r1 on the shared worker, c1 on a pod of its own", podOf)
	}
	pod, err := cl.Client.CoreV1().Pods(ns).Get(ctx, podOf["c1"], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Image != image || len(pod.Spec.InitContainers) != 1 {
		t.Errorf("c1's pod: containers %+v, init %+v; want the node's image beside netlab's sidecar", pod.Spec.Containers, pod.Spec.InitContainers)
	}
	links := netlab(t, "exec", "-t", topo, "c1", "--", "ip", "-o", "addr")
	if !strings.Contains(links, "eth1") || !strings.Contains(links, addr["c1"]+"/") || strings.Contains(links, "eth0") {
		t.Errorf("c1's addresses:\n%s\nwant eth1 with %s, and no eth0", links, addr["c1"])
	}
	// The node's command started after eth0 had gone.
	if first := netlab(t, "exec", "-t", topo, "c1", "--", "cat", "/tmp/links-at-start"); !strings.Contains(first, "lo:") || strings.Contains(first, "eth0") {
		t.Errorf("c1's interfaces when its command started:\n%s\nwant loopback and no eth0", first)
	}
	if env := netlab(t, "exec", "-t", topo, "c1", "--", "sh", "-c", "echo $ROLE $SITE $CLAB_INTFS"); strings.TrimSpace(env) != "edge lab-b 1" {
		t.Errorf("c1's environment: %q; want \"edge lab-b 1\" (env: from this machine's variable, env-files:, CLAB_INTFS)", env)
	}
	if motd := netlab(t, "exec", "-t", topo, "c1", "--", "cat", "/etc/motd"); motd != "welcome to c1\n" {
		t.Errorf("c1's bound /etc/motd: %q", motd)
	}
	if out := netlab(t, "exec", "-t", topo, "c1", "--", "ping", "-c", "2", "-W", "3", addr["h1"]); !strings.Contains(out, " 0% packet loss") {
		t.Errorf("c1 → h1 across the tunnel and r1:\n%s", out)
	}
	// The pod network: the shared worker's pod address is not reachable.
	shared, err := cl.Client.CoreV1().Pods(ns).Get(ctx, podOf["h1"], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out, errs, err := netlabErr(t, "exec", "-t", topo, "c1", "--", "ping", "-c", "1", "-W", "1", shared.Status.PodIP); err == nil {
		t.Errorf("c1 reaches the pod network (%s):\n%s%s", shared.Status.PodIP, out, errs)
	}
	netlab(t, "destroy", "-t", topo)
	kubetest.Poll(t, 2*time.Minute, "the pods gone", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
		return err == nil && len(pods.Items) == 0, err
	})
}

// TestKubernetesExamples (root and the test cluster): the examples that
// need no image of their own, deployed on the cluster as a user does with
// up to three worker pods, every host pair's transfer checked end to end
// (the sink's sha256 is the sender's), then destroyed: no pod left.
func TestKubernetesExamples(t *testing.T) {
	cl := kubetest.Need(t)
	needRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ns, kubeconfig, _, _ := installNetlab(t, ctx, cl)
	for _, tc := range []struct {
		example  string
		size     string
		maxPairs int
	}{
		{"two-hosts.yml", "1MB", 2},
		{"line-of-routers.yml", "1MB", 2}, // through Go-stack routers in other pods
		{"lan-star.yml", "300KB", 4},      // a LAN, never split across pods
		{"lossy-wan.yml", "500KB", 2},     // under loss
		{"go-beside-linux.yml", "1MB", 4}, // Go <-> Linux kernel TCP
		{"linux-wan.yml", "500KB", 4},     // Linux only, through relays and tunnels
		{"fabric-100.yml", "200KB", 4},    // 100 nodes
	} {
		t.Run(strings.TrimSuffix(tc.example, ".yml"), func(t *testing.T) {
			topo, name := labCopy(t, tc.example)
			lab, err := topology.Load(topo)
			if err != nil {
				t.Fatal(err)
			}
			destroyAtEnd(t, topo, name)
			workers := min(3, len(lab.Nodes))
			netlab(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns, "--workers", strconv.Itoa(workers))
			transferAll(t, topo, tc.size, tc.maxPairs)
			netlab(t, "destroy", "-t", topo)
			kubetest.Poll(t, 2*time.Minute, "the pods gone", func() (bool, error) {
				pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
				return err == nil && len(pods.Items) == 0, err
			})
		})
	}
}

// TestKubernetesFRROSPF (root, Docker and the test cluster):
// examples/frr-ospf.yml on the cluster — each FRR router a pod of its own
// (the netlab/frr image built here with Docker and loaded into the
// cluster's runtime), its frr.conf bind a file of the Lab's ConfigMap —
// checked as on docker (checkFRROSPF); destroy leaves no pod or ConfigMap.
func TestKubernetesFRROSPF(t *testing.T) {
	cl := kubetest.Need(t)
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ns, kubeconfig, _, tmp := installNetlab(t, ctx, cl)
	netlab(t, "image", "build", "frr")
	tarball := filepath.Join(tmp, "frr.tar")
	if out, err := exec.Command("docker", "save", "-o", tarball, "netlab/frr:latest").CombinedOutput(); err != nil {
		t.Fatalf("docker save netlab/frr: %v\n%s", err, out)
	}
	cl.LoadImage(t, tarball)
	topo, name := frrOSPFCopy(t)
	destroyAtEnd(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "-n", ns, "--workers", "1")
	checkFRROSPF(t, topo)
	netlab(t, "destroy", "-t", topo)
	kubetest.Poll(t, 2*time.Minute, "the pods and the Lab's ConfigMap gone", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
		if err != nil {
			return false, err
		}
		cms, err := cl.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
		return err == nil && len(pods.Items) == 0 && len(cms.Items) == 0, err
	})
}

// userKubeconfig makes a ServiceAccount of ns bound to the manifests'
// user Role, and a kubeconfig that authenticates with its token.
func userKubeconfig(t *testing.T, ctx context.Context, cl *kubetest.Cluster, ns, dir string) string {
	t.Helper()
	const user = "student"
	if _, err := cl.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: user}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: user, Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: kube.UserRole}}
	if _, err := cl.Client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hour := int64(3600)
	tok, err := cl.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, user, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := cl.Config.CAData
	if len(ca) == 0 && cl.Config.CAFile != "" {
		if ca, err = os.ReadFile(cl.Config.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: cl.Config.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: "test", AuthInfo: user, Namespace: ns}
	cfg.CurrentContext = user
	path := filepath.Join(dir, "user.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
