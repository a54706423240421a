// Package kubelab is a lab on a Kubernetes cluster as the CLI sees it:
// Deploy creates its Lab resource (the controller makes and wires the
// worker pods) and waits until the status says Ready, recording the lab
// on this machine as package deploy records its own (a hosted lab), so
// that every verb finds it by -t; Conn reaches the node agents and
// fetches the run's files through the API server; Inspect says what
// runs; Destroy fetches the run's files, deletes the Lab and waits until
// its pods are gone.
package kubelab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/topology"
)

// Runtime is the runtime name of labs on a cluster, in the registry and
// the State.
const Runtime = "kubernetes"

// DefaultTimeout bounds how long Deploy waits for the Lab to be Ready.
const DefaultTimeout = 5 * time.Minute

// noControllerAfter is how long Deploy waits for a controller to take up
// a new Lab before it says none seems to run.
const noControllerAfter = 30 * time.Second

// Options configures Deploy.
type Options struct {
	// Lab is the plan, loaded from Text (the topology file's bytes,
	// which the controller resolves again with the same parser).
	Lab  *topology.Lab
	Text []byte
	// Inputs are what resolving Text read besides it (topology.LoadInputs):
	// the Lab carries them, and the controller resolves Text from them.
	Inputs *topology.Inputs
	// Kubeconfig is the kubeconfig file ("" for kubectl's default).
	Kubeconfig string
	// Namespace is where netlab is installed (netlab k8s manifests).
	Namespace string
	// Workers is how many worker pods share the nodes (at least 1).
	Workers int
	// Image is the worker pods' image, loaded on the cluster's nodes.
	Image string
	// Timeout bounds the wait for Ready; 0 means DefaultTimeout.
	Timeout time.Duration
	// Reconfigure replaces the lab if it runs (here, or as a Lab of the
	// namespace), instead of failing.
	Reconfigure bool
	// RunDir, NoWait, Notice and MaxRunBytes are as in deploy.Options.
	RunDir      string
	NoWait      bool
	Notice      func(msg string)
	MaxRunBytes int64
	// Progress, if not nil, is told of each change of the Lab's status.
	Progress deploy.ProgressFunc
	// AllowExec lets the nodes' exec: commands run once the lab is Ready
	// (in each node's namespace in its worker pod); without it a lab
	// with any is refused, as deploy.Options.AllowExec.
	AllowExec bool
}

// clients are the clients of one cluster.
type clients struct {
	cfg    *rest.Config
	core   kubernetes.Interface
	dyn    dynamic.Interface
	labs   dynamic.ResourceInterface
	ns     string
	config string // the kubeconfig file, as recorded
}

func connect(kubeconfig, namespace string) (*clients, error) {
	cfg, err := kube.Config(kubeconfig)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &clients{cfg: cfg, core: core, dyn: dyn, labs: dyn.Resource(kube.LabResource).Namespace(namespace), ns: namespace, config: kubeconfig}, nil
}

// resolveKubeconfig returns the kubeconfig file to use and record, ""
// for kubectl's default: the file named (made absolute: later commands
// may run elsewhere), else $KUBECONFIG when it names one file (a list is
// left to the default, which merges it), else, under sudo when root has
// no ~/.kube/config, the invoking user's: netlab runs as root, the
// cluster is the user's.
func resolveKubeconfig(flag string) string {
	if flag != "" {
		if abs, err := filepath.Abs(flag); err == nil {
			return abs
		}
		return flag
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		if strings.ContainsRune(env, os.PathListSeparator) {
			return ""
		}
		return env
	}
	sudoer := os.Getenv("SUDO_USER")
	if sudoer == "" || os.Geteuid() != 0 {
		return ""
	}
	if home, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(home, ".kube", "config")); err == nil {
			return ""
		}
	}
	u, err := user.Lookup(sudoer)
	if err != nil {
		return ""
	}
	if p := filepath.Join(u.HomeDir, ".kube", "config"); fileExists(p) {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// maxWorkerSuffix is the longest suffix a worker pod's name adds to the
// lab's ("-worker-" and up to three digits).
const maxWorkerSuffix = len("-worker-999")

// CheckName fails, saying what is allowed, when the lab's name cannot
// name its Lab resource and worker pods.
func CheckName(lab *topology.Lab) error {
	errs := validation.IsDNS1123Label(lab.Name)
	if len(errs) == 0 && len(lab.Name)+maxWorkerSuffix <= validation.DNS1123LabelMaxLength {
		return nil
	}
	return fmt.Errorf("%s: lab name %q cannot name Kubernetes objects: on a cluster a lab's name is lower-case letters, digits and '-', "+
		"starting and ending with a letter or digit, at most %d characters; rename it (name:) to deploy it there",
		lab.File, lab.Name, validation.DNS1123LabelMaxLength-maxWorkerSuffix)
}

// Deploy deploys o.Lab on the cluster and returns its state once the
// Lab's status says Ready. If anything fails, or ctx is cancelled, the Lab
// is deleted again and the lab's record on this machine removed.
func Deploy(ctx context.Context, o Options) (*deploy.State, error) {
	lab := o.Lab
	if err := CheckName(lab); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("netlab keeps its registry of running labs in a directory only root writes, also for labs on a cluster: run it with sudo")
	}
	if o.Workers < 0 {
		return nil, fmt.Errorf("deploy %s: --workers %d: a lab needs at least one worker pod (0: one per ready cluster node)", lab.Name, o.Workers)
	}
	// Nodes with their own image have a pod each; the others share the
	// worker pods.
	shared := 0
	for _, n := range lab.Nodes {
		if !kube.OwnPod(n) {
			shared++
		}
	}
	if o.Workers > max(shared, 1) {
		return nil, fmt.Errorf("deploy %s: --workers %d: the lab has %d nodes that share worker pods (a node with its own image has a pod of its own), and a worker pod runs one at least",
			lab.Name, o.Workers, shared)
	}
	if o.Image == "" || o.Namespace == "" {
		return nil, fmt.Errorf("deploy %s: a lab on a cluster needs its namespace and image", lab.Name)
	}
	if err := checkInputs(lab, o.Inputs, o.Notice); err != nil {
		return nil, err
	}
	o.Kubeconfig = resolveKubeconfig(o.Kubeconfig)
	cs, err := connect(o.Kubeconfig, o.Namespace)
	if err != nil {
		return nil, err
	}
	if err := cs.checkInstalled(ctx); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	if o.Workers == 0 {
		o.Workers = max(1, min(cs.readyNodes(ctx, o.Notice), shared))
	}
	if cmds := deploy.ExecCommands(lab); len(cmds) > 0 && !o.AllowExec {
		return nil, fmt.Errorf("deploy %s: %w: node %s has exec: commands", lab.Name, deploy.ErrExecNotAllowed, cmds[0].Node)
	}
	// With --reconfigure, a Lab of the name in the namespace is updated in
	// place (its worker pods stay and replace their shares); the lab's
	// record here ends first, its run's files fetched. Whether the update
	// may be made is asked first (a dry run), so that a user who may not
	// is told before anything changes.
	var inPlace *kube.Lab
	if o.Reconfigure {
		if l, err := cs.getLab(ctx, lab.Name); err == nil && l.DeletionTimestamp == nil {
			l.Spec = cs.spec(o, "dry-run")
			if u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&l); err == nil {
				if _, err := cs.labs.Update(ctx, &unstructured.Unstructured{Object: u}, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil && !apierrors.IsConflict(err) {
					return nil, fmt.Errorf("deploy %s: reconfigure: update its Lab: %w", lab.Name, err)
				}
			}
		}
		same := func(c *deploy.ClusterState) bool {
			return c.Kubeconfig == cs.config && c.Namespace == cs.ns && c.Resource == lab.Name
		}
		err := end(ctx, DestroyOptions{LabName: lab.Name, RunDir: o.RunDir, NoWait: o.NoWait, Notice: o.Notice}, same)
		if err != nil && !errors.Is(err, deploy.ErrNotRunning) {
			return nil, fmt.Errorf("deploy %s: reconfigure: %w", lab.Name, err)
		}
		l, err := cs.getLab(ctx, lab.Name)
		switch {
		case err == nil && l.DeletionTimestamp == nil:
			inPlace = &l
		case err == nil:
			// Being deleted: gone before it is made again.
			if err := cs.deleteLab(ctx, lab.Name); err != nil {
				return nil, fmt.Errorf("deploy %s: reconfigure: %w", lab.Name, err)
			}
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("deploy %s: reconfigure: %w", lab.Name, err)
		}
	} else if _, err := cs.labs.Get(ctx, lab.Name, metav1.GetOptions{}); err == nil {
		return nil, fmt.Errorf("deploy %s: %w: namespace %s already has a Lab %s (deployed from another machine, or left by a crash): "+
			"redeploy with --reconfigure to replace it, or delete it (kubectl -n %s delete labs.%s %s)",
			lab.Name, deploy.ErrRunning, o.Namespace, lab.Name, o.Namespace, kube.Group, lab.Name)
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}

	h, err := deploy.StartHosted(ctx, deploy.HostedOptions{Lab: lab, Runtime: Runtime, RunDir: o.RunDir, NoWait: o.NoWait,
		Notice: o.Notice, MaxRunBytes: o.MaxRunBytes})
	if err != nil {
		return nil, err
	}
	st, err := cs.deploy(ctx, o, h, inPlace)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		rerr := cs.deleteLab(rctx, lab.Name)
		if rerr == nil {
			rerr = h.Abort()
		}
		if rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("roll back: %w (run `netlab destroy -t %s`)", rerr, lab.File))
		}
		return nil, err
	}
	if err := h.Done(st); err != nil {
		return nil, err
	}
	runExec(ctx, o, st, h.Run())
	return st, nil
}

// maxInputBytes bounds the files a Lab carries (a Kubernetes object, and
// the ConfigMap of the files its nodes bind, hold about a megabyte).
const maxInputBytes = 512 << 10

// checkInputs fails, saying why, when the files the topology names cannot
// go with its Lab: too many bytes, or a bind of a folder on a node of its
// own image (a bind is a file of a ConfigMap there); it notices binds that
// will be read-only.
func checkInputs(lab *topology.Lab, in *topology.Inputs, tell func(string)) error {
	if in == nil {
		return nil
	}
	total := 0
	for _, b := range in.Files {
		total += len(b)
	}
	if total > maxInputBytes {
		return fmt.Errorf("%s: the files the topology names (env-files, binds' sources) are %d KiB; a lab on a cluster carries at most %d KiB of them in its Lab",
			lab.File, total>>10, maxInputBytes>>10)
	}
	for _, n := range lab.Nodes {
		if !kube.OwnPod(n) {
			continue
		}
		for _, b := range n.Binds {
			parts := strings.Split(b, ":")
			if slices.Contains(in.Dirs, parts[0]) {
				return fmt.Errorf("%s: node %s: binds: %s is a folder: on kubernetes a bind is a file (carried in a ConfigMap); bind its files one by one",
					lab.File, n.Name, parts[0])
			}
			if slices.Contains(in.Others, parts[0]) {
				return fmt.Errorf("%s: node %s: binds: %s is not a regular file of at most 4 MiB: on kubernetes a bind is a file carried in a ConfigMap",
					lab.File, n.Name, parts[0])
			}
			if len(parts) < 3 || parts[2] != "ro" {
				notice(tell, "warning: node %s: bind %s is read-only on kubernetes (a file of a ConfigMap)", n.Name, parts[1])
			}
		}
	}
	return nil
}

// runExec runs the nodes' exec: commands, each with sh -c in the node's
// namespace in its worker pod, logging them and what they print to the
// node's log of the run; one that fails is noticed, as on one machine.
func runExec(ctx context.Context, o Options, st *deploy.State, run labdir.Run) {
	if len(deploy.ExecCommands(o.Lab)) == 0 {
		return
	}
	c, err := Connect(st.Cluster)
	if err != nil {
		notice(o.Notice, "warning: exec: commands not run: %v", err)
		return
	}
	defer c.Close()
	pods := map[string]string{}
	for _, n := range st.Nodes {
		pods[n.Name] = n.Pod
	}
	for _, pn := range o.Lab.Nodes {
		if len(pn.Exec) == 0 {
			continue
		}
		logPath := run.Log(pn.Name)
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
			notice(o.Notice, "warning: node %s: exec: %v", pn.Name, err)
			continue
		}
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			notice(o.Notice, "warning: node %s: exec: %v", pn.Name, err)
			continue
		}
		env := []string{"env"}
		for _, k := range slices.Sorted(maps.Keys(pn.Env)) {
			env = append(env, k+"="+pn.Env[k])
		}
		for _, line := range pn.Exec {
			fmt.Fprintf(logf, "$ %s\n", line)
			code, err := c.Exec(ctx, pn.Name, pods[pn.Name], append(slices.Clone(env), "sh", "-c", line), nil, logf, logf)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit status %d", code)
			}
			if err != nil {
				fmt.Fprintf(logf, "# %v\n", err)
				notice(o.Notice, "warning: node %s: exec %q: %v (see %s)", pn.Name, line, err, logPath)
			}
		}
		logf.Close()
	}
}

func notice(f func(string), format string, args ...any) {
	if f != nil {
		f(fmt.Sprintf(format, args...))
	}
}

// readyNodes counts the cluster's nodes that take pods, 1 when it may not
// list them (said to notice).
func (cs *clients) readyNodes(ctx context.Context, notice func(string)) int {
	nodes, err := cs.core.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		if notice != nil {
			notice(fmt.Sprintf("one worker pod: the cluster's nodes cannot be listed (%v); say how many with --workers", err))
		}
		return 1
	}
	n := 0
	for _, node := range nodes.Items {
		if node.Spec.Unschedulable {
			continue
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return max(n, 1)
}

// checkInstalled fails, saying what to do, when the cluster has no Lab
// resource or the namespace does not exist.
func (cs *clients) checkInstalled(ctx context.Context) error {
	_, err := cs.labs.List(ctx, metav1.ListOptions{Limit: 1})
	if err == nil {
		_, err = cs.core.CoreV1().Namespaces().Get(ctx, cs.ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("the cluster has no namespace %s: install netlab there with `netlab k8s manifests -n %s | kubectl apply -f -`, or name another with --namespace", cs.ns, cs.ns)
		}
		if err != nil && !apierrors.IsForbidden(err) {
			return err
		}
		return nil
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the cluster has no Lab resource (%s.%s): install netlab there with `netlab k8s manifests -n %s | kubectl apply -f -`",
			kube.Resource, kube.Group, cs.ns)
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("you may not list Labs in namespace %s: ask the cluster's admin for a Role that creates, reads, updates and deletes labs.%s there, and pods/portforward (%w)",
			cs.ns, kube.Group, err)
	}
	return fmt.Errorf("reach the cluster: %w", err)
}

// deploy creates the Lab, or updates inPlace (the Lab of the name, read
// just before), and waits until it is Ready.
func (cs *clients) deploy(ctx context.Context, o Options, h *deploy.Hosted, inPlace *kube.Lab) (*deploy.State, error) {
	lab := o.Lab
	spec := cs.spec(o, h.Run().ID)
	var generation int64
	var sent *unstructured.Unstructured // the Lab as the API server kept it
	if inPlace != nil {
		// The controller writes the Lab's status meanwhile: read it again
		// on a conflict.
		l := *inPlace
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			l.Spec = spec
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&l)
			if err != nil {
				return err
			}
			updated, err := cs.labs.Update(ctx, &unstructured.Unstructured{Object: u}, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) {
				if l, err = cs.getLab(ctx, lab.Name); err == nil {
					err = apierrors.NewConflict(kube.LabResource.GroupResource(), lab.Name, errors.New("changed meanwhile"))
				}
				return err
			}
			if err == nil {
				generation, sent = updated.GetGeneration(), updated
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("deploy %s: update its Lab: %w", lab.Name, err)
		}
	} else {
		obj := &kube.Lab{
			TypeMeta: metav1.TypeMeta{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind},
			ObjectMeta: metav1.ObjectMeta{Name: lab.Name, Namespace: o.Namespace,
				Labels: map[string]string{"app.kubernetes.io/part-of": "netlab"}},
			Spec: spec,
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		created, err := cs.labs.Create(ctx, &unstructured.Unstructured{Object: u}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("deploy %s: create its Lab: %w", lab.Name, err)
		}
		generation, sent = created.GetGeneration(), created
	}
	// A Lab resource of an older netlab drops what it does not know.
	if run, _, _ := unstructured.NestedString(sent.Object, "spec", "run"); run != spec.Run {
		return nil, fmt.Errorf("deploy %s: the cluster's Lab resource is older than this netlab (it dropped spec.run): apply `netlab k8s manifests -n %s` again",
			lab.Name, o.Namespace)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, err := cs.waitReady(wctx, lab.Name, generation, o.Progress)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("not Ready within %v (--timeout): %s", timeout, describe(status))
		}
		return nil, fmt.Errorf("deploy %s: %w", lab.Name, err)
	}
	st := h.State(deploy.StatusRunning)
	st.Cluster = &deploy.ClusterState{Kubeconfig: o.Kubeconfig, Namespace: o.Namespace, Resource: lab.Name, Workers: o.Workers}
	setNodes(st, status)
	return st, nil
}

// spec is the Lab's spec for o, its run named run.
func (cs *clients) spec(o Options, run string) kube.LabSpec {
	return kube.LabSpec{Topology: string(o.Text), TopologyFile: filepath.Base(o.Lab.File), Workers: o.Workers, Image: o.Image, Run: run, Inputs: o.Inputs}
}

// getLab reads the Lab name; its error is the API server's (test it with
// apierrors.IsNotFound).
func (cs *clients) getLab(ctx context.Context, name string) (kube.Lab, error) {
	var l kube.Lab
	u, err := cs.labs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return l, err
	}
	return l, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &l)
}

// readyWorkers counts the worker pods the status says are ready.
func readyWorkers(s kube.LabStatus) int {
	n := 0
	for _, w := range s.Workers {
		if w.Ready {
			n++
		}
	}
	return n
}

// describe says where a Lab's deploy stands.
func describe(s kube.LabStatus) string {
	if s.Phase == "" {
		return "no controller has taken it up"
	}
	msg := fmt.Sprintf("%s, %d of %d worker pods ready", s.Phase, readyWorkers(s), len(s.Workers))
	if s.Message != "" {
		msg += ": " + s.Message
	}
	return msg
}

// waitReady polls the Lab until its status, for generation, says Ready
// (returned) or Failed (an error with its message). It tells progress of
// each change; after noControllerAfter without a status it says that no
// controller seems to run.
func (cs *clients) waitReady(ctx context.Context, name string, generation int64, progress deploy.ProgressFunc) (kube.LabStatus, error) {
	start := time.Now()
	last := ""
	var status kube.LabStatus
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		l, err := cs.getLab(ctx, name)
		if apierrors.IsNotFound(err) {
			return status, fmt.Errorf("its Lab was deleted while it deployed")
		}
		if err != nil && ctx.Err() == nil {
			return status, fmt.Errorf("its Lab: %w", err)
		}
		if err == nil {
			if l.Status.ObservedGeneration == generation {
				status = l.Status
			}
			switch status.Phase {
			case kube.PhaseReady:
				return status, nil
			case kube.PhaseFailed:
				return status, errors.New(status.Message)
			}
			if status.Phase == "" && time.Since(start) > noControllerAfter {
				return status, fmt.Errorf("no controller has taken up its Lab in %v: %s", noControllerAfter, cs.controllerTrouble(ctx))
			}
			if d := describe(status); d != last && progress != nil {
				last = d
				progress(readyWorkers(status), max(len(status.Workers), 1)+1, d)
			}
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-tick.C:
		}
	}
}

// controllerTrouble says what is wrong with the controller of the
// namespace, as far as its pods tell, and what to do.
func (cs *clients) controllerTrouble(ctx context.Context) string {
	install := fmt.Sprintf("install it with `netlab k8s manifests -n %s | kubectl apply -f -`", cs.ns)
	pods, err := cs.core.CoreV1().Pods(cs.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + kube.ControllerName})
	if err != nil {
		return fmt.Sprintf("is netlab's controller running in namespace %s? (kubectl -n %s get deployment %s; %s)", cs.ns, cs.ns, kube.ControllerName, install)
	}
	if len(pods.Items) == 0 {
		return fmt.Sprintf("no pod of netlab's controller is in namespace %s: %s", cs.ns, install)
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				msg := fmt.Sprintf("the controller's pod %s does not run (%s", p.Name, w.Reason)
				if t := c.LastTerminationState.Terminated; t != nil && t.Message != "" {
					msg += ": " + strings.TrimSpace(t.Message)
				}
				return msg + fmt.Sprintf("): see kubectl -n %s logs %s; its image is %s, made with `netlab k8s image` from a netlab built with CGO_ENABLED=0", cs.ns, p.Name, c.Image)
			}
		}
	}
	return fmt.Sprintf("the controller's pod %s runs but has not answered: see kubectl -n %s logs %s", pods.Items[0].Name, cs.ns, pods.Items[0].Name)
}

// setNodes records each node's worker pod and whether it runs, from the
// Lab's status.
func setNodes(st *deploy.State, status kube.LabStatus) {
	pod, kubeNode, ready := map[string]string{}, map[string]string{}, map[string]bool{}
	for _, w := range status.Workers {
		for _, n := range w.Nodes {
			pod[n], kubeNode[n], ready[n] = w.Name, w.KubeNode, w.Ready
		}
	}
	for i := range st.Nodes {
		n := &st.Nodes[i]
		n.Pod, n.KubeNode = pod[n.Name], kubeNode[n.Name]
		n.Alive, n.Agent, n.Reason = ready[n.Name], deploy.AgentUp, ""
		switch {
		case n.Pod == "":
			n.Alive, n.Agent, n.Reason = false, deploy.AgentDown, "no worker pod runs it"
		case !n.Alive:
			n.Agent, n.Reason = deploy.AgentDown, fmt.Sprintf("its worker pod %s is not ready: %s", n.Pod, describe(status))
		}
	}
}

// deleteLab deletes the Lab name (none is no error) and waits until its
// worker pods are gone.
func (cs *clients) deleteLab(ctx context.Context, name string) error {
	fg := metav1.DeletePropagationForeground
	err := cs.labs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete its Lab: %w", err)
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		_, lerr := cs.labs.Get(ctx, name, metav1.GetOptions{})
		pods, perr := cs.core.CoreV1().Pods(cs.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelLab + "=" + name})
		if perr != nil && ctx.Err() == nil {
			return fmt.Errorf("list its pods: %w", perr)
		}
		if apierrors.IsNotFound(lerr) && perr == nil && len(pods.Items) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			left := []string{}
			if pods != nil {
				for _, p := range pods.Items {
					left = append(left, p.Name)
				}
			}
			return fmt.Errorf("its Lab and pods (%s) not gone: %w", strings.Join(left, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}

// DestroyOptions configures Destroy.
type DestroyOptions struct {
	// LabName is the lab.
	LabName string
	// RunDir, NoWait, Cleanup and Notice are as in deploy.DestroyOptions.
	RunDir  string
	NoWait  bool
	Cleanup bool
	Notice  func(msg string)
	// Forget removes the lab's record here without reaching its cluster
	// (gone for good): its Lab, if any is left, stays there.
	Forget bool
}

// Destroy fetches the lab's run files from its worker pods (what cannot be
// fetched is noticed, not fatal), deletes its Lab, waits until its pods
// are gone, and removes the lab's record here. A lab not running is an
// error wrapping deploy.ErrNotRunning.
func Destroy(ctx context.Context, o DestroyOptions) error {
	return end(ctx, o, nil)
}

// end ends the lab's record here as Destroy does, but keeps its Lab when
// keep says so of where it runs (a redeploy updates it in place).
func end(ctx context.Context, o DestroyOptions, keep func(*deploy.ClusterState) bool) error {
	return deploy.EndHosted(ctx, deploy.EndHostedOptions{LabName: o.LabName, RunDir: o.RunDir, NoWait: o.NoWait, Cleanup: o.Cleanup, Notice: o.Notice,
		Remove: func(ctx context.Context, st *deploy.State, run labdir.Run) (err error) {
			if o.Forget {
				if st != nil && st.Cluster != nil {
					notice(o.Notice, "lab %s forgotten here; if its cluster comes back, delete its Lab there: kubectl -n %s delete labs.%s %s",
						o.LabName, st.Cluster.Namespace, kube.Group, st.Cluster.Resource)
				}
				return nil
			}
			defer func() {
				if err != nil {
					err = fmt.Errorf("%w (when its cluster is gone for good, `netlab destroy --name %s --forget` removes the lab's record here)", err, o.LabName)
				}
			}()
			if st == nil || st.Cluster == nil {
				return fmt.Errorf("its state does not say where on a cluster it runs: delete its Lab yourself (kubectl delete labs.%s %s -n NAMESPACE), then destroy it with --runtime netns",
					kube.Group, o.LabName)
			}
			c, err := Connect(st.Cluster)
			if err != nil {
				return err
			}
			defer c.Close()
			if run.ID != "" && !o.Cleanup {
				if err := c.Collect(ctx, st, run); err != nil && o.Notice != nil {
					o.Notice(fmt.Sprintf("lab %s: not every file of the run could be fetched from its pods: %v", o.LabName, err))
				}
			}
			if keep != nil && keep(st.Cluster) {
				return nil
			}
			dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			return c.cs.deleteLab(dctx, st.Cluster.Resource)
		}})
}
