package suggest

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"endpoints", "mtu", "name", "netem", "type", "kind", "auto-routes"}
	tests := []struct {
		word, want string
	}{
		{"endpoint", "endpoints"},
		{"mut", "mtu"},
		{"nmae", "name"},
		{"kinde", "kind"},
		{"auto_routes", "auto-routes"},
		{"Kind", "kind"},
		{"colour", ""},
		{"x", ""},
		{"netemm", "netem"},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if got := Closest(tc.word, keys); got != tc.want {
				t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest with no candidates = %q, want empty", got)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"mtu", "mut", 1},
		{"ab", "ba", 1},
		{"flaw", "lawn", 2},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_"+tc.b, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
