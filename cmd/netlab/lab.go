package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/doctor"
	"github.com/netlab/netlab/internal/workpool"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/grade"
	"github.com/netlab/netlab/labs/runner"
)

// exitError ends netlab with a status of its own (lab check: 1 some
// checks failed, 2 the lab or submission is unusable).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

type labOptions struct {
	topoOptions
	student, runtime string
}

func newLabCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Graded exercises: list, read, try and check the labs of the course (or your own)",
		Long: `A lab is a graded exercise: a topology, a page to read, what to submit, and
checks that read what happened on the wire. LAB is a course lab's name
(netlab lab list) or a folder holding a lab.yml. Each student gets a
variant of their own (--student ID): ports, delays, losses drawn for them.

  netlab lab list
  netlab lab show socket --student alice      # the page, with alice's values
  netlab lab start socket --student alice     # deploy alice's variant to explore
  netlab lab check socket --student alice --script mine.sock
  netlab lab grade rdt --submission submissions/alice/   # a folder, as a teacher gets it
  netlab lab solve socket --seeds 20          # the reference passes every variant
  netlab lab lint ./mylab                     # its solutions score what they should`,
	}
	cmd.AddCommand(newLabListCmd(o), newLabShowCmd(o), newLabStartCmd(o), newLabCheckCmd(o), newLabGradeCmd(o), newLabGradeAllCmd(o), newLabSolveCmd(o), newLabLintCmd(o), newLabBundleCmd(o))
	return cmd
}

func addStudentFlag(cmd *cobra.Command, l *labOptions) {
	cmd.Flags().StringVar(&l.student, "student", "", "whose variant (a student id); empty: the lab's own")
}

func newLabListCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The course's labs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := labs.Course()
			if err != nil {
				return err
			}
			type row struct {
				Name, Title, Summary, Submit string
				Points                       float64
			}
			var rows []row
			for _, l := range all {
				rows = append(rows, row{l.Name, l.Title, l.Summary, l.Submit, l.MaxPoints()})
			}
			return printOut(o, t.format, rows, func() {
				w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(w, "LAB\tTITLE\tSUBMIT\tPOINTS")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%s\t%s\t%g\n", r.Name, r.Title, r.Submit, r.Points)
				}
				w.Flush()
			})
		},
	}
	addFormatFlag(cmd, t)
	return cmd
}

func newLabShowCmd(o *options) *cobra.Command {
	l := &labOptions{}
	cmd := &cobra.Command{
		Use:   "show LAB [--student ID]",
		Short: "The lab's page, with the student's values",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return err
			}
			v, err := lab.Variant(l.student)
			if err != nil {
				return err
			}
			page, err := lab.PageFor(v)
			if err != nil {
				return err
			}
			res := map[string]any{"lab": lab.Name, "title": lab.Title, "student": l.student, "seed": v.Seed, "page": page, "submit": lab.Submit, "points": lab.MaxPoints()}
			return printOut(o, l.format, res, func() { fmt.Fprint(o.stdout, page) })
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	addStudentFlag(cmd, l)
	return cmd
}

func newLabStartCmd(o *options) *cobra.Command {
	l := &labOptions{}
	var dir string
	cmd := &cobra.Command{
		Use:   "start LAB [--student ID] [--dir D]",
		Short: "Deploy the student's variant of the lab, to explore it with the other verbs",
		Long: `start writes the variant's topology into the directory (the current one by
default) and deploys it; then every verb works on it with -t, and
` + "`netlab destroy -t FILE`" + ` ends it. For a lab that takes answers, start
then runs the lab's scenario (its steps), as grading does: the answers are
read off that run, with the verbs that read traces (trace, sockets, plot).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return err
			}
			rt, err := newRuntime(cmd.Context(), l.runtime)
			if err != nil {
				return err
			}
			v, err := lab.Variant(l.student)
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			inst, err := runner.Start(cmd.Context(), lab, v, runner.Options{Runtime: rt, RunDir: runDir(), Student: l.student, WorkDir: abs})
			if err != nil {
				return err
			}
			res := map[string]any{"lab": lab.Name, "student": l.student, "topology": inst.Topo, "run": inst.State.Run}
			if lab.Submit == labs.SubmitAnswers && len(lab.Steps) > 0 {
				// The answers are read off the lab's own run: run it, as
				// grading does, and leave its traces to read.
				out, err := inst.Scenario(cmd.Context())
				if err != nil {
					return fmt.Errorf("%s is deployed (end it with netlab destroy -t %s), but its scenario failed: %w", inst.Plan.Name, inst.Topo, err)
				}
				res["scenario"] = out
			}
			return printOut(o, l.format, res, func() {
				fmt.Fprintf(o.stdout, "%s: %s deployed for %s as %s\n", lab.Name, lab.Title, orDash(l.student), inst.Plan.Name)
				if _, ok := res["scenario"]; ok {
					fmt.Fprintf(o.stdout, "the lab's scenario ran (%d steps): read your answers off its run (netlab trace, sockets, plot)\n", len(lab.Steps))
				}
				fmt.Fprintf(o.stdout, "use it with -t %s (netlab inspect -t %s); end it with netlab destroy -t %s\n", inst.Topo, inst.Topo, inst.Topo)
			})
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	addStudentFlag(cmd, l)
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	cmd.Flags().StringVar(&dir, "directory", ".", "where the variant's topology file goes")
	return cmd
}

// submissionFlags are check's flags that name the submitted file; all but
// --submission also say what kind of file it is, which the lab must take.
type submissionFlags struct {
	file  string
	kinds map[string]*string // the lab's submit kind → its flag's value
}

func addSubmissionFlags(cmd *cobra.Command, f *submissionFlags) {
	cmd.Flags().StringVar(&f.file, "submission", "", "the submitted file, of the kind the lab takes")
	f.kinds = map[string]*string{}
	for _, k := range []struct{ kind, flag, usage string }{
		{labs.SubmitScript, "script", "a socket script (netlab sock --script), for a lab that takes one"},
		{labs.SubmitAnswers, "answers", "an answers file, for a lab that takes one"},
		{labs.SubmitOverlay, "overlay", "an overlay of the lab's topology, for a lab that takes one"},
		{labs.SubmitProgram, "program", "a program (.py or a static binary), for a lab that takes one"},
	} {
		f.kinds[k.kind] = new(string)
		cmd.Flags().StringVar(f.kinds[k.kind], k.flag, "", k.usage)
	}
	cmd.MarkFlagsMutuallyExclusive("submission", "script", "answers", "overlay", "program")
}

// resolve returns the submitted file, refusing a kind flag the lab does
// not take.
func (f *submissionFlags) resolve(lab *labs.Lab) (string, error) {
	for kind, v := range f.kinds {
		if *v == "" {
			continue
		}
		if kind != lab.Submit {
			takes := "no submission"
			if lab.Submit != labs.SubmitNone {
				takes = "a " + lab.Submit + " (--" + lab.Submit + " FILE)"
			}
			return "", fmt.Errorf("--%s: the lab %s takes %s", kind, lab.Name, takes)
		}
		return *v, nil
	}
	return f.file, nil
}

func newLabCheckCmd(o *options) *cobra.Command {
	l := &labOptions{}
	var sf submissionFlags
	var outDir, gradescope string
	cmd := &cobra.Command{
		Use:   "check LAB [--student ID] [--submission FILE | --script F | --answers F | --overlay F | --program F] [-o DIR]",
		Short: "Grade a submission in a fresh instance of the student's variant",
		Long: `check deploys a fresh instance of the variant, runs the lab's steps with the
submission, grades the checks on what happened on the wire, and destroys the
instance. With -o it writes results.json (Gradescope), junit.xml and
feedback.md there. Exit status: 0 every check passed, 1 some failed, 2 the
lab or the submission could not be graded (nothing is scored then).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			submission, err := sf.resolve(lab)
			if err != nil {
				return &exitError{2, err}
			}
			if gradescope != "" {
				if l.student, submission, err = gradescopeSubmission(gradescope); err != nil {
					return gradescopeFailed(gradescope, lab, err)
				}
				outDir = filepath.Join(gradescope, "results")
				if findings, ok := doctor.Check(cmd.Context(), doctor.Options{RunDir: runDir()}); !ok {
					var why []string
					for _, f := range findings {
						if f.Needed && !f.OK {
							why = append(why, f.Check+": "+f.Detail)
						}
					}
					return gradescopeFailed(gradescope, lab, fmt.Errorf("this machine cannot run labs: %s", strings.Join(why, "; ")))
				}
			}
			return gradeOne(cmd, o, l, lab, submission, outDir)
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	addStudentFlag(cmd, l)
	addSubmissionFlags(cmd, &sf)
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "write results.json (Gradescope), junit.xml, feedback.md and plots here")
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	cmd.Flags().StringVar(&gradescope, "gradescope", "", "grade as Gradescope's autograder: the student and submission from this folder (/autograder), results in its results/")
	return cmd
}

func newLabGradeCmd(o *options) *cobra.Command {
	l := &labOptions{}
	var dir, outDir string
	cmd := &cobra.Command{
		Use:   "grade LAB --submission DIR [--student ID] [-o DIR]",
		Short: "Grade a student's submission folder (one file, and Gradescope's submission_metadata.json if there)",
		Long: `grade grades a submission as a teacher receives it: a folder holding the
student's one file (dot files aside) and, when it came from Gradescope, its
submission_metadata.json, which names the student unless --student does.
Otherwise it is check: a fresh instance, the reports with -o, the same exit
status (0 all passed, 1 some failed, 2 not gradable).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			student, file, err := submissionFolder(dir)
			if err != nil {
				return &exitError{2, err}
			}
			if l.student == "" {
				l.student = student
			}
			return gradeOne(cmd, o, l, lab, file, outDir)
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	addStudentFlag(cmd, l)
	cmd.Flags().StringVar(&dir, "submission", "", "the submission folder")
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "write results.json (Gradescope), junit.xml, feedback.md and plots here")
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	cmd.MarkFlagRequired("submission")
	return cmd
}

// submissionFolder finds the one submitted file in dir, and the student
// its submission_metadata.json names, if it has one.
func submissionFolder(dir string) (student, file string, err error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("the submission: %w", err)
	}
	var files []string
	for _, de := range des {
		switch {
		case de.Name() == "submission_metadata.json":
			if student, err = metadataStudent(filepath.Join(dir, de.Name())); err != nil {
				return "", "", err
			}
		case strings.HasPrefix(de.Name(), "."), !de.Type().IsRegular():
		default:
			files = append(files, de.Name())
		}
	}
	if len(files) != 1 {
		return "", "", fmt.Errorf("%s holds %d files (%s): a submission is exactly one", dir, len(files), strings.Join(files, ", "))
	}
	return student, filepath.Join(dir, files[0]), nil
}

// gradeOne grades one submission and reports it as check and grade do.
func gradeOne(cmd *cobra.Command, o *options, l *labOptions, lab *labs.Lab, submission, outDir string) error {
	rt, err := newRuntime(cmd.Context(), l.runtime)
	if err != nil {
		return &exitError{2, err}
	}
	opts := runner.Options{Runtime: rt, RunDir: runDir(), Student: l.student, Submission: submission, OutDir: outDir}
	if interactive() && l.format != "json" {
		opts.Progress = func(s string) { fmt.Fprintf(o.stderr, "\r\x1b[K%s: %s", lab.Name, s) }
	}
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return &exitError{2, err}
		}
	}
	rep, err := runner.Grade(cmd.Context(), lab, opts)
	if opts.Progress != nil {
		fmt.Fprint(o.stderr, "\r\x1b[K")
	}
	if err != nil {
		return &exitError{2, err}
	}
	if err := writeReports(outDir, rep); err != nil {
		return &exitError{2, err}
	}
	if l.format == "json" {
		err = grade.WriteJSON(o.stdout, rep)
	} else {
		err = grade.WriteText(o.stdout, rep, interactive())
		if got, max := rep.Score(); err == nil && got < max && rep.Stdout != "" {
			// What the steps did, for the student to see where it went wrong.
			fmt.Fprintf(o.stdout, "\nwhat the lab's steps did:\n%s", rep.Stdout)
		}
	}
	if err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return &exitError{code, fmt.Errorf("%s: %s", lab.Name, outcome(rep))}
	}
	return nil
}

// gradescopeSubmission reads, in Gradescope's autograder folder dir, the
// student (users[0].id, or email, of submission_metadata.json) and the
// submission (the one file of submission/).
func gradescopeSubmission(dir string) (student, file string, err error) {
	if student, err = metadataStudent(filepath.Join(dir, "submission_metadata.json")); err != nil {
		return "", "", err
	}
	des, err := os.ReadDir(filepath.Join(dir, "submission"))
	if err != nil {
		return "", "", err
	}
	var files []string
	for _, de := range des {
		if de.Type().IsRegular() {
			files = append(files, de.Name())
		}
	}
	if len(files) != 1 {
		return "", "", fmt.Errorf("the submission holds %d files (%s): submit exactly one", len(files), strings.Join(files, ", "))
	}
	return student, filepath.Join(dir, "submission", files[0]), nil
}

// metadataStudent reads the student of a Gradescope
// submission_metadata.json: users[0].id, or its email.
func metadataStudent(path string) (string, error) {
	var meta struct {
		Users []struct {
			ID    any    `json:"id"`
			Email string `json:"email"`
		} `json:"users"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(data, &meta); err != nil || len(meta.Users) == 0 {
		return "", fmt.Errorf("%s names no user (%v)", path, err)
	}
	student := meta.Users[0].Email
	if id := fmt.Sprint(meta.Users[0].ID); meta.Users[0].ID != nil && id != "" {
		student = id
	}
	return student, nil
}

// gradescopeFailed writes the results.json of a submission that could not
// be graded (Gradescope shows an autograder without one as broken) and
// returns the error.
func gradescopeFailed(dir string, lab *labs.Lab, err error) error {
	rep := &grade.Report{Lab: lab.Name, Title: lab.Title, Version: lab.Version, Error: err.Error()}
	os.MkdirAll(filepath.Join(dir, "results"), 0o755)
	if f, ferr := os.Create(filepath.Join(dir, "results", "results.json")); ferr == nil {
		grade.WriteGradescope(f, rep)
		f.Close()
	}
	return &exitError{2, err}
}

// outcome says in a few words how a report went.
func outcome(rep *grade.Report) string {
	if rep.Error != "" {
		return "not graded: " + rep.Error
	}
	got, max := rep.Score()
	return fmt.Sprintf("%g of %g points", got, max)
}

// writeReports writes a report's files into dir, if set.
func writeReports(dir string, rep *grade.Report) error {
	if dir == "" {
		return nil
	}
	for name, write := range map[string]func(io.Writer, *grade.Report) error{
		"results.json": grade.WriteGradescope, "junit.xml": grade.WriteJUnit, "feedback.md": grade.WriteMarkdown,
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = write(f, rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func newLabGradeAllCmd(o *options) *cobra.Command {
	l := &labOptions{}
	var subs, outDir string
	var jobs int
	cmd := &cobra.Command{
		Use:   "grade-all LAB --submissions DIR [--jobs N] [-o DIR]",
		Short: "Grade every submission in a folder, each in a fresh instance of its student's variant",
		Long: `grade-all grades each file of the folder (the student is the file's name
without its extension: alice.sock is alice's) in a fresh lab instance of its
own, N at a time, and writes each student's results.json, junit.xml and
feedback.md into -o DIR/<student>/, and summary.csv and summary.json beside
them. Exit status: 0 every submission was graded, 2 some could not be.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			rt, err := newRuntime(cmd.Context(), l.runtime)
			if err != nil {
				return &exitError{2, err}
			}
			des, err := os.ReadDir(subs)
			if err != nil {
				return &exitError{2, err}
			}
			var files []string
			for _, de := range des {
				if de.Type().IsRegular() {
					files = append(files, filepath.Join(subs, de.Name()))
				}
			}
			if len(files) == 0 {
				return &exitError{2, fmt.Errorf("%s holds no submission", subs)}
			}
			reps := make([]*grade.Report, len(files))
			err = workpool.ForEach(cmd.Context(), len(files), max(jobs, 1), func(ctx context.Context, i int) error {
				student := strings.TrimSuffix(filepath.Base(files[i]), filepath.Ext(files[i]))
				dir := ""
				if outDir != "" {
					dir = filepath.Join(outDir, student)
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return err
					}
				}
				rep, err := runner.Grade(ctx, lab, runner.Options{Runtime: rt, RunDir: runDir(), Student: student, Submission: files[i], OutDir: dir})
				if err != nil {
					return err
				}
				reps[i] = rep
				if interactive() {
					fmt.Fprintf(o.stderr, "%s: %s\n", student, outcome(rep))
				}
				return writeReports(dir, rep)
			})
			if err != nil {
				return &exitError{2, err}
			}
			if outDir != "" {
				for name, write := range map[string]func(io.Writer, []*grade.Report) error{"summary.csv": grade.WriteBatchCSV, "summary.json": grade.WriteBatchJSON} {
					f, err := os.Create(filepath.Join(outDir, name))
					if err != nil {
						return err
					}
					err = write(f, reps)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						return err
					}
				}
			}
			if l.format == "json" {
				err = grade.WriteBatchJSON(o.stdout, reps)
			} else {
				err = grade.WriteBatchText(o.stdout, reps)
			}
			if err != nil {
				return err
			}
			for _, r := range reps {
				if r.Problem() != "" {
					return &exitError{2, fmt.Errorf("%s: some submissions could not be graded (see above)", lab.Name)}
				}
			}
			return nil
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	cmd.Flags().StringVar(&subs, "submissions", "", "the folder of submissions, one file per student named after them")
	cmd.Flags().IntVar(&jobs, "jobs", 2, "how many submissions are graded at once")
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "write each student's reports and the summary here")
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	cmd.MarkFlagRequired("submissions")
	return cmd
}

func newLabSolveCmd(o *options) *cobra.Command {
	l := &labOptions{}
	var seeds int
	cmd := &cobra.Command{
		Use:   "solve LAB [--seeds N]",
		Short: "Grade the lab's solutions for N students' variants: the reference must pass every one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			var students []string
			for i := range seeds {
				students = append(students, "student"+strconv.Itoa(i+1))
			}
			return runSolutions(cmd.Context(), o, l, lab, students)
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	cmd.Flags().IntVar(&seeds, "seeds", 5, "how many students' variants")
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	return cmd
}

func newLabLintCmd(o *options) *cobra.Command {
	l := &labOptions{}
	cmd := &cobra.Command{
		Use:   "lint LAB",
		Short: "Check a lab: its file, its checks' arguments, and that each solution scores what lab.yml says",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lab, err := labs.Find(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			if err := runner.Lint(lab); err != nil {
				return &exitError{2, err}
			}
			return runSolutions(cmd.Context(), o, l, lab, []string{"lint"})
		},
	}
	addFormatFlag(cmd, &l.topoOptions)
	cmd.Flags().StringVar(&l.runtime, "runtime", "netns", "netns or docker")
	return cmd
}

// truthSolution names, in `lab solve`, an answers lab's reference: the
// values its run measured.
const truthSolution = "(the measured values)"

// runSolutions grades each of the lab's solutions for each student and
// compares with what lab.yml says it must score.
func runSolutions(ctx context.Context, o *options, l *labOptions, lab *labs.Lab, students []string) error {
	rt, err := newRuntime(ctx, l.runtime)
	if err != nil {
		return &exitError{2, err}
	}
	type row struct {
		Student, Solution, Score, Want string
		OK                             bool
		Why                            string `json:",omitempty"`
	}
	var rows []row
	bad := 0
	dir, err := os.MkdirTemp("", "netlab-solve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sols := lab.Solutions
	if lab.Submit == labs.SubmitAnswers {
		// An answers lab's reference is the truth its run measures.
		sols = append([]labs.Solution{{File: truthSolution, Score: "full"}}, sols...)
	}
	for _, s := range sols {
		file := ""
		if s.File != truthSolution {
			data, err := lab.ReadFile(s.File)
			if err != nil {
				return err
			}
			file = filepath.Join(dir, filepath.Base(s.File))
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return err
			}
		}
		for _, student := range students {
			rep, err := runner.Grade(ctx, lab, runner.Options{Runtime: rt, RunDir: runDir(), Student: student, Submission: file, AnswerWithTruth: file == "", Solution: true})
			if err != nil {
				return err
			}
			r := row{Student: student, Solution: s.File, Want: s.Score}
			got, max := rep.Score()
			r.Score = fmt.Sprintf("%g/%g", got, max)
			var failed []string
			for _, res := range rep.Results {
				if res.Status == grade.StatusFailed {
					failed = append(failed, res.Name)
				}
			}
			slices.Sort(failed)
			switch {
			case rep.Error != "":
				r.Why = "not graded: " + rep.Error
			case s.Score == "full" && got != max:
				r.Why = "failed: " + strings.Join(failed, "; ")
			case s.Score != "full" && strconv.FormatFloat(got, 'g', -1, 64) != s.Score:
				r.Why = fmt.Sprintf("scored %g, want %s (failed: %s)", got, s.Score, strings.Join(failed, "; "))
			case s.Score != "full" && !slices.Equal(failed, s.Fails):
				r.Why = fmt.Sprintf("failed %q, want %q", failed, s.Fails)
			default:
				r.OK = true
			}
			if !r.OK {
				bad++
			}
			rows = append(rows, r)
		}
	}
	err = printOut(o, l.format, rows, func() {
		w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SOLUTION\tSTUDENT\tSCORE\tWANT\t")
		for _, r := range rows {
			mark := "ok"
			if !r.OK {
				mark = "WRONG: " + r.Why
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Solution, orDash(r.Student), r.Score, r.Want, mark)
		}
		w.Flush()
	})
	if err != nil {
		return err
	}
	if bad > 0 {
		return &exitError{1, fmt.Errorf("%s: %d of %d gradings did not score what lab.yml says", lab.Name, bad, len(rows))}
	}
	return nil
}
