package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
)

type demoOptions struct {
	bytes int64
	cc    string
}

func newDemoCmd(o *options) *cobra.Command {
	d := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Send data between two Go stacks on a real veth and show what TCP did",
		Long: `demo makes two network namespaces joined by a veth, runs netlab's Go stack on
both ends (AF_PACKET, no kernel addresses), sends data from one to the other,
prints the goodput and what TCP did (handshake options, segments,
retransmissions), and removes everything it made. It needs root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), o, d) },
	}
	cmd.Flags().Int64Var(&d.bytes, "bytes", 10<<20, "bytes to send")
	cmd.Flags().StringVar(&d.cc, "cc", "reno", "congestion control: reno or cubic")
	return cmd
}

func runDemo(ctx context.Context, o *options, d *demoOptions) (err error) {
	lab, err := vethlab.New(ctx, vethlab.Options{Prefix: "nldemo"})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() {
		if cerr := lab.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("demo cleanup: %w", cerr)
		}
	}()
	fmt.Fprintf(o.stdout, "lab: namespaces %s (%v) and %s (%v), veth %s, MTU %d\n",
		lab.NS[0], lab.Addr[0].Addr(), lab.NS[1], lab.Addr[1].Addr(), lab.If[0], lab.MTU)
	tcpOpts := stack.TCPOptions{Congestion: d.cc}
	client, err := lab.GoStack(vethlab.A, stack.Options{TCP: tcpOpts})
	if err != nil {
		return err
	}
	server, err := lab.GoStack(vethlab.B, stack.Options{TCP: tcpOpts})
	if err != nil {
		return err
	}
	ln, err := gonet.Listen(server, ":5001")
	if err != nil {
		return err
	}
	defer ln.Close()

	type result struct {
		n    int64
		sum  [32]byte
		info stack.TCPInfo
		err  error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		r := result{n: n, err: err}
		copy(r.sum[:], h.Sum(nil))
		r.info, _ = c.(*gonet.Conn).Info()
		got <- r
	}()

	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := gonet.DialAddrPort(dctx, client, netip.AddrPortFrom(lab.Addr[1].Addr(), 5001))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	info, _ := conn.Info()
	fmt.Fprintf(o.stdout, "connected %v -> %v in %v: mss %d, wscale %d,%d, sack %v, timestamps %v, cc %s\n",
		info.Local, info.Remote, time.Since(start).Round(time.Microsecond), info.MSS, info.WScaleSnd, info.WScaleRcv,
		info.SACK, info.Timestamps, info.Congestion)

	sent := sha256.New()
	buf := make([]byte, 64<<10)
	var pattern byte
	start = time.Now()
	for left := d.bytes; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		for i := range buf[:n] {
			buf[i] = pattern
			pattern = pattern*31 + 7
		}
		sent.Write(buf[:n])
		if _, err := conn.Write(buf[:n]); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		left -= n
	}
	info, _ = conn.Info()
	if err := conn.CloseWrite(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	var r result
	select {
	case r = <-got:
	case <-ctx.Done():
		return ctx.Err()
	}
	elapsed := time.Since(start)
	conn.Close()
	if r.err != nil {
		return fmt.Errorf("receive: %w", r.err)
	}
	var want [32]byte
	copy(want[:], sent.Sum(nil))
	if r.n != d.bytes || r.sum != want {
		return errors.New("demo: the received data differs from what was sent")
	}
	fmt.Fprintf(o.stdout, "sent %d bytes in %v: goodput %.1f Mbit/s, sha256 equal\n",
		d.bytes, elapsed.Round(time.Millisecond), float64(d.bytes)*8/elapsed.Seconds()/1e6)
	fmt.Fprintf(o.stdout, "sender: %d segments out (%d with data), %d retransmitted, %d RTOs, %d fast retransmits, cwnd %d segments, rtt %v\n",
		info.SegsOut, info.DataSegsOut, info.Retrans, info.Timeouts, info.FastRetrans, info.CwndSegs, info.SRTT)
	fmt.Fprintf(o.stdout, "receiver: %d segments in, %d bytes\n", r.info.SegsIn, r.info.BytesReceived)
	fmt.Fprintf(o.stdout, "client socket (ss -ti):\n%s\n", info)
	return nil
}
