// Command benchweb measures `netlab web` on a 200-node lab with 100 TCP
// connections streaming: how long the page takes to load (every node
// drawn, the event stream subscribed), how much memory the server holds,
// and the lab's goodput with the page open against without it. Rounds
// alternate: without, with, without, with ... without; the server runs
// throughout, and the browser shows a blank page in the rounds without.
// It drives the netlab binary as a user does, and headless chromium; it
// needs root.
//
//	go run ./cmd/benchweb -netlab bin/netlab
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/netlab/netlab/topogen"
	"github.com/netlab/netlab/topology"
)

type bench struct {
	netlab, topo string
	flows        int
	duration     time.Duration
}

func main() {
	// fail panics: the deferred destroy runs, then this reports and exits.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "benchweb:", r)
			os.Exit(1)
		}
	}()
	bin := flag.String("netlab", "bin/netlab", "the netlab binary")
	leaves := flag.Int("leaves", 8, "leaves of the leaf-spine fabric")
	hosts := flag.Int("hosts-per-leaf", 25, "hosts on each leaf")
	flows := flag.Int("flows", 100, "TCP connections streaming, each between hosts on different leaves")
	rate := flag.String("rate", "5mbit", "access links' rate")
	duration := flag.Duration("duration", 10*time.Second, "how long each transfer runs")
	rounds := flag.Int("rounds", 3, "rounds with the page open, each between two without")
	webProfile := flag.String("web-cpuprofile", "", "write a CPU profile of netlab web to this file")
	chromeTrace := flag.String("chrome-trace", "", "write Chrome's trace of the last round with the page to this file (chrome://tracing, Perfetto)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "benchweb: needs root to deploy the lab: run it with sudo")
		os.Exit(2)
	}
	if *flows*2 > *leaves**hosts {
		fmt.Fprintf(os.Stderr, "benchweb: %d flows need %d hosts; the fabric has %d\n", *flows, 2**flows, *leaves**hosts)
		os.Exit(2)
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchweb: needs Debian's chromium (apt-get install chromium)")
		os.Exit(2)
	}
	exe, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "benchweb")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	gen, err := topogen.LeafSpine{Common: topogen.Common{Name: fmt.Sprintf("benchweb-%d", os.Getpid())},
		Leaves: *leaves, Spines: 4, HostsPerLeaf: *hosts, Access: topogen.LinkSpec{Rate: *rate}}.Generate()
	if err != nil {
		fail(err)
	}
	b := &bench{netlab: exe, topo: filepath.Join(dir, "lab.yml"), flows: *flows, duration: *duration}
	if err := os.WriteFile(b.topo, gen.YAML(), 0o644); err != nil {
		fail(err)
	}
	nodes := *leaves**hosts + *leaves + 4
	fmt.Printf("netlab web: a %d-node leaf-spine lab (%d leaves × %d hosts, 4 spines; access links %s), %d connections of %v each\n\n",
		nodes, *leaves, *hosts, *rate, *flows, *duration)
	start := time.Now()
	if out, err := b.run(ctx, "deploy", "-t", b.topo); err != nil {
		fail(fmt.Errorf("deploy: %v\n%s", err, out))
	}
	fmt.Printf("deployed in %.1f s\n", time.Since(start).Seconds())
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if out, err := b.run(dctx, "destroy", "-t", b.topo); err != nil {
			fmt.Fprintf(os.Stderr, "destroy: %v\n%s", err, out)
		}
	}()
	// Flow i: from host i of its leaf to the same host of the next leaf.
	var pairs [][2]string
	for i := 0; len(pairs) < *flows; i++ {
		l, h := i%*leaves+1, i / *leaves + 1
		from := fmt.Sprintf("h%s-%s", num(l, *leaves), num(h, *hosts))
		to := fmt.Sprintf("h%s-%s", num(l%*leaves+1, *leaves), num(h, *hosts))
		pairs = append(pairs, [2]string{from, to})
	}
	servers := map[string]bool{}
	for _, p := range pairs {
		if !servers[p[1]] {
			servers[p[1]] = true
			if out, err := b.run(ctx, "tcp", "serve", p[1], "--port", "5001", "-t", b.topo); err != nil {
				fail(fmt.Errorf("serve on %s: %v\n%s", p[1], err, out))
			}
		}
	}
	plan, err := topology.Load(b.topo)
	if err != nil {
		fail(err)
	}
	addrs := map[string]string{}
	for _, n := range plan.Nodes {
		if len(n.Interfaces) > 0 {
			addrs[n.Name] = n.Interfaces[0].Addr.Addr().String()
		}
	}

	// The server runs throughout; the browser shows the page in the "with"
	// rounds and a blank page in the others, which alternate, starting and
	// ending without.
	wctx, cancelWeb := context.WithCancel(ctx)
	defer cancelWeb()
	webArgs := []string{"web", "-t", b.topo, "--format", "json"}
	if *webProfile != "" {
		webArgs = append(webArgs, "--cpuprofile", *webProfile)
	}
	web := exec.CommandContext(wctx, b.netlab, webArgs...)
	web.Cancel = func() error { return web.Process.Signal(os.Interrupt) } // it writes its profile and ends
	out, err := web.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := web.Start(); err != nil {
		fail(err)
	}
	defer func() { cancelWeb(); web.Wait() }()
	var started struct{ URL string }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &started) != nil {
		fail(fmt.Errorf("netlab web said %q: %v", line, err))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(wctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(filepath.Join(dir, "chrome")))...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	blank := func() {
		if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
			fail(err)
		}
	}
	blank()
	var withouts, withs, loads, cpuWeb, cpuChrome []float64
	var rssLoaded, events int
	var m0, m1 map[string]float64
	var span float64
	without := func() {
		g, err := b.transfers(ctx, pairs, addrs)
		if err != nil {
			fail(err)
		}
		withouts = append(withouts, g)
		fmt.Printf("without the page: %.1f Mbit/s\n", g)
	}
	for r := 0; r < *rounds; r++ {
		blank()
		without()
		load := time.Now()
		if err := chromedp.Do(bctx, chromedp.Navigate(started.URL), chromedp.WaitReady(chromedp.CSS(`body[data-stream="ready"]`))); err != nil {
			fail(fmt.Errorf("load the page: %w", err))
		}
		for {
			n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("g.node").length`))
			if err != nil {
				fail(err)
			}
			if n == nodes {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		loads = append(loads, time.Since(load).Seconds()*1000)
		if r == 0 { // later loads find the memory earlier rounds used
			rssLoaded = int(rss(web.Process.Pid, "VmRSS"))
		}
		chromedp.Call(bctx, performance.Enable, performance.EnableParams{})
		m0 = pageMetrics(bctx)
		var stopTrace func()
		if *chromeTrace != "" && r == *rounds-1 {
			stopTrace = traceChrome(bctx, *chromeTrace)
		}
		w0, c0, k0, t0 := cpu(web.Process.Pid), cpuOf("chromium"), chromiumCPU(), time.Now()
		g, err := b.transfers(ctx, pairs, addrs)
		if err != nil {
			fail(err)
		}
		span = time.Since(t0).Seconds()
		cpuWeb = append(cpuWeb, (cpu(web.Process.Pid)-w0)/span)
		cpuChrome = append(cpuChrome, (cpuOf("chromium")-c0)/span)
		var byKind []string
		for k, v := range chromiumCPU() {
			byKind = append(byKind, fmt.Sprintf("%s %.1f %%", k, (v-k0[k])/span*100))
		}
		sort.Strings(byKind)
		m1 = pageMetrics(bctx)
		if stopTrace != nil {
			stopTrace()
		}
		withs = append(withs, g)
		events, _ = chromedp.Run(bctx, chromedp.Evaluate[int](`[...conns.values()].reduce((a, c) => a + c.events.length, 0)`))
		dropped, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("dropped").textContent`))
		fmt.Printf("with the page: %.1f Mbit/s (loaded in %.0f ms; the server used %.0f %% of a core, chromium %.0f %% (%s); the page holds %d events %s)\n",
			g, loads[len(loads)-1], cpuWeb[len(cpuWeb)-1]*100, cpuChrome[len(cpuChrome)-1]*100, strings.Join(byKind, ", "), events, dropped)
	}
	blank()
	without()
	peak := rss(web.Process.Pid, "VmHWM")
	fmt.Printf("the page's main thread in the last round, share of the time: tasks %.1f %%, script %.1f %%, style %.1f %%, layout %.1f %%\n\n",
		(m1["TaskDuration"]-m0["TaskDuration"])/span*100, (m1["ScriptDuration"]-m0["ScriptDuration"])/span*100,
		(m1["RecalcStyleDuration"]-m0["RecalcStyleDuration"])/span*100, (m1["LayoutDuration"]-m0["LayoutDuration"])/span*100)

	ratio := mean(withs) / mean(withouts)
	lo, hi := 10.0, 0.0
	for i, w := range withs { // each round against the rounds without on either side
		r := w / ((withouts[i] + withouts[i+1]) / 2)
		lo, hi = min(lo, r), max(hi, r)
	}
	fmt.Printf("| measure | value |\n|---|---:|\n")
	fmt.Printf("| page load, %d nodes (every node drawn, stream subscribed), mean of %d | %.0f ms |\n", nodes, len(loads), mean(loads))
	fmt.Printf("| server resident memory after the first load | %s |\n", mib(uint64(rssLoaded)))
	fmt.Printf("| server peak resident memory, %d connections streaming | %s |\n", *flows, mib(peak))
	fmt.Printf("| CPU while streaming: server, chromium (share of one core, mean) | %.0f %%, %.0f %% |\n", mean(cpuWeb)*100, mean(cpuChrome)*100)
	fmt.Printf("| lab goodput without the page (%d rounds) | %s Mbit/s |\n", len(withouts), list(withouts))
	fmt.Printf("| lab goodput with the page open (%d rounds) | %s Mbit/s |\n", len(withs), list(withs))
	fmt.Printf("| ratio with / without (means; each round against its neighbours) | %.3f (%.3f–%.3f) |\n", ratio, lo, hi)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func list(v []float64) string {
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(out, ", ")
}

// transfers runs every flow at once for the bench's duration and returns
// their goodputs' sum in Mbit/s.
func (b *bench) transfers(ctx context.Context, pairs [][2]string, addrs map[string]string) (float64, error) {
	var mu sync.Mutex
	var sum float64
	var errs []error
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.run(ctx, "tcp", "send", p[0], "--to", addrs[p[1]]+":5001", "--duration", b.duration.String(), "--format", "json", "-t", b.topo)
			var rep struct {
				GoodputMbps float64 `json:"goodput_mbps"`
			}
			if err == nil {
				err = json.Unmarshal(out, &rep)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s → %s: %v: %s", p[0], p[1], err, out))
				return
			}
			sum += rep.GoodputMbps
		}()
	}
	wg.Wait()
	return sum, errors.Join(errs...)
}

func (b *bench) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.netlab, args...)
	cmd.Env = append(os.Environ(), "CI=true") // no progress on a terminal
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return append(out, errb.String()...), err
	}
	return out, nil
}

// rss reads a memory figure of a process (VmRSS, VmHWM) in bytes.
func rss(pid int, field string) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// pageMetrics returns the page's run-time metrics (Chrome's Performance
// domain): durations in seconds, counts.
func pageMetrics(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	r, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return out
	}
	for _, m := range r.Metrics {
		out[m.Name] = m.Value
	}
	return out
}

// cpu returns the processor time a process used so far, in seconds (user
// and system, all its threads; its children are not counted).
func cpu(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After the command's closing parenthesis: field 14 is utime, 15 stime.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

// cpuOf adds up cpu of every process whose command line holds name.
func cpuOf(name string) float64 {
	out, _ := exec.Command("pgrep", "-f", name).Output()
	var sum float64
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			sum += cpu(pid)
		}
	}
	return sum
}

// traceChrome starts Chrome's tracing of the page (the timeline's
// categories, with each event's thread time) and returns what ends it and
// writes the trace to file.
func traceChrome(ctx context.Context, file string) func() {
	var mu sync.Mutex
	var evs [][]byte
	complete := make(chan struct{})
	chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range ev.Value {
				evs = append(evs, []byte(v))
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(complete)
		}
	})
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{
		IncludedCategories: []string{"toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "cc", "v8", "loading", "netlog"}}})
	if err != nil {
		fail(fmt.Errorf("start Chrome's tracing: %w", err))
	}
	return func() {
		if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
			fail(fmt.Errorf("end Chrome's tracing: %w", err))
		}
		select {
		case <-complete:
		case <-time.After(time.Minute):
			fail(errors.New("Chrome's trace did not complete within a minute"))
		}
		mu.Lock()
		defer mu.Unlock()
		var b bytes.Buffer
		b.WriteString(`{"traceEvents":[`)
		for i, v := range evs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(v)
		}
		b.WriteString("]}\n")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			fail(err)
		}
		fmt.Printf("Chrome's trace of the round: %s (%d events)\n", file, len(evs))
	}
}

// chromiumCPU returns cpu of chromium's processes by their --type
// (renderer, gpu-process, utility; "browser" without one).
func chromiumCPU() map[string]float64 {
	out, _ := exec.Command("pgrep", "-f", "chromium").Output()
	sum := map[string]float64{}
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		kind := "browser"
		// Zygote-forked processes rewrite their command line as one
		// string: split on spaces too.
		for _, a := range strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " ")) {
			if t, ok := strings.CutPrefix(a, "--type="); ok {
				kind = t
			}
		}
		sum[kind] += cpu(pid)
	}
	return sum
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// num writes i with as many digits as n has, as topogen names nodes.
func num(i, n int) string { return fmt.Sprintf("%0*d", len(strconv.Itoa(n)), i) }

// fail ends the bench; main's deferred functions clean up first.
func fail(err error) { panic(err) }
