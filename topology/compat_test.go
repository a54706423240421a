package topology

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompat: each containerlab feature of a file is reported as taken
// as-is, mapped by its rule, or refused with the reason, at its position.
func TestCompat(t *testing.T) {
	notes, err := Compat("testdata/clab-linux.yml")
	if err != nil {
		t.Fatal(err)
	}
	find := func(notes []CompatNote, how, feature string) *CompatNote {
		for i := range notes {
			if notes[i].How == how && notes[i].Feature == feature {
				return &notes[i]
			}
		}
		return nil
	}
	for _, want := range []struct {
		how, feature string
		count        int
		detail       string
	}{
		{CompatAsIs, "kind linux", 2, "kernel's stack"},
		{CompatAsIs, "node key binds", 1, ""},
		{CompatAsIs, "link endpoints, brief (\"node:interface\")", 2, ""},
		{CompatMapped, "interface ethernet-1/1", 1, "named e1-1 in Linux"},
		{CompatAsIs, "kind router", 1, "netlab's own kind"},
	} {
		n := find(notes, want.how, want.feature)
		if n == nil || n.Count != want.count || !strings.Contains(n.Detail, want.detail) {
			t.Errorf("%s %s: %+v; want %d times, detail with %q", want.how, want.feature, n, want.count, want.detail)
		}
	}
	if n := find(notes, CompatMapped, "interface ethernet-1/1"); n != nil && n.Pos != (Pos{Line: 29, Col: 34}) {
		t.Errorf("the mapped interface is at %s; want 29:34", n.Pos)
	}
	for i := 1; i < len(notes); i++ {
		if notes[i-1].How == CompatMapped && notes[i].How == CompatAsIs {
			t.Errorf("notes not sorted as-is, mapped, refused: %v", notes)
		}
	}

	notes, err = Compat("testdata/invalid/clab-vendor.yml")
	if err == nil {
		t.Fatal("a file of vendor kinds has no error")
	}
	refused := 0
	for _, n := range notes {
		if n.How == CompatRefused {
			refused++
		}
	}
	if refused != len(err.(ErrorList).Errors()) || refused == 0 {
		t.Errorf("%d refused notes for %d errors", refused, len(err.(ErrorList).Errors()))
	}
}

// TestContainerlabCollection: realistic containerlab-style files, written
// for this project, are taken, mapped or refused exactly as their golden
// files say (testdata/clab/*.golden; go test -update rewrites them).
func TestContainerlabCollection(t *testing.T) {
	files, err := filepath.Glob("testdata/clab/*.yml")
	if err != nil || len(files) < 6 {
		t.Fatalf("the collection: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			notes, err := Compat(f)
			if notes == nil {
				t.Fatalf("Compat: %v", err)
			}
			var b strings.Builder
			refused := 0
			for _, n := range notes {
				fmt.Fprintf(&b, "%s %s %s (%d): %s\n", n.How, n.Pos, n.Feature, n.Count, n.Detail)
				if n.How == CompatRefused {
					refused++
				}
			}
			if (err != nil) != (refused > 0) {
				t.Errorf("error %v with %d refused notes", err, refused)
			}
			golden(t, strings.TrimSuffix(f, ".yml")+".golden", b.String())
		})
	}
}
