package grade

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the writers' output")

// writers are the single-report writers, by the golden files' suffix.
func writers() []struct {
	name  string
	write func(io.Writer, *Report) error
} {
	return []struct {
		name  string
		write func(io.Writer, *Report) error
	}{
		{"gradescope.json", WriteGradescope},
		{"junit.xml", WriteJUnit},
		{"feedback.md", WriteMarkdown},
		{"summary.txt", func(w io.Writer, r *Report) error { return WriteText(w, r, false) }},
		{"report.json", WriteJSON},
	}
}

// golden compares got with testdata/name.golden, or rewrites it under
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range cases() {
		for _, w := range writers() {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				var b bytes.Buffer
				if err := w.write(&b, tc.report()); err != nil {
					t.Fatalf("write: %v", err)
				}
				golden(t, tc.name+"."+w.name, b.Bytes())
			})
		}
	}
}

func TestGoldenColor(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, someFailed(), true); err != nil {
		t.Fatal(err)
	}
	golden(t, "some-failed.summary-color.txt", b.Bytes())
}

func TestGoldenBatch(t *testing.T) {
	var reports []*Report
	for _, tc := range cases() {
		r := tc.report()
		r.Student = tc.name
		reports = append(reports, r)
	}
	reports = append(reports, nil) // skipped
	for _, w := range []struct {
		name  string
		write func(io.Writer, []*Report) error
	}{
		{"batch.txt", WriteBatchText},
		{"batch.csv", WriteBatchCSV},
		{"batch.json", WriteBatchJSON},
	} {
		t.Run(w.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := w.write(&b, reports); err != nil {
				t.Fatal(err)
			}
			golden(t, w.name, b.Bytes())
		})
	}
}
