package main

// End-to-end tests of the ground graders and experiments stand on: runs
// that never mix, one owner per lab at a time, liveness from the source,
// state nobody else can tamper with, exec: confined and consented to.

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
)

// labDirsOf returns the directories of the lab deployed from topo.
func labDirsOf(t *testing.T, topo string) labdir.Lab {
	t.Helper()
	dirs, err := labDirs(&topoOptions{file: topo})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// inspectJSON returns what `netlab inspect --format json` says of the lab.
func inspectJSON(t *testing.T, topo string) *deploy.State {
	t.Helper()
	var sts []*deploy.State
	if err := json.Unmarshal([]byte(netlab(t, "inspect", "-t", topo, "--format", "json")), &sts); err != nil || len(sts) != 1 {
		t.Fatalf("inspect --format json: %v (%d labs)", err, len(sts))
	}
	return sts[0]
}

// TestRedeployKeepsRunsApart is the reproduction: a seeded lab
// deployed twice sends twice on the same 4-tuple (and nearly the same
// ISN); the runs never mix.
func TestRedeployKeepsRunsApart(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "two-hosts.yml")
	cleanupLab(t, topo, name)
	var ids []string
	for range 2 {
		netlab(t, "deploy", "-t", topo)
		netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
		netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "3MB", "-t", topo)
		ids = append(ids, currentRun(t, topo).ID)
		netlab(t, "destroy", "-t", topo)
	}
	if ids[0] == ids[1] {
		t.Fatalf("two deploys, one run %s", ids[0])
	}
	var runs []labdir.RunSummary
	if err := json.Unmarshal([]byte(netlab(t, "runs", "-t", topo, "--format", "json")), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v, %+v; want the two runs", err, runs)
	}
	if !runs[1].Current || runs[1].ID != ids[1] || runs[0].Ended.IsZero() {
		t.Errorf("runs: %+v", runs)
	}
	// The current run has one connection: plot needs no --conn.
	out := netlab(t, "plot", "h1", "--kind", "seq", "-o", filepath.Join(t.TempDir(), "seq.svg"), "-t", topo)
	if !strings.Contains(out, "seq of 10.0.0.0:") {
		t.Errorf("plot of the current run: %s", out)
	}
	var socks []recordedSocket
	if err := json.Unmarshal([]byte(netlab(t, "sockets", "h1", "--run", ids[0], "-t", topo, "--format", "json")), &socks); err != nil ||
		len(socks) != 1 || socks[0].Sent != 3000000 {
		t.Errorf("sockets --run %s: %v, %+v; want one connection that sent 3000000 bytes", ids[0], err, socks)
	}
	// All runs: two connections on one 4-tuple, never one of 6 MB.
	_, errs, err := netlabErr(t, "plot", "h1", "--run", "all", "-o", filepath.Join(t.TempDir(), "x.svg"), "-t", topo)
	if err == nil || !strings.Contains(errs, "occurred 2 times") {
		t.Errorf("plot --run all without --conn: %v\n%s; want it to ask which of the 2 connections", err, errs)
	}
	if err := json.Unmarshal([]byte(netlab(t, "sockets", "h1", "--run", "all", "-t", topo, "--format", "json")), &socks); err != nil ||
		len(socks) != 2 || socks[0].Sent != 3000000 || socks[1].Sent != 3000000 {
		t.Errorf("sockets --run all: %v, %+v; want two connections of 3000000 bytes", err, socks)
	}
}

// TestConcurrentReconfigure: two `deploy --reconfigure` of one lab at the
// same time take turns; the lab ends up deployed once, registered, with
// one agent that carries data.
func TestConcurrentReconfigure(t *testing.T) {
	needRoot(t)
	topo, name := deployLab(t, "two-hosts.yml")
	for round := range 10 {
		var wg sync.WaitGroup
		errs := make([]string, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, stderr, err := netlabErr(t, "deploy", "--reconfigure", "-t", topo); err != nil {
					errs[i] = err.Error() + ": " + stderr
				}
			}()
		}
		wg.Wait()
		for i, e := range errs {
			if e != "" {
				t.Fatalf("round %d: deploy %d failed: %s", round, i, e)
			}
		}
	}
	st := inspectJSON(t, topo)
	for _, n := range st.Nodes {
		if !n.Alive || n.Agent != deploy.AgentUp {
			t.Errorf("node %s: alive %v, agent %s (%s)", n.Name, n.Alive, n.Agent, n.Reason)
		}
	}
	procs, _ := exec.Command("pgrep", "-f", "netlab-"+name+"/runs/").Output()
	if n := len(strings.Fields(string(procs))); n != 1 {
		t.Errorf("%d agent processes for the lab, want 1", n)
	}
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
}

// TestLabBusy: while a command holds the lab, --no-wait fails at once and
// a deploy without it waits, saying for whom.
func TestLabBusy(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	dirs := labDirsOf(t, topo)
	lock, err := dirs.Lock(context.Background(), "test holding the lab", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"deploy", "--reconfigure", "--no-wait"}, {"destroy", "--no-wait"}} {
		start := time.Now()
		_, stderr, err := netlabErr(t, append(args, "-t", topo)...)
		if err == nil || !strings.Contains(stderr, "busy (test holding the lab") {
			t.Errorf("%v while the lab is held: %v\n%s", args, err, stderr)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%v took %v to refuse", args, d)
		}
	}
	cmd := exec.Command(netlabBin, "deploy", "--reconfigure", "-t", topo)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "deploy to say it waits", func() bool { return strings.Contains(stderr.String(), "waiting for it") })
	lock.Unlock()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("deploy after the lab was released: %v\n%s", err, stderr)
	}
	if st := inspectJSON(t, topo); st.Status != deploy.StatusRunning {
		t.Errorf("status %s after the waiting deploy", st.Status)
	}
}

// TestRefusedDeployLeavesLabRunning: a second deploy without --reconfigure
// is refused and changes nothing.
func TestRefusedDeployLeavesLabRunning(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	before := inspectJSON(t, topo)
	if _, stderr, err := netlabErr(t, "deploy", "-t", topo); err == nil || !strings.Contains(stderr, "--reconfigure") {
		t.Fatalf("second deploy: %v\n%s", err, stderr)
	}
	after := inspectJSON(t, topo)
	if after.Status != deploy.StatusRunning || after.Run != before.Run {
		t.Errorf("after a refused deploy: status %s, run %s; want running, run %s", after.Status, after.Run, before.Run)
	}
}

// TestDeadAgent: kill -9 of the lab's agent shows in inspect, and a verb
// that needs it fails at once, naming the node and the agent's log.
func TestDeadAgent(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	pid, ok := deploy.AgentProcess(labDirsOf(t, topo))
	if !ok {
		t.Fatal("no agent process recorded")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, 10*time.Second, "the agent to die", func() bool { return syscall.Kill(pid, 0) != nil })
	st := inspectJSON(t, topo)
	for _, n := range st.Nodes {
		if n.Alive || n.Agent != deploy.AgentDown || !strings.Contains(n.Reason, "agent.log") {
			t.Errorf("node %s after kill -9 of its agent: alive %v, agent %q, reason %q; want dead, down, naming the log", n.Name, n.Alive, n.Agent, n.Reason)
		}
	}
	start := time.Now()
	_, stderr, err := netlabErr(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
	if err == nil || !strings.Contains(stderr, "agent of node h1 does not answer") || !strings.Contains(stderr, "agent.log") ||
		strings.Contains(stderr, "is the lab deployed") {
		t.Errorf("tcp send through a dead agent: %v\n%s", err, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("tcp send through a dead agent took %v", d)
	}
	if out := netlab(t, "inspect", "-t", topo); !strings.Contains(out, "h1 is not alive") {
		t.Errorf("inspect (text) does not say why:\n%s", out)
	}
}

// TestDockerNodeKilled: a node whose container was killed is not alive,
// and a transfer to it fails at once, naming it.
func TestDockerNodeKilled(t *testing.T) {
	needRoot(t)
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine answers `docker info`")
	}
	topo, name := labCopy(t, "two-hosts.yml")
	cleanupLab(t, topo, name)
	netlab(t, "deploy", "-t", topo, "--runtime", "docker")
	st := inspectJSON(t, topo)
	var h2 string
	for _, n := range st.Nodes {
		if n.Name == "h2" {
			h2 = n.LongName
		}
	}
	if out, err := exec.Command("docker", "kill", h2).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v\n%s", err, out)
	}
	for _, n := range inspectJSON(t, topo).Nodes {
		switch {
		case n.Name == "h2" && (n.Alive || !strings.Contains(n.Reason, "Exited (137)")):
			t.Errorf("h2 after docker kill: alive %v, reason %q; want dead, exited 137", n.Alive, n.Reason)
		case n.Name == "h1" && !n.Alive:
			t.Errorf("h1 is not alive: %s", n.Reason)
		}
	}
	start := time.Now()
	_, stderr, err := netlabErr(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
	if err == nil || !strings.Contains(stderr, "node h2, which is not alive") {
		t.Errorf("tcp send to the killed node: %v\n%s", err, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("tcp send to the killed node took %v", d)
	}
}

// TestLabDirNotTrusted: root never writes through a lab directory someone
// else could have planted or can change.
func TestLabDirNotTrusted(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name, want string
		plant      func(t *testing.T, labDir string)
	}{
		{"symlink", "symbolic link", func(t *testing.T, labDir string) {
			target := t.TempDir()
			if err := os.Symlink(target, labDir); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if des, _ := os.ReadDir(target); len(des) > 0 {
					t.Errorf("deploy wrote %d entries through the planted symlink", len(des))
				}
			})
		}},
		{"world-writable", "written by group or others", func(t *testing.T, labDir string) {
			os.Mkdir(labDir, 0o777)
			os.Chmod(labDir, 0o777)
		}},
		{"someone else's", "belongs to uid 4242", func(t *testing.T, labDir string) {
			os.Mkdir(labDir, 0o755)
			os.Chown(labDir, 4242, 4242)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo, name := labCopy(t, "two-hosts.yml")
			cleanupLab(t, topo, name)
			tc.plant(t, filepath.Join(filepath.Dir(topo), labdir.DirName(name)))
			_, stderr, err := netlabErr(t, "deploy", "-t", topo)
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("deploy with a %s lab directory: %v\n%s", tc.name, err, stderr)
			}
			assertGone(t, name)
		})
	}
}

// TestForgedProcessRecord: destroy signals only processes that are the
// ones recorded, whatever a record says.
func TestForgedProcessRecord(t *testing.T) {
	needRoot(t)
	topo, name := deployLab(t, "two-hosts.yml")
	dirs := labDirsOf(t, topo)
	victim := exec.Command("sleep", "600")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer victim.Process.Kill()
	exited := make(chan struct{})
	go func() { victim.Wait(); close(exited) }()
	// The agent's record, pointed at another process: same executable
	// and start time as the record had, so only the number changed.
	rec := filepath.Join(dirs.StateDir(), labdir.PIDDir, "agent.json")
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	forged := regexp.MustCompile(`"pid":\d+`).ReplaceAll(data, []byte(`"pid":`+strconv.Itoa(victim.Process.Pid)))
	if err := os.WriteFile(rec, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	netlab(t, "destroy", "-t", topo)
	select {
	case <-exited:
		t.Fatal("destroy killed a process that was not the lab's")
	default:
	}
	if fi, err := os.Stat(dirs.StateDir()); err == nil {
		t.Errorf("state directory left: %v", fi.Name())
	}
	// The real agent, no longer recorded, leaves once its namespaces are
	// gone.
	waitFor(t, 10*time.Second, "the unrecorded agent to leave", func() bool {
		procs, _ := exec.Command("pgrep", "-f", labdir.DirName(name)+"/runs/").Output()
		return len(strings.TrimSpace(string(procs))) == 0
	})
}

// TestLongLabName: a 64-character lab name deploys on netns (and on
// docker when there is an engine): socket paths stay short.
func TestLongLabName(t *testing.T) {
	needRoot(t)
	runtimes := []string{"netns"}
	if exec.Command("docker", "info").Run() == nil {
		runtimes = append(runtimes, "docker")
	}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			topo, short := labCopy(t, "two-hosts.yml")
			name := short + strings.Repeat("x", 64-len(short))
			b, _ := os.ReadFile(topo)
			os.WriteFile(topo, regexp.MustCompile(`(?m)^name: .*$`).ReplaceAll(b, []byte("name: "+name)), 0o644)
			cleanupLab(t, topo, name)
			netlab(t, "deploy", "-t", topo, "--runtime", rt)
			netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
			netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
		})
	}
}

// TestExecConsent: the exec: commands of a file that is not the caller's
// run only with --allow-exec, listed first, and inside the node.
func TestExecConsent(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "two-hosts.yml")
	b, _ := os.ReadFile(topo)
	b = regexp.MustCompile(`(?m)^    h1:.*$`).ReplaceAll(b, []byte("    h1:\n      kind: host\n      exec: [\"id -u > /dev/null; echo NETLAB_EXEC_UID $(id -u)\"]"))
	os.WriteFile(topo, b, 0o644)
	if err := os.Chown(topo, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	cleanupLab(t, topo, name)
	_, stderr, err := netlabErr(t, "deploy", "-t", topo)
	if err == nil || !strings.Contains(stderr, "h1: id -u") || !strings.Contains(stderr, "--allow-exec") {
		t.Fatalf("deploy of someone else's file with exec: %v\n%s", err, stderr)
	}
	assertGone(t, name)
	netlab(t, "deploy", "-t", topo, "--allow-exec")
	log, err := os.ReadFile(currentRun(t, topo).Log("h1"))
	if err != nil || !strings.Contains(string(log), "NETLAB_EXEC_UID 65534") {
		t.Errorf("h1's exec log: %v\n%s; want the command run as nobody (65534)", err, log)
	}
}

// TestServeDirectory: tcp serve --dir is the caller's path, and must be a
// directory.
func TestServeDirectory(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the caller's directory\n"), 0o644)
	if _, stderr, err := netlabErr(t, "tcp", "serve", "h2", "--port", "80", "--mode", "http", "--directory", filepath.Join(dir, "missing"), "-t", topo); err == nil ||
		!strings.Contains(stderr, "not a directory") {
		t.Errorf("serve a missing directory: %v\n%s", err, stderr)
	}
	cmd := exec.Command(netlabBin, "tcp", "serve", "h2", "--port", "80", "--mode", "http", "--dir", ".", "-t", topo) // the old spelling still works
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("serve .: %v\n%s", err, out)
	}
	out := netlab(t, "tcp", "get", "h1", "http://10.0.0.1/hello.txt", "-o", "-", "-t", topo)
	if !strings.Contains(out, "hello from the caller's directory") {
		t.Errorf("GET /hello.txt: %q", out)
	}
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer is a bytes buffer safe for a process's output and a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKeepRunsCap: earlier runs past --keep-runs go, oldest first, and
// deploy says so.
func TestKeepRunsCap(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "two-hosts.yml")
	cleanupLab(t, topo, name)
	var ids []string
	for i := range 3 {
		_, stderr, err := netlabErr(t, "deploy", "-t", topo, "--keep-runs", "2MiB")
		if err != nil {
			t.Fatalf("deploy %d: %v\n%s", i, err, stderr)
		}
		ids = append(ids, currentRun(t, topo).ID)
		if i == 2 && !strings.Contains(stderr, "removed run "+ids[0]) {
			t.Errorf("deploy %d did not say it removed run %s:\n%s", i, ids[0], stderr)
		}
		netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
		netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "2MB", "-t", topo) // a run of about 1.6 MiB
		netlab(t, "destroy", "-t", topo)
	}
	var runs []labdir.RunSummary
	if err := json.Unmarshal([]byte(netlab(t, "runs", "-t", topo, "--format", "json")), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != ids[1] || runs[1].ID != ids[2] {
		t.Errorf("runs kept: %+v; want the last two (%s, %s)", runs, ids[1], ids[2])
	}
}

// TestStoppedAgent: an agent that is alive but does not answer (SIGSTOP)
// holds no verb for long.
func TestStoppedAgent(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	pid, ok := deploy.AgentProcess(labDirsOf(t, topo))
	if !ok {
		t.Fatal("no agent process recorded")
	}
	syscall.Kill(pid, syscall.SIGSTOP)
	defer syscall.Kill(pid, syscall.SIGCONT)
	start := time.Now()
	_, stderr, err := netlabErr(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "1MB", "-t", topo)
	if err == nil || !strings.Contains(stderr, "agent of node h1 does not answer") {
		t.Errorf("tcp send through a stopped agent: %v\n%s", err, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("tcp send through a stopped agent took %v", d)
	}
	for _, n := range inspectJSON(t, topo).Nodes {
		if n.Alive || !strings.Contains(n.Reason, "did not answer within") {
			t.Errorf("node %s with a stopped agent: alive %v, reason %q", n.Name, n.Alive, n.Reason)
		}
	}
}

// TestRelativeDistTable: a jitter table named relative to the topology
// file deploys: it is read when the file loads and travels in the plan,
// so the agent never looks for the file (not even in a container).
func TestRelativeDistTable(t *testing.T) {
	needRoot(t)
	topo, name := labCopy(t, "two-hosts.yml")
	// A table of 64 values: every jitter the full spread up or down.
	var tbl strings.Builder
	for i := range 64 {
		if i%2 == 0 {
			tbl.WriteString("8192\n")
		} else {
			tbl.WriteString("-8192\n")
		}
	}
	os.MkdirAll(filepath.Join(filepath.Dir(topo), "tables"), 0o755)
	if err := os.WriteFile(filepath.Join(filepath.Dir(topo), "tables", "twopeaks.dist"), []byte(tbl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(topo)
	b = regexp.MustCompile(`(?m)^(  links:\n    - endpoints: \[.*\])$`).ReplaceAll(b,
		[]byte("$1\n      netem: {a-to-b: {delay: 10ms, jitter: 5ms, distribution: tables/twopeaks.dist}}"))
	os.WriteFile(topo, b, 0o644)
	cleanupLab(t, topo, name)
	t.Chdir("/") // the file's directory is not the caller's
	netlab(t, "deploy", "-t", topo)
	if out := netlab(t, "inspect", "-t", topo); !strings.Contains(out, "tables/twopeaks.dist") {
		t.Errorf("inspect does not show the table:\n%s", out)
	}
	out := netlab(t, "ping", "h1", "10.0.0.1", "-c", "20", "-i", "50ms", "-t", topo)
	if !strings.Contains(out, "20 received") {
		t.Errorf("ping over the jittered link:\n%s", out)
	}
	// The first echo waits for ARP, itself delayed: the others show the
	// table's two values, 5 and 15 ms, plus what a loaded machine adds
	// (never less). Most are within 1.5 ms of one, none below: a normal
	// spread of the same mean and deviation puts one in ten under 3.5 ms
	// and one in five near either value.
	near, n := 0, 0
	for _, m := range regexp.MustCompile(`icmp_seq=(\d+) ttl=\d+ time=([0-9.]+) ms`).FindAllStringSubmatch(out, -1) {
		if m[1] == "1" {
			continue
		}
		rtt, _ := strconv.ParseFloat(m[2], 64)
		n++
		if math.Abs(rtt-5) <= 1.5 || math.Abs(rtt-15) <= 1.5 {
			near++
		}
		if rtt < 4 {
			t.Errorf("rtt %.3f ms over a link of 10 ms ± 5 ms one way with a table of only ±5 ms: not drawn from the table\n%s", rtt, out)
		}
	}
	if n < 15 || near*10 < n*7 {
		t.Errorf("%d of %d echoes within 1.5 ms of the table's 5 and 15 ms; want most\n%s", near, n, out)
	}
}
