package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ClusterEnv names the kubeconfig of a cluster the tests may use (the one
// scripts/k8s-cluster brings up): tests that need a cluster skip without
// it, and fail when it is set but the cluster does not work. A user's own
// KUBECONFIG is never used by the tests.
const ClusterEnv = "NETLAB_KUBECONFIG"

// PauseImage is the test cluster's sandbox image, always loaded: its
// binary also serves TCP ("/pause serve PORT").
const PauseImage = "netlab.local/k8s-pause:1"

func testCluster(t *testing.T) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	path := os.Getenv(ClusterEnv)
	if path == "" {
		t.Skipf("no test cluster: scripts/k8s-cluster up DIR, then %s=DIR/kubeconfig", ClusterEnv)
	}
	cfg, err := Config(path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, client
}

// testNamespace makes a namespace of its own for the test, ready for pods
// (its default ServiceAccount exists), and deletes it at the end, waiting
// until it is gone.
func testNamespace(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	name := "netlab-test-" + hex.EncodeToString(b)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		poll(t, 2*time.Minute, "namespace "+name+" gone", func() (bool, error) {
			_, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
	poll(t, time.Minute, "the default service account", func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	return name
}

// poll checks cond until it holds, fails or the deadline passes.
func poll(t *testing.T, within time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestForwarder (a test cluster): connections to a pod's port through
// the API server, several at once on one SPDY connection, each getting
// the pod's answer; a port nothing listens on is an error that says so.
func TestForwarder(t *testing.T) {
	cfg, client := testCluster(t)
	ns := testNamespace(t, client)
	ctx := context.Background()
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "hello", Image: PauseImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/pause", "serve", "8080"}}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 2*time.Minute, "the pod running", func() (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, &podError{p}
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
	f, err := NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.Dial(ctx, ns, "hello", 8080)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "hello from hello\n" {
				t.Errorf("connection %d read %q, %v; want the pod's hello", i, got, err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.conns); n != 1 {
		t.Errorf("%d SPDY connections for one pod; want 1", n)
	}
	c, err := f.Dial(ctx, ns, "hello", 8081)
	if err == nil {
		_, err = io.ReadAll(c)
		c.Close()
	}
	t.Logf("port 8081: %v", err)
	if err == nil || !strings.Contains(err.Error(), "8081") {
		t.Errorf("a port nothing listens on: %v; want an error naming it", err)
	}
}

type podError struct{ p *corev1.Pod }

func (e *podError) Error() string {
	return "pod failed: " + e.p.Status.Message + " " + e.p.Status.Reason
}
