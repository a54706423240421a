package docker

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/runtime"
)

func TestWriteContext(t *testing.T) {
	bin := []byte("\x7fELF pretend binary")
	var buf bytes.Buffer
	sum := sha256.New()
	if err := writeContext(&buf, bytes.NewReader(bin), int64(len(bin)), sum); err != nil {
		t.Fatalf("writeContext: %v", err)
	}
	if got, want := hex.EncodeToString(sum.Sum(nil)), sha256Hex(bin); got != want {
		t.Errorf("hash of what was sent %s; want %s", got, want)
	}
	type entry struct {
		typ  byte
		mode int64
		body string
	}
	want := map[string]entry{
		"Dockerfile":         {tar.TypeReg, 0o644, "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/netlab\", \"agent\"]\n"},
		"rootfs/":            {tar.TypeDir, 0o755, ""},
		"rootfs/bin/":        {tar.TypeDir, 0o755, ""},
		"rootfs/tmp/":        {tar.TypeDir, 0o1777, ""},
		"rootfs/netlab/":     {tar.TypeDir, 0o755, ""},
		"rootfs/netlab/ctl/": {tar.TypeDir, 0o755, ""},
		"rootfs/netlab/run/": {tar.TypeDir, 0o755, ""},
		"rootfs/bin/netlab":  {tar.TypeReg, 0o755, string(bin)},
	}
	tr := tar.NewReader(&buf)
	seen := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read context: %v", err)
		}
		body, _ := io.ReadAll(tr)
		w, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected entry %s", h.Name)
			continue
		}
		seen++
		if h.Typeflag != w.typ || h.Mode != w.mode || string(body) != w.body {
			t.Errorf("%s: type %c mode %o body %q; want type %c mode %o body %q", h.Name, h.Typeflag, h.Mode, body, w.typ, w.mode, w.body)
		}
		if !h.ModTime.Equal(time.Unix(contextModTime, 0)) {
			t.Errorf("%s: mtime %v; want the fixed one", h.Name, h.ModTime)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d entries; want %d", seen, len(want))
	}
}

func TestWriteContextShortBinary(t *testing.T) {
	err := writeContext(io.Discard, strings.NewReader("abc"), 10, sha256.New())
	if err == nil || !strings.Contains(err.Error(), "shrank") {
		t.Errorf("writeContext with a short binary: %v; want a 'shrank' error", err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestReadBuildOutput(t *testing.T) {
	ok := `{"stream":"Step 1/3 : FROM scratch\n"}
{"stream":" ---\u003e \n"}
{"aux":{"ID":"sha256:abc"}}
{"stream":"Successfully built abc\n"}
`
	out, id, err := readBuildOutput(strings.NewReader(ok))
	if err != nil || id != "sha256:abc" || !strings.Contains(out, "Step 1/3") {
		t.Errorf("readBuildOutput(ok) = %q, %q, %v", out, id, err)
	}
	failed := `{"stream":"Step 1/3 : FROM scratch\n"}
{"stream":"Step 2/3 : COPY rootfs/ /\n"}
{"errorDetail":{"message":"COPY failed: no source files"},"error":"COPY failed: no source files"}
`
	out, _, err = readBuildOutput(strings.NewReader(failed))
	if err == nil || err.Error() != "COPY failed: no source files" || !strings.Contains(out, "Step 2/3") {
		t.Errorf("readBuildOutput(failed) = %q, %v; want the error and the steps before it", out, err)
	}
	_, _, err = readBuildOutput(strings.NewReader(`{"stream":`))
	if err == nil {
		t.Errorf("readBuildOutput(truncated) succeeded")
	}
	long := strings.Repeat(`{"stream":"`+strings.Repeat("x", 1000)+`\n"}`+"\n", 100)
	out, _, _ = readBuildOutput(strings.NewReader(long))
	if len(out) > maxBuildOutput+3 {
		t.Errorf("kept %d bytes of output; want at most %d", len(out), maxBuildOutput+3)
	}
}

func TestCheckBinary(t *testing.T) {
	for _, p := range []string{"/bin/ls", "/usr/bin/ls", "/bin/sh"} {
		ef, err := elf.Open(p)
		if err != nil {
			continue
		}
		dynamic := false
		for _, prog := range ef.Progs {
			dynamic = dynamic || prog.Type == elf.PT_INTERP
		}
		ef.Close()
		if !dynamic {
			continue
		}
		_, err = checkBinary(p)
		if err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("checkBinary(%s): %v; want a 'dynamically linked' error", p, err)
		}
		break
	}
	if _, err := checkBinary("/nonexistent/netlab"); err == nil {
		t.Errorf("checkBinary of a missing file succeeded")
	}
}

func TestValidateSpec(t *testing.T) {
	good := runtime.NodeSpec{Name: "h1", LongName: "nl-lab-h1", RunDir: "/tmp/x", Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}, Env: map[string]string{"A": "b"}}
	if err := validateSpec(good); err != nil {
		t.Errorf("validateSpec(good): %v", err)
	}
	tests := []struct {
		name string
		edit func(*runtime.NodeSpec)
		want string
	}{
		{"no long name", func(s *runtime.NodeSpec) { s.LongName = "" }, "no long name"},
		{"slash", func(s *runtime.NodeSpec) { s.LongName = "a/b" }, "invalid long name"},
		{"kernel sysctl", func(s *runtime.NodeSpec) { s.Sysctls = map[string]string{"kernel.pid_max": "1"} }, "only net.*"},
		{"env name", func(s *runtime.NodeSpec) { s.Env = map[string]string{"A=B": "c"} }, "environment variable"},
		{"relative run dir", func(s *runtime.NodeSpec) { s.RunDir = "lab" }, "not an absolute path"},
		{"relative control dir", func(s *runtime.NodeSpec) { s.ControlDir = "ctl" }, "not an absolute path"},
	}
	for _, tc := range tests {
		s := good
		tc.edit(&s)
		if err := validateSpec(s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: validateSpec = %v; want %q", tc.name, err, tc.want)
		}
	}
}

func TestContainerConfig(t *testing.T) {
	r := &Runtime{stopTimeout: 2}
	spec := runtime.NodeSpec{Lab: "lab", Name: "h_1", LongName: "nl-lab-h_1", ControlDir: "/run/x/n/1", RunDir: "/labs/lab/runs/1",
		Labels: map[string]string{"x": "y"}, Env: map[string]string{"B": "2", "A": "1"}, AgentArgs: []string{"--node", "h_1"}}
	cfg, hc := r.containerConfig(spec, "img:1")
	if cfg.Labels[runtime.LabelLab] != "lab" || cfg.Labels[runtime.LabelNode] != "h_1" || cfg.Labels["x"] != "y" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if _, ok := spec.Labels[runtime.LabelLab]; ok {
		t.Errorf("containerConfig changed the spec's labels")
	}
	if strings.Join(cfg.Env, ",") != "A=1,B=2" {
		t.Errorf("env %q; want sorted A=1,B=2", cfg.Env)
	}
	if cfg.Hostname != "" {
		t.Errorf("hostname %q for a name that is not a host name", cfg.Hostname)
	}
	if hc.NetworkMode != "none" || hc.Privileged || len(hc.PortBindings) > 0 || strings.Join(hc.CapDrop, ",") != "ALL" || strings.Join(hc.CapAdd, ",") != "CAP_NET_ADMIN,CAP_NET_RAW" {
		t.Errorf("host config %+v", hc)
	}
	if len(hc.Mounts) != 2 || hc.Mounts[0].Source != "/run/x/n/1" || hc.Mounts[0].Target != "/netlab/ctl" ||
		hc.Mounts[1].Source != "/labs/lab/runs/1" || hc.Mounts[1].Target != "/netlab/run" {
		t.Errorf("mounts %+v", hc.Mounts)
	}
}

func TestStopSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 2}, {-time.Second, 2}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {10 * time.Second, 10}} {
		if got := stopSeconds(tc.d); got != tc.want {
			t.Errorf("stopSeconds(%v) = %d; want %d", tc.d, got, tc.want)
		}
	}
}

func TestEngineUnreachableMessages(t *testing.T) {
	e := &EngineUnreachableError{Host: "unix:///var/run/docker.sock", Err: errors.New("dial unix: connection refused")}
	if want := "Docker engine not reachable at unix:///var/run/docker.sock: start it or use --runtime netns"; e.Error() != want {
		t.Errorf("Error() = %q; want %q", e.Error(), want)
	}
	e.Err = fmt.Errorf("dial unix /var/run/docker.sock: %w", &os.SyscallError{Syscall: "connect", Err: syscall.EACCES})
	if !strings.Contains(e.Error(), "refused access") {
		t.Errorf("permission denied: Error() = %q", e.Error())
	}
}
