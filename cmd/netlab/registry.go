package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/docker"
	"github.com/netlab/netlab/runtime/netns"
)

// runDirEnv names the variable that moves netlab's run directory (the
// registry of running labs, locks, state directories; labdir.DefaultRunDir
// when unset). It must be a directory only root can write.
const runDirEnv = "NETLAB_RUN_DIR"

// runDir is the run directory the caller chose, "" for the default.
func runDir() string { return os.Getenv(runDirEnv) }

// runtimes are the ways nodes can be made, by name. Built here, in the
// command, rather than registered from init().
func newRuntime(ctx context.Context, name string) (runtime.Runtime, error) {
	switch name {
	case "netns", "":
		o := netns.Options{}
		if d := runDir(); d != "" {
			o.StateDir = filepath.Join(d, "netns")
		}
		return netns.New(o), nil
	case "docker":
		return docker.New(ctx, docker.Options{})
	case "kubernetes":
		return nil, errors.New("the kubernetes runtime makes no nodes on this machine: this verb does not work on a lab on a cluster yet")
	}
	return nil, fmt.Errorf("unknown runtime %q: want netns, docker or kubernetes", name)
}

// runningLab returns the registry entry of the lab deployed from file, nil
// if there is none; with file empty, the only running lab's (an error if
// there is none, or several).
func runningLab(file string) (*deploy.RunningLab, error) {
	labs, err := deploy.Running(runDir())
	if err != nil {
		return nil, err
	}
	if file == "" {
		switch len(labs) {
		case 0:
			return nil, errNoLab
		case 1:
			return &labs[0], nil
		}
		names := make([]string, len(labs))
		for i, l := range labs {
			names[i] = l.Lab
		}
		return nil, fmt.Errorf("%d labs are running (%s): say which with -t FILE", len(labs), strings.Join(names, ", "))
	}
	abs, err := absPath(file)
	if err != nil {
		return nil, err
	}
	for i := range labs {
		if labs[i].TopoFile == abs {
			return &labs[i], nil
		}
	}
	return nil, nil
}

// interactive reports whether progress lines belong on stderr: a
// terminal, and not CI.
func interactive() bool {
	if os.Getenv("CI") != "" {
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
