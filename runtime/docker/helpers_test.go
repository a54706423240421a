package docker_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/docker"
)

// engine is what a test that needs the Docker engine works with: a client
// of its own (to look behind the runtime's back), a unique lab name, a lab
// directory, the stand-in node binary and a test-only image repository.
// Everything the test makes carries the lab's label or the repository's
// name, and is removed when the test ends, also on failure.
type engine struct {
	cli    *client.Client
	lab    string // unique lab name, the value of runtime.LabelLab
	labDir string
	bin    string // static stand-in node binary (testdata/nodebin), variant 1
	repo   string // image repository of this test only
}

// needEngine returns an engine for the test. It skips the test when no
// Docker engine answers, and fails it when one does but the test cannot
// work (not root, no Go toolchain to build the stand-in node binary).
func needEngine(t testing.TB) *engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe, err := docker.New(ctx, docker.Options{})
	var unreachable *docker.EngineUnreachableError
	if errors.As(err, &unreachable) && !unreachable.Refused() {
		t.Skipf("no Docker engine, skipping: %v (cause: %v)", err, unreachable.Err)
	}
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	probe.Close()
	if os.Geteuid() != 0 {
		t.Fatalf("a Docker engine answers but the test runs as uid %d: it needs root (setns, /run/netns)", os.Geteuid())
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	id := randHex(t, 4)
	e := &engine{
		cli:    cli,
		lab:    "nltest" + id,
		labDir: t.TempDir(),
		repo:   "netlab/node-test-" + id,
	}
	e.bin = buildNodebin(t, "1")
	// Cleanups run last registered first: containers go before images.
	t.Cleanup(func() {
		defer cli.Close()
		e.removeImages(t)
	})
	t.Cleanup(func() { e.removeNodes(t) })
	return e
}

func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// buildNodebin builds testdata/nodebin, static, with the given variant (a
// different variant gives a different binary) and returns its path.
func buildNodebin(t testing.TB, variant string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("a Docker engine answers but there is no go command to build the test agent: %v", err)
	}
	out := filepath.Join(t.TempDir(), "nodebin")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-X main.variant="+variant, "-o", out, "./testdata/nodebin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test agent: %v\n%s", err, b)
	}
	return out
}

// runtime returns a Runtime using the test's image repository and binary.
func (e *engine) runtime(t testing.TB, bin string) *docker.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Binary: bin, ImageRepo: e.repo, StopTimeout: time.Second})
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// spec returns the spec of node name of the test's lab, with cmd as the
// container's command (the stand-in's arguments after "pause") and the
// lab directory bound at /netlab/run.
func (e *engine) spec(name string, cmd ...string) runtime.NodeSpec {
	return runtime.NodeSpec{
		Lab:      e.lab,
		Name:     name,
		LongName: "nl-" + e.lab + "-" + name,
		Labels: map[string]string{
			runtime.LabelLab:    e.lab,
			runtime.LabelNode:   name,
			runtime.LabelLabDir: e.labDir,
		},
		Binds: []string{e.labDir + ":/netlab/run"},
		Cmd:   cmd,
	}
}

// labContainers returns the containers carrying the test's lab label, in
// any state, as the engine reports them.
func (e *engine) labContainers(t testing.TB) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelLab+"="+e.lab))})
	if err != nil {
		t.Fatalf("list containers of lab %s: %v", e.lab, err)
	}
	return cs
}

// labLinks returns the entries of /run/netns that belong to the test's lab.
func (e *engine) labLinks(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(linuxnet.NetnsRunDir, "*"+e.lab+"*"))
	if err != nil {
		t.Fatalf("glob: %v", err)
	}
	return m
}

// assertNothingLeft fails the test if a container of the lab or a
// /run/netns entry of the lab exists.
func (e *engine) assertNothingLeft(t testing.TB) {
	t.Helper()
	for _, c := range e.labContainers(t) {
		t.Errorf("container %v (%s) of lab %s left behind", c.Names, c.State, e.lab)
	}
	for _, l := range e.labLinks(t) {
		t.Errorf("network namespace entry %s left behind", l)
	}
}

// removeNodes removes whatever containers and links of the lab remain,
// then checks that nothing does.
func (e *engine) removeNodes(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range e.labContainers(t) {
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("cleanup: remove container %v: %v", c.Names, err)
		}
	}
	for _, l := range e.labLinks(t) {
		if fi, err := os.Lstat(l); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(l)
		} else {
			linuxnet.DeleteNamedNS(filepath.Base(l))
		}
	}
	e.assertNothingLeft(t)
}

// removeImages removes every image of the test's repository, with the
// untagged parents the build left.
func (e *engine) removeImages(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	imgs, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", e.repo))})
	if err != nil {
		t.Errorf("cleanup: list images of %s: %v", e.repo, err)
		return
	}
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			if !strings.HasPrefix(tag, e.repo+":") {
				continue
			}
			if _, err := e.cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
				t.Errorf("cleanup: remove image %s: %v", tag, err)
			}
		}
	}
	left, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", e.repo))})
	if err == nil && len(left) > 0 {
		t.Errorf("cleanup: images of %s left: %d", e.repo, len(left))
	}
}

// fileSHA256 returns the hex SHA-256 of a file.
func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readStatus waits for the status file the stand-in agent of node host
// writes in the lab directory and returns its key=value lines.
func (e *engine) readStatus(t testing.TB, host string) map[string]string {
	t.Helper()
	path := filepath.Join(e.labDir, host+".status")
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			m := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				m[k] = v
			}
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status file %s from node %s: %v", path, host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
