package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
)

// DebianRecipe is one of the Debian-based images netlab builds locally
// (`netlab image build NAME`): there is no registry to pull images from,
// so they are made from Debian's packages. The base is made with
// debootstrap and imported into the engine; the others are built on it,
// installing their packages with apt-get (the build container reaches
// Debian's mirror through the engine's default bridge).
type DebianRecipe struct {
	// Name is what `netlab image build` and the image's repository
	// (netlab/NAME) call it.
	Name string
	// About says what the image is for.
	About string
	// Dockerfile holds the instructions after the FROM of the base; empty
	// for the base itself.
	Dockerfile string
}

// DebianBase is the recipe name of the base image.
const DebianBase = "debian"

// Debian suite, mirror and debootstrap variant of the base image.
const (
	debianSuite  = "bookworm"
	debianMirror = "http://deb.debian.org/debian"
	// debianInclude are the packages the base adds to debootstrap's
	// minimal set: what a node's shell and a student need to look at
	// its network.
	debianInclude = "iproute2,iputils-ping,procps,netcat-openbsd,tcpdump,ca-certificates"
)

// LabelDebianRecipe holds the hash of the recipe (and of the base it was
// built on) an image of DebianRecipes was made from.
const LabelDebianRecipe = "netlab-debian-recipe"

// aptInstall is the Dockerfile line that installs packages on the base.
func aptInstall(pkgs string) string {
	return "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + pkgs +
		" && rm -rf /var/lib/apt/lists/*\n"
}

// DebianRecipes returns the images netlab knows how to build, the base
// first.
func DebianRecipes() []DebianRecipe {
	return []DebianRecipe{
		{Name: DebianBase, About: "Debian " + debianSuite + " (debootstrap minbase) with iproute2, ping, tcpdump, netcat; command bash"},
		{Name: "frr", About: "FRRouting (zebra, ospfd, bgpd, ...) started from /etc/frr (bind your frr.conf there); vtysh inside",
			Dockerfile: aptInstall("frr frr-pythontools") +
				// The daemons file turns on the routing daemons; a bound
				// /etc/frr/daemons replaces it.
				"RUN sed -i -e 's/^\\(bgpd\\|ospfd\\|ospf6d\\|ripd\\|isisd\\|bfdd\\|staticd\\)=no/\\1=yes/' /etc/frr/daemons\n" +
				"COPY frr-start /usr/lib/frr/netlab-start\n" +
				`CMD ["/usr/lib/frr/netlab-start"]` + "\n"},
		{Name: "nginx", About: "nginx serving /var/www/html on port 80",
			Dockerfile: aptInstall("nginx") + `CMD ["nginx", "-g", "daemon off;"]` + "\n"},
		{Name: "iperf3", About: "iperf3, serving on port 5201",
			Dockerfile: aptInstall("iperf3") + `CMD ["iperf3", "-s"]` + "\n"},
		{Name: "python", About: "Python 3 with its standard library; command bash",
			Dockerfile: aptInstall("python3") + `CMD ["bash"]` + "\n"},
	}
}

// frrStart starts FRR's daemons as Debian's init script does, then waits:
// the container lives as long as watchfrr. It first waits (a minute at
// most) for the lab's interfaces: CLAB_INTFS of them besides lo and eth0,
// each up (deploy sets an interface's addresses before it sets it up), as
// containerlab's images wait for CLAB_INTFS. Started before them, zebra
// could miss their addresses while deploy wired a busy machine, and OSPF
// then never ran on them.
const frrStart = `#!/bin/sh
# netlab's FRR image: once the lab's interfaces are in, start the daemons
# of /etc/frr/daemons, then stay.
set -e
want=${CLAB_INTFS:-0}
tries=0
while [ "$tries" -lt 600 ]; do
  up=0
  for dev in /sys/class/net/*; do
    case ${dev##*/} in lo|eth0) continue ;; esac
    if [ $(( $(cat "$dev/flags") & 1 )) -eq 1 ]; then up=$((up + 1)); fi
  done
  [ "$up" -ge "$want" ] && break
  sleep 0.1
  tries=$((tries + 1))
done
chown -R frr:frr /etc/frr /var/run/frr 2>/dev/null || true
/usr/lib/frr/frrinit.sh start
exec sleep infinity
`

// DebianRecipeNamed returns the recipe called name.
func DebianRecipeNamed(name string) (DebianRecipe, bool) {
	for _, r := range DebianRecipes() {
		if r.Name == name {
			return r, true
		}
	}
	return DebianRecipe{}, false
}

// DebianRepo is the repository of recipe name's image: netlab/NAME.
func DebianRepo(name string) string { return "netlab/" + name }

// BuiltImage is an image of DebianRecipes as BuildDebian found or made it.
type BuiltImage struct {
	Name  string        // the recipe
	Ref   string        // netlab/NAME:<recipe hash>, also tagged :latest
	ID    string        // the engine's image id
	Built bool          // whether this call made it (false: it was there)
	Took  time.Duration // how long finding or making it took
}

// BuildDebian returns the image of recipe name, building it (and the base
// under it) only when the engine has none made from the same recipe: the
// tag is the hash of the recipe and of the base's id. progress, if not
// nil, is told what is being done.
func (r *Runtime) BuildDebian(ctx context.Context, name string, progress func(string)) (BuiltImage, error) {
	start := time.Now()
	rec, ok := DebianRecipeNamed(name)
	if !ok {
		var names []string
		for _, r := range DebianRecipes() {
			names = append(names, r.Name)
		}
		return BuiltImage{}, fmt.Errorf("no image recipe %q (netlab builds: %s)", name, strings.Join(names, ", "))
	}
	say := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
	}
	base, err := r.debianBase(ctx, say)
	if err != nil {
		return BuiltImage{}, err
	}
	if rec.Name == DebianBase {
		base.Took = time.Since(start)
		return base, nil
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s", rec.Name, base.ID, rec.Dockerfile, frrStart)
	img := BuiltImage{Name: rec.Name, Ref: DebianRepo(rec.Name) + ":" + hex.EncodeToString(h.Sum(nil))[:tagHashLen]}
	if id, ok, err := r.labelled(ctx, img.Ref, img.Ref); err != nil {
		return BuiltImage{}, err
	} else if ok {
		img.ID = id
		img.Took = time.Since(start)
		return img, r.tagAs(ctx, img, DebianRepo(rec.Name)+":latest")
	}
	say("building %s on %s (apt-get install in a build container)", img.Ref, base.Ref)
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	files := map[string]string{"Dockerfile": "FROM " + base.Ref + "\n" + rec.Dockerfile, "frr-start": frrStart}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mode := int64(0o644)
		if n != "Dockerfile" {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: n, Mode: mode, Size: int64(len(files[n])), ModTime: time.Unix(contextModTime, 0)})
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	resp, err := r.cli.ImageBuild(ctx, &ctxTar, build.ImageBuildOptions{
		Tags:        []string{img.Ref, DebianRepo(rec.Name) + ":latest"},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelDebianRecipe: img.Ref},
		Version:     build.BuilderV1,
	})
	if err != nil {
		return BuiltImage{}, r.engineErr(err, "build image "+img.Ref)
	}
	out, id, buildErr := readBuildOutput(resp.Body)
	resp.Body.Close()
	if buildErr != nil {
		return BuiltImage{}, fmt.Errorf("build image %s: %w\nbuild output:\n%s", img.Ref, buildErr, out)
	}
	if id == "" {
		found, err := r.cli.ImageInspect(ctx, img.Ref)
		if err != nil {
			return BuiltImage{}, r.engineErr(err, "inspect "+img.Ref+" after build")
		}
		id = found.ID
	}
	img.ID, img.Built, img.Took = id, true, time.Since(start)
	return img, nil
}

// labelled returns the id of image ref if it exists and carries
// LabelDebianRecipe = want.
func (r *Runtime) labelled(ctx context.Context, ref, want string) (string, bool, error) {
	found, err := r.cli.ImageInspect(ctx, ref)
	switch {
	case cerrdefs.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, r.engineErr(err, "inspect "+ref)
	}
	if found.Config == nil || found.Config.Labels[LabelDebianRecipe] != want {
		return "", false, nil
	}
	return found.ID, true, nil
}

// tagAs points tag at img unless it already does.
func (r *Runtime) tagAs(ctx context.Context, img BuiltImage, tag string) error {
	cur, err := r.cli.ImageInspect(ctx, tag)
	if err == nil && cur.ID == img.ID {
		return nil
	}
	if err := r.cli.ImageTag(ctx, img.Ref, tag); err != nil {
		return r.engineErr(err, "tag "+img.Ref+" as "+tag)
	}
	return nil
}

// debianBase returns the base image, making it when missing: debootstrap
// of Debian's minimal base into a scratch folder, imported into the
// engine, the folder removed.
func (r *Runtime) debianBase(ctx context.Context, say func(string, ...any)) (BuiltImage, error) {
	h := sha256.New()
	fmt.Fprintf(h, "debootstrap --variant=minbase --include=%s %s %s", debianInclude, debianSuite, debianMirror)
	img := BuiltImage{Name: DebianBase, Ref: DebianRepo(DebianBase) + ":" + hex.EncodeToString(h.Sum(nil))[:tagHashLen]}
	if id, ok, err := r.labelled(ctx, img.Ref, img.Ref); err != nil {
		return BuiltImage{}, err
	} else if ok {
		img.ID = id
		return img, r.tagAs(ctx, img, DebianRepo(DebianBase)+":latest")
	}
	deboot, err := exec.LookPath("debootstrap")
	if err != nil {
		return BuiltImage{}, errors.New("the Debian base image is made with debootstrap, which is not installed: apt-get install debootstrap")
	}
	dir, err := os.MkdirTemp("", "netlab-debootstrap-")
	if err != nil {
		return BuiltImage{}, err
	}
	defer os.RemoveAll(dir)
	say("debootstrap %s from %s into %s (a few minutes)", debianSuite, debianMirror, dir)
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx, deboot, "--variant=minbase", "--include="+debianInclude, debianSuite, dir, debianMirror)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return BuiltImage{}, fmt.Errorf("debootstrap %s: %w\n%s", debianSuite, err, tail(log.String()))
	}
	// What a running system does not need in an image.
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		entries, _ := os.ReadDir(dir + "/" + p)
		for _, e := range entries {
			if e.Name() != "partial" && e.Name() != "lock" {
				os.RemoveAll(dir + "/" + p + "/" + e.Name())
			}
		}
	}
	say("importing %s into the engine", img.Ref)
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", dir, "-c", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return BuiltImage{}, err
	}
	var tarErr bytes.Buffer
	tarCmd.Stderr = &tarErr
	if err := tarCmd.Start(); err != nil {
		return BuiltImage{}, fmt.Errorf("tar the base image: %w", err)
	}
	rc, err := r.cli.ImageImport(ctx, image.ImportSource{Source: stdout, SourceName: "-"}, img.Ref, image.ImportOptions{
		Changes: []string{`CMD ["bash"]`, "LABEL " + LabelDebianRecipe + "=" + img.Ref, "ENV LANG=C.UTF-8"},
	})
	if err != nil {
		tarCmd.Process.Kill()
		tarCmd.Wait()
		return BuiltImage{}, r.engineErr(err, "import "+img.Ref)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	if err := tarCmd.Wait(); err != nil {
		return BuiltImage{}, fmt.Errorf("tar the base image: %w: %s", err, tarErr.String())
	}
	id, ok, err := r.labelled(ctx, img.Ref, img.Ref)
	if err != nil {
		return BuiltImage{}, err
	}
	if !ok {
		return BuiltImage{}, fmt.Errorf("import %s: the engine has no such image afterwards", img.Ref)
	}
	img.ID, img.Built = id, true
	return img, r.tagAs(ctx, img, DebianRepo(DebianBase)+":latest")
}
