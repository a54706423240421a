package docker_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api"
	"github.com/docker/docker/api/types/versions"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/docker"
)

func TestEngineUnreachable(t *testing.T) {
	dir := t.TempDir()
	host := "unix://" + filepath.Join(dir, "no-docker.sock")
	_, err := docker.New(context.Background(), docker.Options{Host: host})
	var unreachable *docker.EngineUnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("New(%s) = %v; want an *EngineUnreachableError", host, err)
	}
	want := "Docker engine not reachable at " + host + ": start it or use --runtime netns"
	if err.Error() != want {
		t.Errorf("error = %q; want %q", err, want)
	}
	if unreachable.Err == nil {
		t.Errorf("EngineUnreachableError has no cause")
	}
}

func TestNegotiatesAPIVersion(t *testing.T) {
	e := needEngine(t)
	rt := e.runtime(t, e.bin)
	sv, err := e.cli.ServerVersion(context.Background())
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	want := sv.APIVersion
	if versions.LessThan(api.DefaultVersion, want) {
		want = api.DefaultVersion
	}
	if got := rt.APIVersion(); got != want {
		t.Errorf("APIVersion() = %s; want %s (engine %s, API %s)", got, want, sv.Version, sv.APIVersion)
	}
	t.Logf("engine %s, API %s", sv.Version, rt.APIVersion())
}

func TestImageBuildAndReuse(t *testing.T) {
	e := needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum1 := fileSHA256(t, e.bin)

	rt1 := e.runtime(t, e.bin)
	img1, err := rt1.EnsureImage(ctx)
	if err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	if !img1.Built {
		t.Errorf("first EnsureImage in a fresh repository did not build")
	}
	if want := e.repo + ":" + sum1[:16]; img1.Ref != want || img1.BinarySHA256 != sum1 {
		t.Errorf("image = %+v; want ref %s, sha256 %s", img1, want, sum1)
	}

	info, err := e.cli.ImageInspect(ctx, img1.Ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", img1.Ref, err)
	}
	if info.ID != img1.ID {
		t.Errorf("image id %s; EnsureImage said %s", info.ID, img1.ID)
	}
	if got, want := info.Config.Entrypoint, []string{docker.ImageBinaryPath, "pause"}; !slices.Equal(got, want) {
		t.Errorf("entrypoint %q; want %q", got, want)
	}
	if got := info.Config.Labels[docker.LabelBinarySHA256]; got != sum1 {
		t.Errorf("label %s = %q; want %s", docker.LabelBinarySHA256, got, sum1)
	}
	if !slices.Contains(info.RepoTags, e.repo+":latest") {
		t.Errorf("tags %q lack %s:latest", info.RepoTags, e.repo)
	}
	if n := len(info.RootFS.Layers); n != 1 {
		t.Errorf("image has %d layers; want 1 (FROM scratch + one COPY)", n)
	}

	// Same runtime: remembered. New runtime, same binary: found by tag.
	again, err := rt1.EnsureImage(ctx)
	if err != nil || again.Built || again.ID != img1.ID {
		t.Errorf("second EnsureImage = %+v, %v; want the same image, not built", again, err)
	}
	reused, err := e.runtime(t, e.bin).EnsureImage(ctx)
	if err != nil || reused.Built || reused.ID != img1.ID {
		t.Errorf("EnsureImage of a new runtime, same binary = %+v, %v; want image %s reused", reused, err, img1.ID)
	}

	// Another binary: another tag, built, and latest follows it.
	bin2 := buildNodebin(t, "2")
	img2, err := e.runtime(t, bin2).EnsureImage(ctx)
	if err != nil {
		t.Fatalf("EnsureImage (binary 2): %v", err)
	}
	if !img2.Built || img2.Ref == img1.Ref || img2.ID == img1.ID {
		t.Errorf("binary 2 gave %+v; want a new image besides %+v", img2, img1)
	}
	if latest, err := e.cli.ImageInspect(ctx, e.repo+":latest"); err != nil || latest.ID != img2.ID {
		t.Errorf("latest = %s, %v; want %s", latest.ID, err, img2.ID)
	}
	// The older binary's image went with the build: no image per build.
	if _, err := e.cli.ImageInspect(ctx, img1.Ref); err == nil {
		t.Errorf("%s is still there after binary 2's image was built", img1.Ref)
	}
	// Back to binary 1: built again under its tag, and latest moves back.
	back, err := e.runtime(t, e.bin).EnsureImage(ctx)
	if err != nil || !back.Built || back.Ref != img1.Ref {
		t.Errorf("EnsureImage (binary 1 again) = %+v, %v; want %s built again", back, err, img1.Ref)
	}
	if latest, err := e.cli.ImageInspect(ctx, e.repo+":latest"); err != nil || latest.ID != back.ID {
		t.Errorf("latest = %s, %v; want %s", latest.ID, err, back.ID)
	}
}

// nsInode returns the inode of the network namespace at path.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

func TestCreateWireListDelete(t *testing.T) {
	e := needEngine(t)
	rt := e.runtime(t, e.bin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var nodes []runtime.Node
	for _, name := range []string{"a", "b"} {
		spec := e.spec(name, "status")
		spec.Env = map[string]string{"NODEBIN_ENV": "hello-" + name}
		spec.Sysctls = map[string]string{"net.ipv4.tcp_syn_retries": "3"}
		spec.Labels["user-label"] = "u-" + name
		n, err := rt.Create(ctx, spec)
		if err != nil {
			t.Fatalf("Create(%s): %v", name, err)
		}
		if n.Name != name || n.LongName != spec.LongName || n.ID == "" || n.PID <= 0 {
			t.Errorf("Create(%s) = %+v", name, n)
		}
		if want := "/proc/" + strconv.Itoa(n.PID) + "/ns/net"; n.NSPath != want {
			t.Errorf("NSPath = %s; want %s", n.NSPath, want)
		}
		nodes = append(nodes, n)
	}
	a, b := nodes[0], nodes[1]

	hostIno := nsInode(t, "/proc/self/ns/net")
	for _, n := range nodes {
		ino := nsInode(t, n.NSPath)
		if ino == hostIno || ino == 0 {
			t.Errorf("node %s: namespace inode %d is the host's", n.Name, ino)
		}
		// The /run/netns link resolves to the same namespace.
		link := filepath.Join(linuxnet.NetnsRunDir, n.LongName)
		if target, err := os.Readlink(link); err != nil || target != n.NSPath {
			t.Errorf("link %s -> %q, %v; want -> %s", link, target, err, n.NSPath)
		}
		if got := nsInode(t, link); got != ino {
			t.Errorf("link %s is namespace %d; want %d", link, got, ino)
		}

		// Engine's view: capabilities, never privileged, network none.
		info, err := e.cli.ContainerInspect(ctx, n.ID)
		if err != nil {
			t.Fatalf("inspect %s: %v", n.LongName, err)
		}
		hc := info.HostConfig
		caps := slices.Clone([]string(hc.CapAdd))
		slices.Sort(caps)
		if want := []string{"CAP_NET_ADMIN", "CAP_NET_RAW"}; !slices.Equal(caps, want) {
			t.Errorf("%s: CapAdd %q; want %q", n.Name, caps, want)
		}
		if !slices.Equal([]string(hc.CapDrop), []string{"ALL"}) {
			t.Errorf("%s: CapDrop %q; want [ALL]", n.Name, hc.CapDrop)
		}
		if hc.Privileged {
			t.Errorf("%s: privileged", n.Name)
		}
		if hc.NetworkMode != "none" {
			t.Errorf("%s: network mode %q; want none", n.Name, hc.NetworkMode)
		}
		if len(hc.PortBindings) > 0 || hc.PublishAllPorts {
			t.Errorf("%s: ports published: %v", n.Name, hc.PortBindings)
		}
		if hc.RestartPolicy.Name != "no" {
			t.Errorf("%s: restart policy %q; want no", n.Name, hc.RestartPolicy.Name)
		}
		if !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
			t.Errorf("%s: security options %q lack no-new-privileges", n.Name, hc.SecurityOpt)
		}
		if len(info.Mounts) != 1 || info.Mounts[0].Source != e.labDir || info.Mounts[0].Destination != "/netlab/run" {
			t.Errorf("%s: mounts %+v; want %s at /netlab/run", n.Name, info.Mounts, e.labDir)
		}

		// From inside: exactly NET_ADMIN (12) and NET_RAW (13), a raw
		// socket opens, the environment arrived.
		st := e.readStatus(t, n.Name)
		if st["capeff"] != "0000000000003000" {
			t.Errorf("%s: CapEff %s; want 0000000000003000 (NET_ADMIN, NET_RAW)", n.Name, st["capeff"])
		}
		if st["rawsock"] != "ok" {
			t.Errorf("%s: raw socket: %s", n.Name, st["rawsock"])
		}
		if want := "hello-" + n.Name; st["env"] != want {
			t.Errorf("%s: NODEBIN_ENV %q; want %q", n.Name, st["env"], want)
		}
		// The sysctl is set in the node's namespace.
		err = linuxnet.InNamespace(n.NSPath, func() error {
			b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_syn_retries")
			if err == nil && strings.TrimSpace(string(b)) != "3" {
				t.Errorf("%s: tcp_syn_retries %q; want 3", n.Name, b)
			}
			return err
		})
		if err != nil {
			t.Errorf("%s: read sysctl: %v", n.Name, err)
		}
	}

	// A veth pair between the two containers' namespaces.
	if err := linuxnet.CreateVethPair(ctx, "eth1", "eth1", a.NSPath, b.NSPath, 0); err != nil {
		t.Fatalf("CreateVethPair: %v", err)
	}
	for _, ns := range []string{a.NSPath, b.NSPath, a.LongName, b.LongName} {
		err := linuxnet.InNamespace(ns, func() error {
			l, err := netlink.LinkByName("eth1")
			if err != nil {
				return err
			}
			if l.Type() != "veth" || l.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("in %s: eth1 is %s, flags %v; want an up veth", ns, l.Type(), l.Attrs().Flags)
			}
			return nil
		})
		if err != nil {
			t.Errorf("in %s: %v", ns, err)
		}
	}
	// What a user would type: `ip netns exec <container> ip link show eth1`.
	if ip, err := exec.LookPath("ip"); err == nil {
		out, err := exec.Command(ip, "netns", "exec", a.LongName, ip, "-o", "link", "show", "eth1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "eth1") {
			t.Errorf("ip netns exec %s ip link show eth1: %v\n%s", a.LongName, err, out)
		}
	}

	// List by labels.
	list := func(labels map[string]string) []string {
		t.Helper()
		ns, err := rt.List(ctx, labels)
		if err != nil {
			t.Fatalf("List(%v): %v", labels, err)
		}
		var names []string
		for _, n := range ns {
			names = append(names, n.Name)
			if n.PID <= 0 || n.NSPath == "" || n.ID == "" || n.Labels[runtime.LabelLab] != e.lab {
				t.Errorf("List(%v): node %+v lacks PID, NSPath, ID or labels", labels, n)
			}
		}
		return names
	}
	if got := list(map[string]string{runtime.LabelLab: e.lab}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("List(lab) = %q; want [a b]", got)
	}
	if got := list(map[string]string{runtime.LabelLab: e.lab, runtime.LabelNode: "b"}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("List(lab, node b) = %q; want [b]", got)
	}
	if got := list(map[string]string{runtime.LabelLab: e.lab, "user-label": "u-a"}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("List(lab, user-label) = %q; want [a]", got)
	}
	if got := list(map[string]string{runtime.LabelLab: e.lab + "-other"}); len(got) != 0 {
		t.Errorf("List(other lab) = %q; want none", got)
	}

	// Delete: a by its Node, b as a crashed CLI would, from List; twice.
	if err := rt.Delete(ctx, a); err != nil {
		t.Errorf("Delete(a): %v", err)
	}
	listed, err := rt.List(ctx, map[string]string{runtime.LabelLab: e.lab})
	if err != nil || len(listed) != 1 {
		t.Fatalf("List after deleting a = %v, %v; want b only", listed, err)
	}
	if err := rt.Delete(ctx, listed[0]); err != nil {
		t.Errorf("Delete(b): %v", err)
	}
	for _, n := range nodes {
		if err := rt.Delete(ctx, n); err != nil {
			t.Errorf("Delete(%s) again: %v", n.Name, err)
		}
	}
	e.assertNothingLeft(t)
}

func TestCreateFailuresLeaveNothing(t *testing.T) {
	e := needEngine(t)
	rt := e.runtime(t, e.bin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	check := func(t *testing.T, spec runtime.NodeSpec, wantErr string) {
		t.Helper()
		n, err := rt.Create(ctx, spec)
		if err == nil {
			t.Errorf("Create(%s) = %+v; want an error", spec.Name, n)
			rt.Delete(ctx, n)
			return
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Create(%s) error %q; want it to contain %q", spec.Name, err, wantErr)
		}
		t.Logf("Create(%s): %v", spec.Name, err)
		e.assertNothingLeft(t)
	}

	t.Run("non-net sysctl", func(t *testing.T) {
		spec := e.spec("sys")
		spec.Sysctls = map[string]string{"kernel.shmmax": "1"}
		check(t, spec, "only net.* sysctls")
	})
	t.Run("unknown sysctl fails at start", func(t *testing.T) {
		spec := e.spec("badsys")
		spec.Sysctls = map[string]string{"net.ipv4.netlab_no_such_sysctl": "1"}
		check(t, spec, "start container")
	})
	t.Run("missing image", func(t *testing.T) {
		spec := e.spec("noimg")
		spec.Image = "netlab-no-such-image:" + e.lab
		check(t, spec, "does not pull images")
	})
	t.Run("missing bind source", func(t *testing.T) {
		spec := e.spec("nodir")
		spec.Binds = []string{filepath.Join(e.labDir, "missing") + ":/x"}
		check(t, spec, "no such file or directory")
	})
	t.Run("command exits at once", func(t *testing.T) {
		// The command may still be running when Create inspects it; what
		// matters is that Create either fails cleanly or returns a node
		// that Delete removes.
		n, err := rt.Create(ctx, e.spec("exits", "exit", "3"))
		if err == nil {
			if err := rt.Delete(ctx, n); err != nil {
				t.Errorf("Delete: %v", err)
			}
		} else {
			t.Logf("Create: %v", err)
		}
		e.assertNothingLeft(t)
	})
	t.Run("container name taken", func(t *testing.T) {
		first, err := rt.Create(ctx, e.spec("dup"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		_, err = rt.Create(ctx, e.spec("dup"))
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("second Create(dup) = %v; want 'already exists'", err)
		}
		// The first node is untouched.
		info, ierr := e.cli.ContainerInspect(ctx, first.ID)
		if ierr != nil || !info.State.Running {
			t.Errorf("first dup node after the clash: %v, running %v", ierr, info.State != nil && info.State.Running)
		}
		if target, lerr := os.Readlink(filepath.Join(linuxnet.NetnsRunDir, first.LongName)); lerr != nil || target != first.NSPath {
			t.Errorf("first dup node's link -> %q, %v; want %s", target, lerr, first.NSPath)
		}
		if err := rt.Delete(ctx, first); err != nil {
			t.Errorf("Delete: %v", err)
		}
		e.assertNothingLeft(t)
	})
	t.Run("network namespace name taken", func(t *testing.T) {
		spec := e.spec("nsclash")
		if _, err := linuxnet.NewNamedNS(spec.LongName); err != nil {
			t.Fatalf("NewNamedNS: %v", err)
		}
		defer linuxnet.DeleteNamedNS(spec.LongName)
		_, err := rt.Create(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), "network namespace named") {
			t.Errorf("Create over an existing namespace = %v; want a name clash", err)
		}
		if cs := e.labContainers(t); len(cs) != 0 {
			t.Errorf("containers left: %v", cs)
		}
		// Delete of that name leaves the other runtime's namespace alone.
		if err := rt.Delete(ctx, runtime.Node{LongName: spec.LongName}); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, spec.LongName)); err != nil {
			t.Errorf("Delete removed a namespace that is not a container's: %v", err)
		}
	})
}

func TestDeleteMissing(t *testing.T) {
	e := needEngine(t)
	rt := e.runtime(t, e.bin)
	ctx := context.Background()
	spec := e.spec("ghost")
	// A stale link, as a crash after the container's removal leaves.
	link := filepath.Join(linuxnet.NetnsRunDir, spec.LongName)
	if err := os.MkdirAll(linuxnet.NetnsRunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/999999999/ns/net", link); err != nil {
		t.Fatal(err)
	}
	for _, n := range []runtime.Node{{LongName: spec.LongName}, {ID: "0123456789ab" + e.lab}, {ID: "0123456789ab", LongName: spec.LongName}} {
		if err := rt.Delete(ctx, n); err != nil {
			t.Errorf("Delete(%+v) of a missing node: %v", n, err)
		}
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale link %s still there: %v", link, err)
	}
	e.assertNothingLeft(t)
}
