package topology

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCapture checks that the plan's Node.Capture carries what the file
// says: node, kind and defaults capture, and links capturing their ends.
func TestCapture(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		src  string // the topology: section
		want map[string]*Capture
		warn string // a warning expected, if any
	}{{
		name: "node true",
		src: `
  nodes:
    h1: {capture: true}
    h2: {}
  links:
    - endpoints: ["h1:eth10", "h2:eth1"]
    - endpoints: ["h1:eth2", "h2:eth2"]`,
		want: map[string]*Capture{"h1": {Interfaces: []string{"eth2", "eth10"}, FileSize: 16 * mib, Files: 4}},
	}, {
		name: "node mapping",
		src: `
  nodes:
    h1: {capture: {interfaces: [eth3, eth1], file-size: 10MiB, files: 8}}
    h2: {capture: {file-size: 100000}}
    h3: {capture: {files: 1}}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
    - endpoints: ["h1:eth2", "h2:eth2"]
    - endpoints: ["h1:eth3", "h3:eth1"]`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1", "eth3"}, FileSize: 10 * mib, Files: 8},
			"h2": {Interfaces: []string{"eth1", "eth2"}, FileSize: 100000, Files: 4},
			"h3": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 1},
		},
	}, {
		name: "node false",
		src: `
  nodes:
    h1: {capture: false}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]`,
		want: map[string]*Capture{},
	}, {
		name: "inheritance",
		src: `
  defaults:
    capture: {file-size: 1MiB}
  kinds:
    edge: {kind: router, capture: {interfaces: [eth1], files: 2}}
    quiet: {kind: host, capture: false}
  nodes:
    r1: {kind: edge}
    r2: {kind: edge, capture: true}
    h1: {}
    h2: {kind: quiet}
    h3: {kind: quiet, capture: {files: 3}}
  links:
    - endpoints: ["r1:eth1", "h1:eth1"]
    - endpoints: ["r1:eth2", "r2:eth1"]
    - endpoints: ["r2:eth2", "h2:eth1"]
    - endpoints: ["h3:eth1", "h1:eth2"]`,
		want: map[string]*Capture{
			"r1": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 2},
			"r2": {Interfaces: []string{"eth1", "eth2"}, FileSize: 16 * mib, Files: 4},
			"h1": {Interfaces: []string{"eth1", "eth2"}, FileSize: 1 * mib, Files: 4},
			"h3": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 3},
		},
	}, {
		name: "link true, brief endpoints",
		src: `
  nodes:
    h1: {}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      capture: true
    - endpoints: ["h1:eth2", "h2:eth2"]`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 4},
			"h2": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 4},
		},
	}, {
		name: "link mapping, extended endpoints",
		src: `
  nodes:
    h1: {}
    h2: {}
  links:
    - endpoints:
        - {node: h1, interface: eth1, ipv4: 10.9.0.1/24}
        - {node: h2, interface: eth1}
      capture: {file-size: 2MiB, files: 10}
    - endpoints: ["h1:eth2", "h2:eth2"]
      capture: false`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1"}, FileSize: 2 * mib, Files: 10},
			"h2": {Interfaces: []string{"eth1"}, FileSize: 2 * mib, Files: 10},
		},
	}, {
		name: "link merges into node capture",
		src: `
  nodes:
    h1: {capture: {interfaces: [eth3], files: 6}}
    h2: {capture: false}
    h3: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      capture: {file-size: 2MiB, files: 10}
    - endpoints: ["h1:eth2", "h3:eth1"]
    - endpoints: ["h1:eth3", "h3:eth2"]
      capture: true`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1", "eth3"}, FileSize: 16 * mib, Files: 6},
			"h2": {Interfaces: []string{"eth1"}, FileSize: 2 * mib, Files: 10},
			"h3": {Interfaces: []string{"eth2"}, FileSize: 16 * mib, Files: 4},
		},
	}, {
		name: "LAN link",
		src: `
  nodes:
    h1: {}
    h2: {capture: true}
    h3: {}
    h4: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1", "h3:eth1"]
      capture: {files: 5}
    - endpoints: ["h2:eth2", "h4:eth1"]`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 5},
			"h2": {Interfaces: []string{"eth1", "eth2"}, FileSize: 16 * mib, Files: 4},
			"h3": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 5},
		},
	}, {
		name: "bridge link",
		src: `
  nodes:
    sw1: {kind: bridge}
    h1: {}
    h2: {}
  links:
    - endpoints: ["sw1:p1", "h1:eth1"]
      capture: true
    - endpoints: ["h2:eth1", "sw1:p2"]`,
		want: map[string]*Capture{"h1": {Interfaces: []string{"eth1"}, FileSize: 16 * mib, Files: 4}},
	}, {
		name: "two links, one ring",
		src: `
  nodes:
    h1: {}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      capture: {files: 2}
    - endpoints: ["h1:eth2", "h2:eth2"]
      capture: {files: 3}`,
		want: map[string]*Capture{
			"h1": {Interfaces: []string{"eth1", "eth2"}, FileSize: 16 * mib, Files: 2},
			"h2": {Interfaces: []string{"eth1", "eth2"}, FileSize: 16 * mib, Files: 2},
		},
		warn: `test.yml:10:7: capture: node "h1" records one ring, of 2 files of 16777216 bytes from the link at 8:7`,
	}, {
		name: "no interfaces",
		src: `
  nodes:
    h1: {capture: true}`,
		want: map[string]*Capture{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab := mustParse(t, "name: cap\ntopology:"+tc.src+"\n")
			got := map[string]*Capture{}
			for _, n := range lab.Nodes {
				if n.Capture != nil {
					got[n.Name] = n.Capture
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("captures (-want +got):\n%s", diff)
			}
			var warns []string
			for _, w := range lab.Warnings {
				warns = append(warns, w.Error())
			}
			all := strings.Join(warns, "\n")
			if tc.warn != "" && !strings.Contains(all, tc.warn) {
				t.Errorf("warnings:\n%s\nwant one starting %q", all, tc.warn)
			}
			if tc.warn == "" && strings.Contains(all, "capture") {
				t.Errorf("unexpected capture warning:\n%s", all)
			}
		})
	}
}

// TestCaptureJSON checks the plan's JSON keys for a capture.
func TestCaptureJSON(t *testing.T) {
	lab := mustParse(t, `
name: cap
topology:
  nodes:
    h1: {capture: {file-size: 64KiB, files: 100}}
    h2: {}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
`)
	b, err := json.Marshal(lab.Node("h1").Capture)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"interfaces":["eth1"],"file-size":65536,"files":100}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	b, err = json.Marshal(lab.Node("h2"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "capture") {
		t.Errorf("node without capture has a capture key: %s", b)
	}
}
