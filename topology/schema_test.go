package topology

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const schemaFile = "../schema/netlab.schema.json"

// shapePaths lists the key paths a shape accepts ("topology.nodes.*.kind")
// and the ones it refuses with a message.
func shapePaths(s *shape, prefix string, accepted map[string]bool, rejected map[string]string) {
	for _, f := range s.fields {
		p := prefix + f.key
		accepted[p] = true
		if f.obj != nil {
			shapePaths(f.obj, p+".", accepted, rejected)
		}
		if f.each != nil {
			shapePaths(f.each, p+".*.", accepted, rejected)
		}
	}
	for _, r := range s.rejected {
		rejected[prefix+r.key] = r.msg
	}
}

// schemaPaths lists the same from the JSON Schema: properties, map values
// (additionalProperties) and list items ("*"), following $ref and
// allOf/anyOf/oneOf. A property whose schema is {"not": {}} is refused; its
// description is the refusal.
func schemaPaths(t *testing.T, root map[string]any, s any, prefix string, accepted map[string]bool, rejected map[string]string, depth int) {
	t.Helper()
	if depth > 50 {
		t.Fatalf("schema nests too deep at %q", prefix)
	}
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	if ref, ok := m["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, ok := root["$defs"].(map[string]any)[name]
		if !found || !ok {
			t.Fatalf("unresolved $ref %q at %q", ref, prefix)
		}
		schemaPaths(t, root, def, prefix, accepted, rejected, depth+1)
	}
	for _, comb := range []string{"allOf", "anyOf", "oneOf"} {
		subs, _ := m[comb].([]any)
		for _, sub := range subs {
			schemaPaths(t, root, sub, prefix, accepted, rejected, depth+1)
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, v := range props {
			p := prefix + k
			if vm, ok := v.(map[string]any); ok {
				if not, ok := vm["not"].(map[string]any); ok && len(not) == 0 {
					desc, _ := vm["description"].(string)
					rejected[p] = desc
					continue
				}
			}
			accepted[p] = true
			schemaPaths(t, root, v, p+".", accepted, rejected, depth+1)
		}
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		schemaPaths(t, root, ap, prefix+"*.", accepted, rejected, depth+1)
	}
	if items, ok := m["items"].(map[string]any); ok {
		schemaPaths(t, root, items, prefix+"*.", accepted, rejected, depth+1)
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return root
}

// TestSchemaMatchesParser walks the parser's shapes and the JSON Schema and
// checks they accept the same keys at the same places and refuse the same
// ones for the same reason.
func TestSchemaMatchesParser(t *testing.T) {
	root := loadSchema(t)
	if got := root["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	goAcc, goRej := map[string]bool{}, map[string]string{}
	shapePaths(fileShape(), "", goAcc, goRej)
	schAcc, schRej := map[string]bool{}, map[string]string{}
	schemaPaths(t, root, root, "", schAcc, schRej, 0)
	if len(goAcc) < 100 {
		t.Fatalf("the parser accepts %d key paths, expected more: is the walk broken?", len(goAcc))
	}
	sorted := func(m map[string]bool) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if diff := cmp.Diff(sorted(goAcc), sorted(schAcc)); diff != "" {
		t.Errorf("accepted keys differ (-parser +schema):\n%s", diff)
	}
	if diff := cmp.Diff(goRej, schRej); diff != "" {
		t.Errorf("refused keys differ (-parser +schema):\n%s", diff)
	}
}

// normalize maps the places that share a shape onto one name, so that one
// file can show every key of each shape once.
func normalize(p string) string {
	for _, from := range []string{"topology.defaults.", "topology.kinds.*.", "topology.nodes.*."} {
		if rest, ok := strings.CutPrefix(p, from); ok {
			return "node." + rest
		}
	}
	p = strings.ReplaceAll(p, ".a-to-b.", ".")
	return strings.ReplaceAll(p, ".b-to-a.", ".")
}

// yamlPaths lists the key paths a YAML node holds, guided by a shape.
func yamlPaths(n *yaml.Node, s *shape, prefix string, out map[string]bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, deref(n.Content[i+1])
		p := prefix + k
		out[normalize(p)] = true
		f := s.field(k)
		if f == nil {
			continue
		}
		if f.obj != nil {
			yamlPaths(v, f.obj, p+".", out)
		}
		if f.each != nil {
			switch v.Kind {
			case yaml.MappingNode:
				for j := 1; j < len(v.Content); j += 2 {
					yamlPaths(v.Content[j], f.each, p+".*.", out)
				}
			case yaml.SequenceNode:
				for _, item := range v.Content {
					yamlPaths(item, f.each, p+".*.", out)
				}
			}
		}
	}
}

// TestEveryKeyHandled loads a file that uses every accepted key: it must
// load (so the decoder handles every key its shapes accept) and it must
// indeed use them all.
func TestEveryKeyHandled(t *testing.T) {
	const file = "testdata/all-keys.yml"
	lab, err := Load(file)
	if err != nil {
		t.Fatalf("Load(%s): %v", file, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	yamlPaths(doc.Content[0], fileShape(), "", used)
	accepted, rejected := map[string]bool{}, map[string]string{}
	shapePaths(fileShape(), "", accepted, rejected)
	missing := map[string]bool{}
	for p := range accepted {
		if !used[normalize(p)] {
			missing[normalize(p)] = true
		}
	}
	for p := range missing {
		t.Errorf("%s does not use key %s", file, p)
	}
	if len(lab.Warnings) == 0 {
		t.Errorf("Load(%s) gave no warnings, want the tcp options ignored on the stack: linux node", file)
	}
}
