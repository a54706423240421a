package labs

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/units"
)

// Seed returns the seed of a student's variant of a lab version: the same
// inputs always give the same seed. An empty student is the lab's own
// variant (what `netlab lab start` deploys without --student).
func Seed(lab, version, student string) uint64 {
	h := sha256.Sum256([]byte("netlab-lab\x00" + lab + "\x00" + version + "\x00" + student))
	return binary.BigEndian.Uint64(h[:8]) >> 1 // positive as an int64: topology seeds are
}

// Variant is one student's draw of a lab's params, and the values every
// ${...} may name.
type Variant struct {
	// Student is whom it was drawn for ("" for the lab's own).
	Student string
	// Seed is the seed it was drawn from (Seed).
	Seed uint64
	// Values are the params' values as text ("5313", "15ms", "1%"), and
	// lab, version, student and seed.
	Values map[string]string
}

// Variant draws the variant of student: each param in file order, from
// its range on its step or from its choices, with a random source seeded
// by Seed(l.Name, l.Version, student).
func (l *Lab) Variant(student string) (*Variant, error) {
	seed := Seed(l.Name, l.Version, student)
	rng := rand.New(rand.NewPCG(seed, 0x6e65746c6162)) // "netlab"
	v := &Variant{Student: student, Seed: seed, Values: map[string]string{
		"lab": l.Name, "version": l.Version, "student": student, "seed": strconv.FormatUint(seed, 10),
	}}
	for _, p := range l.Params {
		val, err := p.draw(rng)
		if err != nil {
			return nil, fmt.Errorf("lab %s: param %s: %w", l.Name, p.Name, err)
		}
		v.Values[p.Name] = val
	}
	return v, nil
}

// draw draws one value of p.
func (p Param) draw(rng *rand.Rand) (string, error) {
	if p.Kind == "choice" {
		return p.Choices[rng.IntN(len(p.Choices))], nil
	}
	parse := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	format := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch p.Kind {
	case "duration":
		parse = func(s string) (int64, error) { d, err := units.ParseDuration(s); return int64(d), err }
		format = func(n int64) string { return time.Duration(n).String() }
	case "size":
		parse = units.ParseSize
	}
	lo, err := parse(p.Min)
	if err != nil {
		return "", err
	}
	hi, err := parse(p.Max)
	if err != nil {
		return "", err
	}
	step := int64(1)
	if p.Step != "" {
		if step, err = parse(p.Step); err != nil {
			return "", err
		}
	}
	if hi < lo || step <= 0 {
		return "", fmt.Errorf("range [%s, %s] step %s is empty", p.Min, p.Max, p.Step)
	}
	n := (hi-lo)/step + 1
	return format(lo + rng.Int64N(n)*step), nil
}

// ref is a ${name} in a text.
var ref = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}`)

// Expand replaces every ${name} in s with its value; a name the variant
// does not have is an error naming the ones it has.
func (v *Variant) Expand(s string) (string, error) {
	var missing []string
	out := ref.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		val, ok := v.Values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return val
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(v.Values))
		for k := range v.Values {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", fmt.Errorf("${%s} is not a param (the variant has %s)", missing[0], strings.Join(names, ", "))
	}
	return out, nil
}

// ExpandArgs returns args with ${...} replaced in every value; the error
// names the argument.
func (v *Variant) ExpandArgs(args map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(args))
	for k, a := range args {
		switch a := a.(type) {
		case string:
			s, err := v.Expand(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = s
		case []string:
			l := make([]string, len(a))
			for i, s := range a {
				var err error
				if l[i], err = v.Expand(s); err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
			}
			out[k] = l
		case map[string]string:
			m := make(map[string]string, len(a))
			for mk, s := range a {
				var err error
				if m[mk], err = v.Expand(s); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", k, mk, err)
				}
			}
			out[k] = m
		default:
			out[k] = a
		}
	}
	return out, nil
}

// Topology returns the lab's topology file for variant v, with ${...}
// replaced and the lab named name (the topology's `name: ${name}`).
func (l *Lab) TopologyFor(v *Variant, name string) ([]byte, error) {
	data, err := l.ReadFile(l.Topology)
	if err != nil {
		return nil, err
	}
	vv := *v
	vv.Values = map[string]string{"name": name}
	for k, x := range v.Values {
		vv.Values[k] = x
	}
	s, err := vv.Expand(string(data))
	if err != nil {
		return nil, fmt.Errorf("lab %s: %s: %w", l.Name, l.Topology, err)
	}
	return []byte(s), nil
}

// PageFor returns the student's page for variant v, ${...} replaced.
func (l *Lab) PageFor(v *Variant) (string, error) {
	data, err := l.ReadFile(l.Page)
	if err != nil {
		return "", err
	}
	s, err := v.Expand(string(data))
	if err != nil {
		return "", fmt.Errorf("lab %s: %s: %w", l.Name, l.Page, err)
	}
	return s, nil
}
