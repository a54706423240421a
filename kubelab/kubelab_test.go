package kubelab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/topology"
)

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"wan", true},
		{"lab-1", true},
		{strings.Repeat("a", 52), true},
		{strings.Repeat("a", 53), false}, // its pods' names would be too long
		{"Wan", false},
		{"my_lab", false},
		{"-lab", false},
	} {
		err := CheckName(&topology.Lab{Name: c.name, File: "lab.yml"})
		if (err == nil) != c.ok {
			t.Errorf("%q: %v; want ok %v", c.name, err, c.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "lab.yml") || !strings.Contains(err.Error(), "lower-case")) {
			t.Errorf("%q: %v; want the file and what is allowed", c.name, err)
		}
	}
}

// TestSetNodes: each node gets its worker pod from the Lab's status, and
// is alive only when that pod is ready; a node no worker runs says so.
func TestSetNodes(t *testing.T) {
	st := &deploy.State{Nodes: []deploy.NodeState{{Name: "h1"}, {Name: "h2"}, {Name: "r1"}}}
	status := kube.LabStatus{Phase: kube.PhaseDeploying, Message: "wiring", Workers: []kube.WorkerStatus{
		{Name: "w-0", Ready: true, KubeNode: "k1", Nodes: []string{"h1"}},
		{Name: "w-1", Ready: false, Nodes: []string{"h2"}},
	}}
	setNodes(st, status)
	want := []struct {
		pod   string
		alive bool
		agent string
		why   string
	}{
		{"w-0", true, deploy.AgentUp, ""},
		{"w-1", false, deploy.AgentDown, "w-1 is not ready: Deploying, 1 of 2 worker pods ready: wiring"},
		{"", false, deploy.AgentDown, "no worker pod"},
	}
	if st.Nodes[0].KubeNode != "k1" {
		t.Errorf("h1's Kubernetes node %q; want k1", st.Nodes[0].KubeNode)
	}
	for i, w := range want {
		n := st.Nodes[i]
		if n.Pod != w.pod || n.Alive != w.alive || n.Agent != w.agent || !strings.Contains(n.Reason, w.why) || (w.why == "") != (n.Reason == "") {
			t.Errorf("%s: %+v; want pod %q alive %v agent %s reason %q", n.Name, n, w.pod, w.alive, w.agent, w.why)
		}
	}
	if d := describe(kube.LabStatus{}); !strings.Contains(d, "no controller") {
		t.Errorf("describe of no status: %q", d)
	}
}

func TestResolveKubeconfig(t *testing.T) {
	t.Setenv("SUDO_USER", "")
	for _, c := range []struct {
		flag, env, want string
	}{
		{"/etc/k.conf", "/x", "/etc/k.conf"},
		{"", "/home/u/.kube/a", "/home/u/.kube/a"},
		{"", "/a:/b", ""}, // a list: kubectl's default merges it again
		{"", "", ""},
	} {
		t.Setenv("KUBECONFIG", c.env)
		if got := resolveKubeconfig(c.flag); got != c.want {
			t.Errorf("flag %q, KUBECONFIG %q: %q; want %q", c.flag, c.env, got, c.want)
		}
	}
}

// TestForget (root): a lab whose cluster cannot be reached (its kubeconfig
// names a server nothing listens on) is not destroyed, the error saying
// --forget; with Forget its record here goes, the notice saying how to
// delete its Lab should the cluster come back.
func TestForget(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the lab registry is root's (run as root: sudo go test)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	topo := filepath.Join(dir, "gone.yml")
	os.WriteFile(topo, []byte("name: gone\ntopology:\n  nodes:\n    h1: {kind: host}\n"), 0o644)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: gone
`), 0o644)
	lab, err := topology.Load(topo)
	if err != nil {
		t.Fatal(err)
	}
	h, err := deploy.StartHosted(ctx, deploy.HostedOptions{Lab: lab, Runtime: Runtime, RunDir: runDir})
	if err != nil {
		t.Fatal(err)
	}
	st := h.State(deploy.StatusRunning)
	st.Cluster = &deploy.ClusterState{Kubeconfig: kubeconfig, Namespace: "labs", Resource: "gone", Workers: 1}
	if err := h.Done(st); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = Destroy(dctx, DestroyOptions{LabName: "gone", RunDir: runDir})
	if err == nil || !strings.Contains(err.Error(), "--forget") {
		t.Errorf("destroy with the cluster gone: %v; want an error saying --forget", err)
	}
	if running, _ := deploy.Running(runDir); len(running) != 1 {
		t.Fatalf("after the failed destroy: %+v; want the lab still recorded", running)
	}
	var notices []string
	if err := Destroy(ctx, DestroyOptions{LabName: "gone", RunDir: runDir, Forget: true, Notice: func(m string) { notices = append(notices, m) }}); err != nil {
		t.Fatal(err)
	}
	if running, _ := deploy.Running(runDir); len(running) != 0 {
		t.Errorf("after --forget: %+v; want no lab recorded", running)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "kubectl -n labs delete labs."+kube.Group+" gone") {
		t.Errorf("notices %q; want how to delete the Lab", notices)
	}
}
