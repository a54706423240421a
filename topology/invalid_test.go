package topology

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata file name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// TestInvalid loads every file of testdata/invalid and checks its errors,
// one a line as "file:line:col: message", against the matching .golden.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d invalid files, want at least 15", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			lab, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = %v, nil; want errors", file, lab)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load(%s) error is %T, want ErrorList: %v", file, err, err)
			}
			for i, e := range list.Errors() {
				if e.File != file || e.Line < 1 || e.Col < 1 {
					t.Errorf("error %d = %+v, want file %s and a position", i, e, file)
				}
				if i > 0 {
					prev := list[i-1]
					if e.Line < prev.Line || e.Line == prev.Line && e.Col < prev.Col {
						t.Errorf("errors not sorted by position: %v before %v", prev, e)
					}
				}
			}
			golden(t, strings.TrimSuffix(file, ".yml")+".golden", err.Error()+"\n")
		})
	}
}
