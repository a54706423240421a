package labdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RunIDLayout is the layout of a run id: the UTC time its deploy started,
// to the millisecond, so that ids sort as runs happened.
const RunIDLayout = "20060102-150405.000"

// NewRunID returns the id of a run that starts at t.
func NewRunID(t time.Time) string { return t.UTC().Format(RunIDLayout) }

// RunInfo describes a run (its folder's RunInfoFile).
type RunInfo struct {
	// ID is the run's id.
	ID string `json:"id"`
	// Lab is the lab's name.
	Lab string `json:"lab"`
	// TopoFile is the topology file deployed.
	TopoFile string `json:"topo-file"`
	// Runtime is the runtime the nodes ran on.
	Runtime string `json:"runtime"`
	// Started is when the deploy started.
	Started time.Time `json:"started"`
	// Ended is when the lab was destroyed (or redeployed); zero while
	// it runs or if netlab never saw it end.
	Ended time.Time `json:"ended,omitzero"`
}

// RunSummary is a run as `netlab runs` lists it.
type RunSummary struct {
	RunInfo
	// Dir is the run's folder.
	Dir string `json:"dir"`
	// Bytes is the size of what the folder holds.
	Bytes int64 `json:"bytes"`
	// Current reports whether the lab directory's current link points
	// to it.
	Current bool `json:"current"`
}

// StartRun makes a new run's folder in the lab directory (creating and
// checking the lab directory first, see Create), with its traces,
// captures and logs folders, writes its RunInfoFile and points the
// current link at it. info.ID is chosen from info.Started when empty (a
// later millisecond if that id is taken).
func (l Lab) StartRun(info RunInfo) (Run, error) {
	if err := Create(l.Dir); err != nil {
		return Run{}, err
	}
	root, err := os.OpenRoot(l.Dir)
	if err != nil {
		return Run{}, fmt.Errorf("lab directory: %w", err)
	}
	defer root.Close()
	if err := root.Mkdir(RunsDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return Run{}, fmt.Errorf("lab directory: %w", err)
	}
	if info.Started.IsZero() {
		info.Started = time.Now()
	}
	id := info.ID
	for try := 0; ; try++ {
		if info.ID == "" {
			id = NewRunID(info.Started.Add(time.Duration(try) * time.Millisecond))
		}
		err := root.Mkdir(filepath.Join(RunsDir, id), 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || info.ID != "" || try > 1000 {
			return Run{}, fmt.Errorf("run folder %s: %w", id, err)
		}
	}
	info.ID = id
	rel := filepath.Join(RunsDir, id)
	for _, d := range []string{TracesDir, CapturesDir, LogsDir} {
		if err := root.Mkdir(filepath.Join(rel, d), 0o755); err != nil {
			return Run{}, fmt.Errorf("run folder %s: %w", id, err)
		}
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return Run{}, err
	}
	if err := root.WriteFile(filepath.Join(rel, RunInfoFile), append(data, '\n'), 0o644); err != nil {
		return Run{}, fmt.Errorf("run folder %s: %w", id, err)
	}
	// current -> runs/<id>, replaced atomically.
	tmp := CurrentLink + ".tmp-" + id
	root.Remove(tmp)
	if err := root.Symlink(rel, tmp); err != nil {
		return Run{}, fmt.Errorf("current run link: %w", err)
	}
	if err := root.Rename(tmp, CurrentLink); err != nil {
		root.Remove(tmp)
		return Run{}, fmt.Errorf("current run link: %w", err)
	}
	return l.Run(id), nil
}

// EndRun records that run id ended at t. A run whose folder is gone is
// not an error.
func (l Lab) EndRun(id string, t time.Time) error {
	if err := Check(l.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	root, err := os.OpenRoot(l.Dir)
	if err != nil {
		return fmt.Errorf("lab directory: %w", err)
	}
	defer root.Close()
	p := filepath.Join(RunsDir, id, RunInfoFile)
	data, err := root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	var info RunInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return fmt.Errorf("run %s: %s: %w", id, p, err)
	}
	info.Ended = t.UTC()
	if data, err = json.MarshalIndent(info, "", "  "); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := root.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	return root.Rename(tmp, p)
}

// CurrentRun returns the id of the run the current link points to, "" if
// there is none.
func (l Lab) CurrentRun() string {
	target, err := os.Readlink(filepath.Join(l.Dir, CurrentLink))
	if err != nil {
		return ""
	}
	dir, id := filepath.Split(target)
	if filepath.Clean(dir) != RunsDir {
		return ""
	}
	return id
}

// Runs lists the lab's runs, oldest first, with their sizes. A lab
// directory that does not exist has none.
func (l Lab) Runs() ([]RunSummary, error) {
	des, err := os.ReadDir(filepath.Join(l.Dir, RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runs of %s: %w", l.Name, err)
	}
	cur := l.CurrentRun()
	var out []RunSummary
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		r := l.Run(de.Name())
		s := RunSummary{RunInfo: RunInfo{ID: r.ID, Lab: l.Name}, Dir: r.Dir, Current: r.ID == cur}
		if data, err := os.ReadFile(r.Path(RunInfoFile)); err == nil {
			json.Unmarshal(data, &s.RunInfo)
			s.ID = r.ID // the folder's name is the id
		}
		s.Bytes = dirSize(r.Dir)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b RunSummary) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// dirSize adds up the sizes of the files under dir (not following links).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// ErrNoRun is wrapped by FindRun's error when no run matches.
var ErrNoRun = errors.New("no such run")

// FindRun returns the run spec names: "" or "current" for the current run
// (the newest when there is no current link), "latest" for the newest,
// else a run id or a prefix of exactly one.
func (l Lab) FindRun(spec string) (Run, error) {
	runs, err := l.Runs()
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("%w: lab %s has no runs in %s (deploy it first)", ErrNoRun, l.Name, l.Dir)
	}
	switch spec {
	case "", "current":
		if cur := l.CurrentRun(); cur != "" {
			for _, r := range runs {
				if r.ID == cur {
					return l.Run(cur), nil
				}
			}
		}
		fallthrough
	case "latest":
		return l.Run(runs[len(runs)-1].ID), nil
	}
	var match []string
	for _, r := range runs {
		if r.ID == spec {
			return l.Run(spec), nil
		}
		if strings.HasPrefix(r.ID, spec) {
			match = append(match, r.ID)
		}
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	switch len(match) {
	case 1:
		return l.Run(match[0]), nil
	case 0:
		return Run{}, fmt.Errorf("%w: lab %s has no run %q (runs: %s)", ErrNoRun, l.Name, spec, strings.Join(ids, ", "))
	}
	return Run{}, fmt.Errorf("%w: %q matches %d runs of lab %s: %s", ErrNoRun, spec, len(match), l.Name, strings.Join(match, ", "))
}

// Prune removes the oldest runs, never the one called keep, until the
// runs other than keep add up to at most max bytes, and returns those it
// removed.
func (l Lab) Prune(max int64, keep string) ([]RunSummary, error) {
	runs, err := l.Runs()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, r := range runs {
		if r.ID != keep {
			total += r.Bytes
		}
	}
	var removed []RunSummary
	for _, r := range runs {
		if total <= max {
			break
		}
		if r.ID == keep {
			continue
		}
		if err := os.RemoveAll(r.Dir); err != nil {
			return removed, fmt.Errorf("remove run %s: %w", r.ID, err)
		}
		total -= r.Bytes
		removed = append(removed, r)
	}
	return removed, nil
}

// FormatBytes formats n bytes for people: "512 B", "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
