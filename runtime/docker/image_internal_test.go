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
		"Dockerfile":        {tar.TypeReg, 0o644, "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/netlab\", \"pause\"]\n"},
		"rootfs/":           {tar.TypeDir, 0o755, ""},
		"rootfs/bin/":       {tar.TypeDir, 0o755, ""},
		"rootfs/tmp/":       {tar.TypeDir, 0o1777, ""},
		"rootfs/bin/netlab": {tar.TypeReg, 0o755, string(bin)},
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
	good := runtime.NodeSpec{Name: "h1", LongName: "nl-lab-h1", Binds: []string{"/tmp:/x:ro"}, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}, Env: map[string]string{"A": "b"}}
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
		{"relative bind", func(s *runtime.NodeSpec) { s.Binds = []string{"lab:/x"} }, "want /host/path:/container/path"},
		{"bind mode", func(s *runtime.NodeSpec) { s.Binds = []string{"/lab:/x:rx"} }, "want /host/path:/container/path"},
		{"bind without target", func(s *runtime.NodeSpec) { s.Binds = []string{"/lab"} }, "want /host/path:/container/path"},
		{"negative memory", func(s *runtime.NodeSpec) { s.Memory = -1 }, "limits are positive"},
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
	spec := runtime.NodeSpec{Lab: "lab", Name: "h_1", LongName: "nl-lab-h_1", Binds: []string{"/labs/lab/cfg:/etc/x:ro"},
		Labels: map[string]string{"x": "y"}, Env: map[string]string{"B": "2", "A": "1"}, Cmd: []string{"-v"}}
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
	// netlab's own image: the fewest capabilities, no new privileges.
	if hc.NetworkMode != "none" || hc.Privileged || len(hc.PortBindings) > 0 || strings.Join(hc.CapDrop, ",") != "ALL" ||
		strings.Join(hc.CapAdd, ",") != "CAP_NET_ADMIN,CAP_NET_RAW" || strings.Join(hc.SecurityOpt, ",") != "no-new-privileges" || cfg.OpenStdin {
		t.Errorf("host config %+v", hc)
	}
	if strings.Join(hc.Binds, ",") != "/labs/lab/cfg:/etc/x:ro" || strings.Join(cfg.Cmd, " ") != "-v" || cfg.Entrypoint != nil {
		t.Errorf("binds %q, cmd %q, entrypoint %q", hc.Binds, cfg.Cmd, cfg.Entrypoint)
	}
	// A user's image: the engine's default capabilities plus NET_ADMIN
	// and what the file adds, stdin kept open, limits; never privileged.
	spec.Image, spec.User, spec.Memory, spec.CPUs = "frr:1", "frr", 256<<20, 0.5
	spec.Entrypoint, spec.CapAdd = []string{"/usr/lib/frr/docker-start"}, []string{"SYS_ADMIN"}
	spec.Interfaces = 3
	cfg, hc = r.containerConfig(spec, "frr:1")
	if hc.Privileged || len(hc.CapDrop) != 0 || strings.Join(hc.CapAdd, ",") != "CAP_NET_ADMIN,SYS_ADMIN" || len(hc.SecurityOpt) != 0 ||
		!cfg.OpenStdin || cfg.User != "frr" || hc.Memory != 256<<20 || hc.NanoCPUs != 5e8 || cfg.Entrypoint[0] != "/usr/lib/frr/docker-start" {
		t.Errorf("user image: config %+v, host config %+v", cfg, hc)
	}
	if len(spec.Env) != 2 {
		t.Errorf("containerConfig changed the spec's environment: %v", spec.Env)
	}
	// CLAB_INTFS: the lab interfaces a user image's entrypoint may wait
	// for, as containerlab sets it; the file's own value wins; netlab's
	// image does without.
	for _, tc := range []struct {
		image string
		env   map[string]string
		want  string
	}{
		{"frr:1", map[string]string{"B": "2", "A": "1"}, "A=1,B=2,CLAB_INTFS=3"},
		{"frr:1", nil, "CLAB_INTFS=3"},
		{"frr:1", map[string]string{"CLAB_INTFS": "8"}, "CLAB_INTFS=8"},
		{"", nil, ""},
	} {
		spec.Image, spec.Env = tc.image, tc.env
		cfg, _ := r.containerConfig(spec, "ref")
		if got := strings.Join(cfg.Env, ","); got != tc.want {
			t.Errorf("image %q, env %v: container env %q; want %q", tc.image, tc.env, got, tc.want)
		}
	}
}

func TestStopSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {-time.Second, 0}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {10 * time.Second, 10}} {
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
