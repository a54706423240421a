// Package doctor checks that this machine can run labs: root, network
// namespaces, veths, AF_PACKET inside a namespace, the run directory, and,
// when asked, a Docker engine. Graders run it first, so that a fault of the
// machine is never graded as a student's mistake. It makes what it tries
// in namespaces of its own and removes them.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/stack/link/afpacket"
)

// Finding is the outcome of one check.
type Finding struct {
	// Check names what was checked.
	Check string `json:"check"`
	// OK reports whether it works.
	OK bool `json:"ok"`
	// Detail says what was found, or what to do when it does not work.
	Detail string `json:"detail"`
	// Needed reports whether labs cannot run without it.
	Needed bool `json:"needed"`
}

// Options say what to check beyond what every lab needs.
type Options struct {
	// Docker checks the Docker engine too.
	Docker bool
	// RunDir is netlab's run directory ("" the default).
	RunDir string
}

// nsPrefix names the namespaces the checks make.
const nsPrefix = "nldoctor"

// Check runs every check and returns their findings; ok is false when a
// needed one fails.
func Check(ctx context.Context, o Options) (findings []Finding, ok bool) {
	add := func(check string, needed bool, err error, detail string) {
		f := Finding{Check: check, OK: err == nil, Needed: needed, Detail: detail}
		if err != nil {
			f.Detail = err.Error()
		}
		findings = append(findings, f)
	}
	root := os.Geteuid() == 0
	var rootErr error
	if !root {
		rootErr = errors.New("netlab needs root to make namespaces: run it with sudo")
	}
	add("root", true, rootErr, "running as root")
	if root {
		linuxnet.DeleteOrphanedNS(nsPrefix)
		add("network namespaces, veths and AF_PACKET", true, wire(ctx), "made two namespaces, a veth pair between them and a packet socket in one, and removed them")
		dir := o.RunDir
		if dir == "" {
			dir = labdir.DefaultRunDir
		}
		err := os.MkdirAll(dir, 0o755)
		if err == nil {
			err = labdir.Check(dir)
		}
		add("run directory", true, err, dir+" is root's only")
	}
	if o.Docker {
		out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("no Docker engine answers `docker info` (%v): start it, or use the netns runtime", strings.TrimSpace(string(out)))
		}
		add("docker engine", true, err, "Docker "+strings.TrimSpace(string(out)))
	}
	for _, tool := range []string{"tshark", "ip"} {
		_, err := exec.LookPath(tool)
		if err != nil {
			err = fmt.Errorf("%s is not installed: captures are still written, but not read back by it (apt-get install %s)", tool, map[string]string{"tshark": "tshark", "ip": "iproute2"}[tool])
		}
		add(tool, false, err, tool+" installed")
	}
	ok = true
	for _, f := range findings {
		if f.Needed && !f.OK {
			ok = false
		}
	}
	return findings, ok
}

// wire makes two namespaces joined by a veth, opens a packet socket on
// one end, and removes everything.
func wire(ctx context.Context) (err error) {
	a, b := linuxnet.OwnedNSName(nsPrefix, "a"), linuxnet.OwnedNSName(nsPrefix, "b")
	pa, err := linuxnet.NewNamedNS(a)
	if err != nil {
		return fmt.Errorf("make a network namespace: %w", err)
	}
	defer func() {
		if derr := linuxnet.DeleteNamedNS(a); err == nil && derr != nil {
			err = derr
		}
	}()
	pb, err := linuxnet.NewNamedNS(b)
	if err != nil {
		return fmt.Errorf("make a network namespace: %w", err)
	}
	defer func() {
		if derr := linuxnet.DeleteNamedNS(b); err == nil && derr != nil {
			err = derr
		}
	}()
	if err := linuxnet.CreateVethPair(ctx, "eth1", "eth1", pa, pb, 1500); err != nil {
		return fmt.Errorf("make a veth pair between namespaces: %w", err)
	}
	return linuxnet.InNamespace(pa, func() error {
		ep, err := afpacket.New("eth1", afpacket.Options{})
		if err != nil {
			return fmt.Errorf("open a packet socket (AF_PACKET) in a namespace: %w", err)
		}
		return ep.Close()
	})
}
