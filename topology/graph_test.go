package topology

import (
	"strings"
	"testing"
	"time"
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
	if got := (*Impairment)(nil).String(); got != "" {
		t.Errorf("nil String() = %q, want empty", got)
	}
}

func TestImpairmentStringSchedules(t *testing.T) {
	tests := []struct {
		name string
		m    Impairment
		want string
	}{
		{"order netem is the default", Impairment{Limit: netemLimit}, ""},
		{"order keep", Impairment{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Distribution: "uniform", Order: OrderKeep}, "delay 10ms 1ms order keep"},
		{"drop every", Impairment{DropEveryNth: 10}, "drop every 10"},
		{"drop packets", Impairment{DropPackets: []uint64{3, 7}}, "drop packets 3,7"},
		{"drop-match", Impairment{DropMatch: []string{"syn first", "fin"}}, "drop-match syn first drop-match fin"},
		{"outage", Impairment{Outage: &Outage{Every: 10 * time.Second, For: 2 * time.Second}}, "outage 2s every 10s"},
		{"outage offset", Impairment{Outage: &Outage{Every: time.Minute, For: time.Second, Offset: 5 * time.Second}}, "outage 1s every 1m0s offset 5s"},
		{
			"all",
			Impairment{Loss: LossModel{Model: LossRandom, P: 0.01}, Order: OrderKeep, DropEveryNth: 5, DropPackets: []uint64{1},
				DropMatch: []string{"pure-ack"}, Outage: &Outage{Every: 10 * time.Second, For: 2 * time.Second}},
			"loss 1% order keep drop every 5 drop packets 1 drop-match pure-ack outage 2s every 10s",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}
