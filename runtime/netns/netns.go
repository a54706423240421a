// Package netns is netlab's embedded default runtime: each node is a bare
// named network namespace, visible to `ip netns` under its long name
// (netlab-<lab>-<node>), with no daemon and no container.
//
// Labels cannot be attached to a namespace, so every namespace the runtime
// makes has a small state file, StateDir/<name>.json, holding its lab, node
// and labels. The state file is written before the namespace is made and
// removed after it is deleted, so after a crash (even kill -9 in the middle
// of Create) List still finds every namespace netlab made, and Delete never
// touches a namespace that has no state file: one netlab did not make.
//
// Deleting a node kills the processes left in its namespace (as deleting a
// container does) before removing the namespace; the kernel then frees the
// namespace and its interfaces asynchronously.
package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
)

// DefaultStateDir is where the state files of the namespaces live unless
// Options.StateDir says otherwise.
const DefaultStateDir = "/run/netlab/netns"

// MaxNameLen is the longest namespace name the runtime accepts: a file name
// (255 bytes) minus the ".json" of the state file.
const MaxNameLen = 250

// stateVersion is the version of the state file format.
const stateVersion = 1

// Options configures a Runtime.
type Options struct {
	// StateDir holds one state file per namespace; empty means
	// DefaultStateDir. Tests use their own so they can list only their
	// nodes.
	StateDir string
}

// Runtime makes lab nodes as named network namespaces. It is safe for
// concurrent use; it holds no state but its options.
type Runtime struct {
	stateDir string
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a netns runtime.
func New(o Options) *Runtime {
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	return &Runtime{stateDir: o.StateDir}
}

// Name returns "netns".
func (r *Runtime) Name() string { return "netns" }

// StateDir returns the directory holding the state files.
func (r *Runtime) StateDir() string { return r.stateDir }

// state is the content of a state file.
type state struct {
	Version int               `json:"version"`
	Name    string            `json:"name"` // the namespace's name
	Lab     string            `json:"lab"`
	Node    string            `json:"node"`
	Labels  map[string]string `json:"labels,omitempty"`
	Created time.Time         `json:"created"`
}

// CheckName reports whether name can be the name of a node's namespace: 1 to
// MaxNameLen letters, digits, '_', '.' and '-', starting with a letter or
// digit (so it is a valid file name under /run/netns and the state
// directory, and safe in a shell).
func CheckName(name string) error {
	const allowed = "letters, digits, '_', '.' and '-', starting with a letter or digit"
	if name == "" {
		return errors.New("empty network namespace name")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("network namespace name %q is %d characters long, at most %d are allowed: use a shorter lab or node name, or a shorter prefix",
			name, len(name), MaxNameLen)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '_' || c == '.' || c == '-')
		if !ok {
			return fmt.Errorf("network namespace name %q has a character that is not allowed at position %d: %q (allowed: %s)",
				name, i+1, c, allowed)
		}
	}
	return nil
}

func (r *Runtime) statePath(name string) string {
	return filepath.Join(r.stateDir, name+".json")
}

// Create makes the node's named network namespace, records it in its state
// file, and applies spec.Sysctls inside it. On error nothing is left. It
// fails with a clear message when the namespace name is taken.
func (r *Runtime) Create(ctx context.Context, spec runtime.NodeSpec) (_ runtime.Node, err error) {
	name := spec.LongName
	if err := CheckName(name); err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	if os.Geteuid() != 0 {
		return runtime.Node{}, errors.New("netlab needs root to create network namespaces: run it with sudo")
	}
	nsPath := filepath.Join(linuxnet.NetnsRunDir, name)
	if _, err := os.Lstat(nsPath); err == nil {
		return runtime.Node{}, fmt.Errorf("create node %s: network namespace %s already exists (another lab, or what a crashed one left): "+
			"run `netlab destroy --name %s` if a crashed deploy of this lab left it, or `ip netns del %s` if it is not netlab's", spec.Name, name, spec.Lab, name)
	}
	labels := make(map[string]string, len(spec.Labels)+2)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	if _, ok := labels[runtime.LabelLab]; !ok && spec.Lab != "" {
		labels[runtime.LabelLab] = spec.Lab
	}
	if _, ok := labels[runtime.LabelNode]; !ok && spec.Name != "" {
		labels[runtime.LabelNode] = spec.Name
	}
	st := state{Version: stateVersion, Name: name, Lab: spec.Lab, Node: spec.Name, Labels: labels, Created: time.Now().UTC()}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: encode state: %w", spec.Name, err)
	}
	// The state file first: a crash from here on leaves a record that List
	// and Delete find.
	if err := os.MkdirAll(r.stateDir, 0o755); err != nil {
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	if err := createExclusive(r.statePath(name), data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return runtime.Node{}, fmt.Errorf("create node %s: network namespace %s is already netlab's (state file %s): "+
				"run `netlab destroy` on its lab first", spec.Name, name, r.statePath(name))
		}
		return runtime.Node{}, fmt.Errorf("create node %s: write state: %w", spec.Name, err)
	}
	madeNS := false
	defer func() {
		if err == nil {
			return
		}
		if madeNS {
			if derr := linuxnet.DeleteNamedNS(name); derr != nil {
				err = errors.Join(err, fmt.Errorf("clean up network namespace %s: %w", name, derr))
				return // keep the state file: the namespace may still be there
			}
		}
		if rerr := os.Remove(r.statePath(name)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("clean up state of %s: %w", name, rerr))
		}
	}()
	path, err := linuxnet.NewNamedNS(name)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return runtime.Node{}, fmt.Errorf("create node %s: network namespace %s already exists: "+
				"run `netlab destroy --name %s` if a crashed deploy of this lab left it, or `ip netns del %s` if it is not netlab's", spec.Name, name, spec.Lab, name)
		}
		return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	madeNS = true
	if len(spec.Sysctls) > 0 {
		if err := applySysctls(path, spec.Sysctls); err != nil {
			return runtime.Node{}, fmt.Errorf("create node %s: %w", spec.Name, err)
		}
	}
	return runtime.Node{Name: spec.Name, LongName: name, NSPath: path, ID: name, Labels: labels}, nil
}

// List returns the nodes whose state file carries every one of labels (all
// of them for no labels), sorted by name. A node whose namespace vanished
// (a crash between the state file and the namespace) is listed too, so that
// Delete removes its state file.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Node, error) {
	entries, err := os.ReadDir(r.stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list netns nodes: %w", err)
	}
	var nodes []runtime.Node
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list netns nodes: %w", err)
		}
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || CheckName(name) != nil {
			continue // temporary files of createExclusive, strays
		}
		st, err := r.readState(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if !matches(st.Labels, labels) {
			continue
		}
		n := runtime.Node{
			Name:     st.Node,
			LongName: name,
			NSPath:   filepath.Join(linuxnet.NetnsRunDir, name),
			ID:       name,
			Labels:   st.Labels,
			Status:   "namespace gone",
		}
		if _, err := os.Stat(n.NSPath); err == nil {
			n.Running, n.Status = true, "running"
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b runtime.Node) int { return strings.Compare(a.LongName, b.LongName) })
	return nodes, nil
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func (r *Runtime) readState(name string) (state, error) {
	var st state
	data, err := os.ReadFile(r.statePath(name))
	if err != nil {
		return st, fmt.Errorf("read state of network namespace %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("read state of network namespace %s: %s: %w", name, r.statePath(name), err)
	}
	return st, nil
}

// Delete kills the processes left in the node's namespace, deletes the
// namespace and then its state file. n.ID, or n.LongName when ID is empty,
// names the namespace. Deleting a node that is gone is not an error, and a
// namespace without a state file (not made by netlab) is left alone. When
// n.Labels names a lab, Delete refuses a namespace of another lab.
func (r *Runtime) Delete(ctx context.Context, n runtime.Node) error {
	name := n.ID
	if name == "" {
		name = n.LongName
	}
	if err := CheckName(name); err != nil {
		return fmt.Errorf("delete node %s: %w", n.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete node %s: %w", n.Name, err)
	}
	// Temporary files a crash in createExclusive may have left: the
	// namespace was not made yet then.
	if tmps, err := filepath.Glob(r.statePath(name) + ".tmp-*"); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	st, err := r.readState(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone, or never ours
	}
	if err != nil {
		return fmt.Errorf("delete node %s: %w", n.Name, err)
	}
	if want := n.Labels[runtime.LabelLab]; want != "" && st.Labels[runtime.LabelLab] != want {
		return fmt.Errorf("delete node %s: network namespace %s belongs to lab %q, not %q",
			n.Name, name, st.Labels[runtime.LabelLab], want)
	}
	nsPath := filepath.Join(linuxnet.NetnsRunDir, name)
	var errs []error
	if err := killProcessesIn(nsPath); err != nil {
		errs = append(errs, err)
	}
	if err := linuxnet.DeleteNamedNS(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(append(errs, fmt.Errorf("delete node %s: %w", n.Name, err))...)
	}
	if err := os.Remove(r.statePath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("delete node %s: remove state: %w", n.Name, err))
	}
	return errors.Join(errs...)
}

// killProcessesIn sends SIGKILL to every process (other than this one) whose
// network namespace is the one at nsPath, as `ip netns pids` finds them. It
// does nothing when nsPath does not exist.
func killProcessesIn(nsPath string) error {
	var st unix.Stat_t
	if err := unix.Stat(nsPath, &st); err != nil {
		return nil // no namespace, no processes
	}
	if st.Dev != nsfsDev() {
		return nil // a placeholder file (half-made namespace): no one is inside
	}
	want := []byte("net:[" + strconv.FormatUint(st.Ino, 10) + "]")
	pids, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("find processes in %s: %w", nsPath, err)
	}
	self := os.Getpid()
	buf := make([]byte, 64)
	var errs []error
	for _, p := range pids {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		n, err := unix.Readlink("/proc/"+p.Name()+"/ns/net", buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill process %d in %s: %w", pid, nsPath, err))
		}
	}
	return errors.Join(errs...)
}

// nsfsDev returns the device of the nsfs filesystem, where namespace files
// live, or 0 if it cannot be found.
func nsfsDev() uint64 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return 0
	}
	return st.Dev
}

// applySysctls writes sysctls (net.* keys) inside the namespace at nsPath.
func applySysctls(nsPath string, sysctls map[string]string) error {
	keys := slices.Sorted(maps.Keys(sysctls))
	paths := make([]string, len(keys))
	for i, k := range keys {
		p, err := linuxnet.SysctlPath(k)
		if err != nil {
			return err
		}
		paths[i] = p
	}
	return linuxnet.InNamespace(nsPath, func() error {
		for i, k := range keys {
			if err := linuxnet.WriteSysctl(paths[i], sysctls[k]); err != nil {
				return fmt.Errorf("set sysctl %s=%s: %w", k, sysctls[k], err)
			}
		}
		return nil
	})
}

// createExclusive writes data to path, failing with fs.ErrExist if path
// exists. The file appears complete or not at all: data goes to a temporary
// file first, which is then hard-linked to path.
func createExclusive(path string, data []byte) error {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := path + ".tmp-" + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}
