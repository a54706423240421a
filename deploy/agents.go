package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// agentRecord names the lab's agent in the state directory's process
// records.
const agentRecord = "agent"

// AgentProfileEnv names a directory in which every agent deploy starts
// writes a CPU profile of itself (LAB-RUN-NAME.prof, NAME after its log)
// until it stops: where a lab's time goes, for benchmarks.
const AgentProfileEnv = "NETLAB_AGENT_CPUPROFILE"

// Agents starts and stops netlab's node agent (the hidden `netlab agent`
// verb) for Deploy and Destroy: one process for the whole lab, detached,
// on this machine, serving every node through its network namespace (a
// named namespace on netns, a container's on docker, so that any image can
// be a node) and running the lab's relays. The agent reads the resolved
// plan from the state directory; it never parses the topology file.
type Agents struct {
	// Exe is the netlab binary; empty means the running one.
	Exe string
	// Timeout bounds the wait for the agents to answer; 0 means 30 s plus
	// 20 ms per node.
	Timeout time.Duration
	// TraceEventsPerSecond is the agents' recording budget
	// (nodeagent.Config.TraceEventsPerSecond): 0 the default, below 0
	// every event recorded (a grader reads whole traces).
	TraceEventsPerSecond int
}

var _ AgentStarter = Agents{}

// AgentConfig is what a shared agent serves (labdir.AgentConfigFile).
type AgentConfig struct {
	// Nodes are the nodes it serves, with their namespaces.
	Nodes []nodeagent.NodeRef `json:"nodes"`
	// SwitchNS is the path of the lab's switch namespace when the agent
	// runs the lab's relays.
	SwitchNS string `json:"switch-ns,omitempty"`
	// TraceEventsPerSecond is Agents.TraceEventsPerSecond.
	TraceEventsPerSecond int `json:"trace-events-per-second,omitempty"`
}

// Start brings up the agents of the wired lab, returning once every node
// answers.
func (st Agents) Start(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, dirs labdir.Lab, run labdir.Run) error {
	timeout := st.Timeout
	if timeout == 0 {
		timeout = 30*time.Second + time.Duration(len(nodes))*20*time.Millisecond
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := AgentConfig{TraceEventsPerSecond: st.TraceEventsPerSecond}
	if len(lab.Relays()) > 0 {
		p, err := linuxnet.NSPath(wiring.SwitchNSName(lab))
		if err != nil {
			return fmt.Errorf("relays: %w", err)
		}
		cfg.SwitchNS = p
	}
	for _, n := range sortedNames(nodes) {
		cfg.Nodes = append(cfg.Nodes, nodeagent.NodeRef{Name: n, NSPath: nodes[n].NSPath})
	}
	if err := st.startShared(wctx, cfg, dirs, run, agentRecord, labdir.AgentSocketName, labdir.AgentLogName); err != nil {
		return err
	}
	return nil
}

// AgentProcess returns the pid of the lab's agent while it runs.
func AgentProcess(dirs labdir.Lab) (pid int, ok bool) {
	pr, ok, err := readRecord(dirs.StateDir(), agentRecord)
	if err != nil || !ok || !pr.alive() {
		return 0, false
	}
	return pr.PID, true
}

// NodeEndpoint returns the control socket of the agent that serves node
// n, and where it logs.
func (st Agents) NodeEndpoint(dirs labdir.Lab, run labdir.Run, n *topology.Node) (socket, log string) {
	return dirs.State(labdir.AgentSocketName), run.Path(labdir.LogsDir, labdir.AgentLogName)
}

// RelayEndpoint returns the control socket of the agent that runs the
// lab's relays, and where it logs.
func (st Agents) RelayEndpoint(dirs labdir.Lab, run labdir.Run) (socket, log string) {
	return dirs.State(labdir.AgentSocketName), run.Path(labdir.LogsDir, labdir.AgentLogName)
}

// startShared starts an agent process that serves cfg from the host
// (detached, so that it outlives the CLI), answering on the socket called
// sockName in the state directory and logging to the run's logName, and
// waits until it answers. The process is recorded as record.
func (st Agents) startShared(wctx context.Context, cfg AgentConfig, dirs labdir.Lab, run labdir.Run, record, sockName, logName string) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	cfgPath := dirs.State(labdir.AgentConfigFile)
	if err := writeFile(cfgPath, b, 0o600); err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	exe := st.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the netlab binary: %w", err)
		}
	}
	logPath := run.Path(labdir.LogsDir, logName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("open agent log: %w", err)
	}
	defer logf.Close()
	sock := dirs.State(sockName)
	os.Remove(sock)
	args := []string{"agent", "--plan", dirs.State(labdir.PlanFile), "--config", cfgPath, "--socket", sock, "--run-dir", run.Dir}
	if dir := os.Getenv(AgentProfileEnv); dir != "" {
		// For benchmarks: the agent profiles itself until it is stopped.
		name := filepath.Base(dirs.StateDir()) + "-" + filepath.Base(run.Dir) + "-" + strings.TrimSuffix(logName, ".log") + ".prof"
		args = append(args, "--cpuprofile", filepath.Join(dir, name))
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the CLI
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	if err := recordProcess(dirs.StateDir(), record, cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitHealthy(wctx, sock, exited); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("agent did not come up: %w%s", err, logTail(logPath))
	}
	return nil
}

// Stop ends the lab's host agents (the netns lab's shared agent, the
// docker lab's relay agent), if they are still the processes recorded:
// SIGTERM, then SIGKILL. Container agents end with their containers.
func (st Agents) Stop(ctx context.Context, dirs labdir.Lab) error {
	var prs []procRecord
	pr, ok, err := readRecord(dirs.StateDir(), agentRecord)
	if err != nil {
		return err
	}
	if ok {
		prs = append(prs, pr)
	}
	if err := stopProcesses(ctx, prs); err != nil {
		return err
	}
	os.Remove(filepath.Join(dirs.StateDir(), labdir.PIDDir, agentRecord+".json"))
	os.Remove(dirs.State(labdir.AgentSocketName))
	return nil
}

// waitHealthy waits until the agent on sock answers, exited says the
// process ended, or ctx ends.
func waitHealthy(ctx context.Context, sock string, exited <-chan error) error {
	c := nodeagent.NewClient(sock, "")
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Health(hctx)
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

// logTail returns the end of the log at path, for an error message.
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

func sortedNames(m map[string]runtime.Node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errNoAgent is returned for a node whose lab runs no agent.
var errNoAgent = errors.New("the lab was deployed without agents (--no-agent)")
