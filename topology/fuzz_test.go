package topology

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must not panic, a valid
// result must encode to JSON, and errors must be an ErrorList with
// positions inside the file.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"../examples/*.yml", "testdata/invalid/*.yml", "testdata/*.yml", "testdata/graph/*.yml"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lab, err := Parse("fuzz.yml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Line < 0 || e.Col < 0 || e.Msg == "" {
					t.Fatalf("bad error %+v", e)
				}
			}
			return
		}
		if lab == nil {
			t.Fatal("Parse returned nil, nil")
		}
		if _, err := json.Marshal(lab); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		for _, format := range []string{"dot", "mermaid"} {
			if _, err := lab.Graph(format); err != nil {
				t.Fatal(err)
			}
		}
	})
}
