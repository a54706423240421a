package kube

import (
	"bytes"
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/netlab/netlab/topology"
)

// The Lab resource: a lab deployed on a cluster, reconciled by
// `netlab controller`.
const (
	Group    = "netlab.dev"
	Version  = "v1alpha1"
	Kind     = "Lab"
	Resource = "labs"
)

// LabResource is the Lab's group, version and resource, for the dynamic
// client.
var LabResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// Lab is a lab on a cluster.
type Lab struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              LabSpec   `json:"spec"`
	Status            LabStatus `json:"status,omitempty"`
}

// LabSpec is what the user asked for.
type LabSpec struct {
	// Topology is the topology file's text: the controller resolves it
	// with the same parser as the CLI.
	Topology string `json:"topology"`
	// TopologyFile is the file's name, for the positions in messages.
	TopologyFile string `json:"topologyFile,omitempty"`
	// Workers is how many worker pods share the lab's nodes.
	Workers int `json:"workers"`
	// Image is the worker pods' image (netlab's static binary).
	Image string `json:"image"`
	// Run names the deploy's run on the machine that deployed the lab
	// (netlab's run id): each deploy's is new, so a redeploy with
	// --reconfigure is a new generation even when nothing else changed.
	Run string `json:"run,omitempty"`
	// Inputs are what resolving the topology read besides its text where
	// it was deployed from (its folder, ${NAME} variables, the files it
	// names: env-files, binds' sources), so that the controller resolves
	// it to the same plan; absent (a Lab applied by hand), the topology
	// must name none.
	Inputs *topology.Inputs `json:"inputs,omitempty"`
}

// The phases of a Lab.
const (
	PhasePending   = "Pending"   // nothing made yet
	PhaseDeploying = "Deploying" // worker pods being made and wired
	PhaseReady     = "Ready"     // every worker runs its nodes
	PhaseFailed    = "Failed"    // see Message
)

// LabStatus is what the controller found and did.
type LabStatus struct {
	Phase string `json:"phase,omitempty"`
	// ObservedGeneration is the spec's generation the status is about.
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
	Message            string `json:"message,omitempty"`
	// Nodes and Tunnels count the lab's nodes and the links between
	// workers; Workers are the worker pods, each with its lab nodes.
	Nodes   int            `json:"nodes,omitempty"`
	Tunnels int            `json:"tunnels,omitempty"`
	Workers []WorkerStatus `json:"workers,omitempty"`
}

// WorkerStatus is one worker pod.
type WorkerStatus struct {
	Name string `json:"name"` // the pod's name
	// PodIP is where the other workers' tunnels reach it; KubeNode is the
	// Kubernetes node it runs on.
	PodIP    string   `json:"podIP,omitempty"`
	KubeNode string   `json:"kubeNode,omitempty"`
	Ready    bool     `json:"ready"`
	Nodes    []string `json:"nodes,omitempty"` // the lab nodes it runs
}

// Labels of a worker pod.
const (
	LabelLab    = "netlab-lab"    // the Lab's name
	LabelWorker = "netlab-worker" // the worker's index
	LabelNode   = "netlab-node"   // a node's own pod: the node's name
)

// Names of what the manifests make.
const (
	ControllerName = "netlab-controller" // its Deployment, ServiceAccount, Role and RoleBinding
	// AgentPort is the worker pods' API port (their share, then their
	// agent's API), on the pod's loopback: reached through port-forward
	// only, by the CLI and the controller.
	AgentPort = 7390
	// WirePort is the worker pods' UDP port for the tunnels between them.
	WirePort = 4790
	// UserRole is the Role the manifests give a namespace's users to
	// bind: what the CLI needs there.
	UserRole = "netlab-user"
	// WorkerContainer is the worker pods' container (in a node's own
	// pod, its sidecar).
	WorkerContainer = "worker"
	// NodeContainer is, in a node's own pod, the container of its image.
	NodeContainer = "node"
)

// OwnPod reports whether a lab node runs in a pod of its own on a cluster
// (its own image: its container is the node) rather than in a worker pod
// with others.
func OwnPod(n *topology.Node) bool { return n.Image != "" }

// ManifestOptions says where the manifests install netlab.
type ManifestOptions struct {
	Namespace string // the labs' namespace
	Image     string // netlab's image, for the controller and the workers
}

// Manifests returns the YAML documents a cluster admin reviews and
// applies to run labs in o.Namespace: the Lab CRD (cluster-wide), the
// namespace, the controller's ServiceAccount, its Role (in that namespace only) and
// RoleBinding, the Role its users are bound to (UserRole), and the
// controller's Deployment.
func Manifests(o ManifestOptions) ([]byte, error) {
	if o.Namespace == "" || o.Image == "" {
		return nil, fmt.Errorf("manifests need a namespace and an image")
	}
	labels := map[string]string{"app.kubernetes.io/name": ControllerName, "app.kubernetes.io/part-of": "netlab"}
	meta := metav1.ObjectMeta{Name: ControllerName, Namespace: o.Namespace, Labels: labels}
	one := int32(1)
	docs := []any{
		crd(),
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}},
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: meta,
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{Group}, Resources: []string{Resource}, Verbs: []string{"get", "list", "watch", "update", "patch"}},
				{APIGroups: []string{Group}, Resources: []string{Resource + "/status"}, Verbs: []string{"get", "update", "patch"}},
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
				// A Lab's files its nodes bind (the topology's binds).
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update"}},
				// The workers' API listens on their pods' loopback only.
				{APIGroups: []string{""}, Resources: []string{"pods/portforward"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
			},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta,
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: ControllerName, Namespace: o.Namespace}},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: ControllerName},
		},
		// What a user of the namespace needs, for the admin to bind:
		// deploy, redeploy (update), inspect and destroy Labs, reach the
		// workers' agents, exec in their nodes.
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: metav1.ObjectMeta{Name: UserRole, Namespace: o.Namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "netlab"}},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{Group}, Resources: []string{Resource}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{""}, Resources: []string{"pods/portforward", "pods/exec"}, Verbs: []string{"create"}},
			},
		},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: ControllerName,
						Containers: []corev1.Container{{
							Name: "controller", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent,
							Args: []string{"controller", "--namespace", o.Namespace},
						}},
					},
				},
			},
		},
	}
	var out bytes.Buffer
	for _, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(cleanYAML(b))
	}
	return out.Bytes(), nil
}

// cleanYAML drops the empty "creationTimestamp: null" and "status: {}"
// lines typed objects marshal to: a manifest says what it sets.
func cleanYAML(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		// A typed object's empty status is at the top; the CRD's own
		// "subresources: status: {}" is indented and stays.
		if bytes.Equal(t, []byte("creationTimestamp: null")) || bytes.Equal(bytes.TrimRight(line, "\n"), []byte("status: {}")) ||
			bytes.Equal(t, []byte("resources: {}")) || bytes.Equal(t, []byte("spec: {}")) {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, nil)
}

// crd is the Lab's CustomResourceDefinition, with its schema, the status
// subresource and the columns `kubectl get labs` prints.
func crd() map[string]any {
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer", "minimum": 0}
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": Resource + "." + Group},
		"spec": map[string]any{
			"group": Group,
			"scope": "Namespaced",
			"names": map[string]any{"kind": Kind, "listKind": Kind + "List", "plural": Resource, "singular": "lab"},
			"versions": []any{map[string]any{
				"name": Version, "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"additionalPrinterColumns": []any{
					map[string]any{"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
					map[string]any{"name": "Nodes", "type": "integer", "jsonPath": ".status.nodes"},
					map[string]any{"name": "Workers", "type": "integer", "jsonPath": ".spec.workers"},
					map[string]any{"name": "Tunnels", "type": "integer", "jsonPath": ".status.tunnels"},
					map[string]any{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
				},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"spec": map[string]any{
							"type":     "object",
							"required": []any{"topology", "workers", "image"},
							"properties": map[string]any{
								"topology":     map[string]any{"type": "string", "description": "the topology file's text"},
								"topologyFile": str,
								"workers":      map[string]any{"type": "integer", "minimum": 1, "description": "worker pods sharing the lab's nodes"},
								"image":        map[string]any{"type": "string", "description": "the worker pods' image (netlab)"},
								"run":          map[string]any{"type": "string", "description": "the deploy's run, as netlab names it"},
								"inputs": map[string]any{"type": "object", "description": "what resolving the topology read besides its text",
									"properties": map[string]any{
										"dir":   str,
										"env":   map[string]any{"type": "object", "additionalProperties": str},
										"files": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string", "format": "byte"}},
										"dirs":  map[string]any{"type": "array", "items": str},
									}},
							},
						},
						"status": map[string]any{
							"type": "object",
							"properties": map[string]any{
								"phase":              map[string]any{"type": "string", "enum": []any{PhasePending, PhaseDeploying, PhaseReady, PhaseFailed}},
								"observedGeneration": integer,
								"message":            str,
								"nodes":              integer,
								"tunnels":            integer,
								"workers": map[string]any{"type": "array", "items": map[string]any{
									"type":     "object",
									"required": []any{"name"},
									"properties": map[string]any{
										"name": str, "podIP": str, "kubeNode": str, "ready": map[string]any{"type": "boolean"},
										"nodes": map[string]any{"type": "array", "items": str},
									},
								}},
							},
						},
					},
				}},
			}},
		},
	}
}

// resourceOf is the resource of each kind the manifests hold.
var resourceOf = map[string]schema.GroupVersionResource{
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	"Namespace":                {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"Role":                     {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"Deployment":               {Group: "apps", Version: "v1", Resource: "deployments"},
}

// CRDResource is the resource of CustomResourceDefinitions.
var CRDResource = resourceOf["CustomResourceDefinition"]

// Apply applies (server-side, as field manager "netlab") the documents of
// manifests whose kind keep accepts (nil: all), and waits until the Lab
// CRD, if it was among them, is established.
func Apply(ctx context.Context, dyn dynamic.Interface, manifests []byte, keep func(kind string) bool) error {
	crd := false
	for _, d := range bytes.Split(manifests, []byte("---\n")) {
		if len(bytes.TrimSpace(d)) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(d, &u.Object); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		kind := u.GetKind()
		if keep != nil && !keep(kind) {
			continue
		}
		res, ok := resourceOf[kind]
		if !ok {
			return fmt.Errorf("manifests: a %s, which netlab does not apply", kind)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(res)
		if ns := u.GetNamespace(); ns != "" {
			ri = dyn.Resource(res).Namespace(ns)
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "netlab", Force: true}); err != nil {
			return fmt.Errorf("apply %s %s: %w", kind, u.GetName(), err)
		}
		crd = crd || kind == "CustomResourceDefinition"
	}
	if !crd {
		return nil
	}
	for {
		u, err := dyn.Resource(CRDResource).Get(ctx, Resource+"."+Group, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Lab CRD is not established: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
