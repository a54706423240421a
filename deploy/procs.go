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
)

// procRecord is a file of PIDDir.
type procRecord struct {
	PID int `json:"pid"`
	// Start is the process's start time (field 22 of /proc/PID/stat), so
	// that a PID reused by another process is never killed.
	Start uint64 `json:"start"`
}

// RecordProcess records that process pid belongs to the lab whose directory
// is labDir, under name (a node name, "agent"...; unique in the lab), so
// that Destroy stops it even after a crash of netlab, without an
// AgentStarter. Agents call it right after starting each process they
// start.
func RecordProcess(labDir, name string, pid int) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("record process %d: invalid name %q", pid, name)
	}
	start, err := procStart(pid)
	if err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	dir := filepath.Join(labDir, PIDDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	if err := writeJSON(filepath.Join(dir, name+".json"), procRecord{PID: pid, Start: start}, false); err != nil {
		return fmt.Errorf("record process %d (%s): %w", pid, name, err)
	}
	return nil
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

// stopGrace is how long stopRecordedProcesses waits after SIGTERM before
// SIGKILL.
const stopGrace = 3 * time.Second

// stopRecordedProcesses stops the processes recorded in labDir's PIDDir that
// are still the same processes: SIGTERM, then SIGKILL after stopGrace (or
// at once when ctx is done). It removes the records.
func stopRecordedProcesses(ctx context.Context, labDir string) error {
	dir := filepath.Join(labDir, PIDDir)
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop lab processes: %w", err)
	}
	var live []procRecord
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		var pr procRecord
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil || json.Unmarshal(data, &pr) != nil || pr.PID <= 0 {
			continue
		}
		if alive(pr) {
			unix.Kill(pr.PID, unix.SIGTERM)
			live = append(live, pr)
		}
	}
	deadline := time.Now().Add(stopGrace)
	for len(live) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		live = slices.DeleteFunc(live, func(pr procRecord) bool { return !alive(pr) })
	}
	var errs []error
	for _, pr := range live {
		if err := unix.Kill(pr.PID, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("kill process %d: %w", pr.PID, err))
		}
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("stop lab processes: %w", err))
		}
	}
	return errors.Join(errs...)
}

// alive reports whether the recorded process still runs (a zombie counts
// as gone).
func alive(pr procRecord) bool {
	start, err := procStart(pr.PID)
	if err != nil || start != pr.Start {
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
