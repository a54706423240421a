package topology

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// expandEnv replaces the environment variables written in the file's
// scalars (keys and values) as containerlab and Compose do: ${NAME} (set,
// even to "", it is its value; unset, an error); with a default,
// ${NAME:-word} or ${NAME:=word} (unset or empty) and ${NAME-word} or
// ${NAME=word} (unset); required, ${NAME:?message} (unset or empty) and
// ${NAME?message} (unset), an error with the message; an alternative,
// ${NAME:+word} (set and not empty) and ${NAME+word} (set), word or else
// "". A word may itself hold variables (${A:-${B}}); it is expanded only
// when it is used. $${ is a literal ${. A variable that is not set and has
// no default is an error at its position, never an empty string.
// Positions stay those of the file: the variable's own column where the
// scalar is written as it reads, on one line; otherwise (a block, folded
// or tagged scalar, or a quoted one with escapes) the scalar's position,
// the message quoting the variable. A plain scalar is typed again from
// what it became (mtu: ${MTU:=9000} is a number).
func (d *decoder) expandEnv(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		out, errs, used := expandVars(n.Value, d.lookupEnv)
		at := d.varPos(n)
		for _, e := range errs {
			d.errorf(at(e.off), "%s", e.msg)
		}
		for _, u := range used {
			d.compat.add(CompatMapped, "${"+u.name+"}", at(u.off), "replaced by "+u.from)
		}
		if len(errs) == 0 {
			n.Value = out
			if n.Style == 0 {
				n.Tag = "" // typed from the value it became
			}
		}
	}
	for _, c := range n.Content {
		d.expandEnv(c, seen)
	}
	d.expandEnv(n.Alias, seen)
}

// varPos returns where the byte at offset off of scalar n's value is
// written. yaml.v3 counts columns in characters; the value is found
// verbatim at the scalar's position (after its quote) only when it is
// written on one line without escapes, tag or block indicator: then the
// column is the scalar's plus the characters before off. Else it is the
// scalar's own position.
func (d *decoder) varPos(n *yaml.Node) func(off int) Pos {
	p := posOf(n)
	verbatim, quote := false, 0
	if n.Line >= 1 && n.Line <= len(d.lines) && !strings.Contains(n.Value, "\n") {
		line := d.lines[n.Line-1]
		for i := 1; i < n.Column && line != ""; i++ { // skip Column-1 characters
			_, w := utf8.DecodeRuneInString(line)
			line = line[w:]
		}
		switch n.Style {
		case 0:
			verbatim = strings.HasPrefix(line, n.Value)
		case yaml.DoubleQuotedStyle:
			verbatim, quote = strings.HasPrefix(line, `"`+n.Value+`"`), 1
		case yaml.SingleQuotedStyle:
			verbatim, quote = strings.HasPrefix(line, `'`+n.Value+`'`), 1
		}
	}
	return func(off int) Pos {
		if !verbatim || off < 0 || off > len(n.Value) {
			return p
		}
		return Pos{Line: p.Line, Col: p.Col + quote + utf8.RuneCountInString(n.Value[:off])}
	}
}

// varError is a problem with a variable, off bytes into the scalar.
type varError struct {
	off int
	msg string
}

// varUse is a variable expandVars replaced, off bytes into the scalar.
type varUse struct {
	off  int
	name string
	from string
}

// varOps are the operators that may follow a variable's name, longest
// first.
var varOps = []string{":-", ":=", ":?", ":+", "-", "=", "?", "+"}

const varForms = "allowed: ${NAME}, ${NAME:-default}, ${NAME:=default}, ${NAME-default}, ${NAME=default}, ${NAME:?message}, ${NAME?message}, ${NAME:+word}, ${NAME+word}; NAME of letters, digits and '_', not starting with a digit"

// expandVars expands the ${...} of s (see expandEnv).
func expandVars(s string, lookup func(string) (string, bool)) (string, []varError, []varUse) {
	x := &expander{lookup: lookup}
	out := x.expand(s, 0, 0)
	return out, x.errs, x.used
}

// expander expands the variables of one scalar.
type expander struct {
	lookup func(string) (string, bool)
	errs   []varError
	used   []varUse
}

// maxVarDepth bounds how deep variables nest in defaults.
const maxVarDepth = 16

// expand expands s, which starts base bytes into the scalar, depth
// defaults deep.
func (x *expander) expand(s string, base, depth int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			x.errs = append(x.errs, varError{base + i, fmt.Sprintf("%q: ${ without its } (write $${ for a literal ${)", s[i:])})
			return s
		}
		expr := s[i+2 : end]
		k := 0
		for k < len(expr) && (isAlnum(rune(expr[k])) || expr[k] == '_') {
			k++
		}
		name, rest, op, word := expr[:k], expr[k:], "", ""
		for _, o := range varOps {
			if strings.HasPrefix(rest, o) {
				op, word = o, rest[len(o):]
				break
			}
		}
		off := base + i
		if !validVarName(name) || op == "" && rest != "" {
			x.errs = append(x.errs, varError{off, fmt.Sprintf("${%s}: not a variable (%s)", expr, varForms)})
			i = end + 1
			continue
		}
		if depth >= maxVarDepth {
			x.errs = append(x.errs, varError{off, fmt.Sprintf("${%s...}: variables nest more than %d deep", name, maxVarDepth)})
			return s
		}
		wordOff := base + i + 2 + k + len(op)
		v, set := x.lookup(name)
		// With a colon, a variable set to "" counts as not set.
		present := set && (v != "" || !strings.HasPrefix(op, ":"))
		switch strings.TrimPrefix(op, ":") {
		case "":
			if !set {
				x.errs = append(x.errs, varError{off, fmt.Sprintf("${%s} is not set: set %s in the environment, or give a default: ${%s:=value}", name, name, name)})
				break
			}
			b.WriteString(v)
			x.used = append(x.used, varUse{off, name, "its value from the environment"})
		case "-", "=":
			if present {
				b.WriteString(v)
				x.used = append(x.used, varUse{off, name, "its value from the environment"})
				break
			}
			n := len(x.errs)
			def := x.expand(word, wordOff, depth+1)
			if len(x.errs) == n {
				b.WriteString(def)
				x.used = append(x.used, varUse{off, name, fmt.Sprintf("its default %q", def)})
			}
		case "?":
			if present {
				b.WriteString(v)
				x.used = append(x.used, varUse{off, name, "its value from the environment"})
				break
			}
			state := "is not set"
			if set {
				state = "is empty"
			}
			msg := x.expand(word, wordOff, depth+1)
			if msg == "" {
				msg = "it is required"
			}
			x.errs = append(x.errs, varError{off, fmt.Sprintf("${%s%s...}: %s %s: %s", name, op, name, state, msg)})
		case "+":
			if !present {
				x.used = append(x.used, varUse{off, name, `"" (it is not set)`})
				break
			}
			n := len(x.errs)
			alt := x.expand(word, wordOff, depth+1)
			if len(x.errs) == n {
				b.WriteString(alt)
				x.used = append(x.used, varUse{off, name, fmt.Sprintf("its alternative %q (it is set)", alt)})
			}
		}
		i = end + 1
	}
	return b.String()
}

// closingBrace returns the index of the } that closes the ${ whose
// content starts at s[from:], counting the ${ } nested in it; -1 if none.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case strings.HasPrefix(s[j:], "$${"):
			j += 2
		case strings.HasPrefix(s[j:], "${"):
			depth++
			j++
		case s[j] == '}':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(isAlnum(r) || r == '_') || i == 0 && r >= '0' && r <= '9' {
			return false
		}
	}
	return true
}
