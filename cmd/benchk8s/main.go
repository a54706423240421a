// Command benchk8s measures labs deployed on a Kubernetes cluster through
// netlab's controller: for each size and worker count, the time from the
// Lab's creation until its status is Ready (every worker pod running its
// share, tunnels wired), the worker pods made, their memory per lab node
// (the kubelet's working set of the pods), and the time from the Lab's
// deletion until its pods are gone. Labs are lines (hosts at both ends,
// routers between, auto-routes), as cmd/benchdeploy makes for the netns
// runtime. It runs against the test cluster (scripts/k8s-cluster,
// NETLAB_KUBECONFIG), runs the controller in this process (reaching the
// workers through the API server), and removes what it made.
//
//	make build && NETLAB_KUBECONFIG=DIR/kubeconfig go run ./cmd/benchk8s -netlab bin/netlab
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/netlab/netlab/controller"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/topogen"
)

func main() {
	bin := flag.String("netlab", "bin/netlab", "the netlab binary whose image the workers run")
	sizes := flag.String("sizes", "100,1000", "lab sizes (nodes)")
	workers := flag.String("workers", "3,6", "worker counts")
	verbose := flag.Bool("v", false, "print each change of a Lab's status, timed, on stderr")
	flag.Parse()
	if err := run(*bin, ints(*sizes), ints(*workers), *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "benchk8s:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchk8s: %q is not a number\n", f)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func run(bin string, sizes, workerCounts []int, verbose bool) error {
	path := os.Getenv("NETLAB_KUBECONFIG")
	if path == "" {
		return fmt.Errorf("no cluster: scripts/k8s-cluster up DIR, then NETLAB_KUBECONFIG=DIR/kubeconfig")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := kube.Config(path)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// The image, loaded into the cluster.
	image, err := loadImage(bin, filepath.Dir(path))
	if err != nil {
		return err
	}
	// A namespace and the CRD of our own, removed at the end.
	b := make([]byte, 3)
	rand.Read(b)
	ns := "netlab-bench-" + hex.EncodeToString(b)
	bg := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	defer func() {
		client.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
		waitFor(bg, 5*time.Minute, func() bool {
			_, err := client.CoreV1().Namespaces().Get(bg, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}()
	if _, err := dyn.Resource(kube.CRDResource).Get(ctx, kube.Resource+"."+kube.Group, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		defer dyn.Resource(kube.CRDResource).Delete(bg, kube.Resource+"."+kube.Group, metav1.DeleteOptions{})
	}
	m, err := kube.Manifests(kube.ManifestOptions{Namespace: ns, Image: image})
	if err != nil {
		return err
	}
	if err := kube.Apply(ctx, dyn, m, func(k string) bool { return k == "CustomResourceDefinition" }); err != nil {
		return err
	}
	waitFor(ctx, time.Minute, func() bool {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	fwd, err := kube.NewForwarder(cfg)
	if err != nil {
		return err
	}
	defer fwd.Close()
	cctx, cstop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(cctx, controller.Config{Client: client, Dynamic: dyn, Namespace: ns, DialWorker: controller.ForwardTo(fwd),
			Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Resync: 200 * time.Millisecond})
	}()
	defer func() { cstop(); <-done }()

	labs := dyn.Resource(kube.LabResource).Namespace(ns)
	fmt.Println("| nodes | workers | tunnels | deploy (Lab → Ready) | pods | worker memory per node | destroy (pods gone) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	for _, size := range sizes {
		gen, err := topogen.Line{Common: topogen.Common{Name: "line"}, Routers: size - 2, Hosts: 1}.Generate()
		if err != nil {
			return err
		}
		for _, w := range workerCounts {
			name := fmt.Sprintf("line%d-w%d", size, w)
			lab := &kube.Lab{TypeMeta: metav1.TypeMeta{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind}, ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: kube.LabSpec{Topology: string(gen.YAML()), TopologyFile: name + ".yml", Workers: w, Image: image}}
			obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(lab)
			start := time.Now()
			if _, err := labs.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
				return err
			}
			var st kube.LabStatus
			last := ""
			ok := waitFor(ctx, 15*time.Minute, func() bool {
				u, err := labs.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return false
				}
				var l kube.Lab
				runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &l)
				st = l.Status
				if now := st.Phase + ": " + st.Message; verbose && now != last {
					fmt.Fprintf(os.Stderr, "%6.1f s  %s %s\n", time.Since(start).Seconds(), name, now)
					last = now
				}
				return st.Phase == kube.PhaseReady || st.Phase == kube.PhaseFailed
			})
			deployed := time.Since(start)
			if !ok || st.Phase != kube.PhaseReady {
				return fmt.Errorf("lab %s: %s (%s)", name, st.Phase, st.Message)
			}
			pods, _ := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
			mem, err := podMemory(ctx, client, ns, name, pods.Items)
			if err != nil {
				return err
			}
			start = time.Now()
			if err := labs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				return err
			}
			waitFor(ctx, 10*time.Minute, func() bool {
				p, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
				return err == nil && len(p.Items) == 0
			})
			fmt.Printf("| %d | %d | %d | %.1f s | %d | %.1f MiB | %.1f s |\n", st.Nodes, w, st.Tunnels, deployed.Seconds(), len(pods.Items),
				float64(mem)/float64(st.Nodes)/(1<<20), time.Since(start).Seconds())
		}
	}
	return nil
}

// podMemory adds up the working set of the lab's worker pods, as the
// kubelet reports it (polled until it reports every pod).
func podMemory(ctx context.Context, client kubernetes.Interface, ns, lab string, pods []corev1.Pod) (uint64, error) {
	want := map[string]bool{}
	nodes := map[string]bool{}
	for _, p := range pods {
		want[p.Name] = true
		nodes[p.Spec.NodeName] = true
	}
	var total uint64
	ok := waitFor(ctx, time.Minute, func() bool {
		total = 0
		seen := 0
		for node := range nodes {
			raw, err := client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/stats/summary").DoRaw(ctx)
			if err != nil {
				return false
			}
			var sum struct {
				Pods []struct {
					PodRef struct{ Name, Namespace string } `json:"podRef"`
					Memory struct {
						WorkingSetBytes uint64 `json:"workingSetBytes"`
					} `json:"memory"`
				} `json:"pods"`
			}
			if json.Unmarshal(raw, &sum) != nil {
				return false
			}
			for _, p := range sum.Pods {
				if p.PodRef.Namespace == ns && want[p.PodRef.Name] && p.Memory.WorkingSetBytes > 0 {
					total += p.Memory.WorkingSetBytes
					seen++
				}
			}
		}
		return seen == len(want)
	})
	if !ok {
		return 0, fmt.Errorf("lab %s: the kubelet did not report its pods' memory within a minute", lab)
	}
	return total, nil
}

func loadImage(bin, clusterDir string) (string, error) {
	ref, err := kube.ImageRef(kube.FindImageFiles(bin))
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp("", "netlab-image-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := kube.WriteImage(tmp, ref, kube.FindImageFiles(bin)); err != nil {
		tmp.Close()
		return "", err
	}
	tmp.Close()
	if out, err := exec.Command("scripts/k8s-cluster", "load", clusterDir, tmp.Name()).CombinedOutput(); err != nil {
		return "", fmt.Errorf("load the image: %v\n%s", err, out)
	}
	return ref, nil
}

// waitFor polls cond every 200 ms until it holds (true) or within passes
// or ctx ends (false).
func waitFor(ctx context.Context, within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}
