package labs

// KeyDoc is one key of lab.yml, or of one of its parts, and what it means:
// the decoder accepts these keys, and lab.yml's JSON Schema documents them.
type KeyDoc struct {
	Key, Doc string
}

// LabKeys are lab.yml's own keys, in the order a lab file gives them.
func LabKeys() []KeyDoc {
	return []KeyDoc{
		{"title", "the lab's title (required)"},
		{"summary", "one or two sentences on what the student learns"},
		{"version", "the lab's version (required): variants and grades of different versions differ"},
		{"author", "who wrote the lab"},
		{"topology", "the topology file in the lab's folder (default topology.yml); ${...} is replaced by the variant's values"},
		{"page", "the student's page in the lab's folder (default README.md), Markdown with ${...}"},
		{"submit", "what the student submits: script (a socket script), answers (named values), program (run on a stack: linux node), overlay (node keys of the topology), none"},
		{"timeout", "a grading run's bound (default 2m)"},
		{"overlay", "the node keys an overlay submission may set (default: routes)"},
		{"params", "what each student's variant draws: NAME: {range: [LO, HI], step: S} or {choice: [...]}"},
		{"steps", "what the grader does once the lab is deployed, in order: each a name and one action"},
		{"measures", "answers labs: NAME: {KIND: {...}}, the truth measured from the run that answers are compared with"},
		{"checks", "what is graded, in order: each a name, points and one kind"},
		{"solutions", "the lab's own submissions and what each must score (lint and the tests grade them)"},
	}
}

// ParamKeys are the keys of a param.
func ParamKeys() []KeyDoc {
	return []KeyDoc{
		{"range", "[LO, HI], both integers, durations (5ms) or sizes (64KiB)"},
		{"step", "a range's step (default 1, or the unit's smallest)"},
		{"choice", "the values to draw one from"},
	}
}

// StepKeys are the keys of a step beside its action.
func StepKeys() []KeyDoc {
	return []KeyDoc{
		{"name", "the step's name, as checks and wait steps name it (default: its action, numbered)"},
		{"within", "the step's bound (default: the lab's timeout)"},
		{"background", "exec, program, send, script and ping steps: true starts the step and goes on at once; a wait step, or the end of the steps, waits for it"},
	}
}

// CheckKeys are the keys of a check beside its kind.
func CheckKeys() []KeyDoc {
	return []KeyDoc{
		{"name", "what the student reads (required)"},
		{"points", "what passing earns (required; 0 for a check that only explains)"},
		{"visibility", "visible (default), hidden, after_due_date or after_published, as Gradescope names them"},
		{"requires", "checks before it that must pass; if one does not, this one is skipped"},
		{"within", "poll the check until it passes or this much time has passed"},
		{"pass", "the text shown when it passes (${...} replaced)"},
		{"fail", "the text shown when it fails (${...} replaced): a hint, not the answer"},
	}
}

// SolutionKeys are the keys of a solution.
func SolutionKeys() []KeyDoc {
	return []KeyDoc{
		{"file", "the solution's file in the lab's folder (required)"},
		{"score", "what it must score: full, or a number of points"},
		{"fails", "the names of the checks it must fail, exactly"},
	}
}

// SubmitKinds are the kinds of submission, Lab.Submit's values.
func SubmitKinds() []string {
	return []string{SubmitScript, SubmitAnswers, SubmitProgram, SubmitOverlay, SubmitNone}
}

// Visibilities are a check's visibilities, Gradescope's words.
func Visibilities() []string {
	return []string{VisibilityVisible, VisibilityHidden, VisibilityAfterDueDate, VisibilityAfterPublished}
}

func keyNames(ks []KeyDoc) []string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Key
	}
	return names
}
