package topology

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ParseImpairment reads one direction's impairment written with the keys
// of a link's netem: block (delay: 50ms, jitter: 5ms, loss: 2%, rate:
// 10mbit, limit: 100...), for tools that change links at runtime. It goes
// through the same checks, defaults and messages as a topology file.
func ParseImpairment(fields map[string]string) (*Impairment, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("name: impair\ntopology:\n  nodes:\n    a: {kind: host}\n    b: {kind: host}\n  links:\n    - endpoints: [\"a:eth1\", \"b:eth1\"]\n      netem:\n")
	for _, k := range keys {
		if strings.ContainsAny(k, ":\n#{}[],") || strings.ContainsAny(fields[k], "\n#{}[],") {
			return nil, fmt.Errorf("bad impairment field %q", k)
		}
		fmt.Fprintf(&b, "        %s: %s\n", k, fields[k])
	}
	lab, err := Parse("impairment", []byte(b.String()))
	if err != nil {
		var el ErrorList
		if errors.As(err, &el) {
			var msgs []string
			for _, e := range el.Errors() {
				msgs = append(msgs, e.Msg)
			}
			return nil, errors.New(strings.Join(msgs, "; "))
		}
		return nil, err
	}
	if len(lab.Links) != 1 {
		return nil, errors.New("impairment: no link planned")
	}
	return lab.Links[0].Netem.AtoB, nil
}
