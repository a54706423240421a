package topology

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestContainerlabLinuxNodes: a containerlab-style file of kind: linux
// nodes resolves with every container key as containerlab means it.
func TestContainerlabLinuxNodes(t *testing.T) {
	lab, err := Load("testdata/clab-linux.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	web, client, r1 := lab.Node("web"), lab.Node("client"), lab.Node("r1")
	for _, tc := range []struct {
		what      string
		got, want any
	}{
		{"web base", web.Base, KindLinux},
		{"web stack (kind linux defaults to the kernel's)", web.Stack, StackLinux},
		{"web forwarding", web.Forwarding, false},
		{"web image from its kind", web.Image, "netlab-test/busybox"},
		{"web cmd split as a shell would", web.Cmd, []string{"httpd", "-f", "-p", "80", "-h", "/srv/my www"}},
		{"web entrypoint", web.Entrypoint, []string(nil)},
		{"web binds, host paths absolute", web.Binds, []string{filepath.Join(dir, "files/frr.conf") + ":/etc/x.conf:ro", "/tmp:/host-tmp"}},
		{"web user", web.User, "33"},
		{"web memory as Docker reads 1Gb", web.Memory, int64(1 << 30)},
		{"web cpus", web.CPUs, 1.5},
		{"web cap-add", web.CapAdd, []string{"sys_admin"}},
		{"web env: file, then kind, then node (dotted names kept)", web.Env, map[string]string{"DB.HOST": "db", "MODE": "kind", "node.name": "web-1"}},
		{"client stack as written", client.Stack, StackGo},
		{"client entrypoint as a list", client.Entrypoint, []string{"/bin/busybox", "sh"}},
		{"r1 stays a Go-stack router", [2]any{r1.Base, r1.Stack}, [2]any{KindRouter, StackGo}},
	} {
		if !equalAny(tc.got, tc.want) {
			t.Errorf("%s = %#v; want %#v", tc.what, tc.got, tc.want)
		}
	}
	if len(lab.Links) != 2 || lab.Links[0].A.Node.Name != "web" {
		t.Errorf("links %+v", lab.Links)
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case map[string]string:
		y := b.(map[string]string)
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"a b  c", []string{"a", "b", "c"}, false},
		{`sh -c 'echo "hi there"; exit 1'`, []string{"sh", "-c", `echo "hi there"; exit 1`}, false},
		{`echo "a \"q\" b" x\ y`, []string{"echo", `a "q" b`, "x y"}, false},
		{`''`, []string{""}, false},
		{"   ", nil, false},
		{`'open`, nil, true},
		{`"open`, nil, true},
	} {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
