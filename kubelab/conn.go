package kubelab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/worker"
)

// Conn reaches a lab on a cluster: its Lab resource, and its worker pods'
// APIs (the node agents, the run's files) through the API server's
// port-forward. Safe for concurrent use; Close ends its connections.
type Conn struct {
	cs  *clients
	at  *deploy.ClusterState
	fwd *kube.Forwarder
}

// Connect returns a Conn to the lab at.
func Connect(at *deploy.ClusterState) (*Conn, error) {
	cs, err := connect(at.Kubeconfig, at.Namespace)
	if err != nil {
		return nil, err
	}
	fwd, err := kube.NewForwarder(cs.cfg)
	if err != nil {
		return nil, err
	}
	return &Conn{cs: cs, at: at, fwd: fwd}, nil
}

// Close closes the connections to the pods.
func (c *Conn) Close() error { return c.fwd.Close() }

// dial opens a connection to the API of worker pod.
func (c *Conn) dial(pod string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		return c.fwd.Dial(ctx, c.at.Namespace, pod, kube.AgentPort)
	}
}

// Client returns the client of the agent, in worker pod, that serves node
// (and its relays).
func (c *Conn) Client(node, pod string) *nodeagent.Client {
	return nodeagent.NewClientDial(c.dial(pod), c.at.Namespace+"/"+pod, node).
		WithLog(fmt.Sprintf("kubectl -n %s logs %s", c.at.Namespace, pod))
}

// httpClient returns an HTTP client of the API of worker pod.
func (c *Conn) httpClient(pod string) *http.Client {
	dial := c.dial(pod)
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}}
}

// pods returns the lab's worker pods, from its nodes.
func pods(st *deploy.State) []string {
	var ps []string
	for _, n := range st.Nodes {
		if n.Pod != "" && !slices.Contains(ps, n.Pod) {
			ps = append(ps, n.Pod)
		}
	}
	slices.Sort(ps)
	return ps
}

// Collect fetches into run the files of the run (traces, captures, logs)
// that the lab's worker pods have and run has not, or has shorter: what
// a node records grows, and is fetched again. Every pod is tried; the
// errors are joined.
func (c *Conn) Collect(ctx context.Context, st *deploy.State, run labdir.Run) error {
	// One fetch at a time into a run, across processes (netlab web
	// follows the files while trace reads them): two would append the
	// same tail twice.
	dir, err := os.Open(run.Dir)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", run.Dir, err)
	}
	defer syscall.Flock(int(dir.Fd()), syscall.LOCK_UN)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, pod := range pods(st) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.collectPod(ctx, pod, run); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("pod %s: %w", pod, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Conn) collectPod(ctx context.Context, pod string, run labdir.Run) error {
	hc := c.httpClient(pod)
	defer hc.CloseIdleConnections()
	var files []worker.File
	hdr, err := getJSON(ctx, hc, "http://worker/v1/worker/files", &files)
	if err != nil {
		return err
	}
	if r := hdr.Get(worker.RunHeader); r != "" && r != run.ID {
		// The pod runs a later deploy's run (--reconfigure): this run's
		// files were fetched before it started.
		return nil
	}
	for _, f := range files {
		clean := path.Clean(f.Path)
		if !filepath.IsLocal(clean) || clean != f.Path {
			return fmt.Errorf("the worker lists a file outside its run: %q", f.Path)
		}
		local := run.Path(filepath.FromSlash(clean))
		have := int64(-1)
		if fi, err := os.Stat(local); err == nil {
			have = fi.Size()
		}
		if have >= f.Size {
			continue
		}
		url := "http://worker/v1/worker/files/" + clean
		var err error
		if have > 0 && strings.HasPrefix(clean, labdir.TracesDir+"/") {
			err = fetchTail(ctx, hc, url, local, run.ID, have) // a trace only grows
		} else {
			err = fetch(ctx, hc, url, local, run.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// otherRun reports whether a worker's answer is about another run than
// run (the lab was redeployed since): nothing of it is written to run.
func otherRun(resp *http.Response, run string) bool {
	r := resp.Header.Get(worker.RunHeader)
	return r != "" && r != run
}

// getJSON decodes what url serves into v and returns the response's
// header.
func getJSON(ctx context.Context, hc *http.Client, url string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return resp.Header, json.NewDecoder(resp.Body).Decode(v)
}

// fetchTail appends to file, which has have bytes, what url serves beyond
// them; a server that sends the whole file has it written anew.
func fetchTail(ctx context.Context, hc *http.Client, url, file, run string, have int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if otherRun(resp, run) {
		return nil
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK, http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		return fetch(ctx, hc, url, file, run)
	case http.StatusNotFound:
		return nil
	default:
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	return f.Close()
}

// fetch writes what url serves to file, through a temporary file: a
// reader never sees half of it.
func fetch(ctx context.Context, hc *http.Client, url, file, run string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || otherRun(resp, run) {
		return nil // gone since it was listed (a capture ring rotated, the lab redeployed)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	os.Chmod(tmp.Name(), 0o644)
	return os.Rename(tmp.Name(), file)
}

// Inspect sets what runs of the lab of st from its Lab's status: each
// node's worker pod, whether it is ready, and why not.
func (c *Conn) Inspect(ctx context.Context, st *deploy.State) error {
	l, err := c.cs.getLab(ctx, c.at.Resource)
	if apierrors.IsNotFound(err) {
		for i := range st.Nodes {
			st.Nodes[i].Alive, st.Nodes[i].Agent = false, deploy.AgentDown
			st.Nodes[i].Reason = fmt.Sprintf("its Lab %s is gone from namespace %s", c.at.Resource, c.at.Namespace)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("its Lab: %w", err)
	}
	setNodes(st, l.Status)
	return nil
}

// Follow fetches the run's files every interval until ctx ends, for a
// reader that shows them as they grow (netlab web); errors go to report.
func (c *Conn) Follow(ctx context.Context, st *deploy.State, run labdir.Run, interval time.Duration, report func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := c.Collect(ctx, st, run); err != nil && ctx.Err() == nil && report != nil {
			report(err)
		}
	}
}

// Exec runs cmd in node's network namespace in its worker pod (pods/exec
// through the API server, busybox's nsenter in netlab's image), or, for a
// node with its own image, in its container, with stdin (nil for none),
// stdout and stderr, and returns its exit status.
func (c *Conn) Exec(ctx context.Context, node, pod string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	hc := c.httpClient(pod)
	defer hc.CloseIdleConnections()
	var ws worker.State
	if _, err := getJSON(ctx, hc, "http://worker/v1/worker", &ws); err != nil {
		return 0, fmt.Errorf("worker pod %s: %w", pod, err)
	}
	ns := ws.Namespaces[node]
	if ns == "" {
		return 0, fmt.Errorf("worker pod %s does not run node %s (yet): netlab inspect says how it stands", pod, node)
	}
	argv, container := append([]string{kube.ImageBusyboxPath, "nsenter", "--net=" + ns, "--"}, cmd...), kube.WorkerContainer
	if ws.Own == node {
		// A node of its own image: its container is the node.
		argv, container = cmd, kube.NodeContainer
	}
	req := c.cs.core.CoreV1().RESTClient().Post().Resource("pods").Namespace(c.at.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: argv, Stdin: stdin != nil, Stdout: true, Stderr: true},
			scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(c.cs.cfg, http.MethodPost, req.URL())
	if err != nil {
		return 0, fmt.Errorf("exec in pod %s: %w", pod, err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	var exit utilexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	case strings.Contains(err.Error(), kube.ImageBusyboxPath):
		return 0, fmt.Errorf("exec in pod %s: its image has no busybox to run commands with (%w): make netlab's image where Debian's busybox-static is installed (netlab k8s image), load it and redeploy", pod, err)
	case apierrors.IsForbidden(err):
		return 0, fmt.Errorf("exec in pod %s: %w: exec needs pods/exec in namespace %s", pod, err, c.at.Namespace)
	}
	return 0, fmt.Errorf("exec in pod %s: %w", pod, err)
}
