package runner

import (
	"maps"
	"strings"
	"testing"

	"github.com/netlab/netlab/labs/check"
)

// TestAnswerTruths: in a lab's own answers file, ${truth} and
// ${truth.NAME} become the measured values; other values stay as written.
func TestAnswerTruths(t *testing.T) {
	truth := map[string]string{"rto_ms": "246", "isn": "12345"}
	for _, tc := range []struct {
		name    string
		answers map[string]string
		want    map[string]string
		err     string
	}{
		{"own name", map[string]string{"rto_ms": "${truth}", "isn": "7"}, map[string]string{"rto_ms": "246", "isn": "7"}, ""},
		{"another measure", map[string]string{"x": " ${truth.isn} "}, map[string]string{"x": "12345"}, ""},
		{"written as is", map[string]string{"x": "truth", "y": "$truth"}, map[string]string{"x": "truth", "y": "$truth"}, ""},
		{"no such measure", map[string]string{"x": "${truth}"}, nil, "answer x: ${truth} names no measure of the lab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &check.Evidence{Answers: maps.Clone(tc.answers), Truth: truth}
			err := answerTruths(ev)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("answerTruths = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !maps.Equal(ev.Answers, tc.want) {
				t.Fatalf("answerTruths: %v, answers %v, want %v", err, ev.Answers, tc.want)
			}
		})
	}
}
