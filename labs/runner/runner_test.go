package runner_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/grade"
	"github.com/netlab/netlab/labs/runner"
	"github.com/netlab/netlab/runtime/netns"
)

// netlabBin is the netlab binary the graded labs' agents run.
var netlabBin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		os.Exit(m.Run()) // the tests skip
	}
	dir, err := os.MkdirTemp("", "netlab-runner-bin")
	if err != nil {
		panic(err)
	}
	netlabBin = filepath.Join(dir, "netlab")
	build := exec.Command("go", "build", "-o", netlabBin, "../../cmd/netlab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build netlab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func options(t *testing.T, student, submission string) runner.Options {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("grading deploys labs: needs root, as CI runs")
	}
	return runner.Options{Runtime: netns.New(netns.Options{StateDir: filepath.Join(t.TempDir(), "netns")}), Exe: netlabBin,
		RunDir: t.TempDir(), Student: student, Submission: submission}
}

// solution writes a lab's solution file where the grader reads it.
func solution(t *testing.T, l *labs.Lab, file string) string {
	t.Helper()
	data, err := l.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCourseSolutions: every course lab's reference scores full marks for
// two students' variants, and every wrong solution loses exactly the
// points lab.yml says, failing exactly the checks it names.
func TestCourseSolutions(t *testing.T) {
	all, err := labs.Course()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		sols := l.Solutions
		if l.Submit == labs.SubmitAnswers {
			sols = append([]labs.Solution{{Score: "full"}}, sols...) // the measured truth
		}
		for _, s := range sols {
			for _, student := range []string{"alice", "bob"} {
				t.Run(l.Name+"/"+filepath.Base(s.File)+"/"+student, func(t *testing.T) {
					o := options(t, student, "")
					if s.File == "" {
						o.AnswerWithTruth = true
					} else {
						o.Submission = solution(t, l, s.File)
						o.Solution = true
					}
					rep, err := runner.Grade(context.Background(), l, o)
					if err != nil {
						t.Fatal(err)
					}
					if p := rep.Problem(); p != "" {
						t.Fatalf("not graded: %s", p)
					}
					wantScore(t, rep, s)
				})
			}
		}
	}
}

// TestSameGradeEveryTime: every course lab's reference solution gets the
// same grade for the same variant, check by check, five times over.
func TestSameGradeEveryTime(t *testing.T) {
	all, err := labs.Course()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		t.Run(l.Name, func(t *testing.T) {
			ref := ""
			for _, s := range l.Solutions {
				if s.Score == "full" {
					ref = s.File
					break
				}
			}
			if ref == "" && l.Submit != labs.SubmitAnswers {
				t.Fatal("the lab has no reference solution")
			}
			var first []grade.Result
			for i := range 5 {
				o := options(t, "carol", "")
				if ref == "" {
					o.AnswerWithTruth = true // an answers lab's reference is the measured truth
				} else {
					o.Submission = solution(t, l, ref)
				}
				rep, err := runner.Grade(context.Background(), l, o)
				if err != nil {
					t.Fatal(err)
				}
				if p := rep.Problem(); p != "" {
					t.Fatalf("run %d not graded: %s", i+1, p)
				}
				if i == 0 {
					first = rep.Results
					continue
				}
				for k, r := range rep.Results {
					if r.Status != first[k].Status || r.Points != first[k].Points {
						t.Errorf("run %d, check %s: %s %g; the first run: %s %g", i+1, r.Name, r.Status, r.Points, first[k].Status, first[k].Points)
					}
				}
			}
		})
	}
}

// TestNotGradable: a lab that cannot run is an error, never a score.
func TestNotGradable(t *testing.T) {
	l, err := labs.Find("socket")
	if err != nil {
		t.Fatal(err)
	}
	o := options(t, "dave", filepath.Join(t.TempDir(), "missing.sock"))
	rep, err := runner.Grade(context.Background(), l, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem() == "" || rep.ExitCode() != 2 {
		t.Errorf("a missing submission: problem %q, exit %d; want not graded, exit 2", rep.Problem(), rep.ExitCode())
	}
	if got, _ := rep.Score(); got != 0 {
		t.Errorf("scored %g without being graded", got)
	}
}

// TestLint: what lab.yml's decoder leaves to the runner and the checks is
// refused at its line and column, before anything is deployed.
func TestLint(t *testing.T) {
	for _, tc := range []struct{ name, steps, checks, want string }{
		{"a misspelled step argument", "  - {name: s, exec: {node: h1, comand: x}}\n", "",
			`lab.yml:4:40: step "s": exec takes no "comand"; did you mean "command"?`},
		{"a missing step argument", "  - {name: s, exec: {node: h1}}\n", "",
			`lab.yml:4:5: step "s": exec needs command`},
		{"netem's keys in an impair step", "  - {name: s, impair: {target: wan, delya: 5ms}}\n", "",
			`lab.yml:4:44: step "s": impair takes no "delya"; did you mean "delay"?`},
		{"a check's argument", "", "  - {name: c, points: 1, handshake: {node: h1, opts: [mss]}}\n",
			`lab.yml:7:54: check "c": opts: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			checks := tc.checks
			if checks == "" {
				checks = "  - {name: c, points: 1, handshake: {node: h1}}\n"
			}
			os.WriteFile(filepath.Join(dir, "lab.yml"), []byte("title: t\nversion: 1\nsteps:\n"+
				orDefault(tc.steps, "  - {name: s, ping: {node: h1, to: h2}}\n")+"\nchecks:\n"+checks), 0o644)
			os.WriteFile(filepath.Join(dir, "topology.yml"), []byte("name: ${name}\ntopology:\n  defaults: {seed: ${seed}}\n  nodes: {h1: {}, h2: {}}\n  links: [{name: wan, endpoints: [\"h1:eth1\", \"h2:eth1\"]}]\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "README.md"), []byte("t"), 0o644)
			l, err := labs.Find(dir)
			if err != nil {
				t.Fatal(err)
			}
			err = runner.Lint(l)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("lint: %v; want %q", err, tc.want)
			}
			rep, err := runner.Grade(context.Background(), l, options(t, "erin", ""))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(rep.Problem(), tc.want) || rep.ExitCode() != 2 {
				t.Errorf("graded: problem %q, exit %d; want not graded, exit 2", rep.Problem(), rep.ExitCode())
			}
		})
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func text(rep *grade.Report) string {
	var b strings.Builder
	grade.WriteText(&b, rep, false)
	return b.String()
}

// TestSteps grades a lab of the runner's own that uses every step action
// on Linux-stack nodes: impair and link at runtime, exec, and a program
// submission with arguments.
func TestSteps(t *testing.T) {
	abs, _ := filepath.Abs("testdata/steps")
	l, err := labs.Find(abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Solutions {
		t.Run(filepath.Base(s.File), func(t *testing.T) {
			o := options(t, "erin", "")
			o.Submission = solution(t, l, s.File)
			rep, err := runner.Grade(context.Background(), l, o)
			if err != nil {
				t.Fatal(err)
			}
			if p := rep.Problem(); p != "" {
				t.Fatalf("not graded: %s\n%s", p, rep.Stdout)
			}
			wantScore(t, rep, s)
		})
	}
}

// wantScore fails t unless rep scores what solution s says, failing
// exactly the checks it names.
func wantScore(t *testing.T, rep *grade.Report, s labs.Solution) {
	t.Helper()
	got, max := rep.Score()
	want := max
	if s.Score != "full" {
		want, _ = strconv.ParseFloat(s.Score, 64)
	}
	var failed []string
	for _, r := range rep.Results {
		if r.Status == grade.StatusFailed {
			failed = append(failed, r.Name)
		}
	}
	slices.Sort(failed)
	fails := slices.Sorted(slices.Values(s.Fails))
	if got != want || !slices.Equal(failed, fails) {
		t.Errorf("scored %g of %g failing %q; want %g failing %q\n%s", got, max, failed, want, fails, text(rep))
	}
}

// TestStepActionsAgree: the actions lab.yml's decoder accepts are the
// ones the runner runs and documents.
func TestStepActionsAgree(t *testing.T) {
	var names []string
	for _, a := range runner.StepActions() {
		names = append(names, a.Name)
		if a.Doc == "" {
			t.Errorf("%s has no doc", a.Name)
		}
		for _, k := range a.Required {
			if _, ok := a.Keys[k]; !ok {
				t.Errorf("%s requires %s, which it does not document", a.Name, k)
			}
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(labs.StepActions))) {
		t.Errorf("the runner's actions %v; the decoder's %v", names, labs.StepActions)
	}
}
