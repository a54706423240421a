package docker

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/netlab/netlab/runtime"
)

var _ runtime.Execer = (*Runtime)(nil)

// Exec runs argv inside the node's container (`docker exec`), as the
// container's user, with env added to the container's environment, and
// waits for it. It reaches what the container reaches: its own
// filesystem, processes and network namespace, with the node's
// capabilities (NET_ADMIN, NET_RAW) and no others.
func (r *Runtime) Exec(ctx context.Context, n runtime.Node, argv []string, env map[string]string, out io.Writer) error {
	ref := n.ID
	if ref == "" {
		ref = n.LongName
	}
	var envs []string
	for k, v := range env {
		envs = append(envs, k+"="+v)
	}
	slices.Sort(envs)
	created, err := r.cli.ContainerExecCreate(ctx, ref, container.ExecOptions{
		Cmd: argv, Env: envs, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return r.engineErr(err, "exec in node "+n.Name)
	}
	hj, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return r.engineErr(err, "exec in node "+n.Name)
	}
	defer hj.Close()
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, hj.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		hj.Close()
		<-done
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("exec in node %s: %w", n.Name, err)
	}
	info, err := r.cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return r.engineErr(err, "exec in node "+n.Name)
	}
	if hint := execHint(info.ExitCode, argv[0]); hint != "" {
		return fmt.Errorf("exit status %d: %s", info.ExitCode, hint)
	}
	if info.ExitCode != 0 {
		return fmt.Errorf("exit status %d", info.ExitCode)
	}
	return nil
}

// execHint says why exit status 126 or 127 (the shell's and the engine's
// "cannot execute" and "not found") may have come, "" for another status.
func execHint(code int, prog string) string {
	if code != 126 && code != 127 {
		return ""
	}
	return fmt.Sprintf("%s cannot be run in the node's container, or is not found there (netlab's own node image holds nothing but netlab): give the node an `image:` that has %s", prog, prog)
}

// Attach runs argv inside the node's container as `docker exec -i` does:
// stdin, when not nil, is copied to the command (and closed at its end),
// stdout and stderr are the command's own. It returns the command's exit
// code once it ended; an error means it could not run. For exit status
// 126 or 127 it also writes to stderr why that may be (as Exec says).
func (r *Runtime) Attach(ctx context.Context, n runtime.Node, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ref := n.ID
	if ref == "" {
		ref = n.LongName
	}
	created, err := r.cli.ContainerExecCreate(ctx, ref, container.ExecOptions{
		Cmd: argv, AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, r.engineErr(err, "exec in node "+n.Name)
	}
	hj, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, r.engineErr(err, "exec in node "+n.Name)
	}
	defer hj.Close()
	if stdin != nil {
		go func() {
			io.Copy(hj.Conn, stdin)
			hj.CloseWrite()
		}()
	}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, hj.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		hj.Close()
		<-done
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("exec in node %s: %w", n.Name, err)
	}
	info, err := r.cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return 0, r.engineErr(err, "exec in node "+n.Name)
	}
	if hint := execHint(info.ExitCode, argv[0]); hint != "" {
		fmt.Fprintf(stderr, "netlab: exit status %d: %s\n", info.ExitCode, hint)
	}
	return info.ExitCode, nil
}
