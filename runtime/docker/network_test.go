package docker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/netlab/netlab/runtime"
)

// TestDeleteNetworksDisconnects: a lab's management network carries the
// lab's name and directory; another lab of the same name in another
// directory neither takes it nor loses its own to the first one's destroy;
// DeleteNetworks removes the network although a container (one connected
// by hand, say) is still on it, disconnecting it, which keeps running.
func TestDeleteNetworksDisconnects(t *testing.T) {
	e := needEngine(t)
	rt := e.runtime(t, e.bin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if err := rt.DeleteNetworks(cctx, map[string]string{runtime.LabelLab: e.lab}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	mine := runtime.NetworkSpec{Name: "nl-" + e.lab + "-mgmt", Labels: map[string]string{runtime.LabelLab: e.lab, runtime.LabelLabDir: e.labDir}}
	other := runtime.NetworkSpec{Name: "nl-" + e.lab + "-other", Labels: map[string]string{runtime.LabelLab: e.lab, runtime.LabelLabDir: "/elsewhere/" + e.lab}}
	for _, s := range []runtime.NetworkSpec{mine, other, mine} {
		if err := rt.EnsureNetwork(ctx, s); err != nil {
			t.Fatalf("EnsureNetwork(%s): %v", s.Name, err)
		}
	}
	clash := other
	clash.Name = mine.Name
	if err := rt.EnsureNetwork(ctx, clash); err == nil || !strings.Contains(err.Error(), "is that of lab "+e.lab+" in "+e.labDir) {
		t.Errorf("EnsureNetwork of another directory's lab on %s = %v; want it refused", mine.Name, err)
	}
	spec := e.spec("stray", "pause")
	spec.MgmtNetwork = mine.Name
	stray, err := rt.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create on the network: %v", err)
	}
	if err := rt.DeleteNetworks(ctx, mine.Labels); err != nil {
		t.Fatalf("DeleteNetworks with a container on the network: %v", err)
	}
	if _, err := e.cli.NetworkInspect(ctx, mine.Name, network.InspectOptions{}); err == nil {
		t.Errorf("network %s is left", mine.Name)
	}
	if _, err := e.cli.NetworkInspect(ctx, other.Name, network.InspectOptions{}); err != nil {
		t.Errorf("network %s of the lab in another directory is gone: %v", other.Name, err)
	}
	info, err := e.cli.ContainerInspect(ctx, stray.ID)
	if err != nil {
		t.Fatalf("the container that was connected: %v", err)
	}
	if !info.State.Running || info.NetworkSettings.Networks[mine.Name] != nil {
		t.Errorf("the container that was connected: running %v, networks %v; want it running, disconnected", info.State.Running, info.NetworkSettings.Networks)
	}
}
