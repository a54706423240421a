package deploy_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/netns"
)

// netRecorder is the netns runtime with a management network that exists
// only as the calls it records, as a container runtime's would be asked
// for; DeleteNetworks fails with deleteErr when set.
type netRecorder struct {
	*netns.Runtime
	mu        sync.Mutex
	ensured   []runtime.NetworkSpec
	specs     map[string]runtime.NodeSpec
	deleted   []map[string]string
	deleteErr error
}

func (r *netRecorder) Create(ctx context.Context, spec runtime.NodeSpec) (runtime.Node, error) {
	r.mu.Lock()
	r.specs[spec.Name] = spec
	r.mu.Unlock()
	return r.Runtime.Create(ctx, spec)
}

func (r *netRecorder) EnsureNetwork(_ context.Context, spec runtime.NetworkSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ensured = append(r.ensured, spec)
	return nil
}

func (r *netRecorder) DeleteNetworks(_ context.Context, labels map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted = append(r.deleted, maps.Clone(labels))
	return r.deleteErr
}

// TestDeployMgmtNetwork: deploy asks the runtime for the management network
// with the lab's name and directory as labels, gives each node on it the
// address the plan picked (the runtime picks none) and the number of its
// lab interfaces, leaves a node of
// network-mode: none off it; destroy removes the lab's networks by both
// labels, and a network it cannot remove is a warning naming what to do,
// not a lab left half destroyed.
func TestDeployMgmtNetwork(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := isolatedEnv(t)
	lab := uniqueLab(t, "mgmt")
	path := writeTopology(t, lab, `mgmt: {ipv4-subnet: 172.20.20.0/29}
topology:
  nodes: {a: {}, b: {mgmt-ipv4: 172.20.20.2}, c: {network-mode: none}}
  links:
    - endpoints: ["a:eth1", "c:eth0"]
`)
	cleanupLab(t, e, lab)
	rec := &netRecorder{Runtime: e.rt, specs: map[string]runtime.NodeSpec{}}
	st, err := deploy.Deploy(ctx, deploy.Options{TopoFile: path, Runtime: rec, RunDir: e.runDir})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	net := "netlab-" + lab + "-mgmt"
	if len(rec.ensured) != 1 || rec.ensured[0].Name != net || rec.ensured[0].IPv4Subnet != "172.20.20.0/29" ||
		rec.ensured[0].Labels[runtime.LabelLab] != lab || rec.ensured[0].Labels[runtime.LabelLabDir] != st.LabDir {
		t.Errorf("networks asked for: %+v; want %s, 172.20.20.0/29, labelled with lab %s and its directory %s", rec.ensured, net, lab, st.LabDir)
	}
	for node, want := range map[string][2]string{
		"a": {net, "172.20.20.3"},
		"b": {net, "172.20.20.2"},
		"c": {"", ""},
	} {
		if s := rec.specs[node]; s.MgmtNetwork != want[0] || s.MgmtIPv4 != want[1] {
			t.Errorf("node %s: management network %q at %q; want %q at %q", node, s.MgmtNetwork, s.MgmtIPv4, want[0], want[1])
		}
	}
	if n := rec.specs["a"].Interfaces; n != 1 {
		t.Errorf("node a: %d lab interfaces told to the runtime (CLAB_INTFS); want 1", n)
	}
	rec.deleteErr = errors.New("remove network " + net + ": container stray is connected to it and could not be disconnected (denied): run `docker network disconnect -f " + net + " stray` and `docker network rm " + net + "`")
	var notices []string
	err = deploy.Destroy(ctx, deploy.DestroyOptions{LabName: lab, Runtime: rec, RunDir: e.runDir, Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatalf("Destroy with a network that cannot be removed: %v; want the lab destroyed and a warning", err)
	}
	if len(rec.deleted) != 1 || rec.deleted[0][runtime.LabelLab] != lab || rec.deleted[0][runtime.LabelLabDir] != st.LabDir {
		t.Errorf("networks deleted by labels %v; want lab %s and directory %s", rec.deleted, lab, st.LabDir)
	}
	if all := strings.Join(notices, "\n"); !strings.Contains(all, "warning: destroy "+lab+": ") || !strings.Contains(all, "docker network disconnect -f "+net+" stray") {
		t.Errorf("notices:\n%s\nwant a warning with the disconnect command", all)
	}
	assertGone(t, e, lab, nil)
}
