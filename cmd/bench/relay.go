package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/wiring"
)

// relayPrefix names the namespaces of the relay benchmark; with the PID in
// them (linuxnet.OwnedNSName), a later run removes what a killed one left.
const relayPrefix = "nlrelay"

// relayResult is kernel TCP between two Linux stacks over a plain veth and
// over a relay that changes nothing.
type relayResult struct {
	plainMbps, relayMbps float64
	plainRTT, relayRTT   time.Duration
}

// measureRelay wires two `stack: linux` nodes with two links, one plain
// and one relayed (`netem: {}`), runs the relay in an agent as deploy
// does, and measures iperf3 goodput and ping RTT over each.
func measureRelay(ctx context.Context, dur time.Duration) (res relayResult, err error) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return res, errors.New("iperf3 is not installed (apt-get install iperf3)")
	}
	linuxnet.DeleteOrphanedNS(relayPrefix)
	lab, err := topology.Parse("relay-bench.yml", []byte(`name: relaybench
topology:
  nodes: {a: {stack: linux}, b: {stack: linux}}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      netem: {}
    - endpoints: ["a:eth2", "b:eth2"]
`))
	if err != nil {
		return res, err
	}
	ns := map[string]string{}
	var made []string
	defer func() {
		for _, n := range made {
			if derr := linuxnet.DeleteNamedNS(n); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	for _, n := range []string{"a", "b", "sw"} {
		name := linuxnet.OwnedNSName(relayPrefix, n)
		if n == "sw" {
			if _, err := wiring.CreateSwitchNS(ctx, name); err != nil {
				return res, err
			}
		} else if _, err := linuxnet.NewNamedNS(name); err != nil {
			return res, err
		}
		made = append(made, name)
		ns[n] = name
	}
	sw := ns["sw"]
	delete(ns, "sw")
	if err := wiring.Wire(ctx, lab, ns, sw, wiring.Options{}); err != nil {
		return res, err
	}
	swPath, err := linuxnet.NSPath(sw)
	if err != nil {
		return res, err
	}
	ag, err := nodeagent.New(ctx, nodeagent.Config{Lab: lab, SwitchNS: swPath})
	if err != nil {
		return res, err
	}
	defer ag.Close()

	b := lab.Node("b")
	relayed, plain := b.Interface("eth1").Addr.Addr().String(), b.Interface("eth2").Addr.Addr().String()
	stop, err := startIperf3Server(ctx, ns["b"], "")
	if err != nil {
		return res, err
	}
	defer stop()
	for _, m := range []struct {
		addr string
		mbps *float64
		rtt  *time.Duration
	}{{plain, &res.plainMbps, &res.plainRTT}, {relayed, &res.relayMbps, &res.relayRTT}} {
		if *m.mbps, _, err = iperf3Run(ctx, ns["a"], m.addr, dur); err != nil {
			return res, err
		}
		if *m.rtt, err = pingAvg(ctx, ns["a"], m.addr); err != nil {
			return res, err
		}
	}
	return res, nil
}

// pingAvg sends 500 pings 2 ms apart from namespace ns and returns the
// average RTT.
func pingAvg(ctx context.Context, ns, addr string) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "500", "-i", "0.002", addr).Output()
	if err != nil {
		return 0, fmt.Errorf("ping %s: %w: %s", addr, err, out)
	}
	m := regexp.MustCompile(`= [\d.]+/([\d.]+)/`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("ping %s: no summary in %s", addr, out)
	}
	ms, _ := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(ms * float64(time.Millisecond)), nil
}
