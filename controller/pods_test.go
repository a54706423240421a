package controller

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/topology"
)

const ownLab = `name: own
topology:
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    c1:
      kind: linux
      image: frr:9
      entrypoint: /usr/lib/frr/docker-start
      cmd: "--debug now"
      user: "100:101"
      env: {ROLE: edge, LITERAL: "$(HOME)"}
      cap-add: [SYS_ADMIN]
      memory: 256MB
      cpu: 0.5
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - endpoints: [r1:eth2, c1:eth1]
    - endpoints: [r1:eth3, c1:eth2]
`

func ownPlacement(t *testing.T, yml string) (*kube.Lab, *topology.Lab, *placement.Placement) {
	t.Helper()
	plan, err := topology.Parse("own.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := placement.Place(plan, placement.Options{Workers: 1, Own: func(n *topology.Node) bool { return n.Image != "" }})
	if err != nil {
		t.Fatal(err)
	}
	lab := &kube.Lab{ObjectMeta: metav1.ObjectMeta{Name: "own", Namespace: "labs", UID: "u1", Generation: 3},
		Spec: kube.LabSpec{Image: "netlab/netlab:1", Workers: 1}}
	return lab, plan, p
}

// TestWorkerPod: a shared worker's pod is netlab's container; a node's own
// pod is its image's container, from the topology's container keys, with
// netlab's as a sidecar that starts first (a postStart hook waiting for
// its ready file), next to the worker the node is linked to; the spec's hash
// changes with what the pod runs.
func TestWorkerPod(t *testing.T) {
	lab, plan, p := ownPlacement(t, ownLab)
	shared, err := workerPod(lab, plan, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(shared.Spec.Containers) != 1 || shared.Spec.Containers[0].Name != kube.WorkerContainer || len(shared.Spec.InitContainers) != 0 {
		t.Errorf("shared worker's pod: %+v", shared.Spec)
	}
	pod, err := workerPod(lab, plan, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name != "own-worker-1" || pod.Labels[kube.LabelNode] != "c1" || pod.Labels[kube.LabelWorker] != "1" {
		t.Errorf("c1's pod: name %s, labels %v", pod.Name, pod.Labels)
	}
	if len(pod.Spec.InitContainers) != 1 {
		t.Fatalf("c1's pod has %d init containers; want netlab's sidecar", len(pod.Spec.InitContainers))
	}
	side := pod.Spec.InitContainers[0]
	if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways || side.Lifecycle == nil || side.Lifecycle.PostStart == nil ||
		!slices.Equal(side.Args, []string{"worker", "--node", "c1", "--ready-file", readyFile}) || side.Image != "netlab/netlab:1" {
		t.Errorf("the sidecar: %+v", side)
	}
	c := pod.Spec.Containers[0]
	if c.Name != kube.NodeContainer || c.Image != "frr:9" || !slices.Equal(c.Command, []string{"/usr/lib/frr/docker-start"}) || !slices.Equal(c.Args, []string{"--debug", "now"}) {
		t.Errorf("c1's container: %+v", c)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["ROLE"] != "edge" || env["CLAB_INTFS"] != "2" || env["LITERAL"] != "$$(HOME)" {
		t.Errorf("c1's env %v; want ROLE, CLAB_INTFS=2, and $(HOME) kept from Kubernetes' expansion ($$(HOME))", env)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 100 || sc.RunAsGroup == nil || *sc.RunAsGroup != 101 ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "SYS_ADMIN"}) || sc.Privileged != nil {
		t.Errorf("c1's security context: %+v", sc)
	}
	if m, cpu := c.Resources.Limits.Memory(), c.Resources.Limits.Cpu(); m.Value() != 256<<20 || cpu.MilliValue() != 500 {
		t.Errorf("c1's limits: memory %v, cpu %v; want 256 MiB and 500m", m, cpu)
	}
	aff := pod.Spec.Affinity
	if aff == nil || aff.PodAffinity == nil || len(aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
		aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector.MatchLabels[kube.LabelWorker] != "0" {
		t.Errorf("c1's pod affinity: %+v; want beside worker 0", aff)
	}

	other := *lab
	other.Spec.Image = "netlab/netlab:2"
	again, _ := workerPod(lab, plan, p, 1)
	moved, _ := workerPod(&other, plan, p, 1)
	if again.Annotations[annotationSpec] != pod.Annotations[annotationSpec] || moved.Annotations[annotationSpec] == pod.Annotations[annotationSpec] {
		t.Errorf("spec hashes: %s, again %s, another image %s; want the same, then another", pod.Annotations[annotationSpec], again.Annotations[annotationSpec], moved.Annotations[annotationSpec])
	}

	// A bind: the file the Lab carries, mounted read-only from the Lab's
	// ConfigMap at the bind's path.
	conf := filepath.Join(t.TempDir(), "frr.conf")
	os.WriteFile(conf, []byte("hostname c1\n"), 0o644)
	lab, plan, p = ownPlacement(t, strings.Replace(ownLab, "      cpu: 0.5\n", "      cpu: 0.5\n      binds: ["+conf+":/etc/frr/frr.conf:ro]\n", 1))
	lab.Spec.Inputs = &topology.Inputs{Dir: "/", Files: map[string][]byte{conf: []byte("hostname c1\n")}}
	pod, err = workerPod(lab, plan, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	mounts := pod.Spec.Containers[0].VolumeMounts
	_, data, _ := bindFiles(lab, plan.Node("c1"))
	if len(mounts) != 1 || mounts[0].MountPath != "/etc/frr/frr.conf" || !mounts[0].ReadOnly || string(data[mounts[0].SubPath]) != "hostname c1\n" ||
		len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].ConfigMap == nil || pod.Spec.Volumes[0].ConfigMap.Name != "own-files" {
		t.Errorf("c1's bind: mounts %+v, volumes %+v, files %q", mounts, pod.Spec.Volumes, data)
	}
	lab.Spec.Inputs.Files[conf] = []byte("hostname c9\n")
	if again, _ := workerPod(lab, plan, p, 1); again.Annotations[annotationSpec] == pod.Annotations[annotationSpec] {
		t.Errorf("the bound file changed and the pod's spec did not")
	}
	delete(lab.Spec.Inputs.Files, conf)
	lab.Spec.Inputs.Dirs = []string{conf}
	if _, err := workerPod(lab, plan, p, 1); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("a bind of a folder: %v; want it refused", err)
	}

	for _, c := range []struct{ key, want string }{
		{`binds: ["/tmp:/data"]`, "does not carry"},
		{`user: frr`, "a number"},
	} {
		yml := strings.Replace(ownLab, "      cpu: 0.5\n", "      cpu: 0.5\n      "+c.key+"\n", 1)
		yml = strings.Replace(yml, `      user: "100:101"`+"\n", "", strings.Count(c.key, "user"))
		lab, plan, p := ownPlacement(t, yml)
		if _, err := workerPod(lab, plan, p, 1); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "c1") {
			t.Errorf("%s: %v; want an error naming c1 and saying %q", c.key, err, c.want)
		}
	}
}
