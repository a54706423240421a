package main

import (
	"archive/zip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exitCode runs netlab and returns its exit status with its output.
func exitCode(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	out, errs, err := netlabErr(t, args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out, errs
	case errors.As(err, &ee):
		return ee.ExitCode(), out, errs
	}
	t.Fatal(err)
	return 0, "", ""
}

// TestLabVerbs: a student's path through a graded lab, and the exit
// statuses and files a grader reads.
func TestLabVerbs(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if out := netlab(t, "lab", "list"); !strings.Contains(out, "01-socket") || !strings.Contains(out, "02-segments") {
		t.Fatalf("lab list:\n%s", out)
	}
	page := netlab(t, "lab", "show", "socket", "--student", "alice")
	port := regexp.MustCompile(`port (\d+)`).FindStringSubmatch(page)
	if port == nil || strings.Contains(page, "${") {
		t.Fatalf("lab show: the page has no port, or unreplaced values:\n%s", page)
	}

	// The student explores their variant.
	out := netlab(t, "lab", "start", "socket", "--student", "alice", "--directory", dir)
	topo := regexp.MustCompile(`-t (\S+\.yml)`).FindStringSubmatch(out)
	if topo == nil {
		t.Fatalf("lab start said:\n%s", out)
	}
	name := strings.TrimSuffix(filepath.Base(topo[1]), ".yml")
	cleanupLab(t, topo[1], name)
	netlab(t, "sock", "h2", "socket", "-t", topo[1])
	netlab(t, "sock", "h2", "bind", "3", ":"+port[1], "-t", topo[1])
	netlab(t, "destroy", "-t", topo[1])

	// An answers lab: start also runs its scenario, whose run the student
	// reads.
	out = netlab(t, "lab", "start", "rtt", "--student", "alice", "--directory", dir)
	topo = regexp.MustCompile(`-t (\S+\.yml)`).FindStringSubmatch(out)
	if topo == nil || !strings.Contains(out, "scenario ran") {
		t.Fatalf("lab start rtt said:\n%s", out)
	}
	cleanupLab(t, topo[1], strings.TrimSuffix(filepath.Base(topo[1]), ".yml"))
	if tr := netlab(t, "trace", "h1", "--replay", "-t", topo[1]); !strings.Contains(tr, "[S.]") || !strings.Contains(tr, "len 1448") {
		t.Errorf("the trace of the scenario lab start ran has no handshake or data:\n%.2000s", tr)
	}
	netlab(t, "destroy", "-t", topo[1])

	// Their script, right and wrong: exit 0, then 1; files for Gradescope
	// and CI.
	script := filepath.Join(dir, "mine.sock")
	ref, _ := os.ReadFile("../../labs/01-socket/solutions/reference.sock")
	os.WriteFile(script, ref, 0o644)
	res := filepath.Join(dir, "out")
	if code, out, errs := exitCode(t, "lab", "check", "socket", "--student", "alice", "--script", script, "-o", res); code != 0 {
		t.Fatalf("lab check of the reference: exit %d\n%s%s", code, out, errs)
	}
	var gs struct {
		Score float64 `json:"score"`
		Tests []struct {
			Status string `json:"status"`
		} `json:"tests"`
	}
	data, err := os.ReadFile(filepath.Join(res, "results.json"))
	if err != nil || json.Unmarshal(data, &gs) != nil || gs.Score != 8 || len(gs.Tests) != 4 {
		t.Errorf("results.json: %v %+v\n%s", err, gs, data)
	}
	var ju struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	data, err = os.ReadFile(filepath.Join(res, "junit.xml"))
	if err != nil || xml.Unmarshal(data, &ju) != nil || len(ju.Suites) != 1 || ju.Suites[0].Tests != 4 || ju.Suites[0].Failures != 0 {
		t.Errorf("junit.xml: %v %+v\n%s", err, ju, data)
	}
	if _, err := os.Stat(filepath.Join(res, "feedback.md")); err != nil {
		t.Error(err)
	}
	os.WriteFile(script, []byte("s = h2 socket\nc = h1 socket\n-h1 connect $c 10.0.0.1 "+port[1]+"\n"), 0o644)
	if code, out, _ := exitCode(t, "lab", "check", "socket", "--student", "alice", "--submission", script); code != 1 || !strings.Contains(out, "score 0/8") {
		t.Errorf("lab check of a wrong script: exit %d\n%s", code, out)
	}
	os.WriteFile(script, []byte("h1 sockit\n"), 0o644)
	if code, out, _ := exitCode(t, "lab", "check", "socket", "--student", "alice", "--submission", script); code != 2 || !strings.Contains(out, `unknown call "sockit"`) {
		t.Errorf("lab check of a script that does not parse: exit %d\n%s; want 2, saying why", code, out)
	}
	if code, _, errs := exitCode(t, "lab", "check", "socket", "--student", "alice", "--submission", filepath.Join(dir, "none.sock")); code != 2 {
		t.Errorf("lab check without a submission: exit %d\n%s", code, errs)
	}
	if code, _, errs := exitCode(t, "lab", "check", "nosuchlab"); code != 2 || !strings.Contains(errs, "no such lab") {
		t.Errorf("lab check of no lab: exit %d\n%s", code, errs)
	}
	if code, _, errs := exitCode(t, "lab", "check", "socket", "--program", script); code != 2 || !strings.Contains(errs, "takes a script (--script FILE)") {
		t.Errorf("lab check --program of a script lab: exit %d\n%s; want 2, saying what it takes", code, errs)
	}

	// A submission folder, as Gradescope gives it: the student from its
	// metadata.
	folder := filepath.Join(dir, "folder")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "mine.sock"), ref, 0o644)
	os.WriteFile(filepath.Join(folder, "submission_metadata.json"), []byte(`{"users": [{"email": "a@example.org", "id": "alice"}]}`), 0o644)
	if code, out, errs := exitCode(t, "lab", "grade", "socket", "--submission", folder); code != 0 || !strings.Contains(out, "student alice") || !strings.Contains(out, "score 8/8") {
		t.Errorf("lab grade of a folder: exit %d\n%s%s", code, out, errs)
	}
	os.WriteFile(filepath.Join(folder, "other.sock"), ref, 0o644)
	if code, _, errs := exitCode(t, "lab", "grade", "socket", "--submission", folder); code != 2 || !strings.Contains(errs, "holds 2 files") {
		t.Errorf("lab grade of a folder of two files: exit %d\n%s", code, errs)
	}

	// A class: three students, graded two at a time, each in a fresh
	// instance of their own variant.
	subs, grades := filepath.Join(dir, "subs"), filepath.Join(dir, "grades")
	os.MkdirAll(subs, 0o755)
	for student, sol := range map[string]string{"ann": "reference", "ben": "no-listen", "cat": "server-closes-first"} {
		data, _ := os.ReadFile("../../labs/01-socket/solutions/" + sol + ".sock")
		os.WriteFile(filepath.Join(subs, student+".sock"), data, 0o644)
	}
	if code, out, errs := exitCode(t, "lab", "grade-all", "socket", "--submissions", subs, "--jobs", "2", "-o", grades); code != 0 {
		t.Fatalf("lab grade-all: exit %d\n%s%s", code, out, errs)
	}
	csv, err := os.ReadFile(filepath.Join(grades, "summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ann,01-socket,1,", "ben,01-socket,1,", "cat,01-socket,1,"} {
		if !strings.Contains(string(csv), want) {
			t.Errorf("summary.csv lacks %q:\n%s", want, csv)
		}
	}
	for _, student := range []string{"ann", "ben", "cat"} {
		if _, err := os.Stat(filepath.Join(grades, student, "results.json")); err != nil {
			t.Error(err)
		}
	}

	// Gradescope: the bundle's run_autograder grades the one submitted
	// file for the submitter's variant and leaves results.json.
	ag := filepath.Join(dir, "autograder")
	bundle := filepath.Join(dir, "autograder.zip")
	netlab(t, "lab", "bundle", "gradescope", "socket", "-o", bundle)
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		dst := filepath.Join(ag, "source", f.Name)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		r, _ := f.Open()
		w, _ := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, f.Mode())
		io.Copy(w, r)
		r.Close()
		w.Close()
	}
	zr.Close()
	os.MkdirAll(filepath.Join(ag, "submission"), 0o755)
	os.WriteFile(filepath.Join(ag, "submission", "mine.sock"), ref, 0o644)
	os.WriteFile(filepath.Join(ag, "submission_metadata.json"), []byte(`{"users": [{"id": 1234, "email": "dana@example.org"}]}`), 0o644)
	run := exec.Command("bash", filepath.Join(ag, "source", "run_autograder"))
	run.Env = append(os.Environ(), "AUTOGRADER="+ag)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("run_autograder: %v\n%s", err, out)
	}
	data, err = os.ReadFile(filepath.Join(ag, "results", "results.json"))
	if err != nil || json.Unmarshal(data, &gs) != nil || gs.Score != 8 {
		t.Errorf("the autograder's results.json: %v %+v\n%s", err, gs, data)
	}

	// The teacher's side: every course lab lints, its solutions scoring
	// what lab.yml says.
	for _, lab := range []string{"socket", "segments"} {
		if code, out, errs := exitCode(t, "lab", "lint", lab); code != 0 {
			t.Errorf("lab lint %s: exit %d\n%s%s", lab, code, out, errs)
		}
	}
}
