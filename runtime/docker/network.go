package docker

import (
	"context"
	"errors"
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
// name that carries the same lab and lab directory labels is taken as it
// is; one of another lab (or of a lab of the same name in another
// directory), or of no lab, is an error.
func (r *Runtime) EnsureNetwork(ctx context.Context, spec runtime.NetworkSpec) error {
	found, err := r.cli.NetworkInspect(ctx, spec.Name, network.InspectOptions{})
	switch {
	case err == nil:
		if found.Labels[runtime.LabelLab] == "" || found.Labels[runtime.LabelLab] != spec.Labels[runtime.LabelLab] {
			return fmt.Errorf("management network %s exists and is not this lab's (labels %v): name another with mgmt: {network: ...}, or remove it", spec.Name, found.Labels)
		}
		if dir, want := found.Labels[runtime.LabelLabDir], spec.Labels[runtime.LabelLabDir]; dir != "" && want != "" && dir != want {
			return fmt.Errorf("management network %s is that of lab %s in %s, not of this one in %s: name another with mgmt: {network: ...}, or destroy that lab", spec.Name, found.Labels[runtime.LabelLab], dir, want)
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
// Containers still connected to one (not the lab's: its nodes are gone
// by then; ones someone connected by hand) are disconnected first, with
// force, as `docker network disconnect -f` does; one that cannot be is an
// error that says what to run.
func (r *Runtime) DeleteNetworks(ctx context.Context, labels map[string]string) error {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelLab))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	nets, err := r.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return r.engineErr(err, "list networks")
	}
	var errs []error
	for _, n := range nets {
		if err := r.deleteNetwork(ctx, n.ID, n.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteNetwork disconnects what is connected to network id and removes it.
func (r *Runtime) deleteNetwork(ctx context.Context, id, name string) error {
	info, err := r.cli.NetworkInspect(ctx, id, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return nil
	case err != nil:
		return r.engineErr(err, "inspect network "+name)
	}
	for cid, ep := range info.Containers {
		who := ep.Name
		if who == "" {
			who = cid
		}
		if err := r.cli.NetworkDisconnect(ctx, id, cid, true); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove network %s: container %s is connected to it and could not be disconnected (%v): run `docker network disconnect -f %s %s` and `docker network rm %s`",
				name, who, err, name, who, name)
		}
	}
	if err := r.cli.NetworkRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: see what is connected with `docker network inspect %s`, disconnect it with `docker network disconnect -f %s CONTAINER`, then run `docker network rm %s`",
			r.engineErr(err, "remove network "+name), name, name, name)
	}
	return nil
}
