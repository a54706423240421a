// Package controller reconciles Labs (kube.Lab) on a Kubernetes cluster:
// for each Lab it resolves the topology, places the nodes on the workers
// (placement), makes the worker pods, tells each worker its share once
// every pod has an address (worker.Spec), and writes what it finds back
// to the Lab's status. It is level-triggered: every pass starts from what
// the API server and the workers say, so a controller that restarts
// carries on where the last one stopped, and doing a step twice does
// nothing more.
package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/worker"
)

// Config is what a controller needs.
type Config struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Namespace string // the namespace whose Labs it reconciles
	// DialWorker opens a connection to a worker pod's API (ForwardTo: a
	// worker's API listens on the pod's loopback only, reached through
	// the API server as RBAC allows). Required.
	DialWorker func(ctx context.Context, pod *corev1.Pod) (net.Conn, error)
	Log        *slog.Logger
	// Resync is how often a Lab is looked at again while it is not Ready
	// (0: a second).
	Resync time.Duration
}

// Controller reconciles the Labs of a namespace.
type Controller struct {
	cfg   Config
	queue workqueue.TypedRateLimitingInterface[string]
	labs  cache.GenericLister
	pods  func() ([]*corev1.Pod, error)
	http  *http.Client
}

// Run reconciles until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Resync == 0 {
		cfg.Resync = time.Second
	}
	if cfg.DialWorker == nil {
		return errors.New("controller: no way to reach the workers (Config.DialWorker)")
	}
	c := &Controller{cfg: cfg, queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
	defer c.queue.ShutDown()
	c.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			// The host is the pod's name: see workerURL.
			host, _, _ := net.SplitHostPort(addr)
			pod, err := c.cfg.Client.CoreV1().Pods(cfg.Namespace).Get(ctx, host, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return cfg.DialWorker(ctx, pod)
		},
	}}
	defer c.http.CloseIdleConnections()
	labInf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(cfg.Dynamic, 0, cfg.Namespace, nil)
	labs := labInf.ForResource(kube.LabResource)
	c.labs = labs.Lister()
	podInf := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = kube.LabelLab }))
	pods := podInf.Core().V1().Pods()
	c.pods = func() ([]*corev1.Pod, error) { return pods.Lister().Pods(cfg.Namespace).List(labels.Everything()) }
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	labs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue})
	podOwner := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok && p.Labels[kube.LabelLab] != "" {
			c.queue.Add(p.Namespace + "/" + p.Labels[kube.LabelLab])
		}
	}
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: podOwner, UpdateFunc: func(_, o any) { podOwner(o) }, DeleteFunc: podOwner})
	labInf.Start(ctx.Done())
	podInf.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), labs.Informer().HasSynced, pods.Informer().HasSynced) {
		return fmt.Errorf("controller: the caches did not sync: %w", ctx.Err())
	}
	cfg.Log.Info("controller reconciling", "namespace", cfg.Namespace)
	go func() { <-ctx.Done(); c.queue.ShutDown() }()
	for {
		key, quit := c.queue.Get()
		if quit {
			return nil
		}
		next, err := c.reconcile(ctx, key)
		switch {
		case err != nil:
			cfg.Log.Error("reconcile", "lab", key, "error", err)
			c.queue.AddRateLimited(key)
		case next > 0:
			c.queue.Forget(key)
			c.queue.AddAfter(key, next)
		default:
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}

// reconcile brings one Lab a step closer to Ready and says when to look
// at it again (0: when something changes).
func (c *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	obj, err := c.labs.ByNamespace(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil // deleted: its pods go with it (owner references)
	}
	if err != nil {
		return 0, err
	}
	u := obj.(*unstructured.Unstructured)
	var lab kube.Lab
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &lab); err != nil {
		return 0, err
	}
	if lab.DeletionTimestamp != nil {
		return 0, nil
	}
	status, again, stepErr := c.step(ctx, &lab)
	if stepErr != nil {
		// Said in the status too, where the user looks; retried after a
		// pause that grows.
		status.Message = stepErr.Error()
	}
	status.ObservedGeneration = lab.Generation
	if !reflect.DeepEqual(status, lab.Status) {
		lab.Status = status
		out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&lab)
		if err != nil {
			return 0, err
		}
		if _, err := c.cfg.Dynamic.Resource(kube.LabResource).Namespace(ns).UpdateStatus(ctx, &unstructured.Unstructured{Object: out}, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				return c.cfg.Resync, nil // a newer Lab: the next pass reads it
			}
			return 0, fmt.Errorf("lab %s: write its status: %w", key, err)
		}
	}
	switch {
	case stepErr != nil:
		return 0, stepErr
	case again:
		return c.cfg.Resync, nil
	}
	// A Ready (or Failed) Lab is looked at again now and then: its
	// workers' health, a pod deletion a watch may have missed.
	return healthEvery, nil
}

// step works out the Lab's status, making and telling what is missing.
func (c *Controller) step(ctx context.Context, lab *kube.Lab) (kube.LabStatus, bool, error) {
	failed := func(msg string) (kube.LabStatus, bool, error) {
		return kube.LabStatus{Phase: kube.PhaseFailed, Message: msg}, false, nil
	}
	file := lab.Spec.TopologyFile
	if file == "" {
		file = lab.Name + ".yml"
	}
	// Resolved from what the machine it was deployed from read (its
	// variables and files), never from the controller's own.
	in := lab.Spec.Inputs
	if in == nil {
		in = &topology.Inputs{Dir: "/"}
	}
	plan, err := topology.ParseInputs(file, []byte(lab.Spec.Topology), in)
	if err != nil {
		return failed(err.Error())
	}
	// No more worker pods than nodes: an empty worker is a pod for nothing.
	// A node with its own image is a pod of its own, besides.
	shared := 0
	for _, n := range plan.Nodes {
		if !kube.OwnPod(n) {
			shared++
		}
	}
	p, err := placement.Place(plan, placement.Options{Workers: max(1, min(lab.Spec.Workers, shared)), Own: kube.OwnPod})
	if err != nil {
		return failed(err.Error())
	}
	want := make([]*corev1.Pod, p.Workers)
	for i := range want {
		if want[i], err = workerPod(lab, plan, p, i); err != nil {
			return failed(fmt.Sprintf("%s: %v", file, err))
		}
	}
	files := map[string][]byte{}
	for _, n := range plan.Nodes {
		if kube.OwnPod(n) {
			_, data, _ := bindFiles(lab, n) // its errors are workerPod's, above
			maps.Copy(files, data)
		}
	}
	if len(files) > 0 {
		var mounted []string
		if all, err := c.pods(); err == nil {
			for _, pod := range all {
				if pod.Labels[kube.LabelLab] != lab.Name || !metav1.IsControlledBy(pod, lab) {
					continue
				}
				for _, ct := range pod.Spec.Containers {
					for _, m := range ct.VolumeMounts {
						if m.Name == bindsVolume {
							mounted = append(mounted, m.SubPath)
						}
					}
				}
			}
		}
		if err := c.ensureFiles(ctx, lab, files, mounted); err != nil {
			return kube.LabStatus{Phase: kube.PhaseDeploying, Message: err.Error()}, false, err
		}
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return kube.LabStatus{}, false, err
	}
	st := kube.LabStatus{Phase: kube.PhaseDeploying, Nodes: len(plan.Nodes), Tunnels: len(p.Cut)}
	nodesOf := make([][]string, p.Workers)
	for i, w := range p.Worker {
		nodesOf[w] = append(nodesOf[w], plan.Nodes[i].Name)
	}

	// The worker pods: made when missing, removed beyond the count, and
	// made again when they run another image or belong to another Lab of
	// the name. A pod made for an earlier generation is kept: its worker
	// is told the new one and replaces its share in place.
	all, err := c.pods()
	if err != nil {
		return st, false, err
	}
	pods := make([]*corev1.Pod, p.Workers)
	for _, pod := range all {
		if pod.Labels[kube.LabelLab] != lab.Name {
			continue
		}
		i, err := strconv.Atoi(pod.Labels[kube.LabelWorker])
		// A pod of another Lab of the same name (deleted and applied
		// again), or made otherwise than the Lab now wants (another
		// image, another node of its own), is stale.
		ended := pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
		if err != nil || i < 0 || i >= p.Workers {
			if pod.DeletionTimestamp == nil {
				c.deletePod(ctx, pod)
			}
			continue
		}
		stale := !metav1.IsControlledBy(pod, lab) || pod.Annotations[annotationSpec] != want[i].Annotations[annotationSpec]
		ended = ended || sidecarRestarted(pod)
		if stale || ended {
			if pod.DeletionTimestamp == nil {
				c.deletePod(ctx, pod)
			}
			if ended && !stale {
				// Made again after a pause that grows (the queue's rate
				// limit): a worker that cannot start does not spin.
				return st, false, fmt.Errorf("worker pod %s ended (%s): making it again", pod.Name, ending(pod))
			}
			continue
		}
		if pod.DeletionTimestamp == nil {
			pods[i] = pod
		}
	}
	for i := range pods {
		st.Workers = append(st.Workers, kube.WorkerStatus{Name: workerName(lab.Name, i), Nodes: nodesOf[i]})
		if pods[i] == nil {
			if err := c.createPod(ctx, want[i]); err != nil && !apierrors.IsAlreadyExists(err) {
				return st, false, fmt.Errorf("worker pod %d: %w", i, err)
			}
		}
	}
	var peers []string
	for i, pod := range pods {
		if pod == nil || pod.Status.PodIP == "" || pod.Status.Phase != corev1.PodRunning {
			st.Message = "waiting for the worker pods to run"
			if why := waiting(pod, lab.Spec.Image); why != "" {
				st.Message = why
			}
			return st, true, nil
		}
		st.Workers[i].PodIP, st.Workers[i].KubeNode = pod.Status.PodIP, pod.Spec.NodeName
		peers = append(peers, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(kube.WirePort)))
	}

	// Each worker told its share, once; then asked how it is.
	ready := 0
	for i, pod := range pods {
		ws, err := c.workerState(ctx, pod)
		if err != nil {
			st.Message = fmt.Sprintf("worker %s: %v", pod.Name, err)
			return st, true, nil
		}
		// Told once per generation (a newer one replaces the share in
		// place); told again when a worker it tunnels to moved (a pod
		// made again has another address).
		if ws.Generation != lab.Generation || (ws.Ready && !slices.Equal(ws.Peers, peers)) {
			spec := worker.Spec{Generation: lab.Generation, Plan: planJSON, Placement: p.Worker, Index: i, Peers: peers, Run: lab.Spec.Run}
			if ws, err = c.tellWorker(ctx, pod, spec); err != nil {
				st.Message = fmt.Sprintf("worker %s: %v", pod.Name, err)
				return st, true, nil
			}
		}
		if ws.Error != "" {
			// Made again, after a pause that grows: what failed may not
			// fail twice (a deterministic failure is said each time).
			c.deletePod(ctx, pod)
			return st, false, fmt.Errorf("worker %s failed: %s; making it again", pod.Name, ws.Error)
		}
		if ws.Ready && ws.Generation == lab.Generation {
			st.Workers[i].Ready = true
			ready++
		}
	}
	if ready < len(pods) {
		st.Message = fmt.Sprintf("%d of %d workers ready", ready, len(pods))
		return st, true, nil
	}
	st.Phase, st.Message = kube.PhaseReady, ""
	return st, false, nil
}

// healthEvery is how often a Ready Lab's workers are asked how they are.
const healthEvery = 30 * time.Second

// ensureFiles makes, or brings up to date, the ConfigMap of the files
// the Lab's nodes bind (owned by the Lab, deleted with it): files, and of
// those it has, the keys its pods still mount; the others go.
func (c *Controller) ensureFiles(ctx context.Context, lab *kube.Lab, files map[string][]byte, mounted []string) error {
	yes := true
	cms := c.cfg.Client.CoreV1().ConfigMaps(lab.Namespace)
	cm, err := cms.Get(ctx, filesName(lab.Name), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: filesName(lab.Name), Namespace: lab.Namespace,
			Labels: map[string]string{kube.LabelLab: lab.Name, "app.kubernetes.io/part-of": "netlab"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind,
				Name: lab.Name, UID: lab.UID, Controller: &yes}}},
			BinaryData: files}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	case err != nil:
	case !metav1.IsControlledBy(cm, lab):
		if owner := metav1.GetControllerOf(cm); owner != nil && owner.Kind == kube.Kind && owner.Name == lab.Name {
			// An earlier Lab of the name's, not collected yet.
			err = cms.Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID}})
			if err == nil || apierrors.IsNotFound(err) {
				return fmt.Errorf("the Lab's files: an earlier Lab's ConfigMap %s was still there: removed, made again next", cm.Name)
			}
			break
		}
		return fmt.Errorf("ConfigMap %s is not this Lab's: delete it, or rename the lab", cm.Name)
	default:
		// The files the Lab wants now and those its pods still mount (a
		// pod of an earlier generation runs until it is made again).
		keep := maps.Clone(files)
		for _, k := range mounted {
			if b, ok := cm.BinaryData[k]; ok {
				keep[k] = b
			}
		}
		if !maps.EqualFunc(keep, cm.BinaryData, bytes.Equal) {
			cm.BinaryData = keep
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("the Lab's files (ConfigMap %s): %w", filesName(lab.Name), err)
	}
	return nil
}

// createPod makes a worker's pod.
func (c *Controller) createPod(ctx context.Context, pod *corev1.Pod) error {
	_, err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err == nil {
		c.cfg.Log.Info("worker pod made", "lab", pod.Labels[kube.LabelLab], "pod", pod.Name)
	}
	return err
}

func (c *Controller) deletePod(ctx context.Context, pod *corev1.Pod) {
	// This pod, not one made since under its name (the cache may lag).
	err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		c.cfg.Log.Error("delete a worker pod", "pod", pod.Name, "error", err)
	}
}

// workerURL names a worker's API by its pod's name; the transport dials
// the pod.
func workerURL(pod *corev1.Pod) string {
	return "http://" + net.JoinHostPort(pod.Name, strconv.Itoa(kube.AgentPort)) + "/v1/worker"
}

func (c *Controller) workerState(ctx context.Context, pod *corev1.Pod) (worker.State, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, workerURL(pod), nil)
	return c.do(req)
}

func (c *Controller) tellWorker(ctx context.Context, pod *corev1.Pod, spec worker.Spec) (worker.State, error) {
	body, err := json.Marshal(spec)
	if err != nil {
		return worker.State{}, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, workerURL(pod), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func (c *Controller) do(req *http.Request) (worker.State, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return worker.State{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = resp.Status + ": " + string(b[:min(len(b), 200)])
		}
		return worker.State{}, errors.New(e.Error)
	}
	var st worker.State
	if err := json.Unmarshal(b, &st); err != nil {
		return worker.State{}, err
	}
	return st, nil
}

// ForwardTo returns a DialWorker that reaches worker pods through the API
// server (a controller running outside the cluster, and tests).
func ForwardTo(f *kube.Forwarder) func(ctx context.Context, pod *corev1.Pod) (net.Conn, error) {
	return func(ctx context.Context, pod *corev1.Pod) (net.Conn, error) {
		return f.Dial(ctx, pod.Namespace, pod.Name, kube.AgentPort)
	}
}

// waiting says why a worker pod does not run yet, when a container of it
// waits for something a user must do (an image that is not there).
func waiting(pod *corev1.Pod, image string) string {
	if pod == nil {
		return ""
	}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
			if cs.Name == kube.NodeContainer {
				return fmt.Sprintf("worker pod %s: node %s's image %s is not on node %s (%s): import it into the node's container runtime (docker save IMAGE | ctr -n k8s.io images import -)",
					pod.Name, pod.Labels[kube.LabelNode], cs.Image, pod.Spec.NodeName, w.Reason)
			}
			return fmt.Sprintf("worker pod %s: image %s is not on node %s (%s): write it with `netlab k8s image` and import it into the node's container runtime (ctr -n k8s.io images import FILE)",
				pod.Name, image, pod.Spec.NodeName, w.Reason)
		case "CreateContainerError", "CreateContainerConfigError", "RunContainerError":
			return fmt.Sprintf("worker pod %s: container %s: %s: %s", pod.Name, cs.Name, w.Reason, w.Message)
		}
	}
	return ""
}

// sidecarRestarted reports whether the netlab sidecar of a node's own pod
// has restarted: the pod's uplink went with the one that ended, so the
// pod is made again.
func sidecarRestarted(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.InitContainerStatuses {
		if cs.Name == kube.WorkerContainer && cs.RestartCount > 0 {
			return true
		}
	}
	return false
}

// ending says how a pod's container ended.
func ending(pod *corev1.Pod) string {
	// The node's container first: its end is why the sidecar was stopped.
	for _, cs := range slices.Concat(pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses) {
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("container %s: exit %d, %s %s", cs.Name, t.ExitCode, t.Reason, t.Message)
		}
	}
	return string(pod.Status.Phase)
}
