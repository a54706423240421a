package netns

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
)

var _ runtime.Execer = (*Runtime)(nil)

// ExecUID and ExecGID are the user and group Exec runs commands as:
// nobody and nogroup.
const (
	ExecUID = 65534
	ExecGID = 65534
)

// lookPath finds the program name in execPath, the command's own PATH (not
// netlab's, which may hold directories nobody cannot read); a name with a
// slash is used as it is.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(execPath) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s", name, execPath)
}

// execPath is the PATH of commands Exec runs.
const execPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exec runs argv in the node's network namespace, from the host's
// binaries, and waits for it. A netns node has no filesystem or processes
// of its own, so the command is confined by who it runs as: the user
// nobody (ExecUID), with only the capabilities to administer the node's
// network — CAP_NET_ADMIN (addresses, routes, qdiscs, the node's net.*
// sysctls), CAP_NET_RAW (ping, packet sockets) and CAP_NET_BIND_SERVICE —
// all of them over the node's network namespace alone. It reaches the
// lab's links and nothing of the host's network; it sees the host's files
// and processes as nobody does (it cannot write root's files, nor signal
// or trace another user's processes). Its environment is PATH, HOME=/ and
// env; its working directory is /.
func (r *Runtime) Exec(ctx context.Context, n runtime.Node, argv []string, env map[string]string, out io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("exec in node %s: no command", n.Name)
	}
	envs := []string{"PATH=" + execPath, "HOME=/"}
	for k, v := range env {
		envs = append(envs, k+"="+v)
	}
	slices.Sort(envs[2:])
	prog, err := lookPath(argv[0])
	if err != nil {
		return fmt.Errorf("exec in node %s: %w", n.Name, err)
	}
	var runErr error
	err = linuxnet.InNamespace(n.NSPath, func() error {
		c := exec.CommandContext(ctx, prog, argv[1:]...)
		c.Args[0] = argv[0]
		c.Stdout, c.Stderr = out, out
		c.Env = envs
		c.Dir = "/"
		c.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: ExecUID, Gid: ExecGID, Groups: []uint32{}},
			AmbientCaps: []uintptr{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE},
			Pdeathsig:   syscall.SIGKILL,
		}
		runErr = c.Run() // forked from this thread: the child starts in the namespace
		return nil
	})
	if err != nil {
		return fmt.Errorf("exec in node %s: %w", n.Name, err)
	}
	return runErr
}
