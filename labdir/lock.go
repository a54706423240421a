package labdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is wrapped by Lock's error when another process holds the
// lab's lock and the caller does not wait.
var ErrLocked = errors.New("lab is locked")

// lockPoll is how often Lock tries again while it waits.
const lockPoll = 25 * time.Millisecond

// Lock is a held lab lock (see Lab.Lock).
type Lock struct {
	f    *os.File
	path string
}

// Lock takes the lab's lock, which serialises deploy, reconfigure and
// destroy of one lab (different labs do not wait for each other). The
// kernel releases it when the holder exits, also by kill -9. what says
// what the caller is about to do ("deploy"); the lock file records it
// with the caller's pid for whoever waits. If another process holds the
// lock, Lock fails at once with an error wrapping ErrLocked unless wait,
// in which case it calls waiting (if not nil) once with the holder's
// description and tries again until it gets the lock or ctx ends.
func (l Lab) Lock(ctx context.Context, what string, wait bool, waiting func(holder string)) (*Lock, error) {
	dir := filepath.Dir(l.LockFile())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock lab %s: %w", l.Name, err)
	}
	if err := Check(dir); err != nil {
		return nil, fmt.Errorf("lock lab %s: %w", l.Name, err)
	}
	told := false
	for {
		f, err := os.OpenFile(l.LockFile(), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock lab %s: %w", l.Name, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			if !sameFile(f, l.LockFile()) {
				// The holder we waited for removed it: lock the new one.
				f.Close()
				continue
			}
			// Who holds it, for those who wait.
			f.Truncate(0)
			fmt.Fprintf(f, "%s by pid %d since %s", what, os.Getpid(), time.Now().Format(time.TimeOnly))
			return &Lock{f: f, path: l.LockFile()}, nil
		}
		holder := lockHolder(f)
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("lock lab %s: %w", l.Name, err)
		}
		if !wait {
			return nil, fmt.Errorf("%w: lab %s is busy (%s): try again when it is done, or leave out --no-wait to wait for it", ErrLocked, l.Name, holder)
		}
		if !told && waiting != nil {
			waiting(holder)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock lab %s (%s): %w", l.Name, holder, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// sameFile reports whether the open file f is still the file at path.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// lockHolder reads what the holder of the lock wrote.
func lockHolder(f *os.File) string {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 256))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "another netlab command holds it"
	}
	return strings.TrimSpace(string(b))
}

// Unlock releases the lock.
func (lk *Lock) Unlock() error {
	if lk == nil || lk.f == nil {
		return nil
	}
	// Removed while held, so that nobody locks it after us: a waiter
	// that had it open finds it removed and opens the next one.
	os.Remove(lk.path)
	err := lk.f.Close() // closing the only descriptor releases the flock
	lk.f = nil
	return err
}
