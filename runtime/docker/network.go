package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/netlab/netlab/runtime"
)

var _ runtime.Networker = (*Runtime)(nil)

// EnsureNetwork makes a lab's management network: a bridge network marked
// internal (the engine gives it no route and no NAT to the outside; this
// machine reaches the nodes on it), with spec's labels. A network of that
// name that carries the same lab label is taken as it is; one of another
// lab, or of no lab, is an error.
func (r *Runtime) EnsureNetwork(ctx context.Context, spec runtime.NetworkSpec) error {
	found, err := r.cli.NetworkInspect(ctx, spec.Name, network.InspectOptions{})
	switch {
	case err == nil:
		if found.Labels[runtime.LabelLab] == "" || found.Labels[runtime.LabelLab] != spec.Labels[runtime.LabelLab] {
			return fmt.Errorf("management network %s exists and is not this lab's (labels %v): name another with mgmt: {network: ...}, or remove it", spec.Name, found.Labels)
		}
		if !found.Internal {
			return fmt.Errorf("management network %s exists and is not internal: remove it", spec.Name)
		}
		return nil
	case !cerrdefs.IsNotFound(err):
		return r.engineErr(err, "inspect network "+spec.Name)
	}
	opts := network.CreateOptions{Driver: "bridge", Internal: true, Labels: spec.Labels,
		Options: map[string]string{"com.docker.network.bridge.enable_ip_masquerade": "false"}}
	if spec.IPv4Subnet != "" {
		opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: spec.IPv4Subnet}}}
	}
	if _, err := r.cli.NetworkCreate(ctx, spec.Name, opts); err != nil {
		return r.engineErr(err, "create management network "+spec.Name)
	}
	return nil
}

// DeleteNetworks removes the networks that carry every one of labels.
func (r *Runtime) DeleteNetworks(ctx context.Context, labels map[string]string) error {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelLab))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	nets, err := r.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return r.engineErr(err, "list networks")
	}
	for _, n := range nets {
		if err := r.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			return r.engineErr(err, "remove network "+n.Name)
		}
	}
	return nil
}
