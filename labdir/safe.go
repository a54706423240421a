package labdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUnsafe is wrapped by the errors of Check and Create for a directory
// netlab will not write into as root.
var ErrUnsafe = errors.New("unsafe directory")

// Create makes dir (mode 0755, owned by the caller) if it does not exist,
// and checks it as Check does. Its parent must exist: the lab directory
// sits beside a topology file.
func Create(dir string) error {
	err := os.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		// The umask may have taken more than group and others' write.
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("lab directory: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create lab directory: %w", err)
	}
	return Check(dir)
}

// Check fails, wrapping ErrUnsafe, if dir is a symbolic link, is not a
// directory, belongs to another user than the caller, or can be written by
// its group or others: someone else could then make root write where they
// choose. The error says what to do.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("lab directory: %w", err)
	}
	return checkInfo(dir, fi, os.Geteuid())
}

func checkInfo(dir string, fi fs.FileInfo, uid int) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: lab directory %s is a symbolic link, which netlab does not follow (it could point anywhere): remove it and deploy again", ErrUnsafe, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w: lab directory %s is not a directory: move it away and deploy again", ErrUnsafe, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
		return fmt.Errorf("%w: lab directory %s belongs to uid %d, not to uid %d that runs netlab: remove it (netlab makes its own), or keep the topology file in a directory others cannot write", ErrUnsafe, dir, st.Uid, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: lab directory %s can be written by group or others (mode %04o): `chmod go-w %s`, or remove it and netlab makes its own", ErrUnsafe, dir, perm, dir)
	}
	return nil
}

// MakeStateDir creates the lab's state directory (mode 0700) and the run
// directory above it, and checks that nobody but the caller can write to
// either.
func (l Lab) MakeStateDir() error {
	for _, d := range []string{l.RunDir, filepath.Join(l.RunDir, "l")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("run directory: %w", err)
		}
		if err := Check(d); err != nil {
			return fmt.Errorf("run directory: %w", err)
		}
	}
	if err := os.Mkdir(l.StateDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state directory: %w", err)
	}
	if err := Check(l.StateDir()); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return nil
}

// RemoveStateDir removes the lab's state directory and what is in it.
func (l Lab) RemoveStateDir() error {
	if err := os.RemoveAll(l.StateDir()); err != nil {
		return fmt.Errorf("remove state directory: %w", err)
	}
	return nil
}
