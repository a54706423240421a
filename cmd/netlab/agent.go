package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

type agentOptions struct {
	plan, runDir, config, socket string
	cpuProfile                   string
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
			lab, err := topology.ReadPlan(a.plan)
			if err != nil {
				return err
			}
			if a.config == "" {
				return fmt.Errorf("agent needs --config")
			}
			b, err := os.ReadFile(a.config)
			if err != nil {
				return err
			}
			var af deploy.AgentConfig
			if err := json.Unmarshal(b, &af); err != nil {
				return fmt.Errorf("%s: %w", a.config, err)
			}
			refs, switchNS := af.Nodes, af.SwitchNS
			sock := a.socket
			os.Remove(sock)
			ln, err := net.Listen("unix", sock)
			if err != nil {
				return fmt.Errorf("control socket: %w", err)
			}
			os.Chmod(sock, 0o600)
			defer os.Remove(sock)
			ag, err := nodeagent.New(cmd.Context(), nodeagent.Config{Lab: lab, Nodes: refs, Log: log, SwitchNS: switchNS,
				Run: labdir.Run{Dir: a.runDir}, TraceEventsPerSecond: af.TraceEventsPerSecond})
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
	f.StringVar(&a.config, "config", "", "agent.json listing the nodes to serve and their namespaces")
	f.StringVar(&a.socket, "socket", "", "control socket path")
	f.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the agent to this file (debugging)")
	cmd.MarkFlagRequired("plan")
	cmd.MarkFlagRequired("run-dir")
	cmd.MarkFlagRequired("socket")
	cmd.MarkFlagRequired("config")
	return cmd
}

// newPauseCmd is the hidden verb netlab's node image runs: it holds the
// container's namespaces until the container is stopped (SIGTERM or
// SIGINT), as a pause container does. The node agent serves the node from
// outside.
func newPauseCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:    "pause",
		Short:  "Hold a node container's namespaces until stopped (netlab's node image runs it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
}
