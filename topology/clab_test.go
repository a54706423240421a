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

// TestEnvVarForms: every form of ${...} as shells and Compose read it: a
// variable set to "" is set, defaults nest and are expanded only when
// used, :? and ? fail with their message, :+ and + give their word.
func TestEnvVarForms(t *testing.T) {
	env := map[string]string{"LAB": "envlab", "IMG": "alpine:3", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		in, want string
		err      string // a part of the only error; "" for none
	}{
		{"${EMPTY}", "", ""},
		{"x${EMPTY}y", "xy", ""},
		{"${LAB}", "envlab", ""},
		{"${NOPE:-${IMG}}", "alpine:3", ""},
		{"${EMPTY:-${IMG}}", "alpine:3", ""},
		{"${NOPE:-a${NOPE2:-b${IMG}c}d}", "abalpine:3cd", ""},
		{"${LAB:-${NOPE}}", "envlab", ""}, // a default not used is not expanded
		{"${NOPE:-${NOPE2}}", "", "${NOPE2} is not set"},
		{"${NOPE:-${IMG}", "", "${ without its }"},
		{"${NOPE:?set NOPE to the image}", "", "${NOPE:?...}: NOPE is not set: set NOPE to the image"},
		{"${EMPTY:?need it}", "", "${EMPTY:?...}: EMPTY is empty: need it"},
		{"${NOPE?}", "", "NOPE is not set: it is required"},
		{"${EMPTY?msg}", "", ""},
		{"${LAB:?msg}", "envlab", ""},
		{"${LAB:+on}", "on", ""},
		{"${EMPTY:+on}", "", ""},
		{"${EMPTY+on}", "on", ""},
		{"${NOPE+on}", "", ""},
		{"${LAB:+${IMG}}", "alpine:3", ""},
		{"$${LAB:-x}", "${LAB:-x}", ""},
		{"${LAB^^}", "", "not a variable"},
		{"${${LAB}}", "", "not a variable"},
	} {
		got, errs, _ := expandVars(tc.in, lookup)
		switch {
		case tc.err == "" && len(errs) > 0:
			t.Errorf("expandVars(%q): errors %v", tc.in, errs)
		case tc.err != "" && (len(errs) != 1 || !strings.Contains(errs[0].msg, tc.err)):
			t.Errorf("expandVars(%q): errors %v; want one with %q", tc.in, errs, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("expandVars(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestEnvVarPositions: a variable's error is at its own column, counted in
// characters as yaml.v3 counts them, where the scalar is written as it
// reads; at the scalar's position otherwise (escapes, tags, blocks, more
// than one line), the message naming the variable.
func TestEnvVarPositions(t *testing.T) {
	src := "name: lab\n" +
		"topology:\n" +
		"  nodes:\n" +
		"    h1:\n" +
		"      image: \"é-${N0}\"\n" + // 5: quoted, non-ASCII before
		"      labels:\n" +
		"        a: éé${N1}\n" + // 7: plain
		"        b: \"x\\t${N2}\"\n" + // 8: an escape
		"        c: !!str ${N3}\n" + // 9: tagged
		"        d: |\n" + // 10: a block
		"          ${N4}\n" +
		"        e: 'it''s ${N5}'\n" + // 12: a quote escaped
		"        f: \"a\n" + // 13: two lines
		"          ${N6}\"\n" +
		"        ${N7}: ü${N8}\n" // 15: a key, then its value
	_, err := parseEnv("x.yml", "", []byte(src), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no errors")
	}
	for _, want := range []string{
		"x.yml:5:17: ${N0} is not set",
		"x.yml:7:14: ${N1} is not set",
		"x.yml:8:12: ${N2} is not set",
		"x.yml:9:12: ${N3} is not set",
		"x.yml:10:12: ${N4} is not set",
		"x.yml:12:12: ${N5} is not set",
		"x.yml:13:12: ${N6} is not set",
		"x.yml:15:9: ${N7} is not set",
		"x.yml:15:17: ${N8} is not set",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nwant %q", err, want)
		}
	}
}

// TestNodesNamedLikeLinkTypes: a node may be called host or dummy (or
// mgmt-net, macvlan...): "host:eth1" is then its interface; without such
// a node it is containerlab's host link, refused with its reason.
func TestNodesNamedLikeLinkTypes(t *testing.T) {
	lab, err := Parse("x.yml", []byte(`name: lab
topology:
  links:
    - endpoints: ["host:eth1", "dummy:eth1"]
    - endpoints: ["host:ethernet-1/2", "mgmt-net:eth1"]
  nodes:
    host: {}
    dummy: {}
    mgmt-net: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := lab.Links[0].Name; got != "host:eth1--dummy:eth1" {
		t.Errorf("link %s; want host:eth1--dummy:eth1", got)
	}
	if i := lab.Node("host").Interface("e1-2"); i == nil || i.Written != "ethernet-1/2" {
		t.Errorf("host's e1-2 = %+v; want it written ethernet-1/2", i)
	}
	for _, tc := range []struct{ src, want string }{
		{`["h1:eth1", "host:h1-eth1"]`, `x.yml:5:30: endpoint "host:h1-eth1": containerlab's host links: netlab does not do them`},
		{`["h1:eth1", "dummy:d0"]`, `x.yml:5:30: endpoint "dummy:d0": containerlab's dummy links`},
		{`["h1:eth1", "macvlan:a/very/long/name/0"]`, `x.yml:5:30: endpoint "macvlan:a/very/long/name/0": containerlab's macvlan links`},
	} {
		_, err := Parse("x.yml", []byte("name: lab\ntopology:\n  nodes: {h1: {}}\n  links:\n    - endpoints: "+tc.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want %q", tc.src, err, tc.want)
		}
	}
}
