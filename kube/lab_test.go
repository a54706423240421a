package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/netlab/netlab/internal/kubetest"
)

func manifestDocs(t *testing.T, ns string) []*unstructured.Unstructured {
	t.Helper()
	b, err := Manifests(ManifestOptions{Namespace: ns, Image: "netlab.local/netlab:test"})
	if err != nil {
		t.Fatal(err)
	}
	var docs []*unstructured.Unstructured
	for _, d := range bytes.Split(b, []byte("---\n")) {
		if len(bytes.TrimSpace(d)) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(d, &u.Object); err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		docs = append(docs, u)
	}
	return docs
}

// TestManifests: the CRD, the ServiceAccount, a Role of the namespace
// only (no cluster-wide rights, no wildcard) and its binding, and the
// controller's Deployment.
func TestManifests(t *testing.T) {
	docs := manifestDocs(t, "labs")
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, d.GetKind())
		if d.GetKind() != "CustomResourceDefinition" && d.GetKind() != "Namespace" && d.GetNamespace() != "labs" {
			t.Errorf("%s %s in namespace %q; want labs", d.GetKind(), d.GetName(), d.GetNamespace())
		}
		if d.GetKind() == "CustomResourceDefinition" {
			b, _ := json.Marshal(d.Object["spec"])
			if !bytes.Contains(b, []byte(`"subresources":{"status":{}}`)) {
				t.Errorf("the CRD has no status subresource: %s", b)
			}
		}
		if d.GetKind() == "Role" {
			b, _ := json.Marshal(d.Object["rules"])
			if bytes.Contains(b, []byte(`"*"`)) {
				t.Errorf("the Role has a wildcard: %s", b)
			}
		}
	}
	if got := strings.Join(kinds, " "); got != "CustomResourceDefinition Namespace ServiceAccount Role RoleBinding Role Deployment" {
		t.Errorf("manifests are %s", got)
	}
	if _, err := Manifests(ManifestOptions{Namespace: "labs"}); err == nil {
		t.Error("manifests without an image")
	}
}

// TestLabResource (a test cluster): the manifests apply; a Lab is
// created, its status written through the status subresource, and
// `kubectl get labs` prints its phase, nodes, workers and tunnels; a Lab
// with no workers is refused by the schema.
func TestLabResource(t *testing.T) {
	cl := kubetest.Need(t)
	cfg, client := cl.Config, cl.Client
	ns := cl.Namespace(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl.Exclusive(t, "lab-crd") // controller's tests install and remove it too
	crdRes := CRDResource
	_, err = dyn.Resource(crdRes).Get(ctx, Resource+"."+Group, metav1.GetOptions{})
	ours := apierrors.IsNotFound(err)
	manifests, err := Manifests(ManifestOptions{Namespace: ns, Image: "netlab.local/netlab:test"})
	if err != nil {
		t.Fatal(err)
	}
	if ours {
		t.Cleanup(func() {
			dyn.Resource(crdRes).Delete(ctx, Resource+"."+Group, metav1.DeleteOptions{})
			kubetest.Poll(t, time.Minute, "the CRD gone", func() (bool, error) {
				_, err := dyn.Resource(crdRes).Get(ctx, Resource+"."+Group, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
		})
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := Apply(actx, dyn, manifests, nil); err != nil {
		t.Fatal(err)
	}

	labs := dyn.Resource(LabResource).Namespace(ns)
	lab := &Lab{TypeMeta: metav1.TypeMeta{APIVersion: Group + "/" + Version, Kind: Kind}, ObjectMeta: metav1.ObjectMeta{Name: "fabric"},
		Spec: LabSpec{Topology: "name: fabric\n", TopologyFile: "fabric.yml", Workers: 3, Image: "netlab.local/netlab:test"}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(lab)
	if err != nil {
		t.Fatal(err)
	}
	var created *unstructured.Unstructured
	// The CRD is served a moment after it is established.
	kubetest.Poll(t, 30*time.Second, "the Lab created", func() (bool, error) {
		created, err = labs.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
		return err == nil, nil
	})
	var got Lab
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(created.Object, &got); err != nil {
		t.Fatal(err)
	}
	got.Status = LabStatus{Phase: PhaseReady, ObservedGeneration: got.Generation, Nodes: 212, Tunnels: 24,
		Workers: []WorkerStatus{{Name: "fabric-worker-0", PodIP: "10.244.0.9", Ready: true, Nodes: []string{"leaf1"}}}}
	obj, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(&got)
	if _, err := labs.UpdateStatus(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update the status: %v", err)
	}
	// What `kubectl get labs` prints: the API server's table.
	table, err := client.CoreV1().RESTClient().Get().AbsPath("/apis", Group, Version, "namespaces", ns, Resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tab metav1.Table
	if err := json.Unmarshal(table, &tab); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range tab.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if len(tab.Rows) != 1 {
		t.Fatalf("%d rows in the table of labs; want 1", len(tab.Rows))
	}
	row, _ := json.Marshal(tab.Rows[0].Cells)
	if strings.Join(cols, " ") != "Name Phase Nodes Workers Tunnels Age" || !strings.HasPrefix(string(row), `["fabric","Ready",212,3,24,`) {
		t.Errorf("kubectl get labs: %v %s", cols, row)
	}

	bad := &Lab{TypeMeta: lab.TypeMeta, ObjectMeta: metav1.ObjectMeta{Name: "none"}, Spec: LabSpec{Topology: "x", Workers: 0, Image: "i"}}
	obj, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(bad)
	if _, err := labs.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "workers") {
		t.Errorf("a Lab of 0 workers: %v; want the schema's refusal", err)
	}
}
