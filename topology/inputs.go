package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Inputs are what resolving a topology file reads besides its text: the
// folder its relative paths start from, the environment variables its
// ${NAME}s name, and the files it names (env-files, the sources of binds,
// jitter tables). LoadInputs records them where the file is written;
// ParseInputs resolves the same text elsewhere (a lab's controller on a
// cluster) from them alone, to the same plan.
type Inputs struct {
	// Dir is the topology file's folder (absolute).
	Dir string `json:"dir"`
	// Env holds the variables looked up that were set; one looked up and
	// unset is absent.
	Env map[string]string `json:"env,omitempty"`
	// Files are the regular files read or named, by absolute path.
	Files map[string][]byte `json:"files,omitempty"`
	// Dirs are the folders named (a bind of a folder).
	Dirs []string `json:"dirs,omitempty"`
	// Others are the other paths named that exist but are not carried:
	// devices, sockets, pipes, files too large.
	Others []string `json:"others,omitempty"`
}

// maxInputFile is the largest file a topology may name.
const maxInputFile = 4 << 20

// files is where the decoder reads the files a topology names.
type files interface {
	// readFile returns the file's bytes (at most maxInputFile).
	readFile(path string) ([]byte, error)
	// stat says whether path is a folder; an error if it is not there.
	stat(path string) (dir bool, err error)
}

// osFiles reads this machine's files.
type osFiles struct{}

func (osFiles) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err == nil && len(b) > maxInputFile {
		err = fmt.Errorf("larger than %d MiB", maxInputFile>>20)
	}
	return b, err
}

func (osFiles) stat(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// recorder reads this machine's files and notes them in in.
type recorder struct{ in *Inputs }

func (r recorder) readFile(path string) ([]byte, error) {
	b, err := osFiles{}.readFile(path)
	if err == nil {
		r.in.Files[path] = b
	}
	return b, err
}

// stat notes a regular file's bytes too: a bind's source is carried. A
// path that is neither a folder nor a regular file of at most
// maxInputFile is noted as there, never opened (a pipe would block).
func (r recorder) stat(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return false, err
	case fi.IsDir():
		if !slices.Contains(r.in.Dirs, path) {
			r.in.Dirs = append(r.in.Dirs, path)
		}
		return true, nil
	case fi.Mode().IsRegular() && fi.Size() <= maxInputFile:
		if _, err := r.readFile(path); err == nil {
			return false, nil
		}
	}
	if !slices.Contains(r.in.Others, path) {
		r.in.Others = append(r.in.Others, path)
	}
	return false, nil
}

// replay reads the files of recorded Inputs only.
type replay struct{ in *Inputs }

func (r replay) readFile(path string) ([]byte, error) {
	if b, ok := r.in.Files[path]; ok {
		return bytes.Clone(b), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

func (r replay) stat(path string) (bool, error) {
	if _, ok := r.in.Files[path]; ok {
		return false, nil
	}
	if slices.Contains(r.in.Dirs, path) {
		return true, nil
	}
	if slices.Contains(r.in.Others, path) {
		return false, nil
	}
	return false, &fs.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
}

// LoadInputs is Load, and returns the text it resolved and what resolving
// it read besides.
func LoadInputs(path string) (*Lab, []byte, *Inputs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load topology: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load topology %s: %w", path, err)
	}
	in := &Inputs{Dir: filepath.Dir(abs), Env: map[string]string{}, Files: map[string][]byte{}}
	lookup := func(name string) (string, bool) {
		v, ok := os.LookupEnv(name)
		if ok {
			in.Env[name] = v
		}
		return v, ok
	}
	lab, err := parseFrom(path, in.Dir, data, lookup, recorder{in})
	if err != nil {
		return nil, nil, nil, err
	}
	lab.File = abs
	return lab, data, in, nil
}

// ParseInputs resolves the topology in data, named name (as Parse), from
// in alone: its relative paths start from in.Dir, ${NAME} is in.Env's, and
// the files it names are in.Files and in.Dirs — nothing of this machine's
// is read.
func ParseInputs(name string, data []byte, in *Inputs) (*Lab, error) {
	if in == nil {
		return nil, errors.New("topology: no inputs to resolve it from")
	}
	lookup := func(k string) (string, bool) {
		v, ok := in.Env[k]
		return v, ok
	}
	return parseFrom(name, in.Dir, data, lookup, replay{in})
}
