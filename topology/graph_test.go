package topology

import (
	"strings"
	"testing"

	"github.com/netlab/netlab/impair"
)

func TestGraph(t *testing.T) {
	files := []string{"../examples/lossy-wan.yml", "../examples/lan-star.yml", "testdata/graph/mixed.yml"}
	for _, file := range files {
		lab, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"dot", "mermaid"} {
			name := strings.TrimSuffix(strings.TrimPrefix(file[strings.LastIndex(file, "/")+1:], "/"), ".yml")
			t.Run(name+"."+format, func(t *testing.T) {
				got, err := lab.Graph(format)
				if err != nil {
					t.Fatalf("Graph(%q): %v", format, err)
				}
				golden(t, "testdata/graph/"+name+"."+format+".golden", got)
			})
		}
	}
	lab, err := Load(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Graph("svg"); err == nil || !strings.Contains(err.Error(), "allowed: dot, mermaid") {
		t.Errorf("Graph(svg) error = %v, want one naming dot and mermaid", err)
	}
}

func TestImpairmentString(t *testing.T) {
	lab := mustParse(t, `
name: s
topology:
  nodes: {a: , b: }
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      netem:
        delay: 100ms
        jitter: 10ms
        correlation: 25%
        distribution: pareto
        loss-model: {model: state, p13: 1%}
        duplicate: 1%
        corrupt: 0.1%
        reorder: 25%
        gap: 5
        rate: 1500bit
        rate-overhead: 14
        ecn: true
        limit: 50
        limit-bytes: 1KiB
`)
	got := lab.Links[0].Netem.AtoB.String()
	want := "delay 100ms 10ms 25% distribution pareto loss state 1% 99% 0% 100% 0% duplicate 1% corrupt 0.1% reorder 25% gap 5 rate 1500bit 14 ecn limit 50 limit-bytes 1024"
	if got != want {
		t.Errorf("String() = %q\nwant       %q", got, want)
	}
	if got := (*impair.Config)(nil).String(); got != "" {
		t.Errorf("nil String() = %q, want empty", got)
	}
}
