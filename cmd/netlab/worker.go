package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/stack/link/udpwire"
	"github.com/netlab/netlab/worker"
)

// newWorkerCmd is the hidden verb a worker pod runs: its share of a lab
// spread over a cluster, told by the controller.
func newWorkerCmd(o *options) *cobra.Command {
	var api, wire, runDir string
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Run a worker pod's share of a lab (started by the controller; not for direct use)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(o.stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			mux, err := udpwire.Listen(wire)
			if err != nil {
				return err
			}
			defer mux.Close()
			ln, err := net.Listen("tcp", api)
			if err != nil {
				return fmt.Errorf("worker API: %w", err)
			}
			srv := worker.NewServer(mux, labdir.Run{Dir: runDir}, log)
			defer srv.Close()
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			shut := make(chan struct{})
			go func() {
				defer close(shut)
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				hs.Shutdown(sctx)
			}()
			// The requests in flight end before the share is closed.
			defer func() { stop(); <-shut }()
			log.Info("worker serving", "api", ln.Addr().String(), "wire", mux.Addr().String())
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&api, "api", "127.0.0.1:"+strconv.Itoa(kube.AgentPort), "where the worker's API listens: the pod's loopback, reached through port-forward only")
	f.StringVar(&wire, "wire", ":"+strconv.Itoa(kube.WirePort), "where the tunnels to other workers arrive (UDP)")
	f.StringVar(&runDir, "run-dir", "/run/netlab/run", "where the nodes' traces and captures go")
	return cmd
}
