package main

// End-to-end tests of how the long-running verbs end (issue 10): capture,
// trace, sockets --watch and tcp serve --foreground end on their duration,
// on SIGINT and SIGTERM, on --count, on an agent's refusal, and when the
// lab is destroyed or its agent dies — each within a bound, leaving output
// that reads (a pcapng tshark reads to its end, whole JSON lines), and
// saying in one sentence when the end is an error.

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/trace"
)

// endBound is how long a verb may take to end after what ends it: the
// signal, its duration, the agent's end. Generous for a loaded 2-core CI
// machine; the verbs take well under a second.
const endBound = 5 * time.Second

// deafVerbEnv makes the test binary, in init, a verb that never looks at
// its context, for TestEndSecondSignal.
const deafVerbEnv = "NETLAB_TEST_DEAF_VERB"

func init() {
	if os.Getenv(deafVerbEnv) == "" {
		return
	}
	ctx, _ := signalContext()
	go func() {
		<-ctx.Done()
		fmt.Println("cancelled")
	}()
	fmt.Println("ready")
	for {
		time.Sleep(time.Hour) // deaf: only the second signal ends it
	}
}

// verbRun is a netlab process that a test ends one way or another.
type verbRun struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	ended          time.Time
}

// startVerb starts netlab with args; the process is killed when the test
// ends if it still runs.
func startVerb(t *testing.T, args ...string) *verbRun {
	t.Helper()
	v := &verbRun{name: "netlab " + strings.Join(args, " "), done: make(chan struct{})}
	v.cmd = exec.Command(netlabBin, args...)
	v.cmd.Stdout, v.cmd.Stderr = &v.stdout, &v.stderr
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		v.cmd.Wait()
		v.ended = time.Now()
		close(v.done)
	}()
	t.Cleanup(func() {
		select {
		case <-v.done:
		default:
			v.cmd.Process.Kill()
			<-v.done
		}
	})
	return v
}

// signal sends sig to the process and returns when it was sent.
func (v *verbRun) signal(t *testing.T, sig syscall.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := v.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	return at
}

// end waits for the process to end, at most endBound after cause, and
// returns its exit code and how long after cause it ended.
func (v *verbRun) end(t *testing.T, cause time.Time, what string) (int, time.Duration) {
	t.Helper()
	return v.endWithin(t, cause, endBound, what)
}

func (v *verbRun) endWithin(t *testing.T, cause time.Time, limit time.Duration, what string) (int, time.Duration) {
	t.Helper()
	select {
	case <-v.done:
	case <-time.After(time.Until(cause.Add(limit))):
		v.cmd.Process.Kill()
		<-v.done
		t.Fatalf("%s still ran %v after %s\nstdout:\n%s\nstderr:\n%s", v.name, limit, what, v.stdout.String(), v.stderr.String())
	}
	took := v.ended.Sub(cause)
	code := v.cmd.ProcessState.ExitCode()
	t.Logf("%s: exit %d, %v after %s", v.name, code, took.Round(time.Millisecond), what)
	return code, took
}

// waitStarted waits until cond says the verb is under way, failing early
// if it ended.
func (v *verbRun) waitStarted(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, 20*time.Second, what, func() bool {
		select {
		case <-v.done:
			t.Fatalf("%s ended before %s\nstdout:\n%s\nstderr:\n%s", v.name, what, v.stdout.String(), v.stderr.String())
		default:
		}
		return cond()
	})
}

// capturing waits until the capture into path has its section and
// interface blocks: its agents record.
func (v *verbRun) capturing(t *testing.T, path string) {
	t.Helper()
	v.waitStarted(t, "the capture's header in "+path, func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 28
	})
}

// printed waits until the verb printed n lines.
func (v *verbRun) printed(t *testing.T, n int) {
	t.Helper()
	v.waitStarted(t, fmt.Sprintf("%d lines of output", n), func() bool { return strings.Count(v.stdout.String(), "\n") >= n })
}

// pcapFrames reads path with tshark, failing the test unless it is a
// pcapng that tshark reads to its end, and returns its frame count.
func pcapFrames(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("capture file: %v", err)
	}
	if !bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("%s (%d bytes) does not start with a pcapng section header", path, len(b))
	}
	cmd := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.number")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.Contains(stderr.String(), "cut short") || strings.Contains(stderr.String(), "damaged") {
		t.Fatalf("tshark -r %s: %v\n%s", path, err, stderr.String())
	}
	return len(strings.Fields(string(out)))
}

// jsonLines checks that out is whole JSON lines of trace events and
// returns how many.
func jsonLines(t *testing.T, out string) int {
	t.Helper()
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Errorf("output ends in the middle of a line: ...%q", out[max(0, len(out)-80):])
	}
	n := 0
	for line := range strings.Lines(out) {
		var e trace.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("line %d is not a trace event: %v: %q", n+1, err, line)
		}
		n++
	}
	return n
}

// agentStopped checks the error of a verb whose agent stopped: exit 1 and
// one sentence naming the node, why, and the agent's log.
func agentStopped(t *testing.T, v *verbRun, code int, node, during string) {
	t.Helper()
	stderr := v.stderr.String()
	want := "netlab: the agent of node " + node + " stopped during " + during + ": the lab was destroyed or its agent died (its log: "
	var errLines []string
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "netlab:") {
			errLines = append(errLines, line)
		}
	}
	if code != 1 || len(errLines) != 1 || !strings.HasPrefix(errLines[0], want) || !strings.Contains(errLines[0], "agent.log)") {
		t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1 and one error line starting %q, naming agent.log", v.name, code, stderr, want)
	}
}

// sendLoop sends 20 KB from h1 to h2's port every 100 ms until the test
// ends (errors, a port not yet served or a lab gone, are ignored): frames
// for captures, events for traces, bytes for servers. With sink, it first
// starts a sink on the port.
func sendLoop(t *testing.T, topo string, port int, sink bool) {
	t.Helper()
	_, h1, err := nodeClient(&topoOptions{file: topo}, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if sink {
		_, h2, err := nodeClient(&topoOptions{file: topo}, "h2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h2.StartApp(t.Context(), nodeagent.AppSpec{Mode: "sink", Port: uint16(port)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			h1.Send(ctx, nodeagent.SendSpec{To: fmt.Sprintf("10.0.0.1:%d", port), Bytes: 20000})
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// serveEvents parses the JSON lines of `tcp serve --foreground`.
func serveEvents(t *testing.T, out string) []serveEvent {
	t.Helper()
	var evs []serveEvent
	for line := range strings.Lines(out) {
		var e serveEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("tcp serve --foreground line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// checkServeRun checks the lines of a foreground server that ended well:
// listening, counters that grew, stopped; and that the server is gone.
func checkServeRun(t *testing.T, topo string, v *verbRun) {
	t.Helper()
	evs := serveEvents(t, v.stdout.String())
	if len(evs) < 3 || evs[0].Event != "listening" || !slices.ContainsFunc(evs, func(e serveEvent) bool { return e.Event == "counters" }) ||
		evs[len(evs)-1].Event != "stopped" || evs[len(evs)-1].Bytes == 0 {
		t.Errorf("tcp serve --foreground printed %+v; want listening, counters, stopped with bytes", evs)
	}
	for _, a := range appsOf(t, topo, "h2") {
		if len(evs) > 0 && a.ID == evs[0].ID {
			t.Errorf("server %d still runs after tcp serve --foreground ended: %+v", a.ID, a)
		}
	}
}

func TestEndCapture(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	sendLoop(t, topo, 5001, true)
	pcap := func(t *testing.T) string { return filepath.Join(t.TempDir(), "c.pcapng") }

	t.Run("duration", func(t *testing.T) {
		out := pcap(t)
		start := time.Now()
		v := startVerb(t, "capture", "h1", "h2:eth1", "-w", out, "--duration", "2s", "-t", topo)
		v.capturing(t, out)
		code, took := v.endWithin(t, start, 2*time.Second+endBound, "its start, with --duration 2s")
		if code != 0 || took < 2*time.Second {
			t.Errorf("exit %d after %v; want 0 after 2s\n%s", code, took, v.stderr.String())
		}
		if n := pcapFrames(t, out); n == 0 || !strings.Contains(v.stderr.String(), fmt.Sprintf("%d frames written", n)) {
			t.Errorf("%d frames read by tshark, the capture said %q", n, v.stderr.String())
		}
	})
	for name, sig := range map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			out := pcap(t)
			v := startVerb(t, "capture", "h1", "h2", "-w", out, "-t", topo)
			v.capturing(t, out)
			waitFor(t, 10*time.Second, "frames in the capture", func() bool {
				fi, _ := os.Stat(out)
				return fi.Size() > 2000
			})
			code, _ := v.end(t, v.signal(t, sig), sig.String())
			if code != 0 {
				t.Errorf("exit %d after %v, want 0\n%s", code, sig, v.stderr.String())
			}
			if n := pcapFrames(t, out); n == 0 {
				t.Errorf("no frames in the capture")
			}
		})
	}
	t.Run("count", func(t *testing.T) {
		out := pcap(t)
		start := time.Now()
		v := startVerb(t, "capture", "h1", "-w", out, "--count", "5", "-t", topo)
		code, _ := v.end(t, start, "its start, with --count 5 and traffic")
		if code != 0 {
			t.Errorf("exit %d, want 0\n%s", code, v.stderr.String())
		}
		if n := pcapFrames(t, out); n != 5 {
			t.Errorf("%d frames in a --count 5 capture", n)
		}
	})
	t.Run("bad-interface", func(t *testing.T) {
		out := pcap(t)
		start := time.Now()
		v := startVerb(t, "capture", "h1:eth9", "-w", out, "-t", topo)
		code, _ := v.end(t, start, "its start, on an interface h1 does not have")
		if code != 1 || strings.TrimSpace(v.stderr.String()) != `netlab: node h1 has no interface "eth9"` {
			t.Errorf("exit %d, stderr %q; want 1 and the agent's error", code, v.stderr.String())
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("a capture that never started left %s", out)
		}
	})
}

func TestEndTrace(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	sendLoop(t, topo, 5001, true)

	t.Run("duration", func(t *testing.T) {
		start := time.Now()
		v := startVerb(t, "trace", "h1", "--format", "json", "--duration", "2s", "-t", topo)
		v.printed(t, 1)
		code, took := v.endWithin(t, start, 2*time.Second+endBound, "its start, with --duration 2s")
		if code != 0 || took < 2*time.Second {
			t.Errorf("exit %d after %v; want 0 after 2s\n%s", code, took, v.stderr.String())
		}
		jsonLines(t, v.stdout.String())
	})
	t.Run("SIGTERM", func(t *testing.T) {
		v := startVerb(t, "trace", "h1", "--format", "json", "-t", topo)
		v.printed(t, 10)
		code, _ := v.end(t, v.signal(t, syscall.SIGTERM), "SIGTERM")
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0\n%s", code, v.stderr.String())
		}
		jsonLines(t, v.stdout.String())
	})
}

func TestEndSocketsWatch(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	v := startVerb(t, "sockets", "h1", "--watch", "200ms", "-t", topo)
	v.waitStarted(t, "two refreshes", func() bool { return strings.Count(v.stdout.String(), "Ctrl-C to stop") >= 2 })
	code, _ := v.end(t, v.signal(t, syscall.SIGTERM), "SIGTERM")
	if code != 0 || v.stderr.String() != "" {
		t.Errorf("exit %d, stderr %q after SIGTERM; want 0, nothing", code, v.stderr.String())
	}
}

func TestEndServeForeground(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	sendLoop(t, topo, 5002, false)

	t.Run("duration", func(t *testing.T) {
		start := time.Now()
		v := startVerb(t, "tcp", "serve", "h2", "--port", "5002", "--foreground", "--duration", "2500ms", "--format", "json", "-t", topo)
		code, took := v.endWithin(t, start, 2500*time.Millisecond+endBound, "its start, with --duration 2.5s")
		if code != 0 || took < 2500*time.Millisecond {
			t.Errorf("exit %d after %v; want 0 after 2.5s\n%s", code, took, v.stderr.String())
		}
		checkServeRun(t, topo, v)
	})
	t.Run("SIGTERM", func(t *testing.T) {
		v := startVerb(t, "tcp", "serve", "h2", "--port", "5002", "--foreground", "--format", "json", "-t", topo)
		v.printed(t, 2) // listening, then counters
		code, _ := v.end(t, v.signal(t, syscall.SIGTERM), "SIGTERM")
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0\n%s", code, v.stderr.String())
		}
		checkServeRun(t, topo, v)
	})
}

// TestEndLabDestroyed: every long-running verb of a lab ends when the lab
// is destroyed, with one sentence saying so; what they wrote reads.
func TestEndLabDestroyed(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	sendLoop(t, topo, 5001, true)
	out := filepath.Join(t.TempDir(), "c.pcapng")
	capture := startVerb(t, "capture", "h1", "-w", out, "-t", topo)
	traced := startVerb(t, "trace", "h1", "--format", "json", "-t", topo)
	watch := startVerb(t, "sockets", "h1", "--watch", "200ms", "-t", topo)
	serve := startVerb(t, "tcp", "serve", "h2", "--port", "5002", "--foreground", "-t", topo)
	capture.capturing(t, out)
	traced.printed(t, 1)
	watch.printed(t, 1)
	serve.printed(t, 1)
	start := time.Now()
	netlab(t, "destroy", "-t", topo)
	t.Logf("destroy took %v", time.Since(start).Round(time.Millisecond))

	t.Run("capture", func(t *testing.T) {
		code, _ := capture.end(t, start, "destroy")
		agentStopped(t, capture, code, "h1", "the capture")
		if n := pcapFrames(t, out); !strings.Contains(capture.stderr.String(), fmt.Sprintf("%d frames written", n)) {
			t.Errorf("%d frames read by tshark, the capture said %q", n, capture.stderr.String())
		}
	})
	t.Run("trace", func(t *testing.T) {
		code, _ := traced.end(t, start, "destroy")
		agentStopped(t, traced, code, "h1", "the trace")
		jsonLines(t, traced.stdout.String())
	})
	t.Run("sockets-watch", func(t *testing.T) {
		code, _ := watch.end(t, start, "destroy")
		agentStopped(t, watch, code, "h1", "`sockets --watch`")
	})
	t.Run("serve-foreground", func(t *testing.T) {
		code, _ := serve.end(t, start, "destroy")
		agentStopped(t, serve, code, "h2", "`tcp serve --foreground`")
	})
}

// TestEndAgentKilled: kill -9 of the lab's agent ends a capture and a
// trace at once, saying so; what they wrote reads.
func TestEndAgentKilled(t *testing.T) {
	needRoot(t)
	needTshark(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	sendLoop(t, topo, 5001, true)
	out := filepath.Join(t.TempDir(), "c.pcapng")
	capture := startVerb(t, "capture", "h1", "h2", "-w", out, "-t", topo)
	traced := startVerb(t, "trace", "h2", "--format", "json", "-t", topo)
	capture.capturing(t, out)
	traced.printed(t, 1)
	pid, ok := deploy.AgentProcess(labDirsOf(t, topo))
	if !ok {
		t.Fatal("no agent process recorded")
	}
	start := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)

	t.Run("capture", func(t *testing.T) {
		code, _ := capture.end(t, start, "kill -9 of the agent")
		// Both nodes' streams are cut; the first error is the one told.
		node := "h1"
		if strings.Contains(capture.stderr.String(), "node h2") {
			node = "h2"
		}
		agentStopped(t, capture, code, node, "the capture")
		if n := pcapFrames(t, out); n == 0 {
			t.Errorf("no frames in the capture")
		}
	})
	t.Run("trace", func(t *testing.T) {
		code, _ := traced.end(t, start, "kill -9 of the agent")
		agentStopped(t, traced, code, "h2", "the trace")
		jsonLines(t, traced.stdout.String())
	})
}

// TestEndSecondSignal: a verb that does not end on the first SIGINT (the
// context it ignores is cancelled) is ended by the second.
func TestEndSecondSignal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), deafVerbEnv+"=1")
	v := &verbRun{name: "a deaf verb", cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &v.stdout, &v.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		v.ended = time.Now()
		close(v.done)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-v.done })
	v.printed(t, 1)
	v.signal(t, syscall.SIGINT)
	v.printed(t, 2) // its context is cancelled; it goes on
	v.end(t, v.signal(t, syscall.SIGINT), "the second SIGINT")
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("the deaf verb ended with %v; want killed by SIGINT", cmd.ProcessState)
	}
}
