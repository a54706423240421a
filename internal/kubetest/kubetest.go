// Package kubetest is what tests that need a Kubernetes cluster share: the
// test cluster scripts/k8s-cluster brings up (named by NETLAB_KUBECONFIG,
// never a user's own KUBECONFIG), a namespace of the test's own removed at
// its end, polling with a deadline, and loading an image into the cluster.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Env names the test cluster's kubeconfig (DIR/kubeconfig of
// `scripts/k8s-cluster up DIR`). Tests that need a cluster skip without
// it and fail when it is set but the cluster does not work.
const Env = "NETLAB_KUBECONFIG"

// PauseImage is the test cluster's sandbox image, always loaded: its
// binary also serves TCP ("/pause serve PORT").
const PauseImage = "netlab.local/k8s-pause:1"

// Cluster is the test cluster.
type Cluster struct {
	Config *rest.Config
	Client kubernetes.Interface
	Dir    string // the directory of scripts/k8s-cluster up
}

// Need returns the test cluster, or skips the test when there is none.
func Need(t testing.TB) *Cluster {
	t.Helper()
	path := os.Getenv(Env)
	if path == "" {
		t.Skipf("no test cluster: scripts/k8s-cluster up DIR, then %s=DIR/kubeconfig", Env)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("%s=%s: %v", Env, path, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Config: cfg, Client: client, Dir: filepath.Dir(path)}
}

// Namespace makes a namespace of the test's own, ready for pods (its
// default ServiceAccount exists), and deletes it at the end, waiting
// until it is gone.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	name := "netlab-test-" + hex.EncodeToString(b)
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		c.Client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		Poll(t, 2*time.Minute, "namespace "+name+" gone", func() (bool, error) {
			_, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
	Poll(t, time.Minute, "the default service account", func() (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	return name
}

// LoadImage imports an image tarball (docker save layout) into the test
// cluster's container runtime.
func (c *Cluster) LoadImage(t testing.TB, tarball string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(Root(), "scripts", "k8s-cluster"), "load", c.Dir, tarball).CombinedOutput()
	if err != nil {
		t.Fatalf("load %s into the test cluster: %v\n%s", tarball, err, out)
	}
}

// PodUIDs returns the UID of each pod of namespace ns that selector
// (a label selector) picks, by name: a pod made again has another.
func (c *Cluster) PodUIDs(t testing.TB, ctx context.Context, ns, selector string) map[string]string {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, p := range pods.Items {
		uids[p.Name] = string(p.UID)
	}
	return uids
}

// Exclusive holds the test cluster's lock called name until the test
// ends (its cleanups registered before this call run after the lock is
// released; those registered after it, before). Tests of several
// packages run at once: those that install and remove a cluster-wide
// object (the Lab CRD) take turns.
func (c *Cluster) Exclusive(t testing.TB, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(c.Dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// Root is the module's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Poll checks cond until it holds, fails, or the deadline passes.
func Poll(t testing.TB, within time.Duration, what string, cond func() (bool, error)) {
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
