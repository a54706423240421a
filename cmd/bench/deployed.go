package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netlab/netlab/deploy"
)

// deployedConfig is what -deployed measures: netlab binaries, each
// deploying the two-hosts example and moving bulk data with `netlab tcp
// send`, rounds interleaved, beside the raw veth Go->Go figure.
type deployedConfig struct {
	bins     []string // label=path
	rounds   int
	bytes    string
	topo     string
	profiles string // a directory for the agents' CPU profiles, or ""
}

// deployedResult is one binary's rounds.
type deployedResult struct {
	Label     string    `json:"label"`
	Binary    string    `json:"binary"`
	Mbps      []float64 `json:"mbps"`
	CPUPerGB  []float64 `json:"agent_cpu_s_per_gb"`
	RawGoGbps []float64 `json:"raw_veth_go_go_gbps,omitempty"`
}

// runDeployed measures each binary of dc in turn, round after round, so
// that what the machine does meanwhile falls on every binary alike, with
// a raw veth Go->Go bulk flow and an iperf3 flow (the kernel, as users
// measure it) in each round as the references.
func runDeployed(ctx context.Context, cfg config, dc deployedConfig) ([]deployedResult, []float64, []float64, error) {
	res := make([]deployedResult, len(dc.bins))
	for i, b := range dc.bins {
		label, path, ok := strings.Cut(b, "=")
		if !ok {
			label, path = filepath.Base(b), b
		}
		res[i] = deployedResult{Label: label, Binary: path}
	}
	var raw, iperf []float64
	for round := 0; round < dc.rounds; round++ {
		gbps, _, err := measure(ctx, ends{true, true}, cfg, func(p *pair) (float64, float64, error) { return bulkFlow(ctx, p, cfg.bulkTime) })
		if err != nil {
			return nil, nil, nil, fmt.Errorf("raw veth: %w", err)
		}
		raw = append(raw, gbps)
		ip, _, err := iperf3Bulk(ctx, cfg.bulkTime)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("iperf3: %w", err)
		}
		iperf = append(iperf, ip)
		for i := range res {
			mbps, cpu, err := deployedSend(ctx, res[i].Binary, dc)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", res[i].Label, err)
			}
			res[i].Mbps = append(res[i].Mbps, mbps)
			res[i].CPUPerGB = append(res[i].CPUPerGB, cpu)
		}
	}
	return res, raw, iperf, nil
}

// deployedSend deploys a unique copy of the topology with bin, sends
// dc.bytes from h1 to h2 with `tcp send`, and returns the goodput and the
// agent's CPU seconds per GB moved; the lab is destroyed whatever happens.
func deployedSend(ctx context.Context, bin string, dc deployedConfig) (float64, float64, error) {
	data, err := os.ReadFile(dc.topo)
	if err != nil {
		return 0, 0, err
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	name := "bench" + hex.EncodeToString(rnd[:])
	data = regexp.MustCompile(`(?m)^name: .*$`).ReplaceAll(data, []byte("name: "+name))
	dir, err := os.MkdirTemp("", "netlab-bench")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	topo := filepath.Join(dir, "lab.yml")
	if err := os.WriteFile(topo, data, 0o644); err != nil {
		return 0, 0, err
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
		return 0, 0, err
	}
	if _, err := nl("tcp", "serve", "h2", "--port", "5001"); err != nil {
		return 0, 0, err
	}
	pid, err := agentPID(name)
	if err != nil {
		return 0, 0, err
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	out, err := nl("tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", dc.bytes, "--format", "json")
	if err != nil {
		return 0, 0, err
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	var rep struct {
		Bytes       int64   `json:"bytes"`
		GoodputMbps float64 `json:"goodput_mbps"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, 0, fmt.Errorf("tcp send said %q: %w", out, err)
	}
	return rep.GoodputMbps, (cpu1 - cpu0).Seconds() / (float64(rep.Bytes) / 1e9), nil
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
func printDeployed(res []deployedResult, raw, iperf []float64) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "path\tgoodput Mbit/s (median, range)\tratio to iperf3\tratio to raw veth Go->Go\tagent CPU s/GB (median)")
	ipMed, rawMed := median(iperf)*1000, median(raw)*1000
	fmt.Fprintf(w, "iperf3, kernel TCP between two namespaces\t%.0f (%.0f–%.0f)\t1\t%.2f\t-\n", ipMed, minOf(iperf)*1000, maxOf(iperf)*1000, ipMed/rawMed)
	fmt.Fprintf(w, "raw veth Go->Go (in process)\t%.0f (%.0f–%.0f)\t%.2f\t1\t-\n", rawMed, minOf(raw)*1000, maxOf(raw)*1000, rawMed/ipMed)
	for _, r := range res {
		m := median(r.Mbps)
		fmt.Fprintf(w, "deployed lab, %s\t%.0f (%.0f–%.0f)\t%.2f\t%.2f\t%.2f\n", r.Label, m, minOf(r.Mbps), maxOf(r.Mbps), m/ipMed, m/rawMed, median(r.CPUPerGB))
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
