package main

import (
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/netlab/netlab/controller"
	"github.com/netlab/netlab/kube"
)

// newControllerCmd is the hidden verb the controller's Deployment runs
// (netlab k8s manifests): it reconciles the Labs of a namespace.
func newControllerCmd(o *options) *cobra.Command {
	var namespace, kubeconfig string
	cmd := &cobra.Command{
		Use:    "controller",
		Short:  "Reconcile the Labs of a namespace (run by the controller's Deployment)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(o.stderr, nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			cfg, err := kube.Config(kubeconfig)
			if err != nil {
				return err
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			dyn, err := dynamic.NewForConfig(cfg)
			if err != nil {
				return err
			}
			// Worker pods are reached through the API server (their API
			// listens on the pod's loopback only), in the cluster or not.
			f, err := kube.NewForwarder(cfg)
			if err != nil {
				return err
			}
			defer f.Close()
			return controller.Run(ctx, controller.Config{Client: client, Dynamic: dyn, Namespace: namespace, Log: log,
				DialWorker: controller.ForwardTo(f)})
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "netlab", "the namespace whose Labs it reconciles")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "run outside the cluster with this kubeconfig (default: the pod's service account)")
	return cmd
}
