package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/kube"
)

// newK8sCmd groups what a cluster admin needs to run labs on Kubernetes.
func newK8sCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Run labs on a Kubernetes cluster: what to install there",
	}
	cmd.AddCommand(newK8sManifestsCmd(o), newK8sImageCmd(o))
	return cmd
}

func newK8sManifestsCmd(o *options) *cobra.Command {
	var namespace, image string
	cmd := &cobra.Command{
		Use:   "manifests",
		Short: "Print the Lab CRD, the controller's RBAC and its Deployment, to review and apply",
		Long: `Print the YAML a cluster admin reviews and applies (kubectl apply -f -) so that
labs can be deployed in one namespace: the Lab custom resource definition
(labs.netlab.dev, cluster-wide), the controller's ServiceAccount, a Role in
that namespace only (Labs and their status, pods, events, leases) and its
binding, the controller's Deployment, and the Role netlab-user: what a
user of the namespace needs (Labs; pods get/list, port-forward and exec),
for the admin to bind (kubectl -n NS create rolebinding ... --role
netlab-user --user NAME). The image is netlab's own
(FROM scratch, the static binary), tagged with the binary's hash: load it
into the cluster's container runtime, no registry is assumed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if image == "" {
				var err error
				if image, err = imageRef(); err != nil {
					return err
				}
			}
			b, err := kube.Manifests(kube.ManifestOptions{Namespace: namespace, Image: image})
			if err != nil {
				return err
			}
			_, err = o.stdout.Write(b)
			return err
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "netlab", "the namespace labs are deployed in")
	cmd.Flags().StringVar(&image, "image", "", "netlab's image (default "+kube.ImageRepo+":<hash of this binary>, as netlab k8s image writes it)")
	return cmd
}

// imageRef is the running binary's image reference (kube.ImageRef).
func imageRef() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the running executable: %w", err)
	}
	return kube.ImageRef(kube.FindImageFiles(exe))
}

func newK8sImageCmd(o *options) *cobra.Command {
	var out string
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Write netlab's image (FROM scratch, this binary) as a tarball to import into a cluster",
		Long: `Write netlab's image for clusters, ` + kube.ImageRepo + `:<hash of this binary>, in the
layout docker save makes: import it into each node's container runtime
(ctr -n k8s.io images import FILE, or docker load -i FILE); no registry is
assumed. The controller and the worker pods run it. Where this machine has a
static busybox (Debian's busybox-static), the image carries it too, with its
programs (ip, ping, nc, sh...) in /bin: what netlab exec runs in a node of a
lab on a cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ref, err := imageRef()
			if err != nil {
				return err
			}
			if out == "" {
				out = "netlab-" + strings.TrimPrefix(ref, kube.ImageRepo+":") + ".tar"
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := kube.WriteImage(f, ref, kube.FindImageFiles(exe)); err != nil {
				f.Close()
				os.Remove(out)
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return printOut(o, t.format, map[string]string{"file": out, "image": ref}, func() { fmt.Fprintf(o.stdout, "%s: %s\n", out, ref) })
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the file to write (default netlab-<hash>.tar)")
	addFormatFlag(cmd, t)
	return cmd
}
