package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/netlab/netlab/internal/kubetest"
	"github.com/netlab/netlab/internal/kubetest/labcrd"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// netlabImage builds the netlab binary, writes its image and loads it into
// the test cluster; it returns the image's reference.
func netlabImage(t *testing.T, cl *kubetest.Cluster) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "netlab")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/netlab")
	build.Dir = kubetest.Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build netlab: %v\n%s", err, out)
	}
	ref, err := kube.ImageRef(kube.FindImageFiles(bin))
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, "netlab.tar")
	out, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.WriteImage(out, ref, kube.FindImageFiles(bin)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	cl.LoadImage(t, tarball)
	return ref
}

const wanLab = `name: wan
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    r2: {kind: router}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - name: wan
      endpoints: [r1:eth2, r2:eth1]
      netem: {delay: 5ms, loss: 2%}
    - endpoints: [r2:eth2, h2:eth1]
`

// TestLabOnCluster (the test cluster): a Lab of four nodes over two
// worker pods. The controller is stopped as soon as it has made the pods
// and a second one finishes the deploy; the Lab's status says Ready with
// each worker's pod, address and nodes; a transfer from h1 to h2, through
// the API server to the workers' agents, crosses the tunnel between the
// pods under its loss with retransmissions; the Lab updated (a node more,
// a worker more) is reconfigured in place, keeping its pods; deleting the
// Lab removes its pods.
func TestLabOnCluster(t *testing.T) {
	cl := kubetest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := cl.Namespace(t)
	image := netlabImage(t, cl)
	labcrd.Install(t, cl)
	fwd, err := kube.NewForwarder(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run := func(ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Client: cl.Client, Dynamic: dyn, Namespace: ns, DialWorker: ForwardTo(fwd), Log: log, Resync: 200 * time.Millisecond})
		}()
		return done
	}

	labs := dyn.Resource(kube.LabResource).Namespace(ns)
	lab := &kube.Lab{TypeMeta: metav1.TypeMeta{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind}, ObjectMeta: metav1.ObjectMeta{Name: "wan"},
		Spec: kube.LabSpec{Topology: wanLab, TopologyFile: "wan.yml", Workers: 2, Image: image}}
	obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(lab)
	if _, err := labs.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	get := func() kube.Lab {
		u, err := labs.Get(ctx, "wan", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var l kube.Lab
		runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &l)
		return l
	}

	// The first controller goes away once it has made the pods.
	first, stopFirst := context.WithCancel(ctx)
	done := run(first)
	kubetest.Poll(t, time.Minute, "the worker pods made", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=wan"})
		return err == nil && len(pods.Items) == 2, err
	})
	stopFirst()
	if err := <-done; err != nil {
		t.Fatalf("the first controller: %v", err)
	}
	if st := get().Status; st.Phase == kube.PhaseReady {
		t.Logf("the lab was ready before the first controller stopped")
	}
	second, stopSecond := context.WithCancel(ctx)
	done = run(second)
	defer func() { stopSecond(); <-done }()
	var status kube.LabStatus
	kubetest.Poll(t, 3*time.Minute, "the Lab ready", func() (bool, error) {
		status = get().Status
		if status.Phase == kube.PhaseFailed {
			return false, fmt.Errorf("the Lab failed: %s", status.Message)
		}
		return status.Phase == kube.PhaseReady, nil
	})
	t.Logf("status: %+v", status)
	if status.Nodes != 4 || status.Tunnels != 1 || len(status.Workers) != 2 {
		t.Errorf("status %+v; want 4 nodes, 1 tunnel, 2 workers", status)
	}
	podOf := map[string]string{}
	for _, w := range status.Workers {
		if !w.Ready || w.PodIP == "" || w.KubeNode == "" {
			t.Errorf("worker %+v not ready, or without its address or node", w)
		}
		for _, n := range w.Nodes {
			podOf[n] = w.Name
		}
	}
	client := func(node string) *nodeagent.Client {
		pod := podOf[node]
		return nodeagent.NewClientDial(func(ctx context.Context) (net.Conn, error) {
			return fwd.Dial(ctx, ns, pod, kube.AgentPort)
		}, ns+"/"+pod, node)
	}
	if _, err := client("h2").StartApp(ctx, nodeagent.AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	plan, err := topology.Parse("wan.yml", []byte(wanLab))
	if err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(plan.Node("h2").Interfaces[0].Addr.Addr(), 5001)
	rep, err := client("h1").Send(ctx, nodeagent.SendSpec{To: to.String(), Bytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("h1 → h2 across the pods: %d bytes, %.1f Mbit/s, %d retransmits, srtt %v", rep.Bytes, rep.GoodputMbps, rep.Retransmits, rep.SRTT)
	if rep.Bytes != 2<<20 || rep.Retransmits == 0 || rep.SRTT < 5*time.Millisecond {
		t.Errorf("the transfer: %+v; want 2 MiB, retransmissions, an RTT of at least the wan's 5 ms", rep)
	}

	// A new generation, in place: h3 behind r2, on three workers. The two
	// pods stay (their workers replace their shares), a third is made.
	podUIDs := func() map[string]string { return cl.PodUIDs(t, ctx, ns, kube.LabelLab+"=wan") }
	before := podUIDs()
	l := get()
	l.Spec.Topology, l.Spec.Workers = wanLab3, 3
	obj, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(&l)
	updated, err := labs.Update(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, 3*time.Minute, "generation 2 ready", func() (bool, error) {
		l := get()
		status = l.Status
		if status.Phase == kube.PhaseFailed {
			return false, fmt.Errorf("the Lab failed: %s", status.Message)
		}
		return status.ObservedGeneration == updated.GetGeneration() && status.Phase == kube.PhaseReady, nil
	})
	after := podUIDs()
	t.Logf("generation %d: %+v; pods before %v, after %v", updated.GetGeneration(), status, before, after)
	if status.Nodes != 5 || len(status.Workers) != 3 || len(after) != 3 {
		t.Errorf("generation 2: status %+v, pods %v; want 5 nodes on 3 workers", status, after)
	}
	for name, uid := range before {
		if after[name] != uid {
			t.Errorf("pod %s made again (%s → %s); want it kept, its share replaced in place", name, uid, after[name])
		}
	}
	podOf = map[string]string{}
	for _, w := range status.Workers {
		for _, n := range w.Nodes {
			podOf[n] = w.Name
		}
	}
	if _, err := client("h3").StartApp(ctx, nodeagent.AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	plan3, err := topology.Parse("wan.yml", []byte(wanLab3))
	if err != nil {
		t.Fatal(err)
	}
	to = netip.AddrPortFrom(plan3.Node("h3").Interfaces[0].Addr.Addr(), 5001)
	if rep, err = client("h1").Send(ctx, nodeagent.SendSpec{To: to.String(), Bytes: 1 << 20}); err != nil || rep.Bytes != 1<<20 {
		t.Fatalf("generation 2: h1 → h3: %+v, %v", rep, err)
	}

	if err := labs.Delete(ctx, "wan", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, 2*time.Minute, "the Lab's pods gone", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=wan"})
		return err == nil && len(pods.Items) == 0, err
	})
}

// wanLab3 is wanLab's second generation: a host h3 behind r2.
const wanLab3 = `name: wan
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    r2: {kind: router}
    h2: {kind: host}
    h3: {kind: host}
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - name: wan
      endpoints: [r1:eth2, r2:eth1]
      netem: {delay: 5ms, loss: 2%}
    - endpoints: [r2:eth2, h2:eth1]
    - endpoints: [r2:eth3, h3:eth1]
`

// TestControllerDeployment (the test cluster): the manifests as a cluster
// admin applies them — the controller runs as its Deployment, in the
// cluster, with its ServiceAccount and Role only. Its pod is deleted as
// soon as it has made the worker pods; the Deployment's next pod finishes
// the deploy; deleting the Lab removes the workers.
func TestControllerDeployment(t *testing.T) {
	cl := kubetest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := cl.Namespace(t)
	image := netlabImage(t, cl)
	labcrd.Install(t, cl)
	m, err := kube.Manifests(kube.ManifestOptions{Namespace: ns, Image: image})
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.Apply(ctx, dyn, m, func(kind string) bool { return kind != "CustomResourceDefinition" && kind != "Namespace" }); err != nil {
		t.Fatal(err)
	}
	controllerPods := func() []string {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + kube.ControllerName})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == "Running" {
				names = append(names, p.Name)
			}
		}
		return names
	}
	kubetest.Poll(t, 2*time.Minute, "the controller's pod running", func() (bool, error) { return len(controllerPods()) == 1, nil })

	labs := dyn.Resource(kube.LabResource).Namespace(ns)
	lab := &kube.Lab{TypeMeta: metav1.TypeMeta{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind}, ObjectMeta: metav1.ObjectMeta{Name: "wan"},
		Spec: kube.LabSpec{Topology: wanLab, TopologyFile: "wan.yml", Workers: 2, Image: image}}
	obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(lab)
	if _, err := labs.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, time.Minute, "the worker pods made", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=wan"})
		return err == nil && len(pods.Items) == 2, err
	})
	first := controllerPods()
	zero := int64(0)
	if err := cl.Client.CoreV1().Pods(ns).Delete(ctx, first[0], metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	var status kube.LabStatus
	kubetest.Poll(t, 3*time.Minute, "the Lab ready", func() (bool, error) {
		u, err := labs.Get(ctx, "wan", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var l kube.Lab
		runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &l)
		status = l.Status
		if status.Phase == kube.PhaseFailed {
			return false, fmt.Errorf("the Lab failed: %s", status.Message)
		}
		return status.Phase == kube.PhaseReady, nil
	})
	// The Lab may be Ready before the Deployment's next pod runs (the
	// deleted one may have finished the deploy while it went away).
	kubetest.Poll(t, 2*time.Minute, "the Deployment's next controller pod running", func() (bool, error) {
		now := controllerPods()
		return len(now) == 1 && now[0] != first[0], nil
	})
	if status.Nodes != 4 || len(status.Workers) != 2 || !status.Workers[0].Ready || !status.Workers[1].Ready {
		t.Errorf("status %+v", status)
	}
	if err := labs.Delete(ctx, "wan", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, 2*time.Minute, "the Lab's pods gone", func() (bool, error) {
		pods, err := cl.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=wan"})
		return err == nil && len(pods.Items) == 0, err
	})
}
