package topology

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandEnv replaces the environment variables written in the file's
// scalars (keys and values) as containerlab does: ${NAME}, and with a
// default ${NAME:=value} or ${NAME:-value} (unset or empty) and
// ${NAME=value} or ${NAME-value} (unset). $${ is a literal ${. A variable
// that is not set and has no default is an error at its position, never
// an empty string. Positions stay those of the file. A plain scalar is
// typed again from what it became (mtu: ${MTU:=9000} is a number).
func (d *decoder) expandEnv(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		out, errs, used := expandVars(n.Value, d.lookupEnv)
		at := func(off int) Pos {
			p := posOf(n)
			if !strings.Contains(n.Value, "\n") {
				switch n.Style {
				case 0:
					p.Col += off
				case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
					p.Col += off + 1
				}
			}
			return p
		}
		for _, e := range errs {
			d.errorf(at(e.off), "%s", e.msg)
		}
		for _, u := range used {
			d.compat.add(CompatMapped, "${"+u.name+"}", at(u.off), "replaced by its value from "+u.from)
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

// varError is a problem with a variable, off bytes into the scalar.
type varError struct {
	off int
	msg string
}

// expandVars expands the ${...} of s (see expandEnv).
func expandVars(s string, lookup func(string) (string, bool)) (string, []varError, []varUse) {
	var b strings.Builder
	var errs []varError
	var used []varUse
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
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			errs = append(errs, varError{i, fmt.Sprintf("%q: ${ without its } (write $${ for a literal ${)", s)})
			return s, errs, used
		}
		expr := s[i+2 : i+end]
		k := 0
		for k < len(expr) && (isAlnum(rune(expr[k])) || expr[k] == '_') {
			k++
		}
		name, rest, def, op := expr[:k], expr[k:], "", ""
		for _, o := range []string{":=", ":-", "=", "-"} {
			if strings.HasPrefix(rest, o) {
				op, def = o, rest[len(o):]
				break
			}
		}
		if !validVarName(name) || op == "" && rest != "" {
			errs = append(errs, varError{i, fmt.Sprintf("${%s}: not a variable (allowed: ${NAME}, ${NAME:=default}, ${NAME:-default}; NAME of letters, digits and '_', not starting with a digit)", expr)})
			i += end + 1
			continue
		}
		v, set := lookup(name)
		switch {
		case set && (v != "" || op == "=" || op == "-"):
			b.WriteString(v)
			used = append(used, varUse{off: i, name: name, from: "the environment"})
		case op != "":
			b.WriteString(def)
			used = append(used, varUse{off: i, name: name, from: "its default " + fmt.Sprintf("%q", def)})
		default:
			errs = append(errs, varError{i, fmt.Sprintf("${%s} is not set: set %s in the environment, or give a default: ${%s:=value}", name, name, name)})
		}
		i += end + 1
	}
	return b.String(), errs, used
}

// varUse is a variable expandVars replaced, off bytes into the scalar.
type varUse struct {
	off  int
	name string
	from string
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
