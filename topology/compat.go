package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// How netlab took a feature of a containerlab-style file.
const (
	// CompatAsIs is a feature taken as containerlab means it.
	CompatAsIs = "as-is"
	// CompatMapped is a feature netlab changed by a documented rule.
	CompatMapped = "mapped"
	// CompatRefused is a feature netlab does not do, or a value in error.
	CompatRefused = "refused"
)

// CompatNote is one feature of a file and how netlab took it.
type CompatNote struct {
	// How is CompatAsIs, CompatMapped or CompatRefused.
	How string `json:"how"`
	// Feature names it: "node key binds", "interface ethernet-1/1", ...
	Feature string `json:"feature"`
	// Pos is where the file first uses it.
	Pos Pos `json:"pos"`
	// Count is how many times the file uses it.
	Count int `json:"count"`
	// Detail says what netlab made of it: the mapping, or why it is
	// refused.
	Detail string `json:"detail,omitempty"`
}

// compatLog collects CompatNotes while a file is read, one per feature.
type compatLog struct {
	notes map[string]*CompatNote
}

func (c *compatLog) add(how, feature string, p Pos, detail string) {
	if c == nil {
		return
	}
	key := how + "\x00" + feature + "\x00" + detail
	if n, ok := c.notes[key]; ok {
		n.Count++
		if p.before(n.Pos) {
			n.Pos = p
		}
		return
	}
	c.notes[key] = &CompatNote{How: how, Feature: feature, Pos: p, Count: 1, Detail: detail}
}

// Compat reads the topology file at path as Load does and reports how
// netlab took each containerlab feature in it: as containerlab means it,
// mapped by a documented rule, or refused (every problem the file has,
// with its reason). Notes are sorted by how (as-is, mapped, refused), then
// position. err is the file's problems, as Load returns them; notes are
// returned with it.
func Compat(path string) (notes []CompatNote, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load topology: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	log := &compatLog{notes: map[string]*CompatNote{}}
	_, perr := parseWith(path, filepath.Dir(abs), data, os.LookupEnv, log)
	var el ErrorList
	if errors.As(perr, &el) {
		for _, e := range el.Errors() {
			log.add(CompatRefused, "", Pos{Line: e.Line, Col: e.Col}, e.Msg)
		}
	} else if perr != nil {
		return nil, perr
	}
	for _, n := range log.notes {
		notes = append(notes, *n)
	}
	rank := map[string]int{CompatAsIs: 0, CompatMapped: 1, CompatRefused: 2}
	sort.Slice(notes, func(i, j int) bool {
		a, b := notes[i], notes[j]
		if a.How != b.How {
			return rank[a.How] < rank[b.How]
		}
		if a.Pos != b.Pos {
			return a.Pos.before(b.Pos)
		}
		return a.Feature+a.Detail < b.Feature+b.Detail
	})
	return notes, perr
}
