package topology

import "testing"

// FuzzParseImpairment: `netlab impair --KEY VALUE` values of any shape
// never panic the parser, and what it accepts is a valid configuration
// that prints.
func FuzzParseImpairment(f *testing.F) {
	for _, kv := range [][2]string{
		{"delay", "50ms"}, {"loss", "2%"}, {"rate", "10mbit"}, {"drop-packets", "[3, 7]"},
		{"drop-match", `["syn first", fin]`}, {"outage", "{every: 10s, for: 2s}"},
		{"loss-model", "{model: gemodel, p: 1%}"}, {"jitter", "5ms"}, {"limit", "-1"},
		{"distribution", "pareto"}, {"delay", "[1"}, {"outage", "{every: x}"}, {"seed", "1e99"},
	} {
		f.Add(kv[0], kv[1], "delay", "10ms")
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		c, err := ParseImpairment(map[string]string{k1: v1, k2: v2})
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("ParseImpairment returned nil, nil")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseImpairment(%q=%q, %q=%q) accepted an invalid configuration: %v", k1, v1, k2, v2, err)
		}
		_ = c.String()
	})
}
