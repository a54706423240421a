package topology

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
)

// TestExamples loads every example, checks it has a comment header, and
// checks what each one is meant to show.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(t *testing.T, lab *Lab){
		"two-hosts.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 2, 1, 0)
			k := lab.Links[0]
			if k.Prefix != netip.MustParsePrefix("10.0.0.0/31") || k.A.Node.Stack != StackGo || k.B.Node.Stack != StackGo {
				t.Errorf("link %s = %s, stacks %s/%s; want 10.0.0.0/31 and the Go stack", k.Name, k.Prefix, k.A.Node.Stack, k.B.Node.Stack)
			}
		},
		"line-of-routers.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 5, 4, 0)
			path, err := deliver(lab, lab.Node("h1"), lab.Node("h2").Interfaces[0].Addr.Addr())
			if err != nil || strings.Join(path, " ") != "h1 r1 r2 r3 h2" {
				t.Errorf("h1 to h2 goes %v (%v), want h1 r1 r2 r3 h2", path, err)
			}
		},
		"lan-star.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 4, 0, 1)
			if s := lab.Segments[0]; len(s.Members) != 4 || s.Prefix.Bits() != 24 {
				t.Errorf("segment %s has %d members on %s, want 4 on a /24", s.Name, len(s.Members), s.Prefix)
			}
		},
		"lossy-wan.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 3, 2, 0)
			wan := lab.Link("wan")
			for _, m := range []*impair.Config{wan.Netem.AtoB, wan.Netem.BtoA} {
				if m == nil || m.Delay != 20*time.Millisecond || m.Loss.Model != impair.LossRandom || m.Loss.P != 0.02 {
					t.Errorf("wan impairment = %+v, want delay 20ms loss 2%%", m)
				}
			}
			if wan.A.Node.Name != "r1" || wan.B.Node.Name != "h2" {
				t.Errorf("wan joins %s and %s, want r1 and h2", wan.A, wan.B)
			}
		},
		"go-beside-linux.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 2, 1, 0)
			if lab.Node("gohost").Stack != StackGo || lab.Node("linuxhost").Stack != StackLinux {
				t.Errorf("stacks = %s, %s; want go, linux", lab.Node("gohost").Stack, lab.Node("linuxhost").Stack)
			}
			if got := lab.Node("linuxhost").Interfaces[0].Addr; got != netip.MustParsePrefix("192.168.50.2/24") {
				t.Errorf("linuxhost:eth1 = %s, want 192.168.50.2/24", got)
			}
		},
		"fabric-100.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 100, 10, 10)
		},
		"frr-ospf.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 5, 5, 0)
			for _, r := range []string{"r1", "r2", "r3"} {
				if n := lab.Node(r); n.Base != KindLinux || n.Stack != StackLinux || !n.Forwarding || n.Image != "netlab/frr" ||
					len(n.Binds) != 1 || !strings.HasSuffix(n.Binds[0], "/examples/frr-ospf/"+r+".conf:/etc/frr/frr.conf:ro") {
					t.Errorf("router %s: %+v; want an FRR container that forwards, its config bound", r, n)
				}
			}
			if h := lab.Node("h1"); h.Stack != StackGo || len(h.Routes) != 1 {
				t.Errorf("h1: stack %s routes %v; want a Go-stack host with a default route", h.Stack, h.Routes)
			}
			if wan := lab.Link("wan"); wan == nil || wan.A.Egress == nil {
				t.Errorf("the WAN link is not impaired")
			}
		},
		"linux-wan.yml": func(t *testing.T, lab *Lab) {
			wantCounts(t, lab, 4, 2, 1)
			var relays []string
			for _, ifc := range lab.Relays() {
				relays = append(relays, ifc.String())
			}
			if got := strings.Join(relays, " "); got != "r1:eth2 r1:eth3 h2:eth2 h3:eth1" {
				t.Errorf("relays %s, want the WAN link's and every LAN member's", got)
			}
		},
	}
	if len(files) != len(checks) {
		t.Errorf("found %d examples, want %d: %v", len(files), len(checks), files)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "# "+strings.TrimSuffix(name, ".yml")+": ") {
				t.Errorf("%s does not start with a comment header %q", file, "# "+strings.TrimSuffix(name, ".yml")+": ...")
			}
			lab, err := Load(file)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", file, err)
			}
			if len(lab.Warnings) > 0 {
				t.Errorf("Load(%s) warnings: %v", file, lab.Warnings)
			}
			check := checks[name]
			if check == nil {
				t.Fatalf("no check for example %s", name)
			}
			check(t, lab)
			if lab.AutoRoutes {
				checkAllHostsReach(t, lab)
			}
		})
	}
}

func wantCounts(t *testing.T, lab *Lab, nodes, links, segments int) {
	t.Helper()
	if len(lab.Nodes) != nodes || len(lab.Links) != links || len(lab.Segments) != segments {
		t.Errorf("%s has %d nodes, %d links, %d segments; want %d, %d, %d",
			lab.Name, len(lab.Nodes), len(lab.Links), len(lab.Segments), nodes, links, segments)
	}
}
