package netns_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/netns"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{name: "netlab-two-hosts-h1"},
		{name: "a"},
		{name: "lab_1.x-y"},
		{name: strings.Repeat("a", netns.MaxNameLen)},
		{name: "", wantErr: "empty"},
		{name: strings.Repeat("a", netns.MaxNameLen+1), wantErr: "at most 250"},
		{name: "-x", wantErr: "position 1"},
		{name: ".hidden", wantErr: "position 1"},
		{name: "a/b", wantErr: "'/'"},
		{name: "a b", wantErr: "' '"},
		{name: "..", wantErr: "position 1"},
		{name: "é", wantErr: "not allowed"},
	}
	for _, tc := range tests {
		err := netns.CheckName(tc.name)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("CheckName(%q) = %v, want error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces): run the tests as root, as CI does")
	}
}

// uniqueName returns netlab-rt<tag>-<8 random hex digits>.
func uniqueName(t *testing.T, tag string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "netlab-rt" + tag + "-" + hex.EncodeToString(b[:])
}

// newRuntime returns a runtime with its own state directory; every
// namespace it lists is deleted at the end of the test, and the test fails
// if a namespace named by names survives.
func newRuntime(t *testing.T, names ...*string) *netns.Runtime {
	t.Helper()
	rt := netns.New(netns.Options{StateDir: filepath.Join(t.TempDir(), "netns")})
	t.Cleanup(func() {
		ctx := context.Background()
		nodes, err := rt.List(ctx, nil)
		if err != nil {
			t.Errorf("cleanup: List: %v", err)
		}
		for _, n := range nodes {
			if err := rt.Delete(ctx, n); err != nil {
				t.Errorf("cleanup: Delete(%s): %v", n.LongName, err)
			}
		}
		for _, name := range names {
			if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, *name)); err == nil {
				t.Errorf("cleanup: namespace %s left; deleting it", *name)
				linuxnet.DeleteNamedNS(*name)
			}
		}
	})
	return rt
}

func readSysctlIn(t *testing.T, ns, path string) string {
	t.Helper()
	var val string
	err := linuxnet.InNamespace(ns, func() error {
		b, err := os.ReadFile(path)
		val = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatalf("read %s in %s: %v", path, ns, err)
	}
	return val
}

func TestCreateListDelete(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	a, b := uniqueName(t, "a"), uniqueName(t, "b")
	rt := newRuntime(t, &a, &b)
	specs := []runtime.NodeSpec{
		{Lab: "lab1", Name: "a", LongName: a, Labels: map[string]string{runtime.LabelLab: "lab1", "role": "x"},
			Sysctls: map[string]string{"net.ipv4.ip_forward": "1", "net/ipv4/conf/all/rp_filter": "2"}},
		{Lab: "lab2", Name: "b", LongName: b, Labels: map[string]string{"role": "x"}},
	}
	for _, s := range specs {
		n, err := rt.Create(ctx, s)
		if err != nil {
			t.Fatalf("Create(%s): %v", s.LongName, err)
		}
		want := runtime.Node{Name: s.Name, LongName: s.LongName, NSPath: "/run/netns/" + s.LongName, ID: s.LongName,
			Labels: map[string]string{runtime.LabelLab: s.Lab, runtime.LabelNode: s.Name, "role": "x"}}
		if diff := cmp.Diff(want, n); diff != "" {
			t.Errorf("Create(%s) (-want +got):\n%s", s.LongName, diff)
		}
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), a) || !strings.Contains(string(out), b) {
		t.Errorf("ip netns list = %v, %s; want %s and %s", err, out, a, b)
	}
	if got := readSysctlIn(t, a, "/proc/sys/net/ipv4/ip_forward"); got != "1" {
		t.Errorf("ip_forward in %s = %s, want 1", a, got)
	}
	if got := readSysctlIn(t, a, "/proc/sys/net/ipv4/conf/all/rp_filter"); got != "2" {
		t.Errorf("rp_filter in %s = %s, want 2", a, got)
	}

	listTests := []struct {
		labels map[string]string
		want   []string
	}{
		{nil, []string{a, b}},
		{map[string]string{"role": "x"}, []string{a, b}},
		{map[string]string{runtime.LabelLab: "lab1"}, []string{a}},
		{map[string]string{runtime.LabelNode: "b", "role": "x"}, []string{b}},
		{map[string]string{runtime.LabelLab: "lab3"}, nil},
	}
	for _, tc := range listTests {
		nodes, err := rt.List(ctx, tc.labels)
		if err != nil {
			t.Fatalf("List(%v): %v", tc.labels, err)
		}
		var got []string
		for _, n := range nodes {
			got = append(got, n.LongName)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("List(%v) (-want +got):\n%s", tc.labels, diff)
		}
	}

	nodes, _ := rt.List(ctx, nil)
	for _, n := range nodes {
		for range 2 { // idempotent
			if err := rt.Delete(ctx, n); err != nil {
				t.Errorf("Delete(%s): %v", n.LongName, err)
			}
		}
		if _, err := os.Stat(n.NSPath); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("namespace %s still there after Delete: %v", n.LongName, err)
		}
	}
	if nodes, _ := rt.List(ctx, nil); len(nodes) != 0 {
		t.Errorf("List after Delete = %v, want none", nodes)
	}
	if des, _ := os.ReadDir(rt.StateDir()); len(des) != 0 {
		t.Errorf("state directory not empty after Delete: %v", des)
	}
}

func TestCreateLeavesNothingOnError(t *testing.T) {
	requireRoot(t)
	foreign := uniqueName(t, "f")
	if _, err := linuxnet.NewNamedNS(foreign); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { linuxnet.DeleteNamedNS(foreign) })
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		spec    runtime.NodeSpec
		wantErr string
	}{
		{name: "bad sysctl", spec: runtime.NodeSpec{Name: "n", Sysctls: map[string]string{"net.ipv4.no_such": "1"}}, wantErr: "no such sysctl"},
		{name: "not a net sysctl", spec: runtime.NodeSpec{Name: "n", Sysctls: map[string]string{"kernel.panic": "1"}}, wantErr: "only net.*"},
		{name: "bad value", spec: runtime.NodeSpec{Name: "n", Sysctls: map[string]string{"net.ipv4.ip_forward": "x"}}, wantErr: "invalid argument"},
		{name: "name taken", spec: runtime.NodeSpec{Name: "n", LongName: foreign}, wantErr: "already exists"},
		{name: "bad name", spec: runtime.NodeSpec{Name: "n", LongName: "a/b"}, wantErr: "not allowed"},
		{name: "cancelled", ctx: cancelled, spec: runtime.NodeSpec{Name: "n"}, wantErr: "canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.spec.LongName == "" {
				tc.spec.LongName = uniqueName(t, "e")
			}
			var watch []*string // namespaces that must not survive
			if tc.spec.LongName != foreign {
				watch = append(watch, &tc.spec.LongName)
			}
			rt := newRuntime(t, watch...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := rt.Create(ctx, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Create = %v, want an error containing %q", err, tc.wantErr)
			}
			if tc.spec.LongName != foreign {
				if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, tc.spec.LongName)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("namespace left after a failed Create (stat: %v)", err)
				}
			}
			if des, _ := os.ReadDir(rt.StateDir()); len(des) != 0 {
				t.Errorf("state files left after a failed Create: %v", des)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, foreign)); err != nil {
		t.Errorf("the foreign namespace is gone: %v", err)
	}
}

func TestDeleteKillsProcessesInside(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	name := uniqueName(t, "p")
	rt := newRuntime(t, &name)
	n, err := rt.Create(ctx, runtime.NodeSpec{Lab: "l", Name: "p", LongName: name})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	time.Sleep(100 * time.Millisecond) // let ip exec sleep in the namespace
	if err := rt.Delete(ctx, n); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the process in the namespace survived Delete")
	}
}

func TestDeleteLeavesOthersAlone(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	foreign, mine := uniqueName(t, "f"), uniqueName(t, "m")
	rt := newRuntime(t, &mine)
	if _, err := linuxnet.NewNamedNS(foreign); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { linuxnet.DeleteNamedNS(foreign) })
	n, err := rt.Create(ctx, runtime.NodeSpec{Lab: "lab1", Name: "m", LongName: mine})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		node    runtime.Node
		ns      string
		wantErr string
	}{
		{name: "no state file", node: runtime.Node{Name: "f", LongName: foreign}, ns: foreign},
		{name: "another lab", node: runtime.Node{Name: "m", ID: mine, Labels: map[string]string{runtime.LabelLab: "lab2"}}, ns: mine, wantErr: `belongs to lab "lab1"`},
	}
	for _, tc := range tests {
		err := rt.Delete(ctx, tc.node)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: Delete = %v, want error containing %q", tc.name, err, tc.wantErr)
		}
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, tc.ns)); err != nil {
			t.Errorf("%s: namespace %s deleted: %v", tc.name, tc.ns, err)
		}
	}
	if err := rt.Delete(ctx, n); err != nil {
		t.Errorf("Delete(own node) = %v", err)
	}
}

// TestExecConfined: an exec: command administers its node's network and
// nothing of the host's.
func TestExecConfined(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	name := uniqueName(t, "exec")
	rt := newRuntime(t, &name)
	n, err := rt.Create(ctx, runtime.NodeSpec{Lab: "lab", Name: "h1", LongName: name})
	if err != nil {
		t.Fatal(err)
	}
	hostFwd, _ := os.ReadFile("/proc/sys/net/ipv4/conf/lo/forwarding")
	secret := filepath.Join(t.TempDir(), "root-only")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) (string, error) {
		var out strings.Builder
		err := rt.Exec(ctx, n, []string{"sh", "-c", cmd}, map[string]string{"GREETING": "hi"}, &out)
		return out.String(), err
	}
	for _, tc := range []struct {
		cmd, want string
		fails     bool
	}{
		{cmd: "id -u; echo $GREETING", want: "65534\nhi"},
		{cmd: "ip link set lo up && ip -o addr add 10.9.9.9/32 dev lo && ip -o -4 addr show lo", want: "10.9.9.9"},
		{cmd: "echo 1 > /proc/sys/net/ipv4/conf/lo/forwarding && cat /proc/sys/net/ipv4/conf/lo/forwarding", want: "1"},
		{cmd: "ip -o link show | grep -c ': '", want: "1"}, // lo only: not the host's interfaces
		{cmd: "cat " + secret, fails: true},
		{cmd: "echo y > " + secret, fails: true},
		{cmd: "echo 1 > /proc/sys/kernel/panic", fails: true},
		{cmd: "kill -0 1", fails: true},
	} {
		out, err := run(tc.cmd)
		if tc.fails {
			if err == nil {
				t.Errorf("exec %q worked (output %q); want it refused", tc.cmd, out)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("exec %q = %q, %v; want output containing %q", tc.cmd, out, err, tc.want)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "x" {
		t.Errorf("the root-only file was changed: %q", b)
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/conf/lo/forwarding"); string(b) != string(hostFwd) {
		t.Errorf("the host's lo forwarding changed from %q to %q: the node's sysctl must be its own", hostFwd, b)
	}
}
