package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/netlab/netlab/labdir"
)

// FuzzRegistryEntry: whatever a registry file holds, reading it never
// panics, and an entry read is one the lab's directories can be made of.
func FuzzRegistryEntry(f *testing.F) {
	for _, s := range []string{
		`{"lab":"l1","topo-file":"/a/t.yml","lab-dir":"/a/netlab-l1","run":"20261204-185012.345","runtime":"netns","deploy-pid":1}`,
		`{"lab":"","topo-file":""}`, `{"lab":1}`, `null`, ``, `{"started":"yesterday"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg := newRegistry(t.TempDir())
		os.MkdirAll(reg.dir, 0o755)
		if err := os.WriteFile(reg.path("l1"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := reg.get("l1")
		if err != nil || e == nil {
			return
		}
		_ = reg.lab(e).StateDir()
		if _, err := reg.list(); err != nil {
			t.Fatalf("get read the entry, list fails: %v", err)
		}
	})
}

// FuzzProcessRecord: whatever a process record holds, reading it never
// panics, and a record of a process that is not the one named is never
// taken for it.
func FuzzProcessRecord(f *testing.F) {
	for _, s := range []string{`{"pid":1,"start":1,"exe":"/bin/x"}`, `{"pid":-1}`, `{"pid":1e99}`, `[]`, ``, `{"pid":1,"start":0,"exe":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, labdir.PIDDir), 0o700)
		if err := os.WriteFile(filepath.Join(dir, labdir.PIDDir, "agent.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		pr, ok, err := readRecord(dir, "agent")
		if err != nil || !ok {
			return
		}
		if pr.PID <= 0 {
			t.Fatalf("record of pid %d accepted", pr.PID)
		}
		if pr.PID == 1 && pr.alive() {
			if me, err := identify(1); err != nil || me.Start != pr.Start || (pr.Exe != "" && me.Exe != pr.Exe) {
				t.Fatalf("record %+v taken for pid 1 (%+v)", pr, me)
			}
		}
	})
}
