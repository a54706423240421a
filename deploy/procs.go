package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/labdir"
)

// procRecord is a file of the state directory's labdir.PIDDir: a process
// that belongs to the lab, known by more than its number.
type procRecord struct {
	PID int `json:"pid"`
	// Start is the process's start time (field 22 of /proc/PID/stat), so
	// that a PID reused by another process is never signalled.
	Start uint64 `json:"start"`
	// Exe is the process's executable when it was recorded.
	Exe string `json:"exe"`
}

// recordProcess records in stateDir that process pid belongs to the lab,
// under name (a node name, "agent"...; unique in the lab), so that Destroy
// stops it even after a crash of netlab. The state directory is root's
// only: nobody else can point a record at another process.
func recordProcess(stateDir, name string, pid int) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("record process %d: invalid name %q", pid, name)
	}
	pr, err := identify(pid)
	if err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	dir := filepath.Join(stateDir, labdir.PIDDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	if err := writeJSON(filepath.Join(dir, name+".json"), pr, false); err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	return nil
}

// identify returns what identifies process pid now.
func identify(pid int) (procRecord, error) {
	start, err := procStart(pid)
	if err != nil {
		return procRecord{}, err
	}
	exe, err := procExe(pid)
	if err != nil {
		return procRecord{}, err
	}
	return procRecord{PID: pid, Start: start, Exe: exe}, nil
}

// procExe returns the executable of process pid, without the " (deleted)"
// the kernel adds once the file was replaced (a rebuilt binary).
func procExe(pid int) (string, error) {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(exe, " (deleted)"), nil
}

// readRecord reads the process record called name in stateDir; ok is
// false if there is none.
func readRecord(stateDir, name string) (pr procRecord, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(stateDir, labdir.PIDDir, name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return procRecord{}, false, nil
	}
	if err != nil {
		return procRecord{}, false, err
	}
	if err := json.Unmarshal(data, &pr); err != nil || pr.PID <= 0 {
		return procRecord{}, false, fmt.Errorf("process record %s: bad content", name)
	}
	return pr, true, nil
}

// procStart returns the start time of process pid, in clock ticks since
// boot (field 22 of /proc/PID/stat).
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may hold anything.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	const startField = 22 - 3 // fields after the command start at field 3
	if len(f) <= startField {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[startField], 10, 64)
}

// stopGrace is how long stopProcesses waits after SIGTERM before SIGKILL.
const stopGrace = 3 * time.Second

// stopRecordedProcesses stops the processes recorded in stateDir's PIDDir
// that are still the same processes (see stopProcesses), and removes the
// records.
func stopRecordedProcesses(ctx context.Context, stateDir string) error {
	dir := filepath.Join(stateDir, labdir.PIDDir)
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop lab processes: %w", err)
	}
	var prs []procRecord
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok {
			continue
		}
		if pr, ok, err := readRecord(stateDir, name); err == nil && ok {
			prs = append(prs, pr)
		}
	}
	if err := stopProcesses(ctx, prs); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("stop lab processes: %w", err)
	}
	return nil
}

// stopProcesses stops those of prs that are still the processes recorded
// (same start time and executable): SIGTERM, then SIGKILL after stopGrace
// (or at once when ctx is done).
func stopProcesses(ctx context.Context, prs []procRecord) error {
	var live []procRecord
	for _, pr := range prs {
		if pr.alive() {
			unix.Kill(pr.PID, unix.SIGTERM)
			live = append(live, pr)
		}
	}
	deadline := time.Now().Add(stopGrace)
	for len(live) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		live = slices.DeleteFunc(live, func(pr procRecord) bool { return !pr.alive() })
	}
	var errs []error
	for _, pr := range live {
		if err := unix.Kill(pr.PID, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill process %d: %w", pr.PID, err))
		}
	}
	return errors.Join(errs...)
}

// alive reports whether the recorded process still runs and is the one
// recorded: same start time, same executable (a zombie counts as gone).
func (pr procRecord) alive() bool {
	now, err := identify(pr.PID)
	if err != nil || now.Start != pr.Start || (pr.Exe != "" && now.Exe != pr.Exe) {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pr.PID) + "/stat")
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(data), ')'); i >= 0 && i+2 < len(data) && data[i+2] == 'Z' {
		return false
	}
	return true
}
