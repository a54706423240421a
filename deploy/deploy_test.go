package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
)

// progressRecorder checks the ProgressFunc contract: total fixed, done
// increasing by one from 0, ending at total.
type progressRecorder struct {
	mu    sync.Mutex
	calls int
	last  int
	total int
	bad   []string
}

func (p *progressRecorder) fn(done, total int, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == 0 {
		p.total = total
		if done != 0 {
			p.bad = append(p.bad, fmt.Sprintf("first call done=%d, want 0", done))
		}
	} else if done != p.last+1 || total != p.total {
		p.bad = append(p.bad, fmt.Sprintf("call %d: %d/%d after %d/%d (%s)", p.calls, done, total, p.last, p.total, what))
	}
	p.calls++
	p.last = done
}

func (p *progressRecorder) check(t *testing.T) {
	t.Helper()
	for _, b := range p.bad {
		t.Errorf("progress: %s", b)
	}
	if p.last != p.total {
		t.Errorf("progress ended at %d/%d", p.last, p.total)
	}
}

// pingPlan returns the pings that check a lab whose nodes all run the Linux
// stack: with all, from every node to every address of every other node;
// otherwise from the first host of each LAN and r01 to every router address
// and the last host of each LAN (fabric-100).
func pingPlan(lab *topology.Lab, st *deploy.State, all bool) []pingPair {
	ns := map[string]string{}
	for _, n := range st.Nodes {
		ns[n.Name] = n.LongName
	}
	var pairs []pingPair
	for _, a := range lab.Nodes {
		if !all && !strings.HasSuffix(a.Name, "1") {
			continue // h011, h021..., r01 only
		}
		for _, b := range lab.Nodes {
			if a == b || !all && b.Base != topology.KindRouter && !strings.HasSuffix(b.Name, "9") {
				continue
			}
			for _, ifc := range b.Interfaces {
				pairs = append(pairs, pingPair{from: a.Name, fromNS: ns[a.Name], to: ifc.Addr.Addr().String()})
			}
		}
	}
	return pairs
}

func TestDeployExamples(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		example string
		linux   bool // force `stack: linux` on every node and ping
		allPing bool // ping every pair (else a sample)
	}{
		{example: "two-hosts"},
		{example: "two-hosts", linux: true, allPing: true},
		{example: "line-of-routers"},
		{example: "line-of-routers", linux: true, allPing: true},
		{example: "lan-star"},
		{example: "lan-star", linux: true, allPing: true},
		{example: "lossy-wan"},
		{example: "lossy-wan", linux: true, allPing: true},
		{example: "go-beside-linux"},
		{example: "go-beside-linux", linux: true, allPing: true},
		{example: "fabric-100"},
		{example: "fabric-100", linux: true},
	}
	for _, tc := range tests {
		name := tc.example
		if tc.linux {
			name += "/linux"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			path, labName := copyExample(t, tc.example)
			e := defaultEnv()
			before := hostLinks(t)
			cleanupLab(t, e, labName)
			lab, err := topology.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.linux {
				forceLinux(lab)
			}
			dropDisallowedCC(t, lab)
			prog := &progressRecorder{}
			start := time.Now()
			st, err := deploy.Deploy(ctx, deploy.Options{Lab: lab, Runtime: e.rt, Progress: prog.fn})
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			t.Logf("deployed %d nodes in %v", len(st.Nodes), time.Since(start))
			prog.check(t)
			if st.Status != deploy.StatusRunning || !st.Running || st.Runtime != "netns" {
				t.Errorf("state: status %q, running %v, runtime %q; want running on netns", st.Status, st.Running, st.Runtime)
			}
			for _, f := range []string{labdir.PlanFile, labdir.StateFile, labdir.JournalFile} {
				if _, err := os.Stat(filepath.Join(st.StateDir, f)); err != nil {
					t.Errorf("state directory: %v", err)
				}
			}
			for _, f := range []string{labdir.PlanFile, labdir.RunInfoFile, labdir.TracesDir, labdir.LogsDir} {
				if _, err := os.Stat(filepath.Join(st.LabDir, labdir.RunsDir, st.Run, f)); err != nil {
					t.Errorf("run folder: %v", err)
				}
			}
			if want := filepath.Join(filepath.Dir(path), "netlab-"+labName); st.LabDir != want {
				t.Errorf("lab directory %s, want %s", st.LabDir, want)
			}
			checkDeployed(t, lab, st)

			states, err := deploy.Inspect(ctx, deploy.InspectOptions{TopoFile: path, Runtime: e.rt})
			if err != nil || len(states) != 1 {
				t.Fatalf("Inspect = %d states, %v; want 1", len(states), err)
			}
			for _, n := range states[0].Nodes {
				if !n.Alive {
					t.Errorf("Inspect: node %s not alive", n.Name)
				}
			}

			if tc.linux {
				pingAll(t, pingPlan(lab, st, tc.allPing))
			}

			start = time.Now()
			prog = &progressRecorder{}
			if err := deploy.Destroy(ctx, deploy.DestroyOptions{TopoFile: path, Runtime: e.rt, Cleanup: true, Progress: prog.fn}); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			t.Logf("destroyed in %v", time.Since(start))
			prog.check(t)
			assertGone(t, e, labName, before)
			if _, err := os.Stat(st.LabDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("lab directory still there after Destroy with Cleanup (stat: %v)", err)
			}
		})
	}
}

// dropDisallowedCC removes from lab the tcp_congestion_control sysctls the
// host does not let namespaces use (go-beside-linux asks for cubic; some
// hosts allow only "reno bbr"), saying so: Deploy refuses them with a
// message saying how to allow them, tested in TestDeployRollsBack.
func dropDisallowedCC(t *testing.T, lab *topology.Lab) {
	t.Helper()
	data, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
	allowed := strings.Fields(string(data))
	for _, n := range lab.Nodes {
		if cc, ok := n.Sysctls["net.ipv4.tcp_congestion_control"]; ok && !slices.Contains(allowed, cc) {
			t.Logf("node %s: dropping net.ipv4.tcp_congestion_control=%s: the host allows only %q in namespaces", n.Name, cc, allowed)
			delete(n.Sysctls, "net.ipv4.tcp_congestion_control")
		}
	}
}

func TestDeployRunningLab(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path, labName := copyExample(t, "two-hosts")
	e := defaultEnv()
	before := hostLinks(t)
	cleanupLab(t, e, labName)
	o := deploy.Options{TopoFile: path, Runtime: e.rt}
	st1, err := deploy.Deploy(ctx, o)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	_, err = deploy.Deploy(ctx, o)
	if !errors.Is(err, deploy.ErrRunning) || !strings.Contains(err.Error(), "--reconfigure") {
		t.Fatalf("second Deploy = %v, want an error wrapping ErrRunning that mentions --reconfigure", err)
	}
	// The failed deploy must not have touched the running lab.
	if ns := labNamespaces(t, labName); len(ns) != 2 {
		t.Fatalf("after the refused deploy: namespaces %v, want 2", ns)
	}
	o.Reconfigure = true
	st2, err := deploy.Deploy(ctx, o)
	if err != nil {
		t.Fatalf("Deploy with Reconfigure: %v", err)
	}
	if !st2.Started.After(st1.Started) {
		t.Errorf("reconfigured lab started at %v, not after %v", st2.Started, st1.Started)
	}
	// Each deploy is a run of its own, and the destroy keeps the lab
	// directory's runs without Cleanup, the last one marked ended.
	if st2.Run == st1.Run || st2.Run == "" {
		t.Errorf("runs %q then %q, want two different runs", st1.Run, st2.Run)
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: labName, Runtime: e.rt}); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	assertGone(t, e, labName, before)
	if _, err := os.Stat(st2.StateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory %s left after Destroy (stat: %v)", st2.StateDir, err)
	}
	runs, err := labdir.New("", labName, path).Runs()
	if err != nil || len(runs) != 2 || runs[0].ID != st1.Run || runs[1].ID != st2.Run || runs[1].Ended.IsZero() || !runs[1].Current {
		t.Errorf("runs after Destroy without Cleanup: %+v, %v; want both runs, the second ended and current", runs, err)
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: labName, Runtime: e.rt}); !errors.Is(err, deploy.ErrNotRunning) {
		t.Errorf("second Destroy = %v, want ErrNotRunning", err)
	}
	if _, err := deploy.Inspect(ctx, deploy.InspectOptions{TopoFile: path, Runtime: e.rt}); !errors.Is(err, deploy.ErrNotRunning) {
		t.Errorf("Inspect after Destroy = %v, want ErrNotRunning", err)
	}
}

func TestDeployNameClash(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		example string
		taken   string // the node whose namespace name someone else has
	}{
		{example: "line-of-routers", taken: "r2"},
		{example: "lan-star", taken: "sw"}, // the switch namespace
	}
	for _, tc := range tests {
		t.Run(tc.example, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			path, labName := copyExample(t, tc.example)
			e := defaultEnv()
			before := hostLinks(t)
			cleanupLab(t, e, labName)
			foreign := "netlab-" + labName + "-" + tc.taken
			if _, err := linuxnet.NewNamedNS(foreign); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, foreign)); err == nil {
					if err := linuxnet.DeleteNamedNS(foreign); err != nil {
						t.Errorf("DeleteNamedNS(%s): %v", foreign, err)
					}
				}
			})
			_, err := deploy.Deploy(ctx, deploy.Options{TopoFile: path, Runtime: e.rt})
			if err == nil || !strings.Contains(err.Error(), foreign+" already exists") {
				t.Fatalf("Deploy = %v, want an error saying %s already exists", err, foreign)
			}
			t.Logf("Deploy: %v", err)
			if got := labNamespaces(t, labName); len(got) != 1 || got[0] != foreign {
				t.Errorf("namespaces after the failed deploy: %v, want only the foreign %s", got, foreign)
			}
			if _, err := os.Stat(e.registryFile(labName)); err == nil {
				t.Errorf("registry entry left after a failed deploy")
			}
			// Destroy must not take the foreign namespace for the lab's.
			deploy.Destroy(ctx, deploy.DestroyOptions{LabName: labName, Runtime: e.rt})
			if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, foreign)); err != nil {
				t.Errorf("foreign namespace removed: %v", err)
			}
			if err := linuxnet.DeleteNamedNS(foreign); err != nil {
				t.Errorf("DeleteNamedNS(%s): %v", foreign, err)
			}
			assertGone(t, e, labName, before)
		})
	}
}

// fakeAgent starts `sleep` in each node's namespace, records the processes,
// and fails if failStart.
type fakeAgent struct {
	failStart bool
	mu        sync.Mutex
	starts    int
	stops     int
	pids      []int
	exited    []chan struct{}
}

func (a *fakeAgent) Start(ctx context.Context, lab *topology.Lab, nodes map[string]runtime.Node, dirs labdir.Lab, _ labdir.Run) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.starts++
	if len(nodes) != len(lab.Nodes) {
		return fmt.Errorf("fake agent: %d nodes for a lab of %d", len(nodes), len(lab.Nodes))
	}
	for name, n := range nodes {
		cmd := exec.Command("ip", "netns", "exec", n.LongName, "sleep", "600")
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		a.pids = append(a.pids, cmd.Process.Pid)
		a.exited = append(a.exited, done)
		if err := deploy.RecordProcess(dirs, "agent-"+name, cmd.Process.Pid); err != nil {
			return err
		}
	}
	if a.failStart {
		return errors.New("fake agent: failing as told")
	}
	return nil
}

func (a *fakeAgent) Stop(ctx context.Context, _ labdir.Lab) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stops++
	return nil
}

// checkExited checks that every process the agent started has exited.
func (a *fakeAgent) checkExited(t *testing.T) {
	t.Helper()
	for i, done := range a.exited {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("agent process %d still running", a.pids[i])
			syscall.Kill(a.pids[i], syscall.SIGKILL)
		}
	}
}

func TestDeployRollsBack(t *testing.T) {
	requireRoot(t)
	const lan = `
topology:
  nodes:
    h1: {stack: linux, sysctls: {%s}}
    h2: {}
    h3: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1", "h3:eth1"]
`
	tests := []struct {
		name     string
		sysctl   string // on h1
		agent    *fakeAgent
		cancelAt int // cancel the context at this progress step
		wantErr  string
	}{
		{name: "agent fails", sysctl: "net.ipv4.ip_forward: 1", agent: &fakeAgent{failStart: true}, wantErr: "failing as told"},
		{name: "bad node sysctl", sysctl: "net.ipv4.no_such_sysctl: 1", wantErr: "no such sysctl"},
		{name: "bad interface sysctl", sysctl: "net.ipv4.conf.eth9.rp_filter: 1", wantErr: "no such sysctl"},
		{name: "unknown congestion control", sysctl: "net.ipv4.tcp_congestion_control: nosuchcc", wantErr: "no such congestion control"},
		{name: "cancelled while wiring", sysctl: "net.ipv4.ip_forward: 1", cancelAt: 7, wantErr: "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			labName := uniqueLab(t, "rollback")
			path := writeTopology(t, labName, fmt.Sprintf(lan, tc.sysctl))
			e := defaultEnv()
			before := hostLinks(t)
			cleanupLab(t, e, labName)
			o := deploy.Options{TopoFile: path, Runtime: e.rt}
			if tc.agent != nil {
				o.Agent = tc.agent
			}
			if tc.cancelAt > 0 {
				o.Progress = func(done, total int, what string) {
					if done == tc.cancelAt {
						cancel()
					}
				}
			}
			_, err := deploy.Deploy(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Deploy = %v, want an error containing %q", err, tc.wantErr)
			}
			t.Logf("Deploy: %v", err)
			assertGone(t, e, labName, before)
			if tc.agent != nil {
				if tc.agent.stops != 1 {
					t.Errorf("agent stopped %d times, want 1", tc.agent.stops)
				}
				tc.agent.checkExited(t)
			}
		})
	}
}

func TestDestroyStopsRecordedProcesses(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path, labName := copyExample(t, "lan-star")
	e := defaultEnv()
	before := hostLinks(t)
	cleanupLab(t, e, labName)
	agent := &fakeAgent{}
	if _, err := deploy.Deploy(ctx, deploy.Options{TopoFile: path, Runtime: e.rt, Agent: agent}); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	// A destroy that knows nothing of the agent (a new CLI process) still
	// stops its processes.
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{TopoFile: path, Runtime: e.rt, Cleanup: true}); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	agent.checkExited(t)
	if agent.stops != 0 {
		t.Errorf("agent stopped %d times by a Destroy without it", agent.stops)
	}
	assertGone(t, e, labName, before)
}

func TestDestroyTargets(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := isolatedEnv(t)
	before := hostLinks(t)
	deployTwo := func() (labs []string) {
		for range 2 {
			path, lab := copyExample(t, "two-hosts")
			cleanupLab(t, e, lab)
			if _, err := deploy.Deploy(ctx, deploy.Options{TopoFile: path, Runtime: e.rt, RunDir: e.runDir}); err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			labs = append(labs, lab)
		}
		return labs
	}
	labs := deployTwo()
	err := deploy.Destroy(ctx, deploy.DestroyOptions{Runtime: e.rt, RunDir: e.runDir})
	if err == nil || !strings.Contains(err.Error(), "2 labs are running") {
		t.Errorf("Destroy with no target and 2 labs = %v, want an error saying 2 labs are running", err)
	}
	states, err := deploy.Inspect(ctx, deploy.InspectOptions{All: true, Runtime: e.rt, RunDir: e.runDir})
	if err != nil || len(states) != 2 {
		t.Fatalf("Inspect(All) = %d states, %v; want 2", len(states), err)
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: labs[0], Runtime: e.rt, RunDir: e.runDir, Cleanup: true}); err != nil {
		t.Fatalf("Destroy(%s): %v", labs[0], err)
	}
	states, err = deploy.Inspect(ctx, deploy.InspectOptions{Runtime: e.rt, RunDir: e.runDir})
	if err != nil || len(states) != 1 || states[0].Lab != labs[1] {
		t.Fatalf("Inspect(the only lab) = %v, %v; want %s", states, err, labs[1])
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{Runtime: e.rt, RunDir: e.runDir, Cleanup: true}); err != nil {
		t.Fatalf("Destroy(the only lab): %v", err)
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{Runtime: e.rt, RunDir: e.runDir}); !errors.Is(err, deploy.ErrNotRunning) {
		t.Errorf("Destroy with no lab = %v, want ErrNotRunning", err)
	}
	labs = append(labs, deployTwo()...)
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{All: true, Runtime: e.rt, RunDir: e.runDir, Cleanup: true}); err != nil {
		t.Fatalf("Destroy(All): %v", err)
	}
	for _, lab := range labs {
		assertGone(t, e, lab, before)
	}
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{All: true, Runtime: e.rt, RunDir: e.runDir}); err != nil {
		t.Errorf("Destroy(All) with nothing running = %v, want nil", err)
	}
}

// childEnv, when set, makes TestKillDuringDeploy the child: it deploys the
// topology the variable names and prints "progress DONE TOTAL" lines.
const childEnv = "NETLAB_DEPLOY_TEST_CHILD"

func TestKillDuringDeploy(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		childDeploy(t, path)
		return
	}
	requireRoot(t)
	tests := []struct {
		name   string
		killAt float64 // fraction of the progress steps
	}{
		{"while creating nodes", 0.15},
		{"while wiring", 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			path, labName := copyExample(t, "fabric-100")
			e := defaultEnv()
			before := hostLinks(t)
			cleanupLab(t, e, labName)
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKillDuringDeploy$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var done, total int
				if _, err := fmt.Sscanf(sc.Text(), "progress %d %d", &done, &total); err != nil {
					continue
				}
				if float64(done) >= tc.killAt*float64(total) {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
					t.Logf("SIGKILL at step %d of %d", done, total)
					break
				}
			}
			go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
			cmd.Wait()
			if !killed {
				t.Fatalf("the child deploy ended before it could be killed")
			}
			if len(labNamespaces(t, labName)) == 0 {
				t.Fatalf("nothing was created before the kill")
			}
			if _, err := os.Stat(e.registryFile(labName)); err != nil {
				t.Errorf("no registry entry after the kill: %v", err)
			}
			// The lab is "running" for a new deploy...
			if _, err := deploy.Deploy(ctx, deploy.Options{TopoFile: path, Runtime: e.rt}); !errors.Is(err, deploy.ErrRunning) {
				t.Errorf("Deploy after the kill = %v, want ErrRunning", err)
			}
			// ...and destroy removes everything.
			start := time.Now()
			if err := deploy.Destroy(ctx, deploy.DestroyOptions{TopoFile: path, Runtime: e.rt, Cleanup: true}); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			t.Logf("destroyed in %v", time.Since(start))
			assertGone(t, e, labName, before)
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// childDeploy is the child process of TestKillDuringDeploy.
func childDeploy(t *testing.T, path string) {
	w := bufio.NewWriter(os.Stdout)
	_, err := deploy.Deploy(context.Background(), deploy.Options{
		TopoFile: path,
		Runtime:  defaultEnv().rt,
		Progress: func(done, total int, what string) {
			fmt.Fprintf(w, "progress %d %d %s\n", done, total, what)
			w.Flush()
		},
	})
	if err != nil {
		t.Fatalf("child Deploy: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name  string
		calls [][2]int
		want  []string // substrings of the output
		final bool     // output ends with a newline
	}{
		{name: "start", calls: [][2]int{{0, 10}}, want: []string{"deploy [>", " 0/10  step"}},
		{name: "done", calls: [][2]int{{0, 10}, {10, 10}}, want: []string{"[====================] 10/10  step"}, final: true},
		{name: "throttled", calls: [][2]int{{0, 100}, {1, 100}, {2, 100}}, want: []string{"  0/100"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := deploy.ProgressLine(&b, "deploy")
			for _, c := range tc.calls {
				p(c[0], c[1], "step")
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q does not contain %q", out, w)
				}
			}
			if strings.HasSuffix(out, "\n") != tc.final {
				t.Errorf("output %q ends with a newline: %v, want %v", out, !tc.final, tc.final)
			}
			if tc.name == "throttled" && (strings.Contains(out, "1/100") || strings.Contains(out, "2/100")) {
				t.Errorf("output %q: a redraw within 100 ms was not skipped", out)
			}
		})
	}
}

func TestRecordProcessValidates(t *testing.T) {
	tests := []struct {
		name string
		pid  int
	}{
		{"", os.Getpid()},
		{"a/b", os.Getpid()},
		{"..", os.Getpid()},
		{"gone", 1 << 30},
	}
	dirs := labdir.Lab{Name: "lab", RunDir: t.TempDir()}
	for _, tc := range tests {
		if err := deploy.RecordProcess(dirs, tc.name, tc.pid); err == nil {
			t.Errorf("RecordProcess(%q, %d) = nil, want an error", tc.name, tc.pid)
		}
	}
	if err := deploy.RecordProcess(dirs, "self", os.Getpid()); err != nil {
		t.Errorf("RecordProcess(self) = %v", err)
	}
}
