package kube

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteImage: a static binary makes an image in docker save's layout
// (manifest.json naming the tag, the config and one layer holding the
// binary), the same bytes twice; a dynamically linked binary is refused,
// saying how to build one that works.
func TestWriteImage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nimport \"net\"\nfunc main() { net.Dial(\"tcp\", \"x\") }\n"), 0o644)
	build := func(name, cgo string) string {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bin, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GOFLAGS=-mod=mod", "GO111MODULE=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		return bin
	}
	static := build("static", "0")
	var a, b bytes.Buffer
	if err := WriteImage(&a, ImageRepo+":test", static); err != nil {
		t.Fatal(err)
	}
	WriteImage(&b, ImageRepo+":test", static)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same binary gave different images")
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&a)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	m := manifest[0]
	if len(m.RepoTags) != 1 || m.RepoTags[0] != ImageRepo+":test" || files[m.Config] == nil || len(m.Layers) != 1 || files[m.Layers[0]] == nil {
		t.Fatalf("manifest %+v; files %d", m, len(files))
	}
	found := false
	lt := tar.NewReader(bytes.NewReader(files[m.Layers[0]]))
	for {
		h, err := lt.Next()
		if err != nil {
			break
		}
		found = found || "/"+h.Name == ImageBinaryPath && h.Mode&0o111 != 0
	}
	if !found {
		t.Errorf("the layer has no executable %s", ImageBinaryPath)
	}

	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler: cannot build a dynamically linked binary to refuse")
	}
	dynamic := build("dynamic", "1")
	err := WriteImage(io.Discard, ImageRepo+":test", dynamic)
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("a dynamically linked binary: %v; want refused, naming CGO_ENABLED=0", err)
	}
}
