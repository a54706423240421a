package linuxnettest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
)

// TestNewNSSweepsDeadProcesses leaves a namespace named as if by a dead
// process and checks that the next NewNS deletes it.
func TestNewNSSweepsDeadProcesses(t *testing.T) {
	RequireRoot(t)
	dead := 0
	for pid := 4194000; pid > 4000000; pid-- {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			dead = pid
			break
		}
	}
	if dead == 0 {
		t.Fatal("no free PID found")
	}
	stale := fmt.Sprintf("%s%d-%s", nsPrefix, dead, UniqueName(t, "")[len(Prefix):])
	if _, err := linuxnet.NewNamedNS(stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, stale)); err == nil {
			linuxnet.DeleteNamedNS(stale)
		}
	})
	// One of ours, alive: must stay.
	mine := NewNS(t)
	if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, stale)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale namespace %s still there after NewNS (stat: %v)", stale, err)
	}
	NewNS(t)
	if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, mine)); err != nil {
		t.Errorf("NewNS swept this process's namespace %s: %v", mine, err)
	}
}
