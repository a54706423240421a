// Package docker is the Docker runtime: each lab node is a container of the
// local Docker engine, with network mode none (a network namespace holding
// only lo), the capabilities NET_RAW and NET_ADMIN and no others, never
// privileged. Its network namespace is linked under /run/netns, as
// containerlab does, so `ip netns exec <container> ...` and tcpdump work.
//
// Nothing is pulled from a registry: netlab's node image is built locally
// through the Docker API from the static netlab binary (FROM scratch), tagged
// with the binary's hash, and rebuilt only when the binary changes (see
// Runtime.EnsureImage).
//
// The client negotiates the API version with the engine, so engines as old
// as Docker 20.10 (API 1.41) work.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"github.com/netlab/netlab/runtime"
)

// DefaultImageRepo is the repository of netlab's node image: it is tagged
// DefaultImageRepo:<binary hash> and DefaultImageRepo:latest.
const DefaultImageRepo = "netlab/node"

// DefaultStopTimeout is how long Delete waits for a node's processes to
// exit after SIGTERM before the engine kills them: none, as containerlab's
// destroy does. A lab's processes have nothing to save (the agent that
// records runs outside the containers), and many images' first process
// (a shell) ignores SIGTERM, so a grace period would only be waited out.
const DefaultStopTimeout = 0

// pingTimeout bounds New's first contact with the engine, so an engine that
// does not answer is reported rather than waited for.
const pingTimeout = 15 * time.Second

// Options configure a Runtime. The zero value is ready to use.
type Options struct {
	// Host is the engine's address (unix:///var/run/docker.sock,
	// tcp://host:2376). Empty means the environment's DOCKER_HOST, or the
	// local default socket.
	Host string
	// Binary is the static netlab binary copied into the node image. Empty
	// means the running executable (os.Executable), which is static because
	// netlab is built with CGO off.
	Binary string
	// ImageRepo is the repository of the node image; empty means
	// DefaultImageRepo. Tests use a repository of their own.
	ImageRepo string
	// StopTimeout is how long Delete lets a node's processes exit after
	// SIGTERM before they are killed; 0 means DefaultStopTimeout (killed
	// at once). It is rounded up to whole seconds, the engine's unit.
	StopTimeout time.Duration
}

// Runtime is the Docker runtime. It implements runtime.Runtime and is safe
// for concurrent use.
type Runtime struct {
	cli         *client.Client
	host        string
	binary      string
	imageRepo   string
	stopTimeout int // seconds

	mu  sync.Mutex // guards img
	img *Image     // the node image once ensured; nil before
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the Docker engine and checks that it answers,
// negotiating the API version. If the engine cannot be reached the error is
// an *EngineUnreachableError.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: client for %s: %w", describeHost(opts.Host), err)
	}
	r := &Runtime{
		cli:         cli,
		host:        cli.DaemonHost(),
		binary:      opts.Binary,
		imageRepo:   opts.ImageRepo,
		stopTimeout: stopSeconds(opts.StopTimeout),
	}
	if r.imageRepo == "" {
		r.imageRepo = DefaultImageRepo
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		cli.Close()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &EngineUnreachableError{Host: r.host, Err: err}
		}
		return nil, r.engineErr(err, "docker runtime: ping engine")
	}
	cli.NegotiateAPIVersionPing(ping)
	return r, nil
}

// stopSeconds converts a stop timeout to the engine's whole seconds,
// rounding up; 0 means DefaultStopTimeout.
func stopSeconds(d time.Duration) int {
	if d <= 0 {
		d = DefaultStopTimeout
	}
	return int((d + time.Second - 1) / time.Second)
}

func describeHost(h string) string {
	if h == "" {
		return "the default Docker host"
	}
	return h
}

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Host returns the address of the engine the runtime talks to.
func (r *Runtime) Host() string { return r.host }

// APIVersion returns the Docker API version negotiated with the engine.
func (r *Runtime) APIVersion() string { return r.cli.ClientVersion() }

// Close releases the connection to the engine. Nodes are not affected.
func (r *Runtime) Close() error {
	if err := r.cli.Close(); err != nil {
		return fmt.Errorf("docker runtime: close client: %w", err)
	}
	return nil
}

// EngineUnreachableError reports that the Docker engine cannot be reached,
// or refuses the caller. Its message is one sentence a user can act on; the
// cause is kept for errors.Is/As.
type EngineUnreachableError struct {
	Host string // the engine's address
	Err  error  // the cause
}

// Refused reports whether the engine is there but refused the caller (no
// permission on its socket), rather than not answering.
func (e *EngineUnreachableError) Refused() bool {
	return errors.Is(e.Err, fs.ErrPermission) || errors.Is(e.Err, syscall.EACCES)
}

// Error returns the sentence shown to the user.
func (e *EngineUnreachableError) Error() string {
	if e.Refused() {
		return fmt.Sprintf("Docker engine at %s refused access: run as root or as a member of the docker group, or use --runtime netns", e.Host)
	}
	return fmt.Sprintf("Docker engine not reachable at %s: start it or use --runtime netns", e.Host)
}

// Unwrap returns the cause.
func (e *EngineUnreachableError) Unwrap() error { return e.Err }

// engineErr turns an error of the client into the error returned to the
// caller: an *EngineUnreachableError when the engine cannot be reached (a
// message that needs no context), otherwise err prefixed with what.
func (r *Runtime) engineErr(err error, what string) error {
	if client.IsErrConnectionFailed(err) {
		return &EngineUnreachableError{Host: r.host, Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}
