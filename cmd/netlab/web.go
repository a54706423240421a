package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/web"
)

func newWebCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var listen, runSpec, cpuProfile string
	var allowRemote bool
	cmd := &cobra.Command{
		Use:   "web [-t FILE] [--run ID] [--listen 127.0.0.1:PORT]",
		Short: "Serve a live page of the lab: topology, nodes, link counters, a connection's segments and plots, impairment controls",
		Long: `Serve a live page of a deployed lab from assets built into netlab
(nothing is fetched from elsewhere): the topology with each node alive or
not and each link's counters and impairments, a node's interfaces and
sockets, a connection's segments as a ladder and its time-sequence,
cwnd/ssthresh/in-flight and RTT/RTO plots (the data of ` + "`netlab plot`" + `), which
can be paused, scrubbed back and replayed; and controls to impair a link
or take it down.

With --run the page replays a run that is over (the lab need not be
deployed any more) from what its traces recorded.

It listens on loopback unless told otherwise, and every request needs the
random token in the address it prints; listening on another address needs
--allow-remote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return fmt.Errorf("--listen %s: want HOST:PORT, e.g. 127.0.0.1:8080", listen)
			}
			ip := net.ParseIP(host)
			loopback := host == "localhost" || ip != nil && ip.IsLoopback()
			if !loopback && !allowRemote {
				return fmt.Errorf("--listen %s is not a loopback address: the page controls the lab, so say --allow-remote to serve it there", listen)
			}
			tok, err := web.NewToken()
			if err != nil {
				return err
			}
			wo := web.Options{Token: tok}
			var follow func(context.Context) // fetches a cluster lab's files while the page is served
			if runSpec != "" {
				run, err := openRun(t, runSpec)
				if err != nil {
					return err
				}
				wo.Plan, wo.Run, wo.TraceFile = run.lab, run.run.ID, run.run.Trace
			} else {
				r, err := findLab(t)
				if err != nil {
					return err
				}
				run, err := openRun(t, "")
				if err != nil {
					return err
				}
				wo.Plan, wo.Run, wo.TraceFile = r.lab, run.run.ID, run.run.Trace
				wo.Agent = agentClients(r)
				if r.state.Cluster != nil {
					c, err := r.conn()
					if err != nil {
						return err
					}
					follow = func(ctx context.Context) {
						last := ""
						c.Follow(ctx, r.state, run.run, time.Second, func(err error) {
							if err.Error() != last {
								last = err.Error()
								fmt.Fprintf(o.stderr, "warning: fetching the run's files from the pods: %v\n", err)
							}
						})
					}
				}
			}
			h, err := web.Handler(wo)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			if !loopback {
				fmt.Fprintf(o.stderr, "warning: serving on %s, beyond this machine: anyone with the address below can change the lab\n", ln.Addr())
			}
			url := fmt.Sprintf("http://%s/?token=%s", ln.Addr(), tok)
			if t.format == "json" {
				// One line, printed at once: scripts read it and go on.
				b, _ := json.Marshal(map[string]any{"lab": wo.Plan.Name, "run": wo.Run, "live": wo.Agent != nil, "url": url, "token": tok})
				fmt.Fprintf(o.stdout, "%s\n", b)
			} else if wo.Agent == nil {
				fmt.Fprintf(o.stdout, "lab %s, run %s (replay): %s\n", wo.Plan.Name, wo.Run, url)
			} else {
				fmt.Fprintf(o.stdout, "lab %s: %s\n", wo.Plan.Name, url)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if cpuProfile != "" { // for the benchmark: where the server's time goes
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				pprof.StartCPUProfile(f)
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			if follow != nil {
				// A lab on a cluster records in its pods: their files are
				// fetched as they grow, for the page's connections.
				fctx, fstop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); follow(fctx) }()
				defer func() { fstop(); <-done }()
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
				srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	addRunFlag(cmd, &runSpec)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "HOST:PORT to serve on (port 0: any free one)")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a --listen address that is not loopback")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the server to FILE (for go tool pprof)")
	cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

// agentClients returns the agent clients of the lab's nodes for the page's
// server, one per node, made once: the server asks every agent every few
// seconds, and a client made for each request would leave its connection
// to the agent open (idle, never reused), in the server and in the agent.
func agentClients(r *labRef) func(node string) (web.Agent, error) {
	var mu sync.Mutex
	clients := map[string]*nodeagent.Client{}
	return func(node string) (web.Agent, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := clients[node]; c != nil {
			return c, nil
		}
		c, err := r.client(node)
		if err != nil {
			return nil, err
		}
		clients[node] = c
		return c, nil
	}
}

// The page's server asks an agent for all its nodes at once.
var _ web.WholeAgent = (*nodeagent.Client)(nil)
