// Package schema writes lab.yml's JSON Schema (schema/lab.schema.json),
// for editors: completion and hover docs for every key, and errors for
// the keys and shapes a lab file may not have. It is made from the
// packages that own each part — lab.yml's keys (labs), the step actions
// (labs/runner), the kinds of checks and measures (labs/check), netem's
// keys (impair) — so it never drifts from what netlab accepts.
package schema

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/check"
	"github.com/netlab/netlab/labs/runner"
)

// ID is the schema's $id.
const ID = "https://github.com/netlab/netlab/schema/lab.schema.json"

type obj = map[string]any

// JSON returns the schema, indented, with a final newline.
func JSON() ([]byte, error) {
	b, err := json.MarshalIndent(Schema(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("lab schema: %w", err)
	}
	return append(b, '\n'), nil
}

// Schema returns the schema as a JSON value.
func Schema() map[string]any {
	defs := obj{
		"scalar":   obj{"type": []string{"string", "number", "boolean"}},
		"duration": obj{"type": "string", "description": "a duration: 500ms, 5s, 2m"},
		"param":    param(),
		"step":     step(),
		"check":    checkDef(),
		"measure":  measure(),
		"solution": solution(),
	}
	for _, a := range runner.StepActions() {
		defs["step-"+a.Name] = stepAction(a)
	}
	for _, k := range check.Kinds() {
		defs["check-"+k.Name] = kindDef(k.Doc, k.Keys, k.Required)
	}
	for _, m := range check.Measures() {
		defs["measure-"+m.Name] = kindDef(m.Doc, m.Keys, m.Required)
	}
	props := obj{}
	for _, k := range labs.LabKeys() {
		var p obj
		switch k.Key {
		case "title", "summary", "author", "topology", "page":
			p = obj{"type": "string"}
		case "version":
			p = obj{"type": []string{"string", "number"}}
		case "submit":
			p = obj{"enum": labs.SubmitKinds()}
		case "timeout":
			p = obj{"$ref": "#/$defs/duration"}
		case "overlay":
			p = obj{"type": "array", "items": obj{"enum": labs.OverlayKeys}}
		case "params":
			p = obj{"type": "object", "additionalProperties": obj{"$ref": "#/$defs/param"}}
		case "steps":
			p = obj{"type": "array", "items": obj{"$ref": "#/$defs/step"}}
		case "measures":
			p = obj{"type": "object", "additionalProperties": obj{"$ref": "#/$defs/measure"}}
		case "checks":
			p = obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/check"}}
		case "solutions":
			p = obj{"type": "array", "items": obj{"$ref": "#/$defs/solution"}}
		default:
			panic("lab schema: no shape for lab.yml's key " + k.Key)
		}
		props[k.Key] = describe(p, k.Doc)
	}
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  ID,
		"title":                "netlab lab.yml",
		"description":          "A graded netlab exercise: what the student submits, the params each student's variant draws, the steps the grader runs once the lab's topology is deployed, and the checks it grades on what happened on the wire.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"title", "version", "checks"},
		"properties":           props,
		"$defs":                defs,
	}
}

func describe(p obj, doc string) obj {
	if doc != "" {
		p["description"] = doc
	}
	return p
}

func param() obj {
	props := obj{}
	for _, k := range labs.ParamKeys() {
		var p obj
		switch k.Key {
		case "range":
			p = obj{"type": "array", "minItems": 2, "maxItems": 2, "items": obj{"$ref": "#/$defs/scalar"}}
		case "step":
			p = obj{"$ref": "#/$defs/scalar"}
		case "choice":
			p = obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/scalar"}}
		default:
			panic("lab schema: no shape for a param's key " + k.Key)
		}
		props[k.Key] = describe(p, k.Doc)
	}
	return obj{
		"type": "object", "additionalProperties": false, "properties": props,
		"oneOf": []obj{{"required": []string{"range"}}, {"required": []string{"choice"}}},
	}
}

// oneKind is the schema of a mapping with common keys and exactly one of
// the kinds (a step's action, a check's kind).
func oneKind(common obj, prefix string, kinds []string, docs map[string]string) obj {
	props := obj{}
	for k, v := range common {
		props[k] = v
	}
	var one []obj
	for _, k := range kinds {
		props[k] = describe(obj{"$ref": "#/$defs/" + prefix + k}, docs[k])
		one = append(one, obj{"required": []string{k}})
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props, "oneOf": one}
}

func step() obj {
	common := obj{}
	for _, k := range labs.StepKeys() {
		var p obj
		switch k.Key {
		case "name":
			p = obj{"type": "string"}
		case "within":
			p = obj{"$ref": "#/$defs/duration"}
		case "background":
			p = obj{"type": "boolean"}
		default:
			panic("lab schema: no shape for a step's key " + k.Key)
		}
		common[k.Key] = describe(p, k.Doc)
	}
	var names []string
	docs := map[string]string{}
	for _, a := range runner.StepActions() {
		names = append(names, a.Name)
		docs[a.Name] = a.Doc
	}
	return oneKind(common, "step-", names, docs)
}

func stepAction(a runner.StepAction) obj {
	keys := a.Keys
	if a.Open {
		keys = map[string]string{}
		for k, v := range a.Keys {
			keys[k] = v
		}
		for _, k := range impair.Keys() {
			keys[k.Name] = "netem's " + k.Name + ", as in a link's netem: block"
		}
	}
	return kindDef(a.Doc, keys, a.Required)
}

func kindDef(doc string, keys map[string]string, required []string) obj {
	props := obj{}
	for k, d := range keys {
		props[k] = obj{"description": d}
	}
	o := obj{"type": "object", "additionalProperties": false, "properties": props, "description": doc}
	if len(required) > 0 {
		r := append([]string(nil), required...)
		sort.Strings(r)
		o["required"] = r
	}
	return o
}

func checkDef() obj {
	common := obj{}
	for _, k := range labs.CheckKeys() {
		var p obj
		switch k.Key {
		case "name", "pass", "fail":
			p = obj{"type": "string"}
		case "points":
			p = obj{"type": "number", "minimum": 0}
		case "visibility":
			p = obj{"enum": labs.Visibilities()}
		case "requires":
			p = obj{"type": "array", "items": obj{"type": "string"}}
		case "within":
			p = obj{"$ref": "#/$defs/duration"}
		default:
			panic("lab schema: no shape for a check's key " + k.Key)
		}
		common[k.Key] = describe(p, k.Doc)
	}
	var names []string
	docs := map[string]string{}
	for _, k := range check.Kinds() {
		names = append(names, k.Name)
		docs[k.Name] = k.Doc
	}
	o := oneKind(common, "check-", names, docs)
	o["required"] = []string{"name", "points"}
	return o
}

func measure() obj {
	var names []string
	docs := map[string]string{}
	for _, m := range check.Measures() {
		names = append(names, m.Name)
		docs[m.Name] = m.Doc
	}
	return oneKind(obj{}, "measure-", names, docs)
}

func solution() obj {
	props := obj{}
	for _, k := range labs.SolutionKeys() {
		var p obj
		switch k.Key {
		case "file":
			p = obj{"type": "string"}
		case "score":
			p = obj{"anyOf": []obj{{"const": "full"}, {"type": "number", "minimum": 0}}}
		case "fails":
			p = obj{"type": "array", "items": obj{"type": "string"}}
		default:
			panic("lab schema: no shape for a solution's key " + k.Key)
		}
		props[k.Key] = describe(p, k.Doc)
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props, "required": []string{"file"}}
}
