package nodeagent

import (
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
)

// TestStacksLearnWhetherLinksAreImpaired: the agent tells its stacks that
// no link is impaired (batch ACKs on every connection) only while nothing
// is, in the plan or by a change in force; an all-zero netem block
// impairs nothing.
func TestStacksLearnWhetherLinksAreImpaired(t *testing.T) {
	for _, tc := range []struct {
		netem string
		want  bool
	}{
		{"", true},
		{"{}", true},
		{"{delay: 1ms}", false},
		{"{rate: 100gbit}", false},
	} {
		t.Run("netem "+tc.netem, func(t *testing.T) {
			ag, _, _, _ := twoHostAgent(t, tc.netem)
			t.Cleanup(func() { ag.Close() })
			check := func(when string, want bool) {
				t.Helper()
				for _, name := range []string{"h1", "h2"} {
					n, err := ag.node(name)
					if err != nil {
						t.Fatal(err)
					}
					if got := n.stack.LinksUnimpaired(); got != want {
						t.Errorf("%s: %s's stack told links unimpaired %v, want %v", when, name, got, want)
					}
				}
			}
			check("as deployed", tc.want)
			if _, err := ag.changeImpair("h1", ImpairChange{Interface: "eth1", Dir: "egress", Impairment: &impair.Config{Delay: 5 * time.Millisecond}}); err != nil {
				t.Fatal(err)
			}
			check("with a delay on h1's egress", false)
			if _, err := ag.changeImpair("h1", ImpairChange{Interface: "eth1", Dir: "both"}); err != nil {
				t.Fatal(err)
			}
			check("with h1's impairment removed", tc.netem == "" || tc.netem == "{}")
			if _, err := ag.changeImpair("h1", ImpairChange{Interface: "eth1", Reset: true}); err != nil {
				t.Fatal(err)
			}
			check("back to the file's values", tc.want)
		})
	}
}
