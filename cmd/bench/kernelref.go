package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
)

// The kernel's figure as users measure it: iperf3, client and server as
// separate processes, one in each namespace of a veth lab with the
// segmentation and receive offloads off and the MTU the Go stack uses
// (so both send 1500-byte frames), in the same run as the Go stack.

// iperf3Bulk runs one iperf3 flow for d from A to B of a fresh veth lab
// and returns its goodput in Gbit/s and the machine's CPU seconds per GB
// moved (all processors' busy time over the transfer: much of the
// kernel's work is softirq time, nobody's process time).
func iperf3Bulk(ctx context.Context, d time.Duration) (gbps, cpuPerGB float64, err error) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return 0, 0, errors.New("iperf3 is not installed (apt-get install iperf3): it is the kernel's reference")
	}
	lab, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlbench"})
	if err != nil {
		return 0, 0, err
	}
	defer lab.Close()
	for _, side := range []vethlab.Side{vethlab.A, vethlab.B} {
		if err := lab.Kernel(side); err != nil {
			return 0, 0, err
		}
	}
	addr := lab.Addr[vethlab.B].Addr().String()
	stop, err := startIperf3Server(ctx, lab.NS[vethlab.B], addr)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	busy0 := machineBusy()
	mbps, bytes, err := iperf3Run(ctx, lab.NS[vethlab.A], addr, d)
	if err != nil {
		return 0, 0, err
	}
	busy := machineBusy() - busy0
	return mbps / 1000, busy.Seconds() / (float64(bytes) / 1e9), nil
}

// startIperf3Server starts `iperf3 -s` in namespace ns (bound to addr, or
// to every address when addr is "") and waits until it listens; stop ends
// it.
func startIperf3Server(ctx context.Context, ns, addr string) (stop func(), err error) {
	args := []string{"netns", "exec", ns, "iperf3", "-s"}
	if addr != "" {
		args = append(args, "-B", addr)
	}
	srv := exec.CommandContext(ctx, "ip", args...)
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("iperf3 server: %w", err)
	}
	stop = func() { srv.Process.Kill(); srv.Wait() }
	// It listens once its control port is bound: poll for it from inside
	// the namespace (ss), with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ss", "-Hltn", "sport", "= :5201").Output()
		if strings.Contains(string(out), ":5201") {
			return stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, errors.New("iperf3 server: not listening on port 5201 after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// iperf3Run runs one iperf3 client for d in namespace ns and returns the
// goodput the server received, in Mbit/s, and the bytes it received.
func iperf3Run(ctx context.Context, ns, addr string, d time.Duration) (float64, int64, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "iperf3", "-c", addr, "-J",
		"-t", strconv.Itoa(max(1, int(d.Seconds())))).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("iperf3 to %s: %w: %s", addr, err, out)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
				Bytes         int64   `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, 0, fmt.Errorf("iperf3 output: %w", err)
	}
	return r.End.SumReceived.BitsPerSecond / 1e6, r.End.SumReceived.Bytes, nil
}

// machineBusy returns the time all processors have spent not idle since
// boot (/proc/stat: everything but idle and iowait).
func machineBusy() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, v := range fields[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait; not guest (counted in user)
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}
