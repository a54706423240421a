// Command benchplan measures what planning a lab costs: the time
// topology.Parse takes to resolve a generated topology with auto-routes,
// the routes it plans, and the peak memory of the process doing it. Each
// case runs in a child process of its own (this binary with -child), so
// cases do not share a heap and the peak resident memory (VmHWM) is the
// case's alone. No root, no network: planning is pure.
//
//	go run ./cmd/benchplan                                  # every shape, 100 to 6000 nodes
//	go run ./cmd/benchplan -shapes line -sizes 3000
//	go run ./cmd/benchplan -before /tmp/benchplan-old      # a "before" column from another build
//
// Shapes: line (hosts at both ends of a chain of routers), tree (a binary
// tree; leaves are hosts, the others routers) — both as cmd/benchdeploy
// generates them — and fabric (leaf-spine: 2 + n/500 spines, every leaf
// linked to every spine, the links listed leaf by leaf, each leaf on a LAN
// with about 8 hosts); fabric-spine is the same fabric with the leaf-spine
// links listed spine by spine, so that their addresses follow the spines.
//
// -before names a benchplan binary built against other topology code (for
// example an older commit: copy this directory into a worktree of that
// commit and go build it there); its figures fill the "before" columns.
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
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/topology"
)

// result is what a child reports about one case.
type result struct {
	Nodes    int     `json:"nodes"`
	Links    int     `json:"links"`
	Segments int     `json:"segments"`
	Routes   int     `json:"routes"`
	Seconds  float64 `json:"seconds"`     // topology.Parse alone
	PeakRSS  int64   `json:"peak-rss"`    // VmHWM of the child, bytes
	Alloc    uint64  `json:"total-alloc"` // bytes allocated by Parse
}

func main() {
	child := flag.Bool("child", false, "run one case and print its result as JSON (used by the parent)")
	shapes := flag.String("shapes", "line,tree,fabric,fabric-spine", "shapes: line, tree, fabric, fabric-spine")
	sizes := flag.String("sizes", "100,500,1000,3000,6000", "node counts, comma-separated")
	shape := flag.String("shape", "line", "with -child: the shape")
	n := flag.Int("n", 100, "with -child: the node count")
	before := flag.String("before", "", "a benchplan binary built against other topology code: its figures are the before columns")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up on a case after this long")
	flag.Parse()
	if *child {
		if err := runCase(*shape, *n); err != nil {
			fmt.Fprintln(os.Stderr, "benchplan:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	fmt.Printf("topology.Parse of generated labs with auto-routes, %s, %d CPUs, one child process per case\n\n", runtime.Version(), runtime.NumCPU())
	if *before != "" {
		fmt.Println("| shape | nodes | links + LANs | routes before | routes after | time before | time after | peak RSS before | peak RSS after |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Println("| shape | nodes | links + LANs | routes | time | peak RSS | allocated |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	}
	for _, sh := range strings.Split(*shapes, ",") {
		for _, s := range strings.Split(*sizes, ",") {
			size, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || size < 2 {
				fail(fmt.Errorf("size %q: want a node count of at least 2", s))
			}
			after, err := measure(self, sh, size, *timeout)
			if err != nil {
				fail(err)
			}
			if *before == "" {
				fmt.Printf("| %s | %d | %d | %s | %s | %s | %s |\n", sh, after.Nodes, after.Links+after.Segments,
					count(after.Routes), seconds(after.Seconds), mib(after.PeakRSS), mib(int64(after.Alloc)))
				continue
			}
			old, err := measure(*before, sh, size, *timeout)
			if err != nil {
				fail(fmt.Errorf("before: %w", err))
			}
			fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", sh, after.Nodes, after.Links+after.Segments,
				count(old.Routes), count(after.Routes), seconds(old.Seconds), seconds(after.Seconds), mib(old.PeakRSS), mib(after.PeakRSS))
		}
	}
}

// measure runs one case in a child process of bin.
func measure(bin, shape string, n int, timeout time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-child", "-shape", shape, "-n", strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(errb.String()), "\n")
		return result{}, fmt.Errorf("%s %s %d: %w: %s", bin, shape, n, err, msg)
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("%s %s %d: %w", bin, shape, n, err)
	}
	return r, nil
}

// runCase generates the lab, parses it and prints the result.
func runCase(shape string, n int) error {
	src, err := generate(shape, n)
	if err != nil {
		return err
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	lab, err := topology.Parse(shape+".yml", src)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	runtime.ReadMemStats(&m1)
	r := result{Nodes: len(lab.Nodes), Links: len(lab.Links), Segments: len(lab.Segments),
		Seconds: elapsed.Seconds(), Alloc: m1.TotalAlloc - m0.TotalAlloc}
	for _, nd := range lab.Nodes {
		r.Routes += len(nd.Routes)
	}
	if r.PeakRSS, err = peakRSS(); err != nil {
		return err
	}
	runtime.KeepAlive(lab)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// peakRSS reads the process's peak resident memory (VmHWM).
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// generate writes a topology of n nodes with auto-routes.
func generate(shape string, n int) ([]byte, error) {
	var b bytes.Buffer
	// A /8 pool: a fabric of 6000 nodes has 660 LANs of a /24 each.
	fmt.Fprintf(&b, "name: %s%d\ntopology:\n  auto-routes: true\n  ipv4-pool: 10.0.0.0/8\n  nodes:\n", shape, n)
	node := func(i int) string { return fmt.Sprintf("n%04d", i) }
	var links []string
	switch shape {
	case "line", "tree":
		leaf := make([]bool, n)
		if shape == "line" {
			for i := range n {
				leaf[i] = i == 0 || i == n-1
			}
			for i := 0; i+1 < n; i++ {
				links = append(links, fmt.Sprintf(`["%s:eth2", "%s:eth1"]`, node(i), node(i+1)))
			}
		} else {
			for i := range n {
				leaf[i] = 2*i+1 >= n
			}
			for i := 1; i < n; i++ {
				links = append(links, fmt.Sprintf(`["%s:eth%d", "%s:eth1"]`, node((i-1)/2), 2+(i-1)%2, node(i)))
			}
		}
		for i := range n {
			kind := "router"
			if leaf[i] {
				kind = "host"
			}
			fmt.Fprintf(&b, "    %s: {kind: %s}\n", node(i), kind)
		}
	case "fabric", "fabric-spine":
		spines := 2 + n/500
		leaves := max(1, (n-spines)/9)
		for s := range spines {
			fmt.Fprintf(&b, "    s%02d: {kind: router}\n", s)
		}
		uplink := func(l, s int) string { return fmt.Sprintf(`["l%04d:s%d", "s%02d:l%d"]`, l, s, s, l) }
		if shape == "fabric-spine" {
			for s := range spines {
				for l := range leaves {
					links = append(links, uplink(l, s))
				}
			}
		}
		hosts := n - spines - leaves
		h := 0
		for l := range leaves {
			fmt.Fprintf(&b, "    l%04d: {kind: router}\n", l)
			if shape == "fabric" {
				for s := range spines {
					links = append(links, uplink(l, s))
				}
			}
			// Hosts are spread over the leaves: 8 each, the rest on the first ones.
			lan := []string{fmt.Sprintf(`"l%04d:hosts"`, l)}
			for k := 0; k < hosts/leaves+btoi(l < hosts%leaves); k++ {
				fmt.Fprintf(&b, "    h%05d: {}\n", h)
				lan = append(lan, fmt.Sprintf(`"h%05d:eth1"`, h))
				h++
			}
			if len(lan) > 1 {
				links = append(links, "["+strings.Join(lan, ", ")+"]")
			}
		}
	default:
		return nil, fmt.Errorf("unknown shape %q (line, tree, fabric or fabric-spine)", shape)
	}
	b.WriteString("  links:\n")
	for _, l := range links {
		fmt.Fprintf(&b, "    - endpoints: %s\n", l)
	}
	return b.Bytes(), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

func mib(b int64) string { return fmt.Sprintf("%d MiB", b>>20) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchplan:", err)
	os.Exit(1)
}
