package topology

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInputs: LoadInputs records the variables, the env-files and the
// binds' sources a file reads; ParseInputs resolves the same text from
// them alone — the files gone and the variable unset here — to the same
// plan; an input missing from them is the error Load would give.
func TestInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("r1.env", "ROLE=core\n")
	write("conf/r1.conf", "hostname r1\n")
	write("conf/d/x", "x")
	text := `name: inp
topology:
  nodes:
    r1:
      kind: linux
      image: frr:1
      env: {WHERE: "${NETLAB_INPUTS_TEST}"}
      env-files: [r1.env]
      binds: [conf/r1.conf:/etc/frr/frr.conf:ro, conf/d:/data]
    h1: {kind: host}
  links:
    - endpoints: [r1:eth1, h1:eth1]
`
	write("inp.yml", text)
	t.Setenv("NETLAB_INPUTS_TEST", "lab-7")
	lab, _, in, err := LoadInputs(filepath.Join(dir, "inp.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "conf", "r1.conf")
	if in.Dir != dir || in.Env["NETLAB_INPUTS_TEST"] != "lab-7" || string(in.Files[conf]) != "hostname r1\n" ||
		string(in.Files[filepath.Join(dir, "r1.env")]) != "ROLE=core\n" || len(in.Dirs) != 1 || in.Dirs[0] != filepath.Join(dir, "conf", "d") {
		t.Fatalf("inputs %+v", in)
	}
	// Elsewhere: nothing of this machine's.
	os.Unsetenv("NETLAB_INPUTS_TEST")
	os.RemoveAll(dir)
	again, err := ParseInputs("inp.yml", []byte(text), in)
	if err != nil {
		t.Fatal(err)
	}
	again.File = lab.File
	a, _ := json.Marshal(lab)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("the plan from the inputs differs:\n%s\n%s", a, b)
	}
	if n := again.Node("r1"); n.Env["WHERE"] != "lab-7" || n.Env["ROLE"] != "core" {
		t.Errorf("r1's env %v", n.Env)
	}
	// A pipe a bind names is noted, never opened (it would block).
	pipeDir := t.TempDir()
	pipe := filepath.Join(pipeDir, "fifo")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(pipeDir, "p.yml"), []byte("name: p\ntopology:\n  nodes:\n    c1: {kind: linux, image: x:1, binds: [\"fifo:/dev/x\"]}\n"), 0o644)
	if _, _, pin, err := LoadInputs(filepath.Join(pipeDir, "p.yml")); err != nil || len(pin.Others) != 1 || pin.Others[0] != pipe || len(pin.Files) != 0 {
		t.Errorf("a bind of a pipe: %+v, %v; want it noted as there, not read", pin, err)
	}
	delete(in.Files, conf)
	if _, err := ParseInputs("inp.yml", []byte(text), in); err == nil || !strings.Contains(err.Error(), "binds") {
		t.Errorf("a bind's source missing from the inputs: %v; want the binds error", err)
	}
}
