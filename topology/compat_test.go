package topology

import (
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
