package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExperimentCommands: gen a dumbbell, validate and run an experiment
// whose threshold fails (exit 3, the failure named at its line), re-render
// its report, compare it with itself; a bad file is refused at its line.
func TestExperimentCommands(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	netlab(t, "gen", "dumbbell", "--pairs", "1", "--rate", "10mbit", "--delay", "2ms", "-o", filepath.Join(dir, "db.yml"))
	file := filepath.Join(dir, "x.yml")
	os.WriteFile(file, []byte(`topology: db.yml
matrix: {cc: [reno, cubic]}
duration: 1s
workloads:
  - bulk: {from: snd1, to: rcv1, cc: "${cc}"}
assert:
  - goodput > 50mbit
`), 0o644)
	if out := netlab(t, "experiment", "validate", file); !strings.Contains(out, "2 cells × 1 repetitions = 2 trials") || !strings.Contains(out, "cell 1: cc=cubic") {
		t.Errorf("validate said:\n%s", out)
	}
	res := filepath.Join(dir, "res")
	out, errs, err := netlabErr(t, "experiment", "run", file, "-o", res)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(errs, "x.yml:7:5: cc=reno: goodput > 50mbit not met") {
		t.Fatalf("run: %v\n%s%s", err, out, errs)
	}
	if !strings.Contains(out, "2 trials (0 invalid)") {
		t.Errorf("run said:\n%s", out)
	}
	os.Remove(filepath.Join(res, "report.md"))
	if _, errs, err := netlabErr(t, "experiment", "report", res); !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(errs, "2 thresholds not met") {
		t.Errorf("report: %v %s", err, errs)
	}
	if rep, err := os.ReadFile(filepath.Join(res, "report.md")); err != nil || !strings.Contains(string(rep), "| cc=cubic | 1 |") {
		t.Errorf("report.md not rendered again: %v\n%s", err, rep)
	}
	if cmp := netlab(t, "experiment", "compare", res, res, "--metric", "goodput"); !strings.Contains(cmp, "| cc=reno | goodput |") {
		t.Errorf("compare:\n%s", cmp)
	}
	// A results directory is never mixed with another run's.
	if _, errs, err := netlabErr(t, "experiment", "run", file, "-o", res); err == nil || !strings.Contains(errs, "is not empty") {
		t.Errorf("a second run into the same directory: %v %s", err, errs)
	}
	os.WriteFile(file, []byte("topology: db.yml\nworkloads:\n  - bulk: {from: snd1, to: rcv1, flow: 2}\n"), 0o644)
	if _, errs, err := netlabErr(t, "experiment", "run", file, "-o", filepath.Join(dir, "res2")); err == nil || !strings.Contains(errs, `x.yml:3:34: bulk has no key "flow"`) {
		t.Errorf("bad file: %v %s", err, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "res2")); err == nil {
		t.Error("a refused file made its results directory")
	}
}
