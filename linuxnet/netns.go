// Package linuxnet does the Linux interface plumbing netlab needs, from Go
// (netlink, ioctl and sysctl files; no external commands): named network
// namespaces, running code inside a namespace, veth pairs, offloads, and
// handing an interface over to a userspace stack.
//
// Functions that act on an interface by name act in the network namespace of
// the calling OS thread. Call them inside InNamespace to act on another one.
package linuxnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NetnsRunDir is where named network namespaces live, as for `ip netns`.
const NetnsRunDir = "/run/netns"

// threadNetns is the network namespace of the calling thread.
const threadNetns = "/proc/thread-self/ns/net"

// NSPath returns the path of a network namespace given by name or by path. A
// value containing a '/' is a path (/proc/PID/ns/net, /run/netns/x); anything
// else names a namespace under NetnsRunDir.
func NSPath(nameOrPath string) (string, error) {
	if strings.ContainsRune(nameOrPath, '/') {
		return nameOrPath, nil
	}
	if err := validNSName(nameOrPath); err != nil {
		return "", err
	}
	return filepath.Join(NetnsRunDir, nameOrPath), nil
}

func validNSName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') || len(name) > 255 {
		return fmt.Errorf("invalid network namespace name %q", name)
	}
	return nil
}

// InNamespace runs fn on an OS thread that is inside the network namespace ns
// (a name under NetnsRunDir or a path, see NSPath) and returns fn's error.
//
// fn runs on its own goroutine, locked to its thread: the thread saves its
// namespace, enters ns, runs fn and goes back. If going back fails, the
// thread is never unlocked, so the runtime discards it instead of reusing it
// in the wrong namespace. Goroutines that fn starts do not run in ns, but
// sockets that fn opens stay in ns whatever thread uses them later. A panic
// in fn is re-raised in the caller after the thread went back.
func InNamespace(ns string, fn func() error) error {
	path, err := NSPath(ns)
	if err != nil {
		return err
	}
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	enter := func() error {
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", path, err)
		}
		return nil
	}
	return onNetnsThread(enter, fn)
}

// onNetnsThread runs enter and then fn on a fresh goroutine locked to its
// thread, and puts the thread back in its original network namespace
// afterwards (see InNamespace). enter must leave the namespace unchanged when
// it fails.
func onNetnsThread(enter, fn func() error) error {
	type result struct {
		err      error
		panicked bool
		panicVal any
		exited   bool // fn called runtime.Goexit
	}
	done := make(chan result, 1)
	go func() {
		res := result{exited: true}
		defer func() { done <- res }()
		runtime.LockOSThread()
		orig, err := unix.Open(threadNetns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			res = result{err: fmt.Errorf("open current network namespace: %w", err)}
			return
		}
		if err := enter(); err != nil {
			unix.Close(orig)
			runtime.UnlockOSThread()
			res = result{err: err}
			return
		}
		defer func() {
			if r := recover(); r != nil {
				res = result{panicked: true, panicVal: r}
			}
			err := unix.Setns(orig, unix.CLONE_NEWNET)
			unix.Close(orig)
			if err != nil {
				// Stay locked: the goroutine ends and the runtime kills
				// the thread rather than reuse it in the wrong namespace.
				res.err = errors.Join(res.err, fmt.Errorf("return to original network namespace: %w", err))
				return
			}
			runtime.UnlockOSThread()
		}()
		res.err = fn()
		res.exited = false
	}()
	res := <-done
	switch {
	case res.panicked:
		panic(res.panicVal)
	case res.exited:
		runtime.Goexit()
	}
	return res.err
}

// NewNamedNS creates a persistent network namespace called name, visible to
// `ip netns`, and returns its path. As iproute2 does, it makes NetnsRunDir a
// shared mount point and bind-mounts the new namespace on
// NetnsRunDir/name. The caller's namespace is unchanged. It fails if the
// name is taken.
func NewNamedNS(name string) (path string, err error) {
	enter := func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("create network namespace %s: unshare: %w", name, err)
		}
		return nil
	}
	return mountNS(name, "create", enter)
}

// NameNS gives the caller's network namespace (the process's, as a new
// thread has it) the name name under NetnsRunDir, as `ip netns attach`
// does, so that it can be entered by path from any thread; it returns the
// path. DeleteNamedNS removes the name, not the namespace.
func NameNS(name string) (path string, err error) {
	return mountNS(name, "name", func() error { return nil })
}

// mountNS bind-mounts the network namespace a fresh thread is in once
// enter has run on it on NetnsRunDir/name, which it makes (it fails if
// the name is taken); doing says what for, in errors.
func mountNS(name, doing string, enter func() error) (path string, err error) {
	if err := validNSName(name); err != nil {
		return "", err
	}
	if err := prepareNetnsRunDir(); err != nil {
		return "", err
	}
	path = filepath.Join(NetnsRunDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", fmt.Errorf("%s network namespace %s: %w", doing, name, err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	mount := func() error {
		if err := unix.Mount(threadNetns, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("%s network namespace %s: bind mount on %s: %w", doing, name, path, err)
		}
		return nil
	}
	if err := onNetnsThread(enter, mount); err != nil {
		return "", err
	}
	return path, nil
}

// prepareNetnsRunDir creates NetnsRunDir and makes it a shared mount point,
// so namespaces mounted there show in mount namespaces that share it (the
// same steps as iproute2's netns_add).
func prepareNetnsRunDir() error {
	if err := os.MkdirAll(NetnsRunDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", NetnsRunDir, err)
	}
	madeMount := false
	for {
		err := unix.Mount("", NetnsRunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || madeMount {
			return fmt.Errorf("make %s a shared mount: %w", NetnsRunDir, err)
		}
		// Not a mount point yet: bind it onto itself, then retry.
		if err := unix.Mount(NetnsRunDir, NetnsRunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind mount %s on itself: %w", NetnsRunDir, err)
		}
		madeMount = true
	}
}

// DeleteNamedNS removes the named network namespace created by NewNamedNS or
// `ip netns add`: it unmounts and removes NetnsRunDir/name. The kernel frees
// the namespace, and the interfaces in it, once nothing else holds it (a
// process inside, an open socket or file descriptor); this happens
// asynchronously.
func DeleteNamedNS(name string) error {
	if err := validNSName(name); err != nil {
		return err
	}
	path := filepath.Join(NetnsRunDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		// EINVAL: not a mount point (a half-created namespace); still remove the file.
		return fmt.Errorf("delete network namespace %s: unmount: %w", name, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("delete network namespace %s: %w", name, err)
	}
	return nil
}

// OwnedNSName returns a namespace name that records its creator: prefix, the
// calling process's PID, '-' and suffix. DeleteOrphanedNS removes such
// namespaces once their creator is gone.
func OwnedNSName(prefix, suffix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "-" + suffix
}

// DeleteOrphanedNS deletes the namespaces named by OwnedNSName with this
// prefix whose creating process no longer exists: what a test or benchmark
// killed before it could clean up left behind. It returns the names it
// deleted; a namespace it could not delete is reported in the error and the
// others are still deleted.
func DeleteOrphanedNS(prefix string) ([]string, error) {
	entries, err := os.ReadDir(NetnsRunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	var deleted []string
	var errs []error
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
			continue // alive (or not ours to judge)
		}
		if err := DeleteNamedNS(e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, e.Name())
	}
	return deleted, errors.Join(errs...)
}
