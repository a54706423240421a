package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
)

// nodeCaps returns the capabilities of every node: raw sockets (the
// agent's AF_PACKET endpoints) and network administration (addresses,
// routes, links). All others are dropped.
func nodeCaps() []string { return []string{"CAP_NET_ADMIN", "CAP_NET_RAW"} }

// cleanupTimeout bounds the removal of a half-made node after a failed
// Create, which runs even when the caller's context is done.
const cleanupTimeout = 30 * time.Second

// listInspectWorkers bounds the concurrent inspections List makes to learn
// the PIDs of running nodes.
const listInspectWorkers = 4

// Create makes the node's container: named spec.LongName, from spec.Image
// or else netlab's node image (built if missing, see EnsureImage), running
// the image's own entrypoint and command unless spec.Entrypoint or
// spec.Cmd replace them, network mode none (the lab's interfaces are
// veths, wired afterwards), restart policy no, labels spec.Labels (plus
// runtime.LabelLab and runtime.LabelNode from spec.Lab and spec.Name when
// missing), spec.Env, spec.Sysctls (net.* only), spec.Binds, spec.User and
// the memory and CPU limits; a user's image also gets CLAB_INTFS, the
// number of its lab interfaces (spec.Interfaces), unless spec.Env sets
// it. netlab's own node image runs with
// capabilities NET_RAW and NET_ADMIN only and no new privileges; a user's
// image gets the engine's default capabilities plus NET_ADMIN and
// spec.CapAdd (the services people bring drop privileges, bind low ports
// and set up their interfaces), and a standard input kept open, as
// containerlab does, so an image whose command is a shell stays up. No node
// is ever privileged. The node agent does not run in the container: it
// serves the container's network namespace from outside. Create starts the
// container, links its network namespace as /run/netns/<LongName> (a
// symbolic link to /proc/<pid>/ns/net, as containerlab does), removes the
// default route the engine gives a container on the management network
// (see dropDefaultRoute) and returns
// the node with NSPath /proc/<pid>/ns/net. On error the container is
// removed (the link, made last, is not there).
func (r *Runtime) Create(ctx context.Context, spec runtime.NodeSpec) (node runtime.Node, err error) {
	if err := validateSpec(spec); err != nil {
		return runtime.Node{}, err
	}
	if err := checkNetnsNameFree(spec.LongName); err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.LongName, err)
	}
	ref, nodeImage, err := r.nodeImage(ctx, spec)
	if err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.LongName, err)
	}
	cfg, hc := r.containerConfig(spec, ref)
	nc := mgmtConfig(spec)

	created, err := r.cli.ContainerCreate(ctx, cfg, hc, nc, nil, spec.LongName)
	if err != nil && nodeImage && cerrdefs.IsNotFound(err) {
		// The node image was removed since EnsureImage: build it again.
		r.forgetImage()
		if ref, _, err = r.nodeImage(ctx, spec); err != nil {
			return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.LongName, err)
		}
		cfg.Image = ref
		created, err = r.cli.ContainerCreate(ctx, cfg, hc, nc, nil, spec.LongName)
	}
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return runtime.Node{}, fmt.Errorf("create node %s: a container of that name already exists (another lab, or one not destroyed): destroy it first: %w", spec.LongName, err)
		}
		return runtime.Node{}, r.engineErr(err, "create node "+spec.LongName+": create container")
	}
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rerr := r.removeContainer(cctx, created.ID, 0); rerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up container %s: %w", spec.LongName, rerr))
		}
	}()

	if err := r.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return runtime.Node{}, r.engineErr(err, "create node "+spec.LongName+": start container")
	}
	info, err := r.cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		return runtime.Node{}, r.engineErr(err, "create node "+spec.LongName+": inspect container")
	}
	if info.State == nil || !info.State.Running || info.State.Pid <= 0 {
		return runtime.Node{}, r.exitedError(ctx, spec.LongName, created.ID, info.State)
	}
	pid := info.State.Pid
	if err := linkNetns(spec.LongName, pid); err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.LongName, err)
	}
	if spec.MgmtNetwork != "" {
		if err := dropDefaultRoute(procNetns(pid)); err != nil {
			return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.LongName, err)
		}
	}
	var mgmtAddr string
	if ep := info.NetworkSettings; spec.MgmtNetwork != "" && ep != nil && ep.Networks[spec.MgmtNetwork] != nil {
		mgmtAddr = ep.Networks[spec.MgmtNetwork].IPAddress
	}
	return runtime.Node{
		Name:     spec.Name,
		LongName: spec.LongName,
		NSPath:   procNetns(pid),
		ID:       created.ID,
		PID:      pid,
		Labels:   cfg.Labels,
		MgmtIPv4: mgmtAddr,
	}, nil
}

// dropDefaultRoute removes the default routes of the network namespace at
// nsPath: the engine gives a container on a network, even an internal
// one, a default route through that network's gateway (this machine), so
// a node would send whatever its lab has no route for there. The
// management network has no route beyond this machine; a default route a
// node needs is the file's (routes:), set when the node is wired.
func dropDefaultRoute(nsPath string) error {
	return linuxnet.InNamespace(nsPath, func() error {
		routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("list routes: %w", err)
		}
		for _, r := range routes {
			if !isDefault(r.Dst) {
				continue
			}
			if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("remove the engine's default route: %w", err)
			}
		}
		return nil
	})
}

// isDefault reports whether dst is that of a default route (netlink
// gives nil or 0.0.0.0/0).
func isDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0 && dst.IP.IsUnspecified()
}

// validateSpec checks what the engine would reject late or not at all.
func validateSpec(spec runtime.NodeSpec) error {
	if spec.LongName == "" {
		return fmt.Errorf("create node %q: no long name (container name)", spec.Name)
	}
	if n := spec.LongName; n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || len(n) > 255 {
		return fmt.Errorf("create node %q: invalid long name (container and network namespace name)", n)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Sysctls)) {
		if !strings.HasPrefix(k, "net.") {
			return fmt.Errorf("create node %s: sysctl %s: only net.* sysctls can be set on a node (the others are not per network namespace)", spec.LongName, k)
		}
	}
	for k := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("create node %s: invalid environment variable name %q", spec.LongName, k)
		}
	}
	for _, b := range spec.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || !filepath.IsAbs(parts[0]) || !path.IsAbs(parts[1]) ||
			len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
			return fmt.Errorf("create node %s: bind %q: want /host/path:/container/path[:ro|rw]", spec.LongName, b)
		}
		if _, err := os.Stat(parts[0]); err != nil {
			// The engine would make a missing source an empty directory.
			return fmt.Errorf("create node %s: bind %q: %w", spec.LongName, b, err)
		}
	}
	if spec.Memory < 0 || spec.CPUs < 0 {
		return fmt.Errorf("create node %s: memory %d and cpus %g: limits are positive, or 0 for none", spec.LongName, spec.Memory, spec.CPUs)
	}
	return nil
}

// nodeImage returns the image of the node and whether it is netlab's own.
func (r *Runtime) nodeImage(ctx context.Context, spec runtime.NodeSpec) (ref string, nodeImage bool, err error) {
	if spec.Image != "" {
		return spec.Image, false, r.checkImage(ctx, spec.Image)
	}
	img, err := r.EnsureImage(ctx)
	if err != nil {
		return "", true, err
	}
	return img.Ref, true, nil
}

// envIntfs is the variable that tells a user image's container how many
// lab interfaces it gets (containerlab's name).
const envIntfs = "CLAB_INTFS"

// containerConfig returns the container's configuration for spec.
func (r *Runtime) containerConfig(spec runtime.NodeSpec, ref string) (*container.Config, *container.HostConfig) {
	labels := make(map[string]string, len(spec.Labels)+2)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	if _, ok := labels[runtime.LabelLab]; !ok {
		labels[runtime.LabelLab] = spec.Lab
	}
	if _, ok := labels[runtime.LabelNode]; !ok {
		labels[runtime.LabelNode] = spec.Name
	}
	own := spec.Image == ""
	vars := spec.Env
	if _, set := vars[envIntfs]; !own && !set {
		// As containerlab does, so that an entrypoint can wait for the
		// lab's interfaces; a value the file gives is the file's.
		vars = maps.Clone(vars)
		if vars == nil {
			vars = map[string]string{}
		}
		vars[envIntfs] = strconv.Itoa(spec.Interfaces)
	}
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	stop := r.stopTimeout
	cfg := &container.Config{
		Image:       ref,
		Entrypoint:  spec.Entrypoint,
		Cmd:         spec.Cmd,
		User:        spec.User,
		Env:         env,
		Labels:      labels,
		StopTimeout: &stop,
		OpenStdin:   !own,
	}
	if validHostname(spec.Name) {
		cfg.Hostname = spec.Name
	}
	var sysctls map[string]string
	if len(spec.Sysctls) > 0 {
		sysctls = make(map[string]string, len(spec.Sysctls))
		for k, v := range spec.Sysctls {
			sysctls[k] = v
		}
	}
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode("none"),
		Privileged:    false,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Sysctls:       sysctls,
		Binds:         spec.Binds,
	}
	if own {
		hc.CapDrop = []string{"ALL"}
		hc.CapAdd = append(nodeCaps(), spec.CapAdd...)
		hc.SecurityOpt = []string{"no-new-privileges"}
	} else {
		hc.CapAdd = append([]string{"CAP_NET_ADMIN"}, spec.CapAdd...)
	}
	if spec.MgmtNetwork != "" {
		hc.NetworkMode = container.NetworkMode(spec.MgmtNetwork)
	}
	hc.Resources.Memory = spec.Memory
	hc.Resources.NanoCPUs = int64(spec.CPUs * 1e9)
	return cfg, hc
}

// mgmtConfig returns the container's endpoint on its management network,
// nil without one.
func mgmtConfig(spec runtime.NodeSpec) *network.NetworkingConfig {
	if spec.MgmtNetwork == "" {
		return nil
	}
	ep := &network.EndpointSettings{}
	if spec.MgmtIPv4 != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: spec.MgmtIPv4}
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{spec.MgmtNetwork: ep}}
}

// validHostname reports whether s can be a container's host name (one
// RFC 1123 label).
func validHostname(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// exitedError describes a container that is not running right after it
// was started, with the end of its output.
func (r *Runtime) exitedError(ctx context.Context, name, id string, st *container.State) error {
	what := "is not running"
	if st != nil {
		what = fmt.Sprintf("is %s (exit code %d)", st.Status, st.ExitCode)
		if st.Error != "" {
			what += ": " + st.Error
		}
	}
	msg := fmt.Sprintf("create node %s: container %s right after it started", name, what)
	if logs := r.logTail(ctx, id); logs != "" {
		msg += "; its last output:\n" + logs
	}
	return errors.New(msg)
}

// logTail returns the last lines a container wrote, or "" if they cannot
// be read.
func (r *Runtime) logTail(ctx context.Context, id string) string {
	rc, err := r.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && out.Len() == 0 {
		return ""
	}
	return strings.TrimRight(out.String(), "\n")
}

// List returns the nodes (containers in any state) that carry every one of
// labels. A label given with an empty value matches any value. Only
// containers carrying runtime.LabelLab are ever returned, so an empty map
// lists every netlab node and nothing else. Running nodes come with their
// PID and NSPath; stopped ones without. The result is sorted by LongName.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Node, error) {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelLab))
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, r.engineErr(err, "list nodes")
	}
	nodes := make([]runtime.Node, len(cs))
	gone := make([]bool, len(cs))
	errs := make([]error, len(cs))
	sem := make(chan struct{}, listInspectWorkers)
	var wg sync.WaitGroup
	for i, c := range cs {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		nodes[i] = runtime.Node{Name: c.Labels[runtime.LabelNode], LongName: name, ID: c.ID, Labels: c.Labels, Status: c.Status}
		if c.State != container.StateRunning {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			info, err := r.cli.ContainerInspect(ctx, c.ID)
			switch {
			case cerrdefs.IsNotFound(err):
				gone[i] = true
			case err != nil:
				errs[i] = r.engineErr(err, "list nodes: inspect "+name)
			case info.State != nil && info.State.Running && info.State.Pid > 0:
				nodes[i].PID = info.State.Pid
				nodes[i].NSPath = procNetns(info.State.Pid)
				nodes[i].Running = true
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := nodes[:0]
	for i, n := range nodes {
		if !gone[i] {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b runtime.Node) int { return strings.Compare(a.LongName, b.LongName) })
	return out, nil
}

// Delete stops the node's container (SIGTERM, then SIGKILL after the stop
// timeout), removes it with its anonymous volumes, and removes its
// /run/netns link. The container is found by n.ID, else by n.LongName. A
// node that is already gone is not an error.
func (r *Runtime) Delete(ctx context.Context, n runtime.Node) error {
	ref := n.ID
	if ref == "" {
		ref = n.LongName
	}
	if ref == "" {
		return errors.New("delete node: neither id nor name given")
	}
	name := n.LongName
	if name == "" {
		info, err := r.cli.ContainerInspect(ctx, ref)
		switch {
		case err == nil:
			name = strings.TrimPrefix(info.Name, "/")
		case !cerrdefs.IsNotFound(err):
			return r.engineErr(err, "delete node "+ref+": inspect container")
		}
	}
	if err := r.removeContainer(ctx, ref, r.stopTimeout); err != nil {
		return fmt.Errorf("delete node %s: %w", describeNode(n), err)
	}
	if name != "" {
		if err := unlinkNetns(name); err != nil {
			return fmt.Errorf("delete node %s: %w", name, err)
		}
	}
	return nil
}

func describeNode(n runtime.Node) string {
	if n.LongName != "" {
		return n.LongName
	}
	return n.ID
}

// removeContainer stops the container (when stopSecs > 0) and removes it
// with its anonymous volumes. A missing container is not an error; a
// removal already in progress is waited for.
func (r *Runtime) removeContainer(ctx context.Context, ref string, stopSecs int) error {
	if stopSecs > 0 {
		err := r.cli.ContainerStop(ctx, ref, container.StopOptions{Timeout: &stopSecs})
		switch {
		case err == nil:
		case cerrdefs.IsNotFound(err):
			return nil
		case cerrdefs.IsConflict(err):
			// Being removed by someone else, or not stoppable now:
			// removal with force decides.
		default:
			return r.engineErr(err, "stop container")
		}
	}
	err := r.cli.ContainerRemove(ctx, ref, container.RemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress"):
		return r.waitGone(ctx, ref)
	default:
		return r.engineErr(err, "remove container")
	}
}

// waitGone waits until the container no longer exists.
func (r *Runtime) waitGone(ctx context.Context, ref string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		_, err := r.cli.ContainerInspect(ctx, ref)
		switch {
		case cerrdefs.IsNotFound(err):
			return nil
		case err != nil:
			return r.engineErr(err, "wait for removal of container")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for removal of container %s: %w", ref, ctx.Err())
		case <-t.C:
		}
	}
}

// procNetns is the path of the network namespace of process pid.
func procNetns(pid int) string {
	return "/proc/" + strconv.Itoa(pid) + "/ns/net"
}

// netnsLink is the path of a node's link under linuxnet.NetnsRunDir.
func netnsLink(name string) string {
	return filepath.Join(linuxnet.NetnsRunDir, name)
}

// checkNetnsNameFree fails if name is taken under linuxnet.NetnsRunDir by
// something that is not a symbolic link (a namespace of `ip netns add` or of
// the netns runtime). A symbolic link is a stale link of a container of that
// name, which no longer exists once the name is free for a new container.
func checkNetnsNameFree(name string) error {
	fi, err := os.Lstat(netnsLink(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check network namespace name: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil
	default:
		return fmt.Errorf("a network namespace named %s already exists (ip netns list): delete it or choose another lab name", name)
	}
}

// linkNetns makes linuxnet.NetnsRunDir/name a symbolic link to the network
// namespace of process pid, replacing a stale link of the same name, so
// that `ip netns exec name` enters the container's namespace.
func linkNetns(name string, pid int) error {
	if err := os.MkdirAll(linuxnet.NetnsRunDir, 0o755); err != nil {
		return fmt.Errorf("link network namespace: %w", err)
	}
	path, target := netnsLink(name), procNetns(pid)
	err := os.Symlink(target, path)
	if errors.Is(err, fs.ErrExist) {
		if cerr := checkNetnsNameFree(name); cerr != nil {
			return cerr
		}
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("link network namespace: replace stale link: %w", rerr)
		}
		err = os.Symlink(target, path)
	}
	if err != nil {
		return fmt.Errorf("link network namespace: %w", err)
	}
	return nil
}

// unlinkNetns removes linuxnet.NetnsRunDir/name if it is a symbolic link;
// anything else there is not the docker runtime's and is left alone.
func unlinkNetns(name string) error {
	path := netnsLink(name)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove network namespace link: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove network namespace link: %w", err)
	}
	return nil
}
