package experiment

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's metrics table from Metrics")

// metricsTable is the README's table of metrics, made from Metrics.
func metricsTable() string {
	var b strings.Builder
	b.WriteString("\nEvery trial reports these (results.csv, one row each); times are the trial's, from its\n")
	b.WriteString("time zero; the measured window is [warmup, duration].\n\n")
	b.WriteString("| metric | unit | definition |\n|---|---|---|\n")
	for _, m := range Metrics {
		b.WriteString("| `" + m.Name + "` | " + string(m.Unit) + " | " + strings.ReplaceAll(m.Doc, "|", "\\|") + " |\n")
	}
	return b.String()
}

func TestREADMEMetrics(t *testing.T) {
	const path = "../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	begin := strings.Index(s, "<!-- metrics:begin")
	end := strings.Index(s, "<!-- metrics:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no <!-- metrics:begin ... --> <!-- metrics:end --> markers")
	}
	begin += strings.Index(s[begin:], "-->") + len("-->\n")
	if *update {
		s = s[:begin] + strings.TrimPrefix(metricsTable(), "\n") + s[end:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, want := s[begin:end], strings.TrimPrefix(metricsTable(), "\n"); got != want {
		t.Errorf("README.md's metrics table is not experiment.Metrics': run go test ./experiment -run TestREADMEMetrics -update\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestREADMEExample parses the README's example experiment file.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "# cc.yml: Reno against CUBIC")
	if i < 0 {
		t.Fatal("README.md has no example experiment file")
	}
	j := strings.Index(s[i:], "```")
	dir := t.TempDir()
	os.WriteFile(dir+"/db.yml", nil, 0o644)
	x, err := Parse(dir+"/cc.yml", []byte(s[i:i+j]))
	if err != nil {
		t.Fatalf("the README's example:\n%v", err)
	}
	if len(x.Cells) != 9 || len(x.Cells[0].Workloads) != 6 || len(x.Asserts) != 2 {
		t.Errorf("the README's example has %d cells, %d workloads, %d thresholds", len(x.Cells), len(x.Cells[0].Workloads), len(x.Asserts))
	}
}
