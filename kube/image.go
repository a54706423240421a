package kube

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strings"
	"time"
)

// ImageBinaryPath is where netlab's image keeps the binary.
const ImageBinaryPath = "/bin/netlab"

// ImageRepo is the repository of netlab's image for clusters, tagged with
// the first 16 hex digits of the binary's SHA-256 (the docker runtime's
// node image, netlab/node, has another entrypoint).
const ImageRepo = "netlab/netlab"

// ImageFiles are what netlab's image holds: the static netlab binary and,
// when Busybox names one, a static busybox with a link in /bin for each
// of its applets (ip, ping, nc, sh...): the programs `netlab exec` runs
// in the nodes of a lab on a cluster.
type ImageFiles struct {
	Netlab  string
	Busybox string
}

// ImageBusyboxPath is where netlab's image keeps busybox.
const ImageBusyboxPath = "/bin/busybox"

// FindImageFiles returns the image's files for the netlab binary: with
// this machine's busybox when it has a static one (Debian's
// busybox-static), else none.
func FindImageFiles(netlab string) ImageFiles {
	f := ImageFiles{Netlab: netlab}
	if bb, err := exec.LookPath("busybox"); err == nil {
		if data, err := os.ReadFile(bb); err == nil && checkStatic(bb, data) == nil {
			f.Busybox = bb
		}
	}
	return f
}

// WriteImage writes netlab's image, ref ("netlab/netlab:<hash>"), in the
// layout `docker save` makes and `ctr images import` and `docker load`
// read: one layer holding the static binary at ImageBinaryPath (and
// busybox, see ImageFiles), FROM scratch. Nothing is pulled or needs a
// registry: a cluster admin imports the file into each node's container
// runtime. The same files give the same bytes (times are fixed).
func WriteImage(w io.Writer, ref string, files ImageFiles) error {
	binary := files.Netlab
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	if err := checkStatic(binary, bin); err != nil {
		return err
	}
	var bb []byte
	var applets []string
	if files.Busybox != "" {
		if bb, err = os.ReadFile(files.Busybox); err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if err := checkStatic(files.Busybox, bb); err != nil {
			return err
		}
		out, err := exec.Command(files.Busybox, "--list").Output()
		if err != nil {
			return fmt.Errorf("image: %s --list: %w", files.Busybox, err)
		}
		for _, a := range strings.Fields(string(out)) {
			if a != "busybox" && a != "netlab" && !strings.ContainsAny(a, "/[") {
				applets = append(applets, a)
			}
		}
		slices.Sort(applets)
	}
	epoch := time.Unix(0, 0).UTC()
	var layer bytes.Buffer
	lt := tar.NewWriter(&layer)
	for _, d := range []string{"bin/", "run/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := lt.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	if err := lt.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ImageBinaryPath[1:], Mode: 0o755, Size: int64(len(bin)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := lt.Write(bin); err != nil {
		return err
	}
	if bb != nil {
		if err := lt.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ImageBusyboxPath[1:], Mode: 0o755, Size: int64(len(bb)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := lt.Write(bb); err != nil {
			return err
		}
		for _, a := range applets {
			if err := lt.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
	}
	if err := lt.Close(); err != nil {
		return err
	}
	diff := sha256.Sum256(layer.Bytes())
	diffID := hex.EncodeToString(diff[:])
	config, err := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH, // as the binary is built for: this machine's
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": []string{ImageBinaryPath}, "WorkingDir": "/", "Env": []string{"PATH=/bin"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + diffID}},
	})
	if err != nil {
		return err
	}
	cs := sha256.Sum256(config)
	configName := hex.EncodeToString(cs[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{ref},
		"Layers":   []string{diffID + "/layer.tar"},
	}})
	if err != nil {
		return err
	}
	out := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{diffID + "/layer.tar", layer.Bytes()},
		{configName, config},
		{"manifest.json", manifest},
	} {
		if err := out.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if _, err := out.Write(f.data); err != nil {
			return fmt.Errorf("image: %w", err)
		}
	}
	return out.Close()
}

// ImageRef is the reference of netlab's image of files:
// ImageRepo:<the first 16 hex digits of the SHA-256 of the netlab binary,
// and of busybox after it when there is one>.
func ImageRef(files ImageFiles) (string, error) {
	h := sha256.New()
	for _, name := range []string{files.Netlab, files.Busybox} {
		if name == "" {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("image: hash %s: %w", name, err)
		}
	}
	return ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// checkStatic fails when the binary needs a dynamic loader: FROM
// scratch, the container would not start ("exec /bin/netlab: no such
// file or directory").
func checkStatic(name string, bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("image: %s is not an executable for Linux: %w", name, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("image: %s is linked dynamically, and the image holds nothing but it: build netlab with CGO_ENABLED=0 (make build does)", name)
		}
	}
	return nil
}
