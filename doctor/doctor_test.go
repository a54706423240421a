package doctor

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCheck: on this machine (root, as CI runs) every needed check works,
// and nothing the checks made is left.
func TestCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		findings, ok := Check(context.Background(), Options{})
		if ok || findings[0].OK {
			t.Fatalf("Check as non-root = %v, %+v; want the root check to fail", ok, findings)
		}
		return
	}
	findings, ok := Check(context.Background(), Options{RunDir: t.TempDir()})
	if !ok {
		t.Fatalf("Check: %+v", findings)
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(ns), nsPrefix) {
		t.Errorf("namespaces left: %s", ns)
	}
}
