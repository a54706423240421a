package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs as root)")
	}
}

// TestDemoOnVeth runs `netlab demo` as the README's first command does
// (with less data) and checks it moved the data intact and left nothing.
func TestDemoOnVeth(t *testing.T) {
	needRoot(t)
	var out bytes.Buffer
	o := &options{stdout: &out, stderr: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runDemo(ctx, o, &demoOptions{bytes: 2 << 20, cc: "cubic"}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"sha256 equal", "mss 1448", "cc cubic", "goodput"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(ns), "nldemo") {
		t.Fatalf("demo left namespaces behind:\n%s", ns)
	}
}
