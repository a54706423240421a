package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/runtime/docker"
	"github.com/netlab/netlab/runtime/netns"
)

// runtimes are the ways nodes can be made, by name. Built here, in the
// command, rather than registered from init().
func newRuntime(ctx context.Context, name string) (runtime.Runtime, error) {
	switch name {
	case "netns", "":
		return netns.New(netns.Options{}), nil
	case "docker":
		return docker.New(ctx, docker.Options{})
	}
	return nil, fmt.Errorf("unknown runtime %q: want netns or docker", name)
}

// runningLab returns the registry entry of the lab deployed from file, nil
// if there is none; with file empty, the only running lab's (an error if
// there is none, or several).
func runningLab(file string) (*deploy.RunningLab, error) {
	labs, err := deploy.Running("")
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
