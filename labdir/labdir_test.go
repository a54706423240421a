package labdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lockHolderEnv makes the test binary a process that takes a lab's lock
// (run dir and lab name in the variable) and waits to be killed.
const lockHolderEnv = "LABDIR_TEST_HOLD_LOCK"

func TestMain(m *testing.M) {
	if v := os.Getenv(lockHolderEnv); v != "" {
		runDir, name, _ := strings.Cut(v, "|")
		l := Lab{Name: name, RunDir: runDir}
		if _, err := l.Lock(context.Background(), "hold for a test", false, nil); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		select {}
	}
	os.Exit(m.Run())
}

func TestPathsAreShort(t *testing.T) {
	name := strings.Repeat("a", 64)
	l := New("", name, "/home/someone/a/very/long/path/to/the/topology/file/"+strings.Repeat("x", 100)+".yml")
	for _, p := range []string{l.State(AgentSocketName)} {
		if len(p) > 60 {
			t.Errorf("socket path %s is %d bytes, want a short one whatever the lab's name", p, len(p))
		}
	}
	if l.StateDir() == New("", name+"b", "/x.yml").StateDir() {
		t.Errorf("two labs share a state directory")
	}
	if got := New("", "lab1", "/a/b/t.yml").Dir; got != "/a/b/netlab-lab1" {
		t.Errorf("Dir = %s, want /a/b/netlab-lab1", got)
	}
}

func TestCheck(t *testing.T) {
	base := t.TempDir()
	ok := filepath.Join(base, "ok")
	if err := Create(ok); err != nil {
		t.Fatalf("Create(new) = %v", err)
	}
	if err := Create(ok); err != nil {
		t.Fatalf("Create(existing, ours) = %v", err)
	}
	target := filepath.Join(base, "target")
	os.Mkdir(target, 0o755)
	link := filepath.Join(base, "link")
	os.Symlink(target, link)
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o777)
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"symlink", link, "symbolic link"},
		{"writable by others", open, "written by group or others"},
		{"not a directory", file, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Create(tc.dir)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create(%s) = %v, want ErrUnsafe saying %q", tc.dir, err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(target, RunsDir)); err == nil {
		t.Errorf("something was written through the symlink")
	}
	t.Run("owned by someone else", func(t *testing.T) {
		fi, _ := os.Lstat(ok)
		if err := checkInfo(ok, fi, os.Geteuid()+1); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "belongs to uid") {
			t.Fatalf("checkInfo(other uid) = %v, want ErrUnsafe", err)
		}
		if os.Geteuid() != 0 {
			return
		}
		other := filepath.Join(base, "other")
		os.Mkdir(other, 0o755)
		if err := os.Chown(other, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if err := Create(other); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Create(dir of uid 12345) = %v, want ErrUnsafe", err)
		}
	})
}

func TestRuns(t *testing.T) {
	base := t.TempDir()
	l := New(filepath.Join(base, "run"), "lab1", filepath.Join(base, "t.yml"))
	t0 := time.Date(2026, 12, 4, 18, 50, 12, 345e6, time.UTC)
	var ids []string
	for i := range 3 {
		// Two runs in the same millisecond get different ids, in order.
		r, err := l.StartRun(RunInfo{Lab: "lab1", Started: t0.Add(time.Duration(i/2) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.Trace("h1"), make([]byte, 1000*(i+1)), 0o644); err != nil {
			t.Fatalf("trace folder of run %s: %v", r.ID, err)
		}
		ids = append(ids, r.ID)
	}
	want := []string{"20261204-185012.345", "20261204-185012.346", "20261204-185013.345"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("run ids = %v, want %v", ids, want)
	}
	if cur := l.CurrentRun(); cur != ids[2] {
		t.Errorf("CurrentRun = %q, want %q", cur, ids[2])
	}
	if b, err := os.ReadFile(filepath.Join(l.Dir, CurrentLink, TracesDir, "h1.jsonl")); err != nil || len(b) != 3000 {
		t.Errorf("current/traces/h1.jsonl: %d bytes, %v; want the newest run's 3000", len(b), err)
	}
	runs, err := l.Runs()
	if err != nil || len(runs) != 3 {
		t.Fatalf("Runs = %v, %v", runs, err)
	}
	if runs[1].Bytes < 2000 || runs[1].Started.IsZero() || runs[1].Current || !runs[2].Current {
		t.Errorf("Runs()[1] = %+v", runs[1])
	}
	for _, tc := range []struct{ spec, want, err string }{
		{"", ids[2], ""},
		{"latest", ids[2], ""},
		{ids[0], ids[0], ""},
		{"20261204-185013", ids[2], ""},
		{"20261204-185012", "", "matches 2 runs"},
		{"1999", "", "has no run"},
	} {
		r, err := l.FindRun(tc.spec)
		if tc.err != "" {
			if !errors.Is(err, ErrNoRun) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FindRun(%q) = %v, want an error saying %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || r.ID != tc.want {
			t.Errorf("FindRun(%q) = %q, %v; want %q", tc.spec, r.ID, err, tc.want)
		}
	}
	if err := l.EndRun(ids[0], t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if runs, _ := l.Runs(); !runs[0].Ended.Equal(t0.Add(time.Minute)) {
		t.Errorf("EndRun: Ended = %v", runs[0].Ended)
	}

	// The cap on kept runs: the current run never goes, the oldest first.
	removed, err := l.Prune(2500, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].ID != ids[0] {
		t.Fatalf("Prune(2500) removed %v, want the oldest run only", removed)
	}
	removed, _ = l.Prune(0, ids[2])
	runs, _ = l.Runs()
	if len(removed) != 1 || len(runs) != 1 || runs[0].ID != ids[2] {
		t.Fatalf("Prune(0): removed %v, left %v; want only the current run left", removed, runs)
	}
}

func TestLock(t *testing.T) {
	l := Lab{Name: "lab1", RunDir: t.TempDir()}
	ctx := context.Background()
	lk, err := l.Lock(ctx, "deploy", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Lock(ctx, "destroy", false, nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "deploy by pid") {
		t.Fatalf("second Lock without waiting = %v, want ErrLocked naming the holder", err)
	}
	other := Lab{Name: "lab2", RunDir: l.RunDir}
	if lk2, err := other.Lock(ctx, "deploy", false, nil); err != nil {
		t.Fatalf("another lab's lock = %v; labs must not wait for each other", err)
	} else {
		lk2.Unlock()
	}
	got := make(chan error, 1)
	var holder string
	go func() {
		lk3, err := l.Lock(ctx, "destroy", true, func(h string) { holder = h })
		if err == nil {
			lk3.Unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a waiting Lock returned %v while the lock was held", err)
	case <-time.After(100 * time.Millisecond):
	}
	lk.Unlock()
	select {
	case err := <-got:
		if err != nil || !strings.Contains(holder, "deploy") {
			t.Fatalf("waiting Lock = %v (told %q), want the lock once released", err, holder)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting Lock did not get the released lock")
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	lk, _ = l.Lock(ctx, "deploy", false, nil)
	if _, err := l.Lock(cctx, "destroy", true, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with an ending context = %v", err)
	}
	lk.Unlock()
}

// TestLockReleasedByKill: a holder killed with -9 leaves the lock free.
func TestLockReleasedByKill(t *testing.T) {
	l := Lab{Name: "lab1", RunDir: t.TempDir()}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+l.RunDir+"|"+l.Name)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "locked") {
		t.Fatalf("holder said %q", buf[:n])
	}
	if _, err := l.Lock(context.Background(), "deploy", false, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock while another process holds it = %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	lk, err := l.Lock(context.Background(), "deploy", false, nil)
	if err != nil {
		t.Fatalf("Lock after the holder was killed = %v", err)
	}
	lk.Unlock()
}

// TestLockExcludes: many lockers taking turns, never two at once, and the
// lock file gone once the last one is done.
func TestLockExcludes(t *testing.T) {
	l := Lab{Name: "lab1", RunDir: t.TempDir()}
	var inside atomic.Int32
	var both atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				lk, err := l.Lock(context.Background(), "test", true, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) > 1 {
					both.Store(true)
				}
				inside.Add(-1)
				lk.Unlock()
			}
		}()
	}
	wg.Wait()
	if both.Load() {
		t.Errorf("two lockers held the lock at once")
	}
	if _, err := os.Stat(l.LockFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after the last Unlock (stat: %v)", err)
	}
}
