package topology

import (
	"path/filepath"
	"slices"
	"strings"
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
		t.Fatalf("links %+v", lab.Links)
	}
	if a := lab.Links[0].A; a.Name != "e1-1" || a.Written != "ethernet-1/1" || lab.Links[0].B.Written != "" {
		t.Errorf("web's interface %q written %q; want e1-1 written ethernet-1/1", a.Name, a.Written)
	}
	for _, tc := range []struct{ in, want string }{
		{"ethernet-1/1", "e1-1"}, {"e1-1", "e1-1"}, {"Ethernet1", "Ethernet1"}, {"ge-0/0/0", "ge-0-0-0"}, {"1/1/c1", "1-1-c1"},
	} {
		if got, err := linuxIfName(tc.in); err != nil || got != tc.want {
			t.Errorf("linuxIfName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := linuxIfName("port-channel-1/1/1"); err == nil {
		t.Errorf("a mapping longer than 15 characters is accepted")
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

// TestEnvSubstitution: ${NAME} and its defaults as containerlab writes
// them, typed again where plain, escaped with $${, and an unset variable
// reported at its line and column.
func TestEnvSubstitution(t *testing.T) {
	env := map[string]string{"LAB": "envlab", "IMG": "alpine:3", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	parse := func(src string) (*Lab, error) { return parseEnv("x.yml", "", []byte(src), lookup) }
	lab, err := parse(`name: ${LAB}
topology:
  nodes:
    h1:
      kind: linux
      image: "${IMG}"
      env:
        A: "${EMPTY:-dflt}"
        B: "${EMPTY=kept-empty}x"
        C: "$${HOME}"
        D: ${MISSING:=7}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      mtu: ${MTU:=9000}
`)
	if err != nil {
		t.Fatal(err)
	}
	h1 := lab.Node("h1")
	if lab.Name != "envlab" || h1.Image != "alpine:3" || lab.Links[0].MTU != 9000 {
		t.Errorf("name %q image %q mtu %d", lab.Name, h1.Image, lab.Links[0].MTU)
	}
	if want := map[string]string{"A": "dflt", "B": "x", "C": "${HOME}", "D": "7"}; !equalAny(h1.Env, want) {
		t.Errorf("env %v; want %v", h1.Env, want)
	}
	_, err = parse("name: lab\ntopology:\n  nodes:\n    h1:\n      image: \"x-${NOPE}\"\n      env:\n        A: a ${1BAD}\n        B: ${OPEN\n")
	for _, want := range []string{
		"x.yml:5:17: ${NOPE} is not set: set NOPE in the environment, or give a default: ${NOPE:=value}",
		"x.yml:7:14: ${1BAD}: not a variable",
		"x.yml:8:12: \"${OPEN\": ${ without its }",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nwant %q", err, want)
		}
	}
}
