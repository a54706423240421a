package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/nodeagent"
)

// deployedConfig is what -deployed measures: netlab binaries, each
// deploying small labs and moving bulk data with `netlab tcp send` on
// every path of paths, rounds interleaved, beside the raw veth Go->Go
// figure and iperf3.
type deployedConfig struct {
	bins     []string // label=path
	rounds   int
	bytes    string
	paths    []string // names of deployedPaths
	flowTime time.Duration
	profiles string // a directory for the agents' CPU profiles, or ""
}

// A deployedPath is one way of moving data through a deployed lab: the
// topology (its name line replaced per run) and the sends, all at once.
type deployedPath struct {
	Name string
	What string
	Topo string
	// Serve lists node and port of every server; Sends the flows.
	Serve []serveAt
	Sends []sendJob
	// Duration makes every send run for this long instead of a size.
	Duration bool
	// Batch runs the sends as one flow batch per sending node through its
	// agent's API (what `netlab experiment` does), all starting at one
	// moment, instead of one `netlab tcp send` process each: the figure
	// is then every flow's bytes over the one window they share.
	Batch bool
}

type serveAt struct {
	Node string
	Port int
}

type sendJob struct{ From, To string }

// deployedPaths are the paths issue #16 asks for: two Go-stack nodes with
// and without an impairment that changes nothing, a Go node with a Linux
// node either way, and 100 flows between 20 node pairs in one agent.
func deployedPaths() []deployedPath {
	const goLinux = `name: x
topology:
  nodes:
    gohost: {kind: host, stack: go}
    linuxhost: {kind: host, stack: linux}
  links:
    - endpoints:
        - {node: gohost, interface: eth1, ipv4: 192.168.50.1/24}
        - {node: linuxhost, interface: eth1, ipv4: 192.168.50.2/24}
`
	const twoHosts = `name: x
topology:
  nodes:
    h1: {kind: host}
    h2: {kind: host}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
`
	var pairs strings.Builder
	pairs.WriteString("name: x\ntopology:\n  nodes:\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&pairs, "    s%d: {kind: host}\n    r%d: {kind: host}\n", i, i)
	}
	pairs.WriteString("  links:\n")
	var serve []serveAt
	var sends []sendJob
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&pairs, "    - endpoints: [{node: s%d, interface: eth1, ipv4: 10.9.%d.1/24}, {node: r%d, interface: eth1, ipv4: 10.9.%d.2/24}]\n", i, i, i, i)
		serve = append(serve, serveAt{fmt.Sprintf("r%d", i), 5001})
		for range 5 {
			sends = append(sends, sendJob{fmt.Sprintf("s%d", i), fmt.Sprintf("10.9.%d.2:5001", i)})
		}
	}
	return []deployedPath{
		{Name: "go-go", What: "Go -> Go (two-hosts)", Topo: twoHosts,
			Serve: []serveAt{{"h2", 5001}}, Sends: []sendJob{{"h1", "10.0.0.1:5001"}}},
		{Name: "go-go-impaired", What: "Go -> Go, a no-op impairment (rate 100gbit: the engine's queue and timer in the path)",
			Topo:  strings.Replace(twoHosts, `["h1:eth1", "h2:eth1"]`, "[\"h1:eth1\", \"h2:eth1\"]\n      netem: {rate: 100gbit}", 1),
			Serve: []serveAt{{"h2", 5001}}, Sends: []sendJob{{"h1", "10.0.0.1:5001"}}},
		{Name: "go-linux", What: "Go -> Linux (a stack: linux node)", Topo: goLinux,
			Serve: []serveAt{{"linuxhost", 5001}}, Sends: []sendJob{{"gohost", "192.168.50.2:5001"}}},
		{Name: "linux-go", What: "Linux -> Go", Topo: goLinux,
			Serve: []serveAt{{"gohost", 5001}}, Sends: []sendJob{{"linuxhost", "192.168.50.1:5001"}}},
		{Name: "flows-100", What: "100 flows, 20 node pairs, one agent (aggregate: one flow batch per sender, all starting at once)", Topo: pairs.String(),
			Serve: serve, Sends: sends, Duration: true, Batch: true},
	}
}

// deployedResult is one binary's rounds on one path.
type deployedResult struct {
	Label    string    `json:"label"`
	Binary   string    `json:"binary"`
	Path     string    `json:"path"`
	What     string    `json:"what"`
	Mbps     []float64 `json:"mbps"`
	CPUPerGB []float64 `json:"agent_cpu_s_per_gb"`
	// MachineCPUPerGB counts all processors' busy time over the sends,
	// as iperf3's figure does: the kernel's softirq work is nobody's
	// process time.
	MachineCPUPerGB []float64 `json:"machine_cpu_s_per_gb"`
}

// runDeployed measures each binary of dc on each path in turn, round
// after round, so that what the machine does meanwhile falls on every
// binary alike, with a raw veth Go->Go bulk flow and an iperf3 flow (the
// kernel, as users measure it) in each round as the references.
func runDeployed(ctx context.Context, cfg config, dc deployedConfig) ([]deployedResult, []float64, []float64, []float64, error) {
	all := deployedPaths()
	var paths []deployedPath
	for _, name := range dc.paths {
		i := slices.IndexFunc(all, func(p deployedPath) bool { return p.Name == name })
		if i < 0 {
			var names []string
			for _, p := range all {
				names = append(names, p.Name)
			}
			return nil, nil, nil, nil, fmt.Errorf("no path %q: the paths are %s", name, strings.Join(names, ", "))
		}
		paths = append(paths, all[i])
	}
	var res []deployedResult
	for _, b := range dc.bins {
		label, path, ok := strings.Cut(b, "=")
		if !ok {
			label, path = filepath.Base(b), b
		}
		for _, p := range paths {
			res = append(res, deployedResult{Label: label, Binary: path, Path: p.Name, What: p.What})
		}
	}
	var raw, iperf, iperfCPU []float64
	for round := 0; round < dc.rounds; round++ {
		gbps, _, err := measure(ctx, ends{true, true}, cfg, func(p *pair) (float64, float64, error) { return bulkFlow(ctx, p, cfg.bulkTime) })
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("raw veth: %w", err)
		}
		raw = append(raw, gbps)
		ip, ipCPU, err := iperf3Bulk(ctx, cfg.bulkTime)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("iperf3: %w", err)
		}
		iperf, iperfCPU = append(iperf, ip), append(iperfCPU, ipCPU)
		for i := range res {
			p := paths[i%len(paths)]
			mbps, cpu, machine, err := deployedSend(ctx, res[i].Binary, p, dc)
			if err != nil {
				return nil, nil, nil, nil, fmt.Errorf("%s, %s: %w", res[i].Label, p.Name, err)
			}
			res[i].Mbps = append(res[i].Mbps, mbps)
			res[i].CPUPerGB = append(res[i].CPUPerGB, cpu)
			res[i].MachineCPUPerGB = append(res[i].MachineCPUPerGB, machine)
		}
	}
	return res, raw, iperf, iperfCPU, nil
}

// deployedSend deploys a uniquely named copy of p's topology with bin,
// starts its servers, runs its sends at once and returns the aggregate
// goodput (the sum of the flows', which run side by side), the agent's
// and the machine's CPU seconds per GB moved; the lab is destroyed
// whatever happens.
func deployedSend(ctx context.Context, bin string, p deployedPath, dc deployedConfig) (mbps, agentCPU, machineCPU float64, err error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	name := "bench" + hex.EncodeToString(rnd[:])
	data := regexp.MustCompile(`(?m)^name: .*$`).ReplaceAllString(p.Topo, "name: "+name)
	dir, err := os.MkdirTemp("", "netlab-bench")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	topo := filepath.Join(dir, "lab.yml")
	if err := os.WriteFile(topo, []byte(data), 0o644); err != nil {
		return 0, 0, 0, err
	}
	nl := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, "-t", topo)...)
		if dc.profiles != "" {
			cmd.Env = append(os.Environ(), deploy.AgentProfileEnv+"="+dc.profiles)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("netlab %s: %w: %s", strings.Join(args, " "), err, stderr.String())
		}
		return out, nil
	}
	defer exec.Command(bin, "destroy", "-t", topo, "--cleanup").Run()
	if _, err := nl("deploy"); err != nil {
		return 0, 0, 0, err
	}
	for _, s := range p.Serve {
		if _, err := nl("tcp", "serve", s.Node, "--port", strconv.Itoa(s.Port)); err != nil {
			return 0, 0, 0, err
		}
	}
	pid, err := agentPID(name)
	if err != nil {
		return 0, 0, 0, err
	}
	if p.Batch {
		return batchSend(ctx, nl, pid, p, dc.flowTime)
	}
	size := []string{"--bytes", dc.bytes}
	if p.Duration {
		size = []string{"--duration", dc.flowTime.String()}
	}
	type report struct {
		Bytes       int64   `json:"bytes"`
		GoodputMbps float64 `json:"goodput_mbps"`
	}
	agentCPU, machineCPU, err = cpuPerGB(pid, func() (int64, error) {
		reps := make([]report, len(p.Sends))
		errs := make([]error, len(p.Sends))
		var wg sync.WaitGroup
		for i, s := range p.Sends {
			wg.Go(func() {
				out, err := nl(append([]string{"tcp", "send", s.From, "--to", s.To, "--format", "json"}, size...)...)
				if err == nil {
					if err = json.Unmarshal(out, &reps[i]); err != nil {
						err = fmt.Errorf("tcp send said %q: %w", out, err)
					}
				}
				errs[i] = err
			})
		}
		wg.Wait()
		var moved int64
		for _, r := range reps {
			mbps += r.GoodputMbps
			moved += r.Bytes
		}
		return moved, errors.Join(errs...)
	})
	return mbps, agentCPU, machineCPU, err
}

// cpuPerGB runs send, which returns the bytes it moved, and returns the
// CPU seconds per GB moved that the agent (process pid) and the whole
// machine spent over the run.
func cpuPerGB(pid int, send func() (int64, error)) (agent, machine float64, err error) {
	busy0 := machineBusy()
	cpu0, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	moved, err := send()
	if err != nil {
		return 0, 0, err
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	busy := machineBusy() - busy0
	gb := float64(moved) / 1e9
	return (cpu1 - cpu0).Seconds() / gb, busy.Seconds() / gb, nil
}

// batchSend runs p's sends as flow batches, one per sending node, all
// flows starting at one moment and sending for flowTime, and returns their
// aggregate goodput (every byte the flows wrote, each delivered before its
// sink closed, over the time from that moment to the last flow's end) with
// the agent's and the machine's CPU seconds per GB over the same run.
func batchSend(ctx context.Context, nl func(...string) ([]byte, error), pid int, p deployedPath, flowTime time.Duration) (mbps, agentCPU, machineCPU float64, err error) {
	out, err := nl("inspect", "--format", "json")
	if err != nil {
		return 0, 0, 0, err
	}
	var sts []deploy.State
	if err := json.Unmarshal(out, &sts); err != nil || len(sts) != 1 {
		return 0, 0, 0, fmt.Errorf("netlab inspect said %q: %v", out, err)
	}
	clients := map[string]*nodeagent.Client{}
	for _, n := range sts[0].Nodes {
		clients[n.Name] = nodeagent.NewClient(n.Socket, n.Name)
	}
	batches := map[string]*nodeagent.FlowBatch{}
	var from []string
	at := time.Now().Add(time.Second) // every batch is in its agent by then
	for i, s := range p.Sends {
		b := batches[s.From]
		if b == nil {
			if clients[s.From] == nil {
				return 0, 0, 0, fmt.Errorf("no agent serves node %s", s.From)
			}
			b = &nodeagent.FlowBatch{At: at, Limit: flowTime + time.Minute}
			batches[s.From] = b
			from = append(from, s.From)
		}
		b.Flows = append(b.Flows, nodeagent.FlowSpec{ID: i, To: s.To, Duration: flowTime})
	}
	var moved int64
	var last time.Time
	agentCPU, machineCPU, err = cpuPerGB(pid, func() (int64, error) {
		reps := make([][]nodeagent.FlowReport, len(from))
		errs := make([]error, len(from))
		var wg sync.WaitGroup
		for i, node := range from {
			wg.Go(func() { reps[i], errs[i] = clients[node].Flows(ctx, *batches[node]) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return 0, err
		}
		for _, rs := range reps {
			for _, r := range rs {
				if r.Error != "" || r.Cut || r.End.IsZero() {
					return 0, fmt.Errorf("flow %d to %s did not complete: %s (cut %v)", r.ID, r.To, r.Error, r.Cut)
				}
				moved += r.Bytes
				if r.End.After(last) {
					last = r.End
				}
			}
		}
		return moved, nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return float64(moved) * 8 / 1e6 / last.Sub(at).Seconds(), agentCPU, machineCPU, nil
}

// agentPID finds the agent process of lab (its command line names the
// lab's directory, netlab-<lab>, whichever version of netlab started it).
func agentPID(lab string) (int, error) {
	out, err := exec.Command("pgrep", "-f", "agent.*netlab-"+lab+"[/ ]").Output()
	if err != nil {
		return 0, fmt.Errorf("no agent process for lab %s", lab)
	}
	f := strings.Fields(string(out))
	if len(f) != 1 {
		return 0, fmt.Errorf("%d agent processes for lab %s", len(f), lab)
	}
	return strconv.Atoi(f[0])
}

// procCPU returns the user and system time process pid has used.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	const hz = 100                           // USER_HZ
	return time.Duration(ut+st) * time.Second / hz, nil
}

// printDeployed prints the -deployed table: the median and range of each
// path's goodput, its ratio to iperf3's and to the raw veth figure of the
// same run, and the agent's CPU per GB.
func printDeployed(res []deployedResult, raw, iperf, iperfCPU []float64) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "path\tgoodput Mbit/s (median, range)\tratio to iperf3\tratio to raw veth Go->Go\tmachine CPU s/GB (median)\tCPU/GB to iperf3's\tagent CPU s/GB")
	ipMed, rawMed, ipCPU := median(iperf)*1000, median(raw)*1000, median(iperfCPU)
	fmt.Fprintf(w, "iperf3, kernel TCP between two namespaces\t%.0f (%.0f–%.0f)\t1\t%.2f\t%.2f\t1\t-\n", ipMed, minOf(iperf)*1000, maxOf(iperf)*1000, ipMed/rawMed, ipCPU)
	fmt.Fprintf(w, "raw veth Go->Go (in process)\t%.0f (%.0f–%.0f)\t%.2f\t1\t-\t-\t-\n", rawMed, minOf(raw)*1000, maxOf(raw)*1000, rawMed/ipMed)
	for _, r := range res {
		m, c := median(r.Mbps), median(r.MachineCPUPerGB)
		fmt.Fprintf(w, "deployed lab, %s: %s\t%.0f (%.0f–%.0f)\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", r.Label, r.What, m, minOf(r.Mbps), maxOf(r.Mbps), m/ipMed, m/rawMed, c, c/ipCPU, median(r.CPUPerGB))
	}
	w.Flush()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
