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
	if err := WriteImage(&a, ImageRepo+":test", ImageFiles{Netlab: static}); err != nil {
		t.Fatal(err)
	}
	WriteImage(&b, ImageRepo+":test", ImageFiles{Netlab: static})
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

	// With busybox: it and a link per applet, and another reference.
	withBB := FindImageFiles(static)
	if withBB.Busybox == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no static busybox: .ci/run installs busybox-static")
		}
	} else {
		var c bytes.Buffer
		if err := WriteImage(&c, ImageRepo+":bb", withBB); err != nil {
			t.Fatal(err)
		}
		layer := layerOf(t, c.Bytes())
		if layer["bin/busybox"] != "file" || layer["bin/ip"] != "busybox" || layer["bin/nsenter"] != "busybox" || layer["bin/netlab"] != "file" {
			t.Errorf("the layer with busybox: busybox %q, ip %q, nsenter %q, netlab %q", layer["bin/busybox"], layer["bin/ip"], layer["bin/nsenter"], layer["bin/netlab"])
		}
		r1, _ := ImageRef(ImageFiles{Netlab: static})
		r2, _ := ImageRef(withBB)
		if r1 == r2 {
			t.Errorf("the image with busybox has the reference of the one without: %s", r1)
		}
	}

	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler: cannot build a dynamically linked binary to refuse")
	}
	dynamic := build("dynamic", "1")
	err := WriteImage(io.Discard, ImageRepo+":test", ImageFiles{Netlab: dynamic})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("a dynamically linked binary: %v; want refused, naming CGO_ENABLED=0", err)
	}
}

// layerOf returns what the only layer of an image tarball holds: each
// path's "file", or a link's target.
func layerOf(t *testing.T, image []byte) map[string]string {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(image))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	out := map[string]string{}
	lt := tar.NewReader(bytes.NewReader(files[manifest[0].Layers[0]]))
	for {
		h, err := lt.Next()
		if err != nil {
			break
		}
		switch h.Typeflag {
		case tar.TypeReg:
			out[h.Name] = "file"
		case tar.TypeSymlink:
			out[h.Name] = h.Linkname
		}
	}
	return out
}
