package kube

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netlab/netlab/internal/kubetest"
)

// TestForwarder (a test cluster): connections to a pod's port through
// the API server, several at once on one SPDY connection, each getting
// the pod's answer; a port nothing listens on is an error that says so.
func TestForwarder(t *testing.T) {
	cl := kubetest.Need(t)
	cfg, client := cl.Config, cl.Client
	ns := cl.Namespace(t)
	ctx := context.Background()
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "hello", Image: kubetest.PauseImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/pause", "serve", "8080"}}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Poll(t, 2*time.Minute, "the pod running", func() (bool, error) {
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
