package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netlab/netlab/topology"
)

// TestValidateClab: `validate --clab` says how each containerlab feature
// was taken, and fails when one is refused.
func TestValidateClab(t *testing.T) {
	out := netlab(t, "validate", "--clab", "-t", "../../topology/testdata/clab-linux.yml")
	if !strings.Contains(out, "mapped   ../../topology/testdata/clab-linux.yml:29:34 interface ethernet-1/1: named e1-1 in Linux") {
		t.Errorf("validate --clab:\n%s", out)
	}
	var notes []topology.CompatNote
	if err := json.Unmarshal([]byte(netlab(t, "validate", "--clab", "--format", "json", "-t", "../../topology/testdata/clab-linux.yml")), &notes); err != nil || len(notes) == 0 {
		t.Errorf("--format json: %v %v", err, notes)
	}
	out, errs, err := netlabErr(t, "validate", "--clab", "-t", "../../topology/testdata/invalid/clab-links.yml")
	if err == nil || !strings.Contains(errs, "7 feature(s) refused") || !strings.Contains(out, `refused  ../../topology/testdata/invalid/clab-links.yml:12:13 type: vxlan links:`) {
		t.Errorf("validate --clab of refused links: %v\n%s%s", err, out, errs)
	}
}
