package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/units"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/sockscript"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// args reads a step's expanded arguments.
type args struct {
	step string
	m    map[string]any
}

func (a args) str(key string, required bool) (string, error) {
	v, ok := a.m[key]
	if !ok {
		if required {
			return "", fmt.Errorf("%s needs %s", a.step, key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s: want a value", a.step, key)
	}
	return s, nil
}

func (a args) num(key string, def int) (int, error) {
	s, err := a.str(key, false)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: want a number, got %q", a.step, key, s)
	}
	return n, nil
}

func (a args) dur(key string, def time.Duration) (time.Duration, error) {
	s, err := a.str(key, false)
	if err != nil || s == "" {
		return def, err
	}
	d, err := units.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", a.step, key, err)
	}
	return d, nil
}

// runStep runs one step and returns its result (what checks read), or an
// error that makes the run an infrastructure error. Steps that run the
// submission record its failures in their result instead.
func (inst *Instance) runStep(ctx context.Context, st labs.Step, sub *submission, out *strings.Builder) (any, error) {
	m, err := inst.Variant.ExpandArgs(st.Args)
	if err != nil {
		return nil, err
	}
	a := args{step: st.Kind, m: m}
	if st.Within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Within)
		defer cancel()
	}
	switch st.Kind {
	case "serve":
		return inst.serve(ctx, a)
	case "send":
		return inst.send(ctx, a)
	case "script":
		return inst.script(ctx, a, sub, out)
	case "ping":
		return inst.ping(ctx, a)
	case "wait-state":
		return inst.waitState(ctx, a)
	case "impair":
		return inst.impair(ctx, a)
	case "link":
		return inst.link(ctx, a)
	case "exec":
		return inst.exec(ctx, a, nil, out)
	case "program":
		return inst.exec(ctx, a, sub, out)
	case "file":
		return inst.file(a)
	}
	return nil, fmt.Errorf("the action %s is not supported yet", st.Kind)
}

// sideClient returns the client of the agent that applies side s of an
// impairment: its node's, or the lab's relay agent.
func (inst *Instance) sideClient(s topology.ImpairSide) (*nodeagent.Client, error) {
	if s.Relay {
		return nodeagent.NewClient(inst.State.RelaySocket, s.Node), nil
	}
	return inst.client(s.Node)
}

// impairKeys are the arguments of an impair step that are not netem's.
var impairKeys = map[string]bool{"target": true, "direction": true, "clear": true}

// impair changes a link's impairment at runtime, as `netlab impair set`:
// target (a link or NODE:IFACE), direction, and netem's keys.
func (inst *Instance) impair(ctx context.Context, a args) (any, error) {
	target, err := a.str("target", true)
	if err != nil {
		return nil, err
	}
	dir, _ := a.str("direction", false)
	if dir == "" {
		dir = topology.DirBoth
	}
	fields := map[string]string{}
	for k, v := range a.m {
		if impairKeys[k] {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("impair: %s: want one value (lists and mappings in YAML's flow style, quoted)", k)
		}
		fields[k] = s
	}
	var im *impair.Config
	if clear, _ := a.str("clear", false); clear != "true" {
		if len(fields) == 0 {
			return nil, fmt.Errorf("impair: say what to change (delay, loss, rate...) or clear: true")
		}
		if im, err = topology.ParseImpairment(fields); err != nil {
			return nil, fmt.Errorf("impair: %w", err)
		}
	}
	sides, err := inst.Plan.ImpairTargets(target, dir)
	if err != nil {
		return nil, fmt.Errorf("impair: %w", err)
	}
	var done []string
	for _, sd := range sides {
		c, err := inst.sideClient(sd)
		if err != nil {
			return nil, err
		}
		if _, err := c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: sd.Interface, Dir: sd.Dir, Impairment: im}); err != nil {
			return nil, fmt.Errorf("impair %s: %w", sd, err)
		}
		done = append(done, sd.String())
	}
	return toAny(map[string]any{"changed": done})
}

// link takes a link down or up, at every agent on its frame path.
func (inst *Instance) link(ctx context.Context, a args) (any, error) {
	target, err := a.str("target", true)
	if err != nil {
		return nil, err
	}
	state, err := a.str("state", true)
	if err != nil {
		return nil, err
	}
	if state != "down" && state != "up" {
		return nil, fmt.Errorf("link: state %q: want down or up", state)
	}
	sides, err := inst.Plan.ImpairTargets(target, topology.DirBoth)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	down := state == "down"
	seen := map[string]bool{}
	for _, sd := range sides {
		if seen[sd.Node+":"+sd.Interface] {
			continue
		}
		seen[sd.Node+":"+sd.Interface] = true
		c, err := inst.sideClient(sd)
		if err != nil {
			return nil, err
		}
		if _, err := c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: sd.Interface, Down: &down}); err != nil {
			return nil, fmt.Errorf("link %s %s: %w", target, state, err)
		}
	}
	return map[string]any{"target": target, "state": state}, nil
}

// exec runs a command inside a node (the runtime's Exec: as nobody with
// the node's network to administer on netns): command (with sh -c), or,
// for a program step, the submission with args. Its output and exit
// status are the result; a non-zero exit is no error of the run (checks
// read it), nor is a program that fails.
func (inst *Instance) exec(ctx context.Context, a args, sub *submission, transcript *strings.Builder) (any, error) {
	node, err := a.str("node", true)
	if err != nil {
		return nil, err
	}
	var argv []string
	shown := ""
	if sub == nil {
		cmd, err := a.str("command", true)
		if err != nil {
			return nil, err
		}
		argv, shown = []string{"sh", "-c", cmd}, cmd
	} else {
		if sub.program == "" {
			return nil, fmt.Errorf("program: the lab takes no program submission")
		}
		argv = append(interpreter(sub.program), sub.program)
		if v, ok := a.m["args"]; ok {
			l, ok := v.([]string)
			if !ok {
				return nil, fmt.Errorf("program: args: want a list")
			}
			argv = append(argv, l...)
		}
		shown = strings.Join(argv, " ")
	}
	ex, ok := inst.Runtime.(runtime.Execer)
	if !ok {
		return nil, fmt.Errorf("the %s runtime cannot run commands in nodes", inst.Runtime.Name())
	}
	var n runtime.Node
	for _, ns := range inst.State.Nodes {
		if ns.Name == node {
			n = runtime.Node{Name: ns.Name, LongName: ns.LongName, ID: ns.ID, NSPath: ns.NSPath, PID: ns.PID}
		}
	}
	if n.Name == "" {
		return nil, fmt.Errorf("the lab has no node %q", node)
	}
	if inst.WorkDir != "" {
		// In the instance's work directory, which the command may write.
		argv = append([]string{"sh", "-c", `cd "$1" && shift && exec "$@"`, "sh", inst.WorkDir}, argv...)
	}
	var out limitedBuffer
	start := time.Now()
	err = ex.Exec(ctx, n, argv, inst.Plan.Node(node).Env, &out)
	res := map[string]any{"output": out.String(), "exit": 0, "duration_ms": time.Since(start).Milliseconds()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res["exit"] = ee.ExitCode()
	case err != nil && ctx.Err() != nil:
		res["exit"], res["error"] = -1, "it did not end in time"
	case err != nil && sub != nil:
		res["exit"], res["error"] = -1, err.Error()
	case err != nil:
		return nil, err
	}
	if v, ok := jsonOutput(out.String()); ok {
		res["json"] = v
	}
	fmt.Fprintf(transcript, "%s$ %s\n%s", node, shown, out.String())
	if e, ok := res["error"]; ok {
		fmt.Fprintf(transcript, "(%v)\n", e)
	} else if res["exit"] != 0 {
		fmt.Fprintf(transcript, "(exit status %v)\n", res["exit"])
	}
	return res, nil
}

// interpreter returns what runs a program file: python3 for a .py, else
// the file itself.
func interpreter(path string) []string {
	if strings.HasSuffix(path, ".py") {
		return []string{"python3"}
	}
	return nil
}

// limitedBuffer keeps the first 1 MiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 1<<20 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

func (inst *Instance) serve(ctx context.Context, a args) (any, error) {
	node, err := a.str("node", true)
	if err != nil {
		return nil, err
	}
	port, err := a.num("port", 0)
	if err != nil {
		return nil, err
	}
	mode, _ := a.str("mode", false)
	if mode == "" {
		mode = "sink"
	}
	c, err := inst.client(node)
	if err != nil {
		return nil, err
	}
	info, err := c.StartApp(ctx, nodeagent.AppSpec{Mode: mode, Port: uint16(port)})
	if err != nil {
		return nil, fmt.Errorf("serve on %s: %w", node, err)
	}
	return toAny(info)
}

// address turns "node:iface", "node" (its first interface) or an IP into
// an address of the plan.
func (inst *Instance) address(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	node, ifc, _ := strings.Cut(s, ":")
	n := inst.Plan.Node(node)
	if n == nil || len(n.Interfaces) == 0 {
		return netip.Addr{}, fmt.Errorf("%q is no address, node or NODE:IFACE of the lab", s)
	}
	i := n.Interfaces[0]
	if ifc != "" {
		if i = n.Interface(ifc); i == nil {
			return netip.Addr{}, fmt.Errorf("node %s has no interface %s", node, ifc)
		}
	}
	return i.Addr.Addr(), nil
}

// fromTo reads a step's node and the address its to names.
func (inst *Instance) fromTo(a args) (string, netip.Addr, error) {
	node, err := a.str("node", true)
	if err != nil {
		return "", netip.Addr{}, err
	}
	to, err := a.str("to", true)
	if err != nil {
		return "", netip.Addr{}, err
	}
	addr, err := inst.address(to)
	return node, addr, err
}

func (inst *Instance) send(ctx context.Context, a args) (any, error) {
	node, addr, err := inst.fromTo(a)
	if err != nil {
		return nil, err
	}
	port, err := a.num("port", 0)
	if err != nil {
		return nil, err
	}
	spec := nodeagent.SendSpec{To: netip.AddrPortFrom(addr, uint16(port)).String()}
	if s, _ := a.str("bytes", false); s != "" {
		if spec.Bytes, err = units.ParseSize(s); err != nil {
			return nil, fmt.Errorf("send: bytes: %w", err)
		}
	}
	if spec.Duration, err = a.dur("duration", 0); err != nil {
		return nil, err
	}
	c, err := inst.client(node)
	if err != nil {
		return nil, err
	}
	rep, err := c.Send(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("send from %s: %w", node, err)
	}
	return toAny(rep)
}

// script runs a socket script: the lab's own file, or the submission. The
// submission's errors are the student's: they are the step's result.
func (inst *Instance) script(ctx context.Context, a args, sub *submission, out *strings.Builder) (any, error) {
	timeout, err := a.dur("timeout", 5*time.Second)
	if err != nil {
		return nil, err
	}
	name, data := sub.name, sub.script
	own := false
	if f, _ := a.str("file", false); f != "" {
		raw, err := inst.Lab.ReadFile(f)
		if err != nil {
			return nil, err
		}
		s, err := inst.Variant.Expand(string(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		name, data, own = f, []byte(s), true
	}
	res := map[string]any{"ok": true}
	steps, err := sockscript.Parse(name, data)
	if err != nil {
		if own {
			return nil, err
		}
		return nil, &SubmissionError{fmt.Errorf("it is not a socket script netlab can run:\n%w", err)}
	}
	var calls []sockscript.Done
	var transcript strings.Builder
	err = sockscript.Run(ctx, name, steps, inst.client, timeout, func(d sockscript.Done, done bool) {
		if !done {
			return
		}
		calls = append(calls, d)
		line := strings.Join(d.Words, " ")
		switch {
		case d.Node == "":
		case d.Failed():
			line += fmt.Sprintf(": %s (%s)", d.Result.Errno, d.Result.Error)
		case d.Call == "read" && d.Result.EOF:
			line += ": end of stream"
		case d.Call == "read" && len(d.Result.Data) > maxShownRead:
			// The transcript is for people (and for a check's regex on a
			// message): a bulk read shows its start.
			line += fmt.Sprintf(": %d bytes %q...", d.Result.N, d.Result.Data[:maxShownRead])
		case d.Call == "read":
			line += fmt.Sprintf(": %d bytes %q", d.Result.N, d.Result.Data)
		case d.Call == "socket" || d.Call == "accept":
			line += fmt.Sprintf(": fd %d", d.Result.FD)
		case d.Call == "write":
			line += fmt.Sprintf(": %d bytes", d.Result.N)
		}
		fmt.Fprintf(&transcript, "%s: %s\n", d.Where, line)
	})
	out.WriteString(transcript.String())
	res["calls"], res["output"] = calls, transcript.String()
	if err != nil {
		if own || ctx.Err() != nil {
			return nil, err
		}
		res["ok"], res["error"] = false, err.Error()
		fmt.Fprintf(out, "%v\n", err)
	}
	return toAny(res)
}

func (inst *Instance) ping(ctx context.Context, a args) (any, error) {
	node, addr, err := inst.fromTo(a)
	if err != nil {
		return nil, err
	}
	count, err := a.num("count", 3)
	if err != nil {
		return nil, err
	}
	interval, err := a.dur("interval", 200*time.Millisecond)
	if err != nil {
		return nil, err
	}
	c, err := inst.client(node)
	if err != nil {
		return nil, err
	}
	var replies []nodeagent.PingReply
	err = c.Ping(ctx, nodeagent.PingSpec{To: addr.String(), Count: count, Interval: interval}, func(p nodeagent.PingReply) { replies = append(replies, p) })
	if err != nil && (errors.Is(err, nodeagent.ErrAgentGone) || ctx.Err() != nil) {
		return nil, fmt.Errorf("ping from %s: %w", node, err)
	}
	got := 0
	for _, r := range replies {
		if !r.Lost {
			got++
		}
	}
	res := map[string]any{"sent": len(replies), "received": got, "replies": replies}
	if err != nil {
		// What the network did (no route, unreachable): the lab's outcome.
		res["error"] = err.Error()
	}
	return toAny(res)
}

// waitState waits until a connection of node reaches a state (trace
// names, "TIME-WAIT"), within its bound.
func (inst *Instance) waitState(ctx context.Context, a args) (any, error) {
	node, err := a.str("node", true)
	if err != nil {
		return nil, err
	}
	state, err := a.str("state", true)
	if err != nil {
		return nil, err
	}
	conn, _ := a.str("conn", false)
	within, err := a.dur("within", 10*time.Second)
	if err != nil {
		return nil, err
	}
	path := inst.Dirs.Run(inst.State.Run).Trace(node)
	deadline := time.Now().Add(within)
	for {
		evs, _ := trace.ReadFile(path)
		for _, e := range evs {
			if e.State == state && (conn == "" || strings.Contains(e.Local.String()+"->"+e.Remote.String(), conn)) {
				return map[string]any{"reached": true}, nil
			}
		}
		if time.Now().After(deadline) {
			return map[string]any{"reached": false}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SubmissionError is a submission that cannot be graded as the lab takes
// it (a script that does not parse): the report says so, not graded,
// rather than failing every check.
type SubmissionError struct{ Err error }

func (e *SubmissionError) Error() string { return "the submission: " + e.Err.Error() }
func (e *SubmissionError) Unwrap() error { return e.Err }

// maxShownRead is how much of a read's data a script's transcript shows.
const maxShownRead = 200

// parseAnswers reads an answers file: name: value lines (YAML).
func parseAnswers(path string, data []byte) (map[string]string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("the answers %s: want lines of name: value: %v", path, err)
	}
	out := map[string]string{}
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("the answers %s: %s: want one value", path, k)
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// toAny turns a result into the plain values (maps, lists, strings,
// numbers) checks read, through JSON.
func toAny(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

// jsonOutput decodes a command's output when it is one JSON object or
// array (nstat --json, ip -j ...), so that checks read its fields.
func jsonOutput(out string) (any, bool) {
	t := strings.TrimSpace(out)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return nil, false
	}
	return v, true
}

// file reports a file in the instance's work directory, as the steps
// before it left it: whether it exists, its size and its sha256 (what a
// delivered check compares). A missing file is a result, not an error.
func (inst *Instance) file(a args) (any, error) {
	rel, err := a.str("path", true)
	if err != nil {
		return nil, err
	}
	if inst.WorkDir == "" {
		return nil, fmt.Errorf("file: the instance has no work directory")
	}
	p := rel
	if !filepath.IsAbs(p) {
		p = filepath.Join(inst.WorkDir, p)
	}
	if r, err := filepath.Rel(inst.WorkDir, filepath.Clean(p)); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return nil, fmt.Errorf("file: %s is outside the work directory", rel)
	}
	res := map[string]any{"path": rel, "exists": false, "bytes": 0, "sha256": ""}
	// What the submission wrote is not trusted: a link or a device is
	// reported, never followed or read.
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	res["exists"] = true
	if !fi.Mode().IsRegular() {
		res["error"] = fmt.Sprintf("not a regular file (%s)", fi.Mode().Type())
		return res, nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", rel, err)
	}
	res["bytes"], res["sha256"] = n, hex.EncodeToString(h.Sum(nil))
	return res, nil
}
