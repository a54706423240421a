package topology

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseImpairment reads one direction's impairment written with the keys
// of a link's netem: block (delay: 50ms, jitter: 5ms, loss: 2%, rate:
// 10mbit, limit: 100...), for tools that change links at runtime. It goes
// through the same checks, defaults and messages as a topology file. Lists
// and mappings are written in YAML's flow style on one line: drop-packets
// "[3, 7]", drop-match `["syn first", fin]`, outage "{every: 10s, for: 2s}".
func ParseImpairment(fields map[string]string) (*Impairment, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("name: impair\ntopology:\n  nodes:\n    a: {kind: host}\n    b: {kind: host}\n  links:\n    - endpoints: [\"a:eth1\", \"b:eth1\"]\n      netem:\n")
	for _, k := range keys {
		v := fields[k]
		if strings.ContainsAny(k, ":\n#{}[],") || strings.ContainsAny(v, "\n#{}[],") && !isFlow(v) {
			return nil, fmt.Errorf("bad impairment field %q", k)
		}
		fmt.Fprintf(&b, "        %s: %s\n", k, v)
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

// isFlow reports whether v is exactly one YAML flow sequence or flow mapping
// on one line, so that it stays one value once written after a key.
func isFlow(v string) bool {
	if strings.Contains(v, "\n") {
		return false
	}
	// Parsed after a key, as it will be: yaml.v3 ignores what follows a
	// flow collection at the top of a document ("[1] [2]"), not after a key.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+v), &doc); err != nil || len(doc.Content) != 1 {
		return false
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode || len(m.Content) != 2 {
		return false
	}
	n := m.Content[1]
	return (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && n.Style&yaml.FlowStyle != 0
}
