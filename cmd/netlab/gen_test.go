package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netlab/netlab/topology"
)

// TestGenCLI: netlab gen writes a file netlab validate accepts, the same
// command the same bytes, says the command in the header, -o writes the
// file and says what it wrote, and bad flags are refused with what is
// allowed.
func TestGenCLI(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args         []string
		nodes, links int
	}{
		{[]string{"gen", "dumbbell"}, 6, 5},
		{[]string{"gen", "dumbbell", "--pairs", "3", "--rate", "20mbit", "--access-delay", "1ms", "--stack", "linux"}, 8, 7},
		{[]string{"gen", "parking-lot", "--hops", "2", "--cross", "2"}, 3 + 2 + 8, 2 + 2 + 8},
		{[]string{"gen", "leaf-spine", "--leaves", "4", "--spines", "2", "--hosts-per-leaf", "3"}, 18, 20},
		{[]string{"gen", "fat-tree", "--k", "4", "--queue", "64KB", "--delay", "1ms"}, 36, 48},
		{[]string{"gen", "star", "--hosts", "5", "--center", "router", "--name", "my-star"}, 6, 5},
		{[]string{"gen", "line", "--routers", "4", "--hosts", "2"}, 8, 7},
		{[]string{"gen", "tree", "--depth", "2", "--fanout", "3"}, 13, 12},
	} {
		cmdline := "netlab " + strings.Join(tc.args, " ")
		out, err := run(t, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		again, _ := run(t, tc.args...)
		if again != out {
			t.Errorf("%s: two runs differ", cmdline)
		}
		// The header's command is the flags given, in name order.
		want := "netlab gen " + tc.args[1]
		var flags []string
		for i := 2; i+1 < len(tc.args); i += 2 {
			flags = append(flags, tc.args[i]+" "+tc.args[i+1])
		}
		slices.Sort(flags)
		if len(flags) > 0 {
			want += " " + strings.Join(flags, " ")
		}
		if !strings.Contains(out, "#   "+want+"\n") {
			t.Errorf("%s: header does not say %q:\n%s", cmdline, want, out)
		}
		// What netlab validate reads: the file, from disk.
		path := filepath.Join(dir, strings.Join(tc.args[1:], "_")+".yml")
		sum, err := run(t, append(tc.args, "-o", path, "--format", "json")...)
		if err != nil {
			t.Fatalf("%s -o: %v", cmdline, err)
		}
		if b, _ := os.ReadFile(path); string(b) != out {
			t.Errorf("%s: -o wrote other bytes than stdout", cmdline)
		}
		var s genSummary
		if err := json.Unmarshal([]byte(sum), &s); err != nil || s.File != path || s.Shape != tc.args[1] {
			t.Errorf("%s: summary %q (%v)", cmdline, sum, err)
		}
		lab, err := topology.Load(path)
		if err != nil {
			t.Fatalf("%s: %v", cmdline, err)
		}
		nodes := len(lab.Nodes) + len(lab.Segments)
		if nodes != tc.nodes || len(lab.Links) != tc.links || s.Nodes != tc.nodes {
			t.Errorf("%s: %d nodes (summary %d), %d links; want %d, %d", cmdline, nodes, s.Nodes, len(lab.Links), tc.nodes, tc.links)
		}
		v, err := run(t, "validate", "-t", path)
		if err != nil || !strings.Contains(v, "is valid") {
			t.Errorf("%s: netlab validate: %v\n%s", cmdline, err, v)
		}
	}
	text, err := run(t, "gen", "fat-tree", "-o", filepath.Join(dir, "ft.yml"))
	if err != nil || !strings.Contains(text, `ft.yml: lab "fat-tree-4", fat-tree: 36 nodes (8 agg, 4 core, 8 edge, 16 host), 48 links`) {
		t.Errorf("gen -o: %v, said %q", err, text)
	}
}

// TestGenRefusesCLI: bad sizes and values fail with one sentence saying
// what is allowed, and write nothing.
func TestGenRefusesCLI(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		want  string
		noOut bool // run without -o FILE
	}{
		{[]string{"gen", "fat-tree", "--k", "5"}, "fat-tree: --k 5: k must be even, 2 or more", false},
		{[]string{"gen", "dumbbell", "--pairs", "0"}, "dumbbell: --pairs 0: at least 1 sender-receiver pair", false},
		{[]string{"gen", "dumbbell", "--rate", "fast"}, `--rate "fast": want a rate with tc's units`, false},
		{[]string{"gen", "leaf-spine", "--access-queue", "lots"}, `--access-queue "lots": want frames (100) or bytes`, false},
		{[]string{"gen", "star", "--center", "hub"}, `--center "hub": want bridge`, false},
		{[]string{"gen", "star", "--access-rate", "1mbit"}, "unknown flag: --access-rate", false},
		{[]string{"gen", "tree", "--stack", "bsd"}, `--stack "bsd": want go or linux`, false},
		{[]string{"gen", "line", "--format", "json"}, "--format json describes the file -o writes", true},
		{[]string{"gen", "line", "--format", "yaml"}, `--format "yaml": want text or json`, false},
		{[]string{"gen", "dumbbell", "--pairs", "3000"}, "makes 6002 nodes; at most 4096", false},
	} {
		args := tc.args
		if !tc.noOut {
			args = append(args, "-o", filepath.Join(dir, "bad.yml"))
		}
		out, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("netlab %s: %v (%q), want an error saying %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad.yml")); err == nil {
			t.Errorf("netlab %s wrote a file", strings.Join(tc.args, " "))
		}
	}
	help, err := run(t, "gen", "--help")
	for _, shape := range []string{"dumbbell", "parking-lot", "leaf-spine", "fat-tree", "star", "line", "tree"} {
		if err != nil || !strings.Contains(help, "  "+shape+" ") {
			t.Errorf("gen --help does not list %s: %v\n%s", shape, err, help)
		}
	}
}
