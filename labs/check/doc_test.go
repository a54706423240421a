package check

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the kinds and measures reference in doc.go")

// reference writes the "# Kinds" and "# Measures" sections of the package
// doc from Kinds and Measures, as comment lines.
func reference() string {
	var b strings.Builder
	para := func(text, indent, first string) {
		words := strings.Fields(text)
		line := first
		for _, w := range words {
			if len(line)+1+len(w) > 76 && strings.TrimSpace(line) != strings.TrimSpace(first) {
				b.WriteString("//" + strings.TrimRight(line, " ") + "\n")
				line = indent
			}
			if line != indent && line != first {
				line += " "
			}
			line += w
		}
		b.WriteString("//" + line + "\n")
	}
	keys := func(keys map[string]string, required []string) {
		names := sortedKeys(keys)
		sort.SliceStable(names, func(i, j int) bool { return isIn(names[i], required) && !isIn(names[j], required) })
		for _, k := range names {
			req := ""
			if isIn(k, required) {
				req = " (required)"
			}
			para(fmt.Sprintf("%s%s: %s", k, req, strings.TrimSuffix(keys[k], " (required)")), "     ", "   - ")
		}
	}
	b.WriteString("// # Kinds\n//\n")
	for _, k := range Kinds() {
		para(k.Name+": "+k.Doc+".", " ", " ")
		keys(k.Keys, k.Required)
		b.WriteString("//\n")
	}
	b.WriteString("// # Measures\n//\n")
	b.WriteString("// Measures compute the truth an answer is graded against (the answer kind).\n//\n")
	for i, m := range Measures() {
		para(m.Name+": "+m.Doc+".", " ", " ")
		keys(m.Keys, m.Required)
		if i < len(Measures())-1 {
			b.WriteString("//\n")
		}
	}
	return b.String()
}

func isIn(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDocReference: the package doc lists every kind and measure with all
// their keys, as Kinds and Measures say (go test -update rewrites it).
func TestDocReference(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte("// # Kinds\n"))
	end := bytes.Index(src, []byte("package check\n"))
	if start < 0 || end < start {
		t.Fatal("doc.go: no \"# Kinds\" section before the package clause")
	}
	want := reference()
	if got := string(src[start:end]); got != want {
		if *update {
			out := append(append(append([]byte{}, src[:start]...), want...), src[end:]...)
			if err := os.WriteFile("doc.go", out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("doc.go's reference is stale; run go test ./labs/check -run TestDocReference -update and review the diff")
	}
}
