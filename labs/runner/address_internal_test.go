package runner

import (
	"testing"

	"github.com/netlab/netlab/topology"
)

// TestAddressOfWrittenInterface: a step names an interface as the file
// wrote it (containerlab's ethernet-1/1) or by its Linux name (e1-1).
func TestAddressOfWrittenInterface(t *testing.T) {
	plan, err := topology.Parse("x.yml", []byte(`name: addr
topology:
  nodes: {r1: {}, r2: {}}
  links:
    - endpoints: [{node: r1, interface: ethernet-1/1, ipv4: 10.9.0.1/24}, {node: r2, interface: eth1, ipv4: 10.9.0.2/24}]
`))
	if err != nil {
		t.Fatal(err)
	}
	inst := &Instance{Plan: plan}
	for _, tc := range []struct{ in, want, err string }{
		{"r1:ethernet-1/1", "10.9.0.1", ""},
		{"r1:e1-1", "10.9.0.1", ""},
		{"r2", "10.9.0.2", ""},
		{"r1:ethernet-1/2", "", "node r1 has no interface ethernet-1/2"},
	} {
		a, err := inst.address(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("address(%q) = %v, %v; want error %q", tc.in, a, err, tc.err)
			}
			continue
		}
		if err != nil || a.String() != tc.want {
			t.Errorf("address(%q) = %v, %v; want %s", tc.in, a, err, tc.want)
		}
	}
}
