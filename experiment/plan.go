package experiment

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
)

// Trial is one repetition of one cell: what runs, one after another.
type Trial struct {
	Cell *Cell
	// Rep counts the cell's repetitions from 1.
	Rep int
	// Seed is the trial's own seed, derived from the experiment's seed,
	// the cell's values and Rep: the same file gives the same seeds, and
	// adding a cell or a repetition changes no other trial's.
	Seed uint64
}

// Trials returns every trial in the order they run: repetition by
// repetition (every cell once, then every cell again, so a drift of the
// machine spreads over all cells), shuffled with the experiment's seed
// when Order is random.
func (x *Experiment) Trials() []Trial {
	var out []Trial
	for rep := 1; rep <= x.Repetitions; rep++ {
		for _, c := range x.Cells {
			out = append(out, Trial{Cell: c, Rep: rep, Seed: x.trialSeed(c, rep)})
		}
	}
	if x.Order == OrderRandom {
		r := rand.New(rand.NewPCG(x.Seed, 0x6e65746c6162)) // "netlab"
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}

func (x *Experiment) trialSeed(c *Cell, rep int) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x.Seed)
	h.Write(b[:])
	h.Write([]byte(c.Key(x.Params)))
	binary.LittleEndian.PutUint64(b[:], uint64(rep))
	h.Write(b[:])
	return h.Sum64()
}

// Select returns the nodes of names that sel picks, in names' order: sel
// is a comma-separated list of node names, globs (snd*, rcv[1-4]) and
// labels (group=left); labels gives each node's labels. An error names
// what picked nothing.
func Select(sel string, names []string, labels func(node string) map[string]string) ([]string, error) {
	want := map[string]bool{}
	for _, term := range strings.Split(sel, ",") {
		term = strings.TrimSpace(term)
		found := false
		for _, n := range names {
			var ok bool
			if k, v, isLabel := strings.Cut(term, "="); isLabel {
				ok = labels(n)[k] == v
			} else {
				ok, _ = path.Match(term, n)
			}
			if ok {
				want[n], found = true, true
			}
		}
		if !found {
			return nil, &selectError{term: term}
		}
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !want[n] }), nil
}

type selectError struct{ term string }

func (e *selectError) Error() string {
	return "\"" + e.term + "\" picks no node (write a node name, a glob such as snd*, or a label such as group=left)"
}
