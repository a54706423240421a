package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// fakeDeploy makes what the read verbs of a deployed lab look for, without
// root: the lab directory next to the topology file with its copy, and an
// agent serving every node on in-memory links at the lab's socket. It
// returns the topology file's path.
func fakeDeploy(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lab, err := topology.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	// What deploy leaves for the read verbs: a registry entry, the state
	// directory with the plan and the state, the lab directory's run.
	run := t.TempDir()
	t.Setenv(runDirEnv, run)
	dirs := labdir.New(run, lab.Name, file)
	if err := dirs.MakeStateDir(); err != nil {
		t.Fatal(err)
	}
	r, err := dirs.StartRun(labdir.RunInfo{Lab: lab.Name})
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := json.Marshal(lab)
	sock := dirs.State(labdir.AgentSocketName)
	st := deploy.State{Lab: lab.Name, TopoFile: file, LabDir: dirs.Dir, StateDir: dirs.StateDir(), Run: r.ID,
		Runtime: "netns", Status: deploy.StatusRunning, Agent: true}
	for _, n := range lab.Nodes {
		st.Nodes = append(st.Nodes, deploy.NodeState{Name: n.Name, Stack: string(n.Stack), Socket: sock})
	}
	stJSON, _ := json.Marshal(st)
	entry, _ := json.Marshal(map[string]string{"lab": lab.Name, "topo-file": file, "lab-dir": dirs.Dir, "run": r.ID, "runtime": "netns"})
	os.MkdirAll(labdir.RegistryDir(run), 0o755)
	for path, data := range map[string][]byte{
		dirs.State(labdir.PlanFile):                              plan,
		dirs.State(labdir.StateFile):                             stJSON,
		filepath.Join(labdir.RegistryDir(run), lab.Name+".json"): entry,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	eps := map[string]link.Endpoint{}
	for _, l := range lab.Links {
		a, b := pipe.Pair(pipe.Async, l.MTU, net.HardwareAddr(l.A.MAC[:]), net.HardwareAddr(l.B.MAC[:]))
		eps[l.A.String()], eps[l.B.String()] = a, b
		t.Cleanup(func() { a.Close(); b.Close() })
	}
	var refs []nodeagent.NodeRef
	for _, n := range lab.Nodes {
		refs = append(refs, nodeagent.NodeRef{Name: n.Name})
	}
	open := func(node, _, ifname string) (link.Endpoint, error) { return eps[node+":"+ifname], nil }
	a, err := nodeagent.New(context.Background(), nodeagent.Config{Lab: lab, Nodes: refs, OpenLink: open})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return file
}

// run runs the netlab command line args in this process.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd(&options{stdout: &out, stderr: &out})
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// TestImpairCommands checks the grammar of `netlab impair`: set, show and
// reset, the short form, and links whose names are subcommands.
func TestImpairCommands(t *testing.T) {
	file := fakeDeploy(t, `name: impaircli
topology:
  nodes: {h1: {}, h2: {}, h3: {}}
  links:
    - {name: show, endpoints: ["h1:eth1", "h2:eth1"]}
    - {name: wan, endpoints: ["h2:eth2", "h3:eth1"], netem: {delay: 1ms}}
    - {name: set, endpoints: ["h1:eth2", "h3:eth2"]}
`)
	// egress returns the egress impairment in force on node:iface.
	egress := func(node, iface string) string {
		t.Helper()
		out, err := run(t, "impair", "show", node, "-t", file, "--format", "json")
		if err != nil {
			t.Fatalf("impair show %s: %v\n%s", node, err, out)
		}
		var all map[string][]nodeagent.ImpairState
		if err := json.Unmarshal([]byte(out), &all); err != nil {
			t.Fatalf("impair show %s: %v\n%s", node, err, out)
		}
		for _, s := range all[node] {
			if s.Interface == iface {
				return s.Egress.String()
			}
		}
		t.Fatalf("impair show %s: no %s in %s", node, iface, out)
		return ""
	}
	steps := []struct {
		args    []string
		out     string // part of the output
		err     string // part of the error; "" for none
		checkAt string // node:iface whose egress to check after the step
		egress  string
	}{
		{args: []string{"impair", "wan", "--delay", "5ms", "--loss", "1%"}, out: "h2:eth2 egress: delay 5ms loss 1%\nh3:eth1 egress: delay 5ms loss 1%",
			checkAt: "h3:eth1", egress: "delay 5ms loss 1%"},
		{args: []string{"impair", "set", "wan", "--dir", "a-to-b", "--rate", "10mbit", "--drop-match", `["syn first"]`}, out: "Flag --dir has been deprecated, use --direction",
			checkAt: "h2:eth2", egress: "rate 10mbit drop-match syn first"},
		{args: []string{"impair", "set", "show", "--direction", "b-to-a", "--delay", "7ms"}, out: "h2:eth1 egress: delay 7ms",
			checkAt: "h2:eth1", egress: "delay 7ms"},
		{args: []string{"impair", "set", "set", "--delay", "3ms", "--loss-model", "{model: gemodel, p: 1%}"},
			checkAt: "h3:eth2", egress: "delay 3ms loss gemodel 1% 99% 100% 0%"},
		{args: []string{"impair", "h1:eth1", "--direction", "egress", "--outage", "{every: 10s, for: 1s}"},
			checkAt: "h1:eth1", egress: "outage 1s every 10s"},
		{args: []string{"impair", "show", "--delay", "5ms"}, err: "unknown flag: --delay"},
		{args: []string{"impair", "shwo", "--delay", "5ms"}, err: "did you mean `netlab impair show`?"},
		{args: []string{"impair", "set", "--delay", "5ms"}, err: "accepts 1 arg(s), received 0"},
		{args: []string{"impair", "set", "wan"}, err: "say what to change"},
		{args: []string{"impair", "set", "wan", "--clear", "--delay", "1ms"}, err: "--clear removes the impairment"},
		{args: []string{"impair", "wan", "--jitter", "1ms"}, err: "netem: jitter needs delay"},
		{args: []string{"impair", "wan", "--dleay", "1ms"}, err: "unknown flag: --dleay"},
		{args: []string{"impair", "set", "show", "--clear"}, out: "h1:eth1 egress: none\nh2:eth1 egress: none", checkAt: "h1:eth1", egress: ""},
		{args: []string{"impair", "reset"}, out: "6 interfaces back to the topology file's impairments", checkAt: "h3:eth1", egress: "delay 1ms"},
		{args: []string{"impair", "show"}, out: "h3:eth1    delay 1ms"},
	}
	for _, st := range steps {
		args := append(slices.Clone(st.args), "-t", file)
		out, err := run(t, args...)
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Errorf("netlab %s: error %v, want one containing %q\n%s", strings.Join(st.args, " "), err, st.err, out)
			}
			continue
		}
		if err != nil || !strings.Contains(out, st.out) {
			t.Errorf("netlab %s: %v\n%s\nwant output containing %q", strings.Join(st.args, " "), err, out, st.out)
			continue
		}
		if st.checkAt != "" {
			node, iface, _ := strings.Cut(st.checkAt, ":")
			if got := egress(node, iface); got != st.egress {
				t.Errorf("after netlab %s: %s egress %q, want %q", strings.Join(st.args, " "), st.checkAt, got, st.egress)
			}
		}
	}
}

// TestImpairFlagsAreTheGrammar checks that `impair set` has a flag for
// every key of impair's netem grammar, and no other.
func TestImpairFlagsAreTheGrammar(t *testing.T) {
	var keys, flags []string
	for _, k := range impair.Keys() {
		keys = append(keys, k.Name)
	}
	for _, k := range impairKeys {
		flags = append(flags, k.name)
	}
	slices.Sort(keys)
	slices.Sort(flags)
	if !slices.Equal(keys, flags) {
		t.Errorf("impair set flags %v, want the grammar's keys %v", flags, keys)
	}
}
