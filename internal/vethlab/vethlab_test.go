package vethlab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/linuxnet"
)

// TestNewDeletesLabsOfDeadProcesses leaves a namespace named as if by a
// killed benchmark and checks that the next New with the same prefix deletes
// it, and that Close removes the new lab's namespaces.
func TestNewDeletesLabsOfDeadProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs as root)")
	}
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
	prefix := fmt.Sprintf("nlvt%d", os.Getpid()%100000) + "x"
	stale := fmt.Sprintf("%s%d-abcdefa", prefix, dead)
	if _, err := linuxnet.NewNamedNS(stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, stale)); err == nil {
			linuxnet.DeleteNamedNS(stale)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := New(ctx, Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			l.Close()
		}
	})
	if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, stale)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("namespace %s of a dead process still there after New (stat: %v)", stale, err)
	}
	for _, ns := range l.NS {
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, ns)); err != nil {
			t.Errorf("lab namespace %s: %v", ns, err)
		}
	}
	l.Close()
	closed = true
	for _, ns := range l.NS {
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, ns)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("lab namespace %s still there after Close (stat: %v)", ns, err)
		}
	}
}
