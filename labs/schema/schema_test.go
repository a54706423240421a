package schema_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/schema"
)

var update = flag.Bool("update", false, "rewrite schema/lab.schema.json")

const file = "../../schema/lab.schema.json"

// TestFileUpToDate: the schema in the repository is the one the packages
// that own lab.yml's parts make today.
func TestFileUpToDate(t *testing.T) {
	want, err := schema.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./labs/schema -update", file)
	}
}

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := schema.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schema.ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance reads YAML as the JSON value an editor's YAML plugin validates.
func instance(t *testing.T, y []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestLabsValidate: every lab netlab ships (the course's, and the
// runner's test lab) is valid under the schema.
func TestLabsValidate(t *testing.T) {
	s := compile(t)
	all, err := labs.Course()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range all {
		data, err := l.ReadFile("lab.yml")
		if err != nil {
			t.Fatal(err)
		}
		files[l.Name] = data
	}
	more, _ := filepath.Glob("../runner/testdata/*/lab.yml")
	for _, f := range more {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[f] = data
	}
	if len(files) < 2 {
		t.Fatalf("only %d labs to validate", len(files))
	}
	for name, data := range files {
		if err := s.Validate(instance(t, data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRefuses: what the decoder or lint refuses, the schema refuses too.
func TestRefuses(t *testing.T) {
	s := compile(t)
	const head = "title: t\nversion: 1\n"
	const chk = "checks: [{name: c, points: 1, handshake: {node: h1}}]\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"a valid lab", head + chk, ""},
		{"an unknown key", head + "titel: x\n" + chk, "titel"},
		{"no checks", head, "checks"},
		{"a check without points", head + "checks: [{name: c, handshake: {node: h1}}]\n", "points"},
		{"two kinds in a check", head + "checks: [{name: c, points: 1, handshake: {}, time-wait: {}}]\n", "oneOf"},
		{"a check kind's unknown argument", head + "checks: [{name: c, points: 1, handshake: {node: h1, opts: [mss]}}]\n", "opts"},
		{"an unknown step action", head + "steps: [{sned: {node: h1}}]\n" + chk, "sned"},
		{"a step's unknown argument", head + "steps: [{exec: {node: h1, comand: x}}]\n" + chk, "comand"},
		{"a step without its required argument", head + "steps: [{exec: {node: h1}}]\n" + chk, "command"},
		{"netem's keys in an impair step", head + "steps: [{impair: {target: wan, delay: 5ms, loss: 1%}}]\n" + chk, ""},
		{"a misspelled netem key", head + "steps: [{impair: {target: wan, delya: 5ms}}]\n" + chk, "delya"},
		{"a bad submit", head + "submit: zip\n" + chk, "submit"},
		{"a bad visibility", head + "checks: [{name: c, points: 1, visibility: secret, handshake: {}}]\n", "visibility"},
		{"a param with range and choice", head + "params: {p: {range: [1, 2], choice: [a]}}\n" + chk, "oneOf"},
		{"an overlay key students may not set", head + "submit: overlay\noverlay: [links]\n" + chk, "overlay"},
		{"a measure", head + "measures: {m: {isn: {node: h1}}}\n" + chk, ""},
		{"an unknown measure", head + "measures: {m: {nis: {node: h1}}}\n" + chk, "nis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(instance(t, []byte(tc.doc)))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted; want refused (%s)", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("refused, but %v does not name %q", err, tc.want)
			}
		})
	}
}
