package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// ImageBinaryPath is where the node image keeps the netlab binary; the
// image's entrypoint is [ImageBinaryPath, "pause"]: the container only
// holds the node's namespaces, served by the lab's agent from outside.
const ImageBinaryPath = "/bin/netlab"

// Labels of the node image. An image under the binary's tag whose labels do
// not match is rebuilt.
const (
	// LabelBinarySHA256 holds the full hex SHA-256 of the binary in the image.
	LabelBinarySHA256 = "netlab-binary-sha256"
	// LabelImageRecipe holds the version of the recipe (the build context's
	// layout) the image was built with.
	LabelImageRecipe = "netlab-image-recipe"
)

// imageRecipe is the version of the build context below; change it when the
// Dockerfile or the file layout changes, so images built by older netlab
// binaries with the same hash are not reused.
const imageRecipe = "2"

// tagHashLen is how many hex digits of the binary's SHA-256 make the tag.
const tagHashLen = 16

// dockerfile builds the node image from the context made by writeContext.
const dockerfile = "FROM scratch\n" +
	"COPY rootfs/ /\n" +
	`ENTRYPOINT ["` + ImageBinaryPath + `", "pause"]` + "\n"

// contextModTime is the modification time (Unix seconds) of every entry of
// the build context, so that the same binary gives the same context.
const contextModTime = 946684800 // 2000-01-01T00:00:00Z

// Image is netlab's node image as EnsureImage found or built it.
type Image struct {
	Ref          string // repo:<hash>, the reference containers are created from
	ID           string // image id (sha256:...)
	Binary       string // path of the binary it was built from
	BinarySHA256 string // hex SHA-256 of that binary
	Built        bool   // whether this call built it (false: it existed)
}

// EnsureImage returns netlab's node image for the runtime's binary (see
// Options.Binary), building it if the engine has no image tagged with the
// binary's hash. A build tags it <repo>:<hash> and <repo>:latest. The result
// is remembered: later calls, also concurrent ones, return it without asking
// the engine. Create calls it when a node has no image of its own; deploy
// may call it first to build before starting its workers.
func (r *Runtime) EnsureImage(ctx context.Context) (Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.img != nil {
		img := *r.img
		img.Built = false
		return img, nil
	}
	img, err := r.ensureImage(ctx)
	if err != nil {
		return Image{}, err
	}
	r.img = &img
	return img, nil
}

// forgetImage drops the remembered node image, so the next EnsureImage
// checks the engine again (after the image was removed behind our back).
func (r *Runtime) forgetImage() {
	r.mu.Lock()
	r.img = nil
	r.mu.Unlock()
}

func (r *Runtime) ensureImage(ctx context.Context) (Image, error) {
	path := r.binary
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return Image{}, fmt.Errorf("node image: find the running executable: %w", err)
		}
		path = exe
	}
	sum, err := checkBinary(path)
	if err != nil {
		return Image{}, err
	}
	img := Image{Ref: r.imageRepo + ":" + sum[:tagHashLen], Binary: path, BinarySHA256: sum}
	latest := r.imageRepo + ":latest"

	found, err := r.cli.ImageInspect(ctx, img.Ref)
	switch {
	case err == nil && found.Config != nil &&
		found.Config.Labels[LabelBinarySHA256] == sum && found.Config.Labels[LabelImageRecipe] == imageRecipe:
		img.ID = found.ID
		if err := r.tagLatest(ctx, img, latest); err != nil {
			return Image{}, err
		}
		return img, nil
	case err != nil && !cerrdefs.IsNotFound(err):
		return Image{}, r.engineErr(err, "node image: inspect "+img.Ref)
	}

	// Missing, or made by something else under our tag: build it.
	id, err := r.buildImage(ctx, img, latest)
	if err != nil {
		return Image{}, err
	}
	img.ID = id
	img.Built = true
	r.pruneNodeImages(ctx, img.ID)
	return img, nil
}

// pruneNodeImages removes the node images of other binaries (older
// builds), so that a binary rebuilt many times does not leave an image per
// build. Images a container still uses stay (the engine refuses to remove
// them); failures are not errors: the images are a cache.
func (r *Runtime) pruneNodeImages(ctx context.Context, keep string) {
	list, err := r.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", r.imageRepo))})
	if err != nil {
		return
	}
	for _, im := range list {
		if im.ID == keep || im.Labels[LabelBinarySHA256] == "" {
			continue
		}
		for _, tag := range im.RepoTags {
			if strings.HasPrefix(tag, r.imageRepo+":") && tag != r.imageRepo+":latest" {
				r.cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

// tagLatest points <repo>:latest at img unless it already does.
func (r *Runtime) tagLatest(ctx context.Context, img Image, latest string) error {
	cur, err := r.cli.ImageInspect(ctx, latest)
	if err == nil && cur.ID == img.ID {
		return nil
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return r.engineErr(err, "node image: inspect "+latest)
	}
	if err := r.cli.ImageTag(ctx, img.Ref, latest); err != nil {
		return r.engineErr(err, fmt.Sprintf("node image: tag %s as %s", img.Ref, latest))
	}
	return nil
}

// checkBinary returns the hex SHA-256 of the file at path, after checking
// that it is a statically linked ELF executable (a FROM scratch image has
// no dynamic loader or libraries).
func checkBinary(path string) (string, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("node image: binary %s: %w", path, err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			ef.Close()
			return "", fmt.Errorf("node image: binary %s is dynamically linked; the node image needs a static one (build it with CGO_ENABLED=0)", path)
		}
	}
	ef.Close()
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("node image: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildImage builds the node image from img.Binary, tagged img.Ref and
// latest, and returns its id. A failed build's error holds the engine's
// build output.
func (r *Runtime) buildImage(ctx context.Context, img Image, latest string) (string, error) {
	f, err := os.Open(img.Binary)
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}

	// The context is streamed: the binary is tens of megabytes. The hash of
	// what is sent is checked against the tag's, in case the binary changed
	// since it was hashed.
	pr, pw := io.Pipe()
	sent := sha256.New()
	writeDone := make(chan error, 1)
	go func() {
		err := writeContext(pw, f, st.Size(), sent)
		pw.CloseWithError(err)
		writeDone <- err
	}()

	resp, err := r.cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{img.Ref, latest},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		NetworkMode: "none",
		Labels:      map[string]string{LabelBinarySHA256: img.BinarySHA256, LabelImageRecipe: imageRecipe},
		Version:     build.BuilderV1, // the classic builder needs no session, and works on every engine
	})
	if err != nil {
		pr.CloseWithError(err)
		<-writeDone
		return "", r.engineErr(err, "node image: build "+img.Ref)
	}
	out, id, buildErr := readBuildOutput(resp.Body)
	resp.Body.Close()
	pr.CloseWithError(errors.New("build finished"))
	werr := <-writeDone
	if buildErr != nil {
		return "", fmt.Errorf("node image: build %s from %s: %w\nbuild output:\n%s", img.Ref, img.Binary, buildErr, out)
	}
	if werr != nil {
		return "", fmt.Errorf("node image: build %s: send build context: %w", img.Ref, werr)
	}
	if got := hex.EncodeToString(sent.Sum(nil)); got != img.BinarySHA256 {
		return "", fmt.Errorf("node image: binary %s changed during the build (hash %s, then %s); build again", img.Binary, img.BinarySHA256[:tagHashLen], got[:tagHashLen])
	}
	if id == "" {
		// Engines that do not report the id in the stream: ask.
		found, err := r.cli.ImageInspect(ctx, img.Ref)
		if err != nil {
			return "", r.engineErr(err, "node image: inspect "+img.Ref+" after build")
		}
		id = found.ID
	}
	return id, nil
}

// writeContext writes the build context of the node image as a tar stream
// to w: the Dockerfile, and rootfs/ holding the binary (read from bin, size
// bytes, and also written to sum) and an empty /tmp.
func writeContext(w io.Writer, bin io.Reader, size int64, sum hash.Hash) error {
	tw := tar.NewWriter(w)
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: time.Unix(contextModTime, 0), Format: tar.FormatPAX}
	}
	dirs := []struct {
		name string
		mode int64
	}{
		{"rootfs/", 0o755},
		{"rootfs/bin/", 0o755},
		{"rootfs/tmp/", 0o1777},
	}
	if err := tw.WriteHeader(hdr("Dockerfile", tar.TypeReg, 0o644, int64(len(dockerfile)))); err != nil {
		return fmt.Errorf("write Dockerfile: %w", err)
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return fmt.Errorf("write Dockerfile: %w", err)
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(hdr(d.name, tar.TypeDir, d.mode, 0)); err != nil {
			return fmt.Errorf("write %s: %w", d.name, err)
		}
	}
	name := "rootfs" + ImageBinaryPath
	if err := tw.WriteHeader(hdr(name, tar.TypeReg, 0o755, size)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(bin, size), sum))
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("write %s: binary shrank from %d to %d bytes while being read", name, size, n)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish build context: %w", err)
	}
	return nil
}

// buildMessage is one JSON message of the engine's build output stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// maxBuildOutput bounds the build output kept for error messages (the
// end is kept).
const maxBuildOutput = 16 << 10

// readBuildOutput reads the engine's build output stream to its end and
// returns the text it printed (its last maxBuildOutput bytes), the image id
// if the stream reported one, and the build's error if it failed.
func readBuildOutput(body io.Reader) (out string, id string, err error) {
	var buf bytes.Buffer
	keep := func(s string) {
		buf.WriteString(s)
		if buf.Len() > 2*maxBuildOutput {
			tail := append([]byte(nil), buf.Bytes()[buf.Len()-maxBuildOutput:]...)
			buf.Reset()
			buf.Write(tail)
		}
	}
	dec := json.NewDecoder(body)
	for {
		var m buildMessage
		if derr := dec.Decode(&m); derr != nil {
			if errors.Is(derr, io.EOF) {
				break
			}
			return tail(buf.String()), id, fmt.Errorf("read build output: %w", derr)
		}
		switch {
		case m.Error != "" || m.ErrorDetail != nil:
			msg := m.Error
			if msg == "" {
				msg = m.ErrorDetail.Message
			}
			return tail(buf.String()), id, errors.New(strings.TrimSpace(msg))
		case m.Stream != "":
			keep(m.Stream)
		case m.Status != "":
			keep(m.Status + "\n")
		}
		if len(m.Aux) > 0 {
			var aux struct {
				ID string `json:"ID"`
			}
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
	return tail(buf.String()), id, nil
}

// tail returns the last maxBuildOutput bytes of s.
func tail(s string) string {
	if len(s) > maxBuildOutput {
		return "..." + s[len(s)-maxBuildOutput:]
	}
	return s
}

// checkImage checks that a node's own image exists locally: there is no
// registry to pull it from.
func (r *Runtime) checkImage(ctx context.Context, ref string) error {
	_, err := r.cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		repo, _, _ := strings.Cut(ref, ":")
		for _, rec := range DebianRecipes() {
			if repo == DebianRepo(rec.Name) {
				return fmt.Errorf("image %s is not on the Docker engine at %s: build it with `netlab image build %s` (from Debian's packages; netlab does not pull images)", ref, r.host, rec.Name)
			}
		}
		return fmt.Errorf("image %s is not on the Docker engine at %s and netlab does not pull images: build or load it first (docker build, docker load; `netlab image build` makes Debian-based ones)", ref, r.host)
	default:
		return r.engineErr(err, "inspect image "+ref)
	}
}
