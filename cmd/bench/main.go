// Command bench measures the Go stack against Linux kernel TCP on the same
// kind of veth in the same run and prints one table: single-flow bulk
// throughput against iperf3 (the kernel as users measure it: separate
// processes) and, as an extra, against kernel TCP driven from this
// process, 1-byte request/response latency, connection setup rate, and
// the machine's CPU time per GB. It needs root (it makes network namespaces) and
// removes everything it makes.
//
//	go run ./cmd/bench [-time 3s] [-rr 20000] [-json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
	"github.com/netlab/netlab/stack/link/afpacket"
)

type config struct {
	bulkTime time.Duration
	rrCount  int
	connTime time.Duration
	cc       string
	mode     string
}

// row is one measurement.
type row struct {
	Test   string  `json:"test"`
	Go     float64 `json:"go"`
	Linux  float64 `json:"linux"`
	Unit   string  `json:"unit"`
	Ratio  float64 `json:"ratio"` // Go / Linux
	Detail string  `json:"detail,omitempty"`
}

func main() {
	cfg := config{}
	flag.DurationVar(&cfg.bulkTime, "time", 3*time.Second, "duration of each bulk transfer")
	flag.IntVar(&cfg.rrCount, "rr", 20000, "request/response round trips per latency test")
	flag.DurationVar(&cfg.connTime, "conn-time", 2*time.Second, "duration of each connection-rate test")
	flag.StringVar(&cfg.cc, "cc", "reno", "Go stack congestion control")
	flag.StringVar(&cfg.mode, "mode", "", "AF_PACKET receive mode of the Go stack: recvmmsg (default), mmap or mmap-v2")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of a Go->Go bulk transfer to this file and stop")
	impairTable := flag.Bool("impair", false, "measure the impairment engine on a veth (delay, loss, rate, cost) instead")
	var dc deployedConfig
	deployed := flag.String("deployed", "", "measure `netlab tcp send` in deployed labs instead (-paths), for these netlab binaries (LABEL=PATH, comma-separated), beside iperf3 and the raw veth Go->Go flow")
	flag.IntVar(&dc.rounds, "rounds", 5, "with -deployed: rounds, each binary once a round")
	flag.StringVar(&dc.bytes, "bytes", "1GB", "with -deployed: how much each tcp send moves")
	flag.StringVar(&dc.profiles, "agent-cpuprofile", "", "with -deployed: write the agents' CPU profiles into this directory (one per lab)")
	paths := flag.String("paths", "go-go,go-go-impaired,go-linux,linux-go,flows-100", "with -deployed: the paths to measure, comma-separated")
	flag.DurationVar(&dc.flowTime, "flow-time", 10*time.Second, "with -deployed: how long each flow of flows-100 sends")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *deployed != "" {
		dc.bins = strings.Split(*deployed, ",")
		dc.paths = strings.Split(*paths, ",")
		res, raw, iperf, iperfCPU, err := runDeployed(ctx, cfg, dc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if *asJSON {
			json.NewEncoder(os.Stdout).Encode(map[string]any{"deployed": res, "raw_veth_go_go_gbps": raw, "iperf3_gbps": iperf, "iperf3_machine_cpu_s_per_gb": iperfCPU})
			return
		}
		printDeployed(res, raw, iperf, iperfCPU)
		return
	}
	if *impairTable {
		if err := runImpair(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuProfile != "" {
		if err := profileBulk(ctx, cfg, *cpuProfile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	rows, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(rows)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "test\tGo stack\tLinux\tunit\tGo/Linux\tnotes")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\t%s\t%.2f\t%s\n", r.Test, r.Go, r.Linux, r.Unit, r.Ratio, r.Detail)
	}
	w.Flush()
}

// ends says which stack serves each end of a lab.
type ends struct{ clientGo, serverGo bool }

func (e ends) String() string {
	n := func(g bool) string {
		if g {
			return "Go"
		}
		return "Linux"
	}
	return n(e.clientGo) + " -> " + n(e.serverGo)
}

// pair is a lab with a way to listen on B and dial from A.
type pair struct {
	lab    *vethlab.Lab
	listen func() (net.Listener, error)
	dial   func(ctx context.Context) (net.Conn, error)
}

func newPair(ctx context.Context, e ends, cfg config) (*pair, error) {
	lab, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlbench", Link: afpacket.Options{Mode: afpacket.Mode(cfg.mode)}})
	if err != nil {
		return nil, err
	}
	p := &pair{lab: lab}
	srvAddr := netip.AddrPortFrom(lab.Addr[1].Addr(), 5001)
	so := stack.Options{TCP: stack.TCPOptions{Congestion: cfg.cc, SendBuffer: 4 << 20, ReceiveBuffer: 4 << 20}}
	if e.serverGo {
		s, err := lab.GoStack(vethlab.B, so)
		if err != nil {
			lab.Close()
			return nil, err
		}
		p.listen = func() (net.Listener, error) { return gonet.Listen(s, srvAddr.String()) }
	} else {
		if err := lab.Kernel(vethlab.B); err != nil {
			lab.Close()
			return nil, err
		}
		p.listen = func() (ln net.Listener, err error) {
			err = lab.InNamespace(vethlab.B, func() error {
				ln, err = net.Listen("tcp4", srvAddr.String())
				return err
			})
			return ln, err
		}
	}
	if e.clientGo {
		s, err := lab.GoStack(vethlab.A, so)
		if err != nil {
			lab.Close()
			return nil, err
		}
		p.dial = func(ctx context.Context) (net.Conn, error) { return gonet.DialAddrPort(ctx, s, srvAddr) }
	} else {
		if err := lab.Kernel(vethlab.A); err != nil {
			lab.Close()
			return nil, err
		}
		p.dial = func(ctx context.Context) (c net.Conn, err error) {
			err = lab.InNamespace(vethlab.A, func() error {
				var d net.Dialer
				c, err = d.DialContext(ctx, "tcp4", srvAddr.String())
				return err
			})
			return c, err
		}
	}
	return p, nil
}

func (p *pair) Close() error { return p.lab.Close() }

func run(ctx context.Context, cfg config) ([]row, error) {
	var rows []row
	type bulkRes struct {
		gbps, cpuPerGB float64
	}
	bulk := map[ends]bulkRes{}
	for _, e := range []ends{{true, true}, {false, false}, {true, false}, {false, true}} {
		g, cpu, err := measure(ctx, e, cfg, func(p *pair) (float64, float64, error) { return bulkFlow(ctx, p, cfg.bulkTime) })
		if err != nil {
			return nil, fmt.Errorf("bulk %v: %w", e, err)
		}
		bulk[e] = bulkRes{g, cpu}
	}
	// The kernel as users measure it: iperf3 as separate processes.
	ipG, ipCPU, err := iperf3Bulk(ctx, cfg.bulkTime)
	if err != nil {
		return nil, fmt.Errorf("bulk, iperf3: %w", err)
	}
	gg, ll := bulk[ends{true, true}], bulk[ends{false, false}]
	gl, lg := bulk[ends{true, false}], bulk[ends{false, true}]
	rows = append(rows,
		row{Test: "bulk, one flow, Go->Go vs iperf3", Go: gg.gbps, Linux: ipG, Unit: "Gbit/s", Ratio: gg.gbps / ipG, Detail: "iperf3: client and server processes"},
		row{Test: "bulk, Go client -> Linux server vs iperf3", Go: gl.gbps, Linux: ipG, Unit: "Gbit/s", Ratio: gl.gbps / ipG},
		row{Test: "bulk, Linux client -> Go server vs iperf3", Go: lg.gbps, Linux: ipG, Unit: "Gbit/s", Ratio: lg.gbps / ipG},
		row{Test: "machine CPU per GB, Go->Go vs iperf3", Go: gg.cpuPerGB, Linux: ipCPU, Unit: "CPU s/GB", Ratio: gg.cpuPerGB / ipCPU, Detail: "all processors' busy time"},
		row{Test: "extra: bulk, Go->Go vs in-process Linux", Go: gg.gbps, Linux: ll.gbps, Unit: "Gbit/s", Ratio: gg.gbps / ll.gbps, Detail: "kernel TCP from Go sockets in this process"},
		row{Test: "extra: machine CPU per GB, in-process Linux", Go: gg.cpuPerGB, Linux: ll.cpuPerGB, Unit: "CPU s/GB", Ratio: gg.cpuPerGB / ll.cpuPerGB},
	)
	var lat [2][2]float64
	for i, e := range []ends{{true, true}, {false, false}} {
		p50, p99, err := measureRR(ctx, e, cfg)
		if err != nil {
			return nil, fmt.Errorf("latency %v: %w", e, err)
		}
		lat[i] = [2]float64{p50, p99}
	}
	rows = append(rows,
		row{Test: "1-byte request/response p50", Go: lat[0][0], Linux: lat[1][0], Unit: "µs", Ratio: lat[0][0] / lat[1][0]},
		row{Test: "1-byte request/response p99", Go: lat[0][1], Linux: lat[1][1], Unit: "µs", Ratio: lat[0][1] / lat[1][1]},
	)
	var rate [2]float64
	for i, e := range []ends{{true, true}, {false, false}} {
		r, _, err := measure(ctx, e, cfg, func(p *pair) (float64, float64, error) { return connRate(ctx, p, cfg.connTime) })
		if err != nil {
			return nil, fmt.Errorf("connection rate %v: %w", e, err)
		}
		rate[i] = r
	}
	rows = append(rows, row{Test: "connect + close", Go: rate[0], Linux: rate[1], Unit: "conn/s", Ratio: rate[0] / rate[1]})
	return rows, nil
}

func measure(ctx context.Context, e ends, cfg config, f func(*pair) (float64, float64, error)) (float64, float64, error) {
	p, err := newPair(ctx, e, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	return f(p)
}

func measureRR(ctx context.Context, e ends, cfg config) (float64, float64, error) {
	p, err := newPair(ctx, e, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	return requestResponse(ctx, p, cfg.rrCount)
}

// bulkFlow sends for d from A to B on one connection and returns Gbit/s
// and the machine's CPU seconds per GB (all processors' busy time, so
// that the kernel's softirq work counts as it does for iperf3).
func bulkFlow(ctx context.Context, p *pair, d time.Duration) (float64, float64, error) {
	ln, err := p.listen()
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := p.dial(dctx)
	if err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 256<<10)
	busy0 := machineBusy()
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, 0, fmt.Errorf("write: %w", err)
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	var n int64
	select {
	case n = <-got:
	case <-time.After(30 * time.Second):
		return 0, 0, errors.New("receiver did not finish")
	}
	el := time.Since(start)
	cpu := machineBusy() - busy0
	c.Close()
	if n <= 0 {
		return 0, 0, errors.New("nothing received")
	}
	return float64(n) * 8 / el.Seconds() / 1e9, cpu.Seconds() / (float64(n) / 1e9), nil
}

// requestResponse bounces one byte n times and returns p50 and p99 in µs.
func requestResponse(ctx context.Context, p *pair, n int) (float64, float64, error) {
	ln, err := p.listen()
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		setNoDelay(c)
		b := make([]byte, 1)
		for {
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := p.dial(dctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	setNoDelay(c)
	b := []byte{1}
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+100; i++ {
		t0 := time.Now()
		if _, err := c.Write(b); err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return 0, 0, err
		}
		if i >= 100 { // warm-up
			lat = append(lat, time.Since(t0))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	return us(lat[len(lat)/2]), us(lat[len(lat)*99/100]), nil
}

func setNoDelay(c net.Conn) {
	if t, ok := c.(interface{ SetNoDelay(bool) error }); ok {
		t.SetNoDelay(true)
	}
}

// connRate opens and closes connections for d and returns connections/s.
func connRate(ctx context.Context, p *pair, d time.Duration) (float64, float64, error) {
	ln, err := p.listen()
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := p.dial(dctx)
		cancel()
		if err != nil {
			return 0, 0, fmt.Errorf("connection %d: %w", n, err)
		}
		c.Close()
		n++
	}
	return float64(n) / time.Since(start).Seconds(), 0, nil
}

// profileBulk profiles one Go->Go bulk transfer (both stacks are in this
// process), for `go tool pprof`.
func profileBulk(ctx context.Context, cfg config, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := newPair(ctx, ends{true, true}, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	g, _, err := bulkFlow(ctx, p, cfg.bulkTime)
	pprof.StopCPUProfile()
	fmt.Printf("Go->Go %.2f Gbit/s; profile in %s\n", g, path)
	return err
}
