package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
	"github.com/netlab/netlab/stack/link"
)

// impairLab is two Go stacks on a veth with the impairment engine on A's
// egress, as the node agent puts it: stack -> impair -> AF_PACKET.
type impairLab struct {
	lab  *vethlab.Lab
	a, b *stack.Stack
	ie   *impair.Endpoint
}

func newImpairLab(ctx context.Context, wrap bool) (*impairLab, error) {
	il := &impairLab{}
	lab, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlimp", WrapLink: func(side vethlab.Side, ep link.Endpoint) link.Endpoint {
		if side != vethlab.A || !wrap {
			return ep
		}
		il.ie = impair.Wrap(ep, nil, nil, clock.NewPrecise())
		return il.ie
	}})
	if err != nil {
		return nil, err
	}
	il.lab = lab
	so := stack.Options{TCP: stack.TCPOptions{SendBuffer: 4 << 20, ReceiveBuffer: 4 << 20}}
	if il.a, err = lab.GoStack(vethlab.A, so); err != nil {
		lab.Close()
		return nil, err
	}
	if il.b, err = lab.GoStack(vethlab.B, so); err != nil {
		lab.Close()
		return nil, err
	}
	return il, nil
}

func (il *impairLab) set(c *impair.Config) { il.ie.SetConfig(c, nil) }

// oneWay sends n UDP datagrams from A to B at pps and returns their
// one-way delays (A and B share this process's clock) and how many arrived.
func (il *impairLab) oneWay(ctx context.Context, n, pps int) ([]time.Duration, int, error) {
	rx, err := gonet.ListenPacket(il.b, ":7000")
	if err != nil {
		return nil, 0, err
	}
	defer rx.Close()
	tx, err := gonet.ListenPacket(il.a, ":0")
	if err != nil {
		return nil, 0, err
	}
	defer tx.Close()
	delays := make(chan []time.Duration, 1)
	go func() {
		var d []time.Duration
		buf := make([]byte, 64)
		for {
			rx.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, _, err := rx.ReadFrom(buf)
			if err != nil {
				delays <- d
				return
			}
			if k >= 8 {
				d = append(d, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(buf))))
				if len(d) == n {
					delays <- d
					return
				}
			}
		}
	}()
	dst := &net.UDPAddr{IP: il.lab.Addr[1].Addr().AsSlice(), Port: 7000}
	msg := make([]byte, 64)
	start := time.Now()
	for i := 0; i < n; i++ {
		// Pace: frame i leaves at start + i/pps.
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(pps))); wait > 0 {
			time.Sleep(wait)
		}
		binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
		if _, err := tx.WriteTo(msg, dst); err != nil {
			return nil, 0, err
		}
	}
	d := <-delays
	return d, len(d), ctx.Err()
}

// goodput runs one TCP bulk flow from A to B for dur and returns Mbit/s.
func (il *impairLab) goodput(ctx context.Context, dur time.Duration) (float64, error) {
	ln, err := gonet.Listen(il.b, ":7001")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	c, err := gonet.DialAddrPort(ctx, il.a, netip.AddrPortFrom(il.lab.Addr[1].Addr(), 7001))
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	start := time.Now()
	for time.Since(start) < dur {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	c.CloseWrite()
	n := <-got
	el := time.Since(start)
	c.Close()
	if n <= 0 {
		return 0, errors.New("nothing received")
	}
	return float64(n) * 8 / el.Seconds() / 1e6, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// runImpair prints the impairment table of issue #5.
func runImpair(ctx context.Context) error {
	il, err := newImpairLab(ctx, true)
	if err != nil {
		return err
	}
	defer il.lab.Close()
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "test\tconfigured\tmeasured\terror / ratio\tnotes (error less the baseline)")
	// Delay at 10k packets/s, in interleaved rounds: the machine's own
	// hiccups (a stalled vCPU stops every packet in flight for a few
	// milliseconds) then fall on the baseline and on every delay alike,
	// instead of on whichever test happened to run at the time.
	delays := []time.Duration{0, 500 * time.Microsecond, 5 * time.Millisecond, 50 * time.Millisecond}
	const rounds, perRound = 5, 2000
	got := make([][]time.Duration, len(delays))
	steal0, total0 := cpuSteal()
	for r := 0; r < rounds; r++ {
		for i, d := range delays {
			if d == 0 {
				il.set(nil)
			} else {
				il.set(&impair.Config{Delay: d})
			}
			ds, _, err := il.oneWay(ctx, perRound, 10000)
			if err != nil {
				return err
			}
			got[i] = append(got[i], ds...)
		}
	}
	steal1, total1 := cpuSteal()
	base := got[0]
	b50, b99 := pct(base, .5), pct(base, .99)
	fmt.Fprintf(w, "one-way delay, none\t0\tp50 %v p99 %v\t\tbaseline: stacks + veth, %d rounds of %d datagrams interleaved with the delays\n",
		b50.Round(time.Microsecond), b99.Round(time.Microsecond), rounds, perRound)
	for i, d := range delays[1:] {
		ds := got[i+1]
		p50, p99 := pct(ds, .5), pct(ds, .99)
		fmt.Fprintf(w, "one-way delay, 10k pkt/s\t%v\tp50 %v p99 %v\tp50 %+v, p99 %+v\t%d/%d arrived (p50 %+v, p99 %+v)\n", d,
			p50.Round(time.Microsecond), p99.Round(time.Microsecond), (p50 - d).Round(time.Microsecond), (p99 - d).Round(time.Microsecond),
			len(ds), rounds*perRound, (p50 - d - b50).Round(time.Microsecond), (p99 - d - b99).Round(time.Microsecond))
	}
	// What the machine does to a thread that never sleeps: the reference
	// for the tails above.
	n, longest := spinStalls(2*time.Second, time.Millisecond)
	stealPct := 0.0
	if total1 > total0 {
		stealPct = 100 * float64(steal1-steal0) / float64(total1-total0)
	}
	fmt.Fprintf(w, "machine stalls\t—\t%d stalls > 1 ms in 2 s of a spinning thread, longest %v\t\tvCPU steal %.1f%% during the delay rounds (/proc/stat)\n",
		n, longest.Round(time.Microsecond), stealPct)
	// Loss.
	for _, p := range []float64{0.01, 0.10} {
		il.set(&impair.Config{Loss: impair.RandomLoss(p, 0), Seed: 7})
		_, n, err := il.oneWay(ctx, 20000, 20000)
		if err != nil {
			return err
		}
		got := 1 - float64(n)/20000
		fmt.Fprintf(w, "random loss\t%.0f%%\t%.2f%%\t%.2f\t20000 datagrams\n", p*100, got*100, got/p)
	}
	// Rate: goodput of one TCP flow vs the payload share of the rate.
	for _, r := range []uint64{10e6, 100e6, 1000e6} {
		// A 100-frame queue (120 ms at 10 Mbit/s); a long enough run that
		// slow start does not weigh on the average.
		il.set(&impair.Config{Rate: r, Limit: 100})
		dur := 3 * time.Second
		if r < 100e6 {
			dur = 10 * time.Second
		}
		g, err := il.goodput(ctx, dur)
		if err != nil {
			return err
		}
		want := float64(r) / 1e6 * 1448 / 1514 // TCP payload in a 1514-byte frame
		fmt.Fprintf(w, "rate, one TCP flow\t%d Mbit/s\t%.2f Mbit/s goodput\t%.3f\texpected goodput %.2f (1448/1514 of the rate)\n", r/1000000, g, g/want, want)
	}
	// An impairment that changes nothing, against none.
	il.set(nil)
	plain, err := il.goodput(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	il.set(&impair.Config{Seed: 1})
	noop, err := il.goodput(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "impairment changing nothing\tempty config\t%.0f vs %.0f Mbit/s\t%.2f\tengine on the path vs pass-through\n", noop, plain, noop/plain)
	// Between two Linux stacks: a relay against a plain veth.
	rr, err := measureRelay(ctx, 3*time.Second)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	fmt.Fprintf(w, "relay changing nothing, kernel TCP\tnetem: {}\t%.0f vs %.0f Mbit/s\t%.2f\tiperf3 between two stack: linux nodes, relayed vs plain veth\n",
		rr.relayMbps, rr.plainMbps, rr.relayMbps/rr.plainMbps)
	fmt.Fprintf(w, "relay changing nothing, ping RTT\tnetem: {}\t%v vs %v\t%+v\t500 pings, relayed vs plain veth\n",
		rr.relayRTT.Round(time.Microsecond), rr.plainRTT.Round(time.Microsecond), (rr.relayRTT - rr.plainRTT).Round(time.Microsecond))
	return w.Flush()
}

// spinStalls spins on one locked OS thread for dur, reading the time, and
// returns how often consecutive readings were more than min apart and the
// longest gap: the time the thread was not running although it never
// slept (another thread, or the hypervisor, had its CPU).
func spinStalls(dur, min time.Duration) (int, time.Duration) {
	done := make(chan struct{})
	var n int
	var longest time.Duration
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := time.Now()
		last := start
		for last.Sub(start) < dur {
			now := time.Now()
			if g := now.Sub(last); g > min {
				n++
				longest = max(longest, g)
			}
			last = now
		}
		close(done)
	}()
	<-done
	return n, longest
}

// cpuSteal returns the machine's steal time and total CPU time so far, in
// clock ticks (the "cpu" line of /proc/stat); zeros if it cannot be read.
func cpuSteal() (steal, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		x, _ := strconv.ParseUint(v, 10, 64)
		total += x
		if i == 7 {
			steal = x
		}
	}
	return steal, total
}
