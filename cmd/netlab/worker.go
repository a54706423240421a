package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link/udpwire"
	"github.com/netlab/netlab/worker"
)

// newWorkerCmd is the hidden verb a worker pod runs: its share of a lab
// spread over a cluster, told by the controller.
func newWorkerCmd(o *options) *cobra.Command {
	var api, wire, runDir, node, uplink, readyFile string
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Run a worker pod's share of a lab (started by the controller; not for direct use)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(o.stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			var (
				mux    *udpwire.Mux
				podNS  string
				listen = func() (err error) { mux, err = udpwire.Listen(wire); return err }
			)
			if node != "" {
				// The pod's namespace is the node's: its uplink, and
				// the wire with it, go to a namespace of their own.
				var wireNS string
				var err error
				if podNS, wireNS, err = isolatePod(uplink); err != nil {
					return err
				}
				defer linuxnet.DeleteNamedNS(filepath.Base(wireNS))
				defer linuxnet.DeleteNamedNS(filepath.Base(podNS))
				plain := listen
				listen = func() error { return linuxnet.InNamespace(wireNS, plain) }
			}
			if err := listen(); err != nil {
				return err
			}
			defer mux.Close()
			ln, err := net.Listen("tcp", api)
			if err != nil {
				return fmt.Errorf("worker API: %w", err)
			}
			srv := worker.NewServer(mux, labdir.Run{Dir: runDir}, log)
			defer srv.Close()
			if node != "" {
				srv.Own(node, podNS)
			}
			if readyFile != "" {
				// The sidecar's postStart hook waits for it: the user's
				// container starts once the pod's namespace holds the
				// node only.
				if err := os.MkdirAll(filepath.Dir(readyFile), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(readyFile, nil, 0o644); err != nil {
					return err
				}
			}
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
	var wait time.Duration
	ready := &cobra.Command{
		Use:    "ready [--wait D] FILE",
		Short:  "Succeed once the worker has made FILE (--ready-file): a node's own pod's sidecar hook",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				_, err := os.Stat(args[0])
				if err == nil || !errors.Is(err, os.ErrNotExist) {
					return err
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("%s not made in %v: %w", args[0], wait, err)
				case <-tick.C:
				}
			}
		},
	}
	ready.Flags().DurationVar(&wait, "wait", 0, "how long to wait for FILE (0: look once)")
	cmd.AddCommand(ready)
	f := cmd.Flags()
	f.StringVar(&api, "api", "127.0.0.1:"+strconv.Itoa(kube.AgentPort), "where the worker's API listens: the pod's loopback, reached through port-forward only")
	f.StringVar(&wire, "wire", ":"+strconv.Itoa(kube.WirePort), "where the tunnels to other workers arrive (UDP)")
	f.StringVar(&runDir, "run-dir", "/run/netlab/run", "where the nodes' traces and captures go")
	f.StringVar(&node, "node", "", "run this one node, in the pod's own namespace (a container node's pod); its uplink moves out first")
	f.StringVar(&uplink, "uplink", "eth0", "with --node: the pod network's interface, moved with its addresses and routes to a namespace of the wire's own")
	f.StringVar(&readyFile, "ready-file", "", "a file made once the worker serves (its pod's sidecar hook waits for it)")
	return cmd
}

// isolatePod names the pod's namespace (the node's) and moves its uplink
// to a new namespace, where the wire listens: the node keeps loopback and
// its lab interfaces, and cannot reach the cluster network.
func isolatePod(uplink string) (podNS, wireNS string, err error) {
	if podNS, err = linuxnet.NameNS("netlab-pod"); err != nil {
		return "", "", err
	}
	if wireNS, err = linuxnet.NewNamedNS("netlab-wire"); err != nil {
		linuxnet.DeleteNamedNS("netlab-pod")
		return "", "", err
	}
	if err := linuxnet.MoveUplink(uplink, podNS, wireNS); err != nil {
		// Back where it was, if it went, before its namespace goes (and
		// it with it): the pod keeps its network.
		if back := linuxnet.MoveUplink(uplink, wireNS, podNS); back != nil {
			err = errors.Join(err, fmt.Errorf("and moving it back: %w", back))
		}
		linuxnet.DeleteNamedNS("netlab-wire")
		linuxnet.DeleteNamedNS("netlab-pod")
		return "", "", fmt.Errorf("move the pod's %s out of the node's namespace: %w", uplink, err)
	}
	return podNS, wireNS, nil
}
