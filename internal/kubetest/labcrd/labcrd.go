// Package labcrd installs the Lab CRD on the test cluster for a test
// (package kube's own tests cannot: kubetest is below kube).
package labcrd

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/netlab/netlab/internal/kubetest"
	"github.com/netlab/netlab/kube"
)

// Install applies the Lab CRD, and removes it at the end if it made it;
// the other tests that need it wait meanwhile (Exclusive "lab-crd").
func Install(t testing.TB, c *kubetest.Cluster) {
	t.Helper()
	c.Exclusive(t, "lab-crd")
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(kube.CRDResource)
	name := kube.Resource + "." + kube.Group
	if _, err := crds.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Cleanup(func() {
			crds.Delete(ctx, name, metav1.DeleteOptions{})
			kubetest.Poll(t, time.Minute, "the CRD gone", func() (bool, error) {
				_, err := crds.Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
		})
	}
	m, err := kube.Manifests(kube.ManifestOptions{Namespace: "netlab", Image: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := kube.Apply(actx, dyn, m, func(kind string) bool { return kind == "CustomResourceDefinition" }); err != nil {
		t.Fatal(err)
	}
}
