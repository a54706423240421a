package topology

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/impair"
)

// ParseImpairment reads one direction's impairment written with the keys
// of a link's netem: block (delay: 50ms, jitter: 5ms, loss: 2%, rate:
// 10mbit, limit: 100...), for tools that change links at runtime: each
// value is one YAML value, read with impair's grammar, so the checks,
// defaults and messages are a topology file's. Lists and mappings are
// written in YAML's flow style on one line: drop-packets "[3, 7]",
// drop-match `["syn first", fin]`, outage "{every: 10s, for: 2s}". A .dist
// file is taken relative to the working directory.
func ParseImpairment(fields map[string]string) (*impair.Config, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dg := &diag{file: "impairment"}
	wd, _ := os.Getwd()
	d := &decoder{diag: dg, dir: wd, files: osFiles{}}
	v := impair.Value{Kind: impair.KindMap}
	for _, k := range keys {
		n, err := flagValue(fields[k])
		if err != nil {
			return nil, fmt.Errorf("bad impairment field %s=%q: %w", k, fields[k], err)
		}
		v.Fields = append(v.Fields, impair.Field{Key: k, Value: d.value(n)})
	}
	if dg.failed() {
		return nil, errors.New(messages(dg.errs))
	}
	cfg, err := impair.Parse(v, impair.ParseOptions{Name: "netem", LoadTable: d.loadTable})
	if err != nil {
		return nil, err
	}
	return &cfg, nil
}

// flagValue reads v, the value of one field, as exactly one YAML value on
// one line.
func flagValue(v string) (*yaml.Node, error) {
	if strings.Contains(v, "\n") {
		return nil, errors.New("not one line")
	}
	// Read after a key, as in a file: yaml.v3 ignores what follows a flow
	// collection at the top of a document ("[1] [2]"), not after a key.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+v), &doc); err != nil {
		return nil, fmt.Errorf("not one YAML value: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		return nil, errors.New("not one YAML value")
	}
	return doc.Content[0].Content[1], nil
}

// messages joins the messages of errs with "; ".
func messages(errs []*Error) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Msg
	}
	return strings.Join(msgs, "; ")
}
