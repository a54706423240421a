package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

type agentOptions struct {
	plan, runDir, config, node, socket string
	cpuProfile                         string
}

// newAgentCmd is the hidden verb that runs inside a lab: the node agent.
func newAgentCmd(o *options) *cobra.Command {
	a := &agentOptions{}
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Run the node agent (started by deploy; not for direct use)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(o.stderr, nil))
			if a.cpuProfile != "" {
				f, err := os.Create(a.cpuProfile)
				if err != nil {
					return err
				}
				pprof.StartCPUProfile(f)
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			if a.node != "" {
				// A container's agent starts with the container, before
				// deploy wired its interfaces; deploy puts the plan in
				// its control directory once they are there.
				if err := waitForFile(cmd.Context(), a.plan, 5*time.Minute); err != nil {
					return err
				}
			}
			lab, err := topology.ReadPlan(a.plan)
			if err != nil {
				return err
			}
			var refs []nodeagent.NodeRef
			var switchNS string
			switch {
			case a.config != "":
				b, err := os.ReadFile(a.config)
				if err != nil {
					return err
				}
				var af deploy.AgentConfig
				if err := json.Unmarshal(b, &af); err != nil {
					return fmt.Errorf("%s: %w", a.config, err)
				}
				refs, switchNS = af.Nodes, af.SwitchNS
			case a.node != "":
				refs = []nodeagent.NodeRef{{Name: a.node}} // inside the node's own namespace
			default:
				return fmt.Errorf("agent needs --config or --node")
			}
			sock := a.socket
			os.Remove(sock)
			ln, err := net.Listen("unix", sock)
			if err != nil {
				return fmt.Errorf("control socket: %w", err)
			}
			os.Chmod(sock, 0o600)
			defer os.Remove(sock)
			ag, err := nodeagent.New(cmd.Context(), nodeagent.Config{Lab: lab, Nodes: refs, Log: log, SwitchNS: switchNS,
				Run: labdir.Run{Dir: a.runDir}})
			if err != nil {
				return err
			}
			// No ag.Close() on the way out: the process's end releases every
			// socket, and closing thousands of packet sockets one by one
			// waits an RCU grace period each (seconds for a big lab), while
			// destroy is about to delete the namespaces anyway.
			log.Info("agent serving", "lab", lab.Name, "nodes", len(refs), "socket", sock)
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			defer ag.Flush() // continuous captures: write out what is buffered
			go func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						ag.Flush()
					}
				}
			}()
			go func() {
				select {
				case <-ag.Orphaned(ctx, time.Second):
					log.Info("the lab's namespaces are gone: exiting")
					stop()
				case <-ctx.Done():
				}
			}()
			return ag.Serve(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.plan, "plan", "", "the resolved plan (plan.json) to serve")
	f.StringVar(&a.runDir, "run-dir", "", "the run's folder: traces and captures go there")
	f.StringVar(&a.config, "config", "", "agent.json listing the nodes to serve (netns)")
	f.StringVar(&a.node, "node", "", "serve this one node, in the agent's own namespace (docker)")
	f.StringVar(&a.socket, "socket", "", "control socket path")
	f.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the agent to this file (debugging)")
	cmd.MarkFlagRequired("plan")
	cmd.MarkFlagRequired("run-dir")
	cmd.MarkFlagRequired("socket")
	return cmd
}

func waitForFile(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v", path, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
