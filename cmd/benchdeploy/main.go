// Command benchdeploy measures how long netlab takes to deploy and destroy
// labs of 10 to 1000 nodes on the netns runtime, and what memory a node
// costs. Labs are generated on the fly: a line (hosts at both ends, routers
// between) and a binary tree (routers inside, hosts at the leaves), with
// auto-routes, and deployed without node agents. It needs root; everything
// it makes is removed again, also on Ctrl-C.
//
//	go run ./cmd/benchdeploy                       # 10, 100, 500, 1000 nodes
//	go run ./cmd/benchdeploy -sizes 100 -stack linux
//
// Columns: deploy and destroy wall time (the deploy split into its phases:
// load = parse and plan, nodes = namespaces, links = veths and bridges,
// config = per-node kernel configuration), the time the kernel then takes to
// free the namespaces (it does so asynchronously after destroy returns),
// the resident memory of the processes left in the nodes (none without an
// agent), and the kernel memory a node costs (the drop of MemAvailable, and
// of it the growth of unreclaimable slab, divided by the node count).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/runtime/netns"
	"github.com/netlab/netlab/topology"
)

func main() {
	sizes := flag.String("sizes", "10,100,500,1000", "node counts, comma-separated")
	shapes := flag.String("shapes", "line,tree", "topologies: line, tree")
	stack := flag.String("stack", "go", "stack of every node: go (no kernel address or route) or linux")
	workers := flag.Int("workers", 0, "deploy.Options.MaxWorkers (0: the default)")
	autoRoutes := flag.Bool("auto-routes", true, "plan shortest-path routes (installed in the kernel for -stack linux)")
	waitKernel := flag.Bool("wait-kernel", true, "after destroy, wait until the kernel has freed the namespaces")
	netlabBin := flag.String("netlab", "", "start node agents with this netlab binary (a static build: make build), and count their memory")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "benchdeploy: needs root to create network namespaces: run it with sudo")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{stack: *stack, workers: *workers, autoRoutes: *autoRoutes, waitKernel: *waitKernel,
		rt: netns.New(netns.Options{}), out: os.Stdout}
	if *netlabBin != "" {
		exe, err := filepath.Abs(*netlabBin)
		if err != nil {
			fail(err)
		}
		b.agent = deploy.Agents{Exe: exe}
	}
	dir, err := os.MkdirTemp("", "benchdeploy")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	b.dir = dir
	fmt.Fprintf(b.out, "netlab deploy/destroy on the netns runtime, stack %s, auto-routes %v, workers %s, %d CPUs\n\n",
		b.stack, b.autoRoutes, workersString(b.workers), goruntime.NumCPU())
	fmt.Fprintln(b.out, "| shape | nodes | links | routes | plan.json | deploy | (load / nodes / links / config) | destroy | kernel frees | agent RSS/node | kernel mem/node (slab) |")
	fmt.Fprintln(b.out, "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
	for _, shape := range strings.Split(*shapes, ",") {
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 2 {
				fail(fmt.Errorf("bad size %q", s))
			}
			if err := b.run(ctx, strings.TrimSpace(shape), n); err != nil {
				fail(err)
			}
		}
	}
}

func workersString(w int) string {
	if w == 0 {
		return strconv.Itoa(deploy.DefaultMaxWorkers()) + " (default)"
	}
	return strconv.Itoa(w)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchdeploy:", err)
	os.Exit(1)
}

type bench struct {
	stack      string
	workers    int
	autoRoutes bool
	waitKernel bool
	rt         *netns.Runtime
	agent      deploy.AgentStarter
	dir        string
	out        io.Writer
}

// run deploys and destroys one generated lab and prints its row.
func (b *bench) run(ctx context.Context, shape string, n int) (err error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	name := fmt.Sprintf("bench-%s-%d-%s", shape, n, hex.EncodeToString(rnd[:]))
	src, err := generate(shape, name, n, b.stack, b.autoRoutes)
	if err != nil {
		return err
	}
	path := filepath.Join(b.dir, name+".yml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return err
	}
	defer func() {
		// Whatever happened, nothing stays.
		derr := deploy.Destroy(context.WithoutCancel(ctx), deploy.DestroyOptions{LabName: name, Runtime: b.rt, Cleanup: true, Agent: b.agent})
		if derr != nil && !errors.Is(derr, deploy.ErrNotRunning) {
			err = errors.Join(err, derr)
		}
	}()

	slabBase := netnsSlab()
	memBefore := meminfo()
	phases := &phaseTimer{}
	start := time.Now()
	phases.start = start
	lab, err := topology.Load(path)
	if err != nil {
		return err
	}
	phases.mark("load")
	st, err := deploy.Deploy(ctx, deploy.Options{Lab: lab, Runtime: b.rt, MaxWorkers: b.workers, Progress: phases.progress, Agent: b.agent})
	if err != nil {
		return err
	}
	deployTime := time.Since(start)
	phases.mark("config")
	memAfter := meminfo()

	rss := rssIn(st)
	if b.agent != nil {
		rss += agentRSS(labdir.New("", st.Lab, st.TopoFile))
	}
	var topoSize int64
	if fi, err := os.Stat(filepath.Join(st.StateDir, labdir.PlanFile)); err == nil {
		topoSize = fi.Size()
	}
	start = time.Now()
	if err := deploy.Destroy(ctx, deploy.DestroyOptions{LabName: name, Runtime: b.rt, Cleanup: true, Agent: b.agent}); err != nil {
		return err
	}
	destroyTime := time.Since(start)
	kernel := "-"
	if b.waitKernel {
		if d, ok := waitSlab(slabBase, start, 3*time.Minute); ok {
			kernel = round(d).String()
		} else {
			kernel = "> 3m"
		}
	}
	perNode := func(kb int64) string { return fmt.Sprintf("%.0f KiB", float64(kb)/float64(n)) }
	fmt.Fprintf(b.out, "| %s | %d | %d | %d | %.1f MB | %v | %s | %v | %s | %d B | %s (%s) |\n",
		shape, n, len(lab.Links)+segMembers(lab), routes(lab), float64(topoSize)/1e6, round(deployTime), phases.String(), round(destroyTime), kernel,
		rss/int64(n), perNode(memBefore["MemAvailable"]-memAfter["MemAvailable"]),
		perNode(memAfter["SUnreclaim"]-memBefore["SUnreclaim"]))
	return nil
}

func routes(lab *topology.Lab) int {
	k := 0
	for _, n := range lab.Nodes {
		k += len(n.Routes)
	}
	return k
}

func segMembers(lab *topology.Lab) int {
	k := 0
	for _, s := range lab.Segments {
		k += len(s.Members)
	}
	return k
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// generate writes a line or a binary tree of n nodes: leaves are hosts, the
// others routers.
func generate(shape, name string, n int, stack string, autoRoutes bool) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "name: %s\ntopology:\n  auto-routes: %v\n  defaults: {stack: %s}\n  nodes:\n", name, autoRoutes, stack)
	node := func(i int) string { return fmt.Sprintf("n%04d", i) }
	var links []string
	leaf := make([]bool, n)
	switch shape {
	case "line":
		for i := range n {
			leaf[i] = i == 0 || i == n-1
		}
		for i := 0; i+1 < n; i++ {
			links = append(links, fmt.Sprintf(`["%s:eth2", "%s:eth1"]`, node(i), node(i+1)))
		}
	case "tree":
		for i := range n {
			leaf[i] = 2*i+1 >= n
		}
		for i := 1; i < n; i++ {
			p := (i - 1) / 2
			links = append(links, fmt.Sprintf(`["%s:eth%d", "%s:eth1"]`, node(p), 2+(i-1)%2, node(i)))
		}
	default:
		return nil, fmt.Errorf("unknown shape %q (line or tree)", shape)
	}
	for i := range n {
		kind := "router"
		if leaf[i] {
			kind = "host"
		}
		fmt.Fprintf(&b, "    %s: {kind: %s}\n", node(i), kind)
	}
	b.WriteString("  links:\n")
	for _, l := range links {
		fmt.Fprintf(&b, "    - endpoints: %s\n", l)
	}
	return b.Bytes(), nil
}

// phaseTimer splits a deploy into phases by the progress steps' names.
type phaseTimer struct {
	mu    sync.Mutex
	start time.Time
	last  string
	at    map[string]time.Time // end of each phase
	order []string
}

func (p *phaseTimer) mark(phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		p.at = map[string]time.Time{}
	}
	if _, ok := p.at[phase]; !ok {
		p.order = append(p.order, phase)
	}
	p.at[phase] = time.Now()
}

func (p *phaseTimer) progress(done, total int, what string) {
	switch {
	case strings.HasPrefix(what, "node "):
		p.mu.Lock()
		inConfig := p.at["links"] != (time.Time{})
		p.mu.Unlock()
		if inConfig {
			p.mark("config")
		} else {
			p.mark("nodes")
		}
	case strings.HasPrefix(what, "link "), strings.HasPrefix(what, "segment "), strings.HasPrefix(what, "bridge "):
		p.mark("links")
	}
}

func (p *phaseTimer) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	prev := p.start
	for _, ph := range []string{"load", "nodes", "links", "config"} {
		t, ok := p.at[ph]
		if !ok {
			parts = append(parts, "-")
			continue
		}
		parts = append(parts, round(t.Sub(prev)).String())
		prev = t
	}
	return strings.Join(parts, " / ")
}

// meminfo returns /proc/meminfo in KiB.
func meminfo() map[string]int64 {
	m := map[string]int64{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 {
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			m[strings.TrimSuffix(fs[0], ":")] = v
		}
	}
	return m
}

// netnsSlab returns the number of live network namespaces the kernel holds
// (the active objects of the net_namespace slab cache), or -1.
func netnsSlab() int {
	data, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		fs := strings.Fields(line)
		if len(fs) > 1 && fs[0] == "net_namespace" {
			n, _ := strconv.Atoi(fs[1])
			return n
		}
	}
	return -1
}

// waitSlab waits until the kernel holds no more network namespaces than
// base, or their number stopped falling for 2 s (other programs make
// namespaces too), and returns how long after since it last fell.
func waitSlab(base int, since time.Time, limit time.Duration) (time.Duration, bool) {
	if base < 0 {
		return 0, false
	}
	last, lastChange := netnsSlab(), time.Now()
	for time.Since(since) < limit {
		n := netnsSlab()
		if n <= base {
			return time.Since(since), true
		}
		if n < last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > 2*time.Second {
			return lastChange.Sub(since), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, false
}

// rssIn returns the total resident memory, in bytes, of the processes whose
// network namespace is one of the lab's nodes'.
func rssIn(st *deploy.State) int64 {
	inodes := map[string]bool{}
	for _, n := range st.Nodes {
		var s syscall.Stat_t
		if syscall.Stat(n.NSPath, &s) == nil {
			inodes["net:["+strconv.FormatUint(s.Ino, 10)+"]"] = true
		}
	}
	des, _ := os.ReadDir("/proc")
	var total int64
	for _, de := range des {
		if _, err := strconv.Atoi(de.Name()); err != nil {
			continue
		}
		link, err := os.Readlink("/proc/" + de.Name() + "/ns/net")
		if err != nil || !inodes[link] {
			continue
		}
		data, err := os.ReadFile("/proc/" + de.Name() + "/statm")
		if err != nil {
			continue
		}
		if fs := strings.Fields(string(data)); len(fs) > 1 {
			pages, _ := strconv.ParseInt(fs[1], 10, 64)
			total += pages * int64(os.Getpagesize())
		}
	}
	return total
}

// agentRSS is the resident memory of the lab's shared node agent, in bytes.
func agentRSS(dirs labdir.Lab) int64 {
	pid, ok := deploy.AgentProcess(dirs)
	if !ok {
		return 0
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
