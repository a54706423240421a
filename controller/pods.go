package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/topology"
)

// Annotations of a worker pod.
const (
	// annotationGeneration is the Lab generation a worker pod was made
	// for (it may run a later one since).
	annotationGeneration = "netlab.dev/generation"
	// annotationSpec is a hash of the pod's spec as the controller made
	// it: a pod whose spec the Lab now wants otherwise is made again.
	annotationSpec = "netlab.dev/pod-spec"
)

// readyFile is where a node's own worker says, for its sidecar's
// postStart hook, that the pod's namespace holds the node only.
const readyFile = "/run/netlab/ready"

// intfsEnv is the variable a user's image finds its number of lab
// interfaces in, as containerlab sets it.
const intfsEnv = "CLAB_INTFS"

func workerName(lab string, i int) string { return fmt.Sprintf("%s-worker-%d", lab, i) }

// workerPod is the pod of worker i: a worker of shared nodes is netlab's
// container alone; a worker of a node of its own (a container node with
// its own image) is the user's container, whose namespace is the node's,
// with netlab's beside it as a sidecar that starts first and runs the
// node's links.
func workerPod(lab *kube.Lab, plan *topology.Lab, p *placement.Placement, i int) (*corev1.Pod, error) {
	yes, zero := true, int64(0)
	netlab := corev1.Container{
		Name: kube.WorkerContainer, Image: lab.Spec.Image, ImagePullPolicy: corev1.PullIfNotPresent,
		Args: []string{"worker"},
		// A worker makes namespaces, veths and packet sockets for its
		// lab nodes.
		SecurityContext: &corev1.SecurityContext{Privileged: &yes},
		Ports: []corev1.ContainerPort{
			{Name: "api", ContainerPort: kube.AgentPort, Protocol: corev1.ProtocolTCP},
			{Name: "wire", ContainerPort: kube.WirePort, Protocol: corev1.ProtocolUDP},
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      workerName(lab.Name, i),
			Namespace: lab.Namespace,
			Labels:    map[string]string{kube.LabelLab: lab.Name, kube.LabelWorker: strconv.Itoa(i), "app.kubernetes.io/part-of": "netlab"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: kube.Group + "/" + kube.Version, Kind: kube.Kind,
				Name: lab.Name, UID: lab.UID, Controller: &yes}},
		},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			RestartPolicy:                 corev1.RestartPolicyNever,
		},
	}
	if i < p.Shared {
		pod.Spec.Containers = []corev1.Container{netlab}
	} else {
		var n *topology.Node
		for v, w := range p.Worker {
			if w == i {
				n = plan.Nodes[v]
			}
		}
		if n == nil {
			return nil, fmt.Errorf("worker %d runs no node", i)
		}
		node, err := nodeContainer(n)
		if err != nil {
			return nil, err
		}
		mounts, _, err := bindFiles(lab, n)
		if err != nil {
			return nil, err
		}
		if len(mounts) > 0 {
			node.VolumeMounts = mounts
			pod.Spec.Volumes = []corev1.Volume{{Name: bindsVolume, VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: filesName(lab.Name)}}}}}
		}
		pod.Labels[kube.LabelNode] = n.Name
		// A sidecar (an init container that keeps running): it moves the
		// pod's eth0 out before the user's container starts.
		always := corev1.ContainerRestartPolicyAlways
		netlab.RestartPolicy = &always
		netlab.Args = append(netlab.Args, "--node", n.Name, "--ready-file", readyFile)
		// The kubelet starts the user's container once the sidecar's
		// postStart hook has returned: when the worker has made the
		// ready file (a startup probe would add up to a second, its
		// period).
		netlab.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{kube.ImageBinaryPath, "worker", "ready", "--wait", "1m", readyFile}}}}
		pod.Spec.InitContainers = []corev1.Container{netlab}
		pod.Spec.Containers = []corev1.Container{node}
		if b := p.Beside[i-p.Shared]; b >= 0 {
			pod.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100,
					PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname",
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{kube.LabelLab: lab.Name, kube.LabelWorker: strconv.Itoa(b)}}}}},
			}}
		}
	}
	// The hash leaves out the affinity: a preference where to schedule,
	// which another node's placement may change, is no reason to make a
	// running pod again.
	hashed := pod.Spec
	hashed.Affinity = nil
	b, err := json.Marshal(hashed)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	pod.Annotations = map[string]string{annotationGeneration: strconv.FormatInt(lab.Generation, 10), annotationSpec: hex.EncodeToString(sum[:8])}
	return pod, nil
}

// bindsVolume is the volume of a node's own pod that holds the files its
// binds name.
const bindsVolume = "binds"

// filesName names the ConfigMap of a Lab's bound files.
func filesName(lab string) string { return lab + "-files" }

// bindFiles returns the mounts of a node's binds and the files they
// need, by ConfigMap key: each bind's source is a file of the machine the
// lab was deployed from, carried in the Lab's inputs, mounted read-only
// (a ConfigMap) at the bind's path. A key names the file's path and
// bytes, so that a pod whose files changed is made again.
func bindFiles(lab *kube.Lab, n *topology.Node) ([]corev1.VolumeMount, map[string][]byte, error) {
	var mounts []corev1.VolumeMount
	data := map[string][]byte{}
	for _, b := range n.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			return nil, nil, fmt.Errorf("node %s: bind %q", n.Name, b)
		}
		host, at := parts[0], parts[1]
		var content []byte
		ok := false
		if in := lab.Spec.Inputs; in != nil {
			content, ok = in.Files[host]
			if !ok && slices.Contains(in.Dirs, host) {
				return nil, nil, fmt.Errorf("node %s: binds: %s is a folder: on kubernetes a bind is a file (carried in a ConfigMap); bind its files one by one", n.Name, host)
			}
			if !ok && slices.Contains(in.Others, host) {
				return nil, nil, fmt.Errorf("node %s: binds: %s is not a regular file of at most 4 MiB: on kubernetes a bind is a file carried in a ConfigMap", n.Name, host)
			}
		}
		if !ok {
			return nil, nil, fmt.Errorf("node %s: binds: the Lab does not carry %s (a Lab deployed with netlab carries the files its topology names)", n.Name, host)
		}
		sum := sha256.Sum256(append([]byte(host+"\x00"), content...))
		key := "bind-" + hex.EncodeToString(sum[:10])
		data[key] = content
		mounts = append(mounts, corev1.VolumeMount{Name: bindsVolume, MountPath: at, SubPath: key, ReadOnly: true})
	}
	return mounts, data, nil
}

// nodeContainer is the container of a node with its own image, from the
// topology's container keys as the docker runtime reads them: entrypoint
// and cmd, env (and CLAB_INTFS), a numeric user, cap-add besides
// NET_ADMIN, memory and cpus as limits (binds: bindFiles).
func nodeContainer(n *topology.Node) (corev1.Container, error) {
	// Kubernetes expands $(NAME) in command, args and env values, as
	// docker does not: a $ is written $$ to stay a $.
	c := corev1.Container{
		Name: kube.NodeContainer, Image: n.Image, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: escapeAll(n.Entrypoint), Args: escapeAll(n.Cmd),
		// As containerlab does: a shell as the image's command stays up.
		Stdin: true,
	}
	env := maps.Clone(n.Env)
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env[intfsEnv]; !ok {
		env[intfsEnv] = strconv.Itoa(len(n.Interfaces))
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: escape(env[k])})
	}
	caps := []corev1.Capability{"NET_ADMIN"}
	for _, cp := range n.CapAdd {
		caps = append(caps, corev1.Capability(strings.TrimPrefix(strings.ToUpper(cp), "CAP_")))
	}
	c.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: caps}}
	if n.User != "" {
		uid, gid, hasGID := strings.Cut(n.User, ":")
		u, err := strconv.ParseInt(uid, 10, 64)
		if err != nil {
			return c, fmt.Errorf("node %s: user %q: on kubernetes a user is a number (uid or uid:gid): a pod cannot name a user of its image", n.Name, n.User)
		}
		c.SecurityContext.RunAsUser = &u
		if hasGID {
			g, err := strconv.ParseInt(gid, 10, 64)
			if err != nil {
				return c, fmt.Errorf("node %s: user %q: the group is a number on kubernetes", n.Name, n.User)
			}
			c.SecurityContext.RunAsGroup = &g
		}
	}
	if n.Memory > 0 || n.CPUs > 0 {
		c.Resources.Limits = corev1.ResourceList{}
		if n.Memory > 0 {
			c.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(n.Memory, resource.BinarySI)
		}
		if n.CPUs > 0 {
			c.Resources.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(n.CPUs*1000), resource.DecimalSI)
		}
	}
	return c, nil
}

// escape keeps Kubernetes from expanding $(NAME) in s.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escapeAll(ws []string) []string {
	if ws == nil {
		return nil
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = escape(w)
	}
	return out
}
