package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// Files the agent keeps in the lab directory.
const (
	TopologyCopy = "topology.yml" // the topology as deployed
	AgentConfig  = "agent.json"   // the nodes a shared agent serves
	AgentPID     = "agent.pid"
	AgentLog     = "agent.log"
	AgentSocket  = "agent.sock"
	// RelaySocket is the control socket of a docker lab's relay agent;
	// on netns the shared agent runs the relays behind AgentSocket.
	RelaySocket = "relay.sock"
)

// AgentFile is the content of agent.json.
type AgentFile struct {
	Nodes []NodeRef `json:"nodes"`
	// SwitchNS is the path of the lab's switch namespace when the agent
	// runs the lab's relays.
	SwitchNS string `json:"switch-ns,omitempty"`
}

// Starter starts and stops node agents for deploy. For the netns runtime
// it runs one agent process for the whole lab (`netlab agent`, detached,
// logging to the lab directory), which also runs the lab's relays; for
// docker the containers run their own agents and Start waits for them, and
// starts such a process for the relays only when the lab has any.
type Starter struct {
	// Runtime is "netns" or "docker".
	Runtime string
	// Exe is the netlab binary; empty means the running one.
	Exe string
	// Timeout bounds the wait for the agents to answer; 0 means 30 s plus
	// 20 ms per node.
	Timeout time.Duration
	// Warn, if set, is told of node `exec:` commands that failed.
	Warn io.Writer
}

// Start copies the topology into the lab directory and brings up the
// agents, returning once every node answers.
func (st Starter) Start(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, labDir string) error {
	if err := copyFile(lab.File, filepath.Join(labDir, TopologyCopy)); err != nil {
		return fmt.Errorf("copy topology into the lab directory: %w", err)
	}
	timeout := st.Timeout
	if timeout == 0 {
		timeout = 30*time.Second + time.Duration(len(nodes))*20*time.Millisecond
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var af AgentFile
	if len(lab.Relays()) > 0 {
		p, err := linuxnet.NSPath(wiring.SwitchNSName(lab))
		if err != nil {
			return fmt.Errorf("relays: %w", err)
		}
		af.SwitchNS = p
	}
	if st.Runtime == "docker" {
		for _, n := range sortedNames(nodes) {
			if err := waitHealthy(wctx, filepath.Join(labDir, "nodes", n, AgentSocket), nil); err != nil {
				return fmt.Errorf("agent of node %s: %w", n, err)
			}
		}
		if af.SwitchNS != "" {
			if err := st.startShared(wctx, af, labDir, RelaySocket); err != nil {
				return err
			}
		}
		st.runExec(ctx, lab, nodes, labDir)
		return nil
	}
	for _, n := range sortedNames(nodes) {
		af.Nodes = append(af.Nodes, NodeRef{Name: n, NSPath: nodes[n].NSPath})
	}
	if err := st.startShared(wctx, af, labDir, AgentSocket); err != nil {
		return err
	}
	st.runExec(ctx, lab, nodes, labDir)
	return nil
}

// startShared starts the agent process that serves af from the host
// (detached, so that it outlives the CLI), answering on the socket called
// sockName in labDir, and waits until it answers.
func (st Starter) startShared(wctx context.Context, af AgentFile, labDir, sockName string) error {
	b, _ := json.MarshalIndent(af, "", "  ")
	if err := os.WriteFile(filepath.Join(labDir, AgentConfig), b, 0o600); err != nil {
		return fmt.Errorf("write agent config: %w", err)
	}
	exe := st.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the netlab binary: %w", err)
		}
	}
	logf, err := os.OpenFile(filepath.Join(labDir, AgentLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open agent log: %w", err)
	}
	defer logf.Close()
	sock := filepath.Join(labDir, sockName)
	os.Remove(sock)
	cmd := exec.Command(exe, "agent", "--lab-dir", labDir, "--config", filepath.Join(labDir, AgentConfig), "--socket", sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the CLI
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(labDir, AgentPID), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("write agent pid: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitHealthy(wctx, sock, exited); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("agent did not come up: %w%s", err, logTail(filepath.Join(labDir, AgentLog)))
	}
	return nil
}

// runExec runs each node's `exec:` commands, in order, with `sh -c` inside
// the node's network namespace, once the lab is up (containerlab's exec).
// Output goes to logs/<node>.log in the lab directory; a failing command
// is reported as a warning and does not undo the deploy.
func (st Starter) runExec(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, labDir string) {
	for _, pn := range lab.Nodes {
		if len(pn.Exec) == 0 {
			continue
		}
		ns := nodes[pn.Name].NSPath
		if err := os.MkdirAll(filepath.Join(labDir, "logs"), 0o755); err != nil {
			st.warn("node %s: %v", pn.Name, err)
			continue
		}
		logf, err := os.OpenFile(filepath.Join(labDir, "logs", pn.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			st.warn("node %s: %v", pn.Name, err)
			continue
		}
		for _, line := range pn.Exec {
			fmt.Fprintf(logf, "$ %s\n", line)
			var runErr error
			err := linuxnet.InNamespace(ns, func() error {
				c := exec.CommandContext(ctx, "sh", "-c", line)
				c.Stdout, c.Stderr = logf, logf
				env := os.Environ()
				for k, v := range pn.Env {
					env = append(env, k+"="+v)
				}
				c.Env = env
				runErr = c.Run() // forked from this thread: inside the namespace
				return nil
			})
			if err == nil {
				err = runErr
			}
			if err != nil {
				fmt.Fprintf(logf, "# %v\n", err)
				st.warn("node %s: exec %q: %v (see %s)", pn.Name, line, err, logf.Name())
			}
		}
		logf.Close()
	}
}

func (st Starter) warn(format string, args ...any) {
	if st.Warn != nil {
		fmt.Fprintf(st.Warn, "warning: "+format+"\n", args...)
	}
}

// Stop ends the lab's shared agent (or, on docker, its relays' agent), if
// any: SIGTERM, then SIGKILL.
func (st Starter) Stop(ctx context.Context, labDir string) error {
	return StopAgent(ctx, labDir)
}

// StopAgent ends the agent whose PID is recorded in labDir.
func StopAgent(ctx context.Context, labDir string) error {
	pidFile := filepath.Join(labDir, AgentPID)
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid in %s", pidFile)
	}
	if isAgent(pid) {
		syscall.Kill(pid, syscall.SIGTERM)
		waitGone(ctx, pid, 2*time.Second)
		if isAgent(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(ctx, pid, 2*time.Second)
		}
	}
	os.Remove(pidFile)
	os.Remove(filepath.Join(labDir, AgentSocket))
	os.Remove(filepath.Join(labDir, RelaySocket))
	return nil
}

func waitGone(ctx context.Context, pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for isAgent(pid) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// isAgent reports whether pid is alive and a netlab agent (a PID file can
// outlive its process and the number be reused).
func isAgent(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			return false // a zombie: dead, not yet reaped
		}
	}
	return strings.Contains(string(b), "agent\x00")
}

func waitHealthy(ctx context.Context, sock string, exited <-chan error) error {
	c := NewClient(sock, "")
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.Health(hctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("agent exited: %v", werr)
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s: %w", sock, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nagent log (" + path + "):\n" + string(b)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func sortedNames(m map[string]runtime.Node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
