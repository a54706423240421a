package labs_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/topology"
)

// TestCourse: every course lab loads, and renders a topology that is valid
// for several students.
func TestCourse(t *testing.T) {
	all, err := labs.Course()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("the course has no labs")
	}
	for _, l := range all {
		t.Run(l.Name, func(t *testing.T) {
			for _, student := range []string{"", "alice", "bob"} {
				v, err := l.Variant(student)
				if err != nil {
					t.Fatal(err)
				}
				data, err := l.TopologyFor(v, "t-"+l.Name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := topology.Parse(l.Topology, data); err != nil {
					t.Errorf("%s for %q: %v", l.Topology, student, err)
				}
				if _, err := l.PageFor(v); err != nil {
					t.Error(err)
				}
			}
			if got, err := labs.Find(l.Name); err != nil || got.Name != l.Name {
				t.Errorf("Find(%s) = %v, %v", l.Name, got, err)
			}
		})
	}
	if _, err := labs.Find("nosuchlab"); !errors.Is(err, labs.ErrNoLab) {
		t.Errorf("Find(nosuchlab) = %v, want ErrNoLab", err)
	}
}

// TestVariants: a student's variant is always the same, another student's
// differs, and every value is in its range, on its step.
func TestVariants(t *testing.T) {
	l := load(t, `title: t
version: 1
params:
  port: {range: [5000, 5999]}
  delay: {range: [5ms, 25ms], step: 5ms}
  buf: {range: [64KiB, 1MiB], step: 64KiB}
  loss: {choice: ["1%", "2%", "3%"]}
checks:
  - {name: c, points: 1, handshake: {node: h1}}
`)
	a1, _ := l.Variant("alice")
	a2, _ := l.Variant("alice")
	if a1.Seed != a2.Seed || a1.Values["port"] != a2.Values["port"] {
		t.Errorf("alice's variant changed: %v, %v", a1.Values, a2.Values)
	}
	same := 0
	for _, s := range []string{"bob", "carol", "dave", "erin"} {
		v, _ := l.Variant(s)
		if v.Values["port"] == a1.Values["port"] {
			same++
		}
	}
	if same > 1 {
		t.Errorf("%d of 4 students share alice's port", same)
	}
	for i := range 200 {
		v, err := l.Variant("s" + strings.Repeat("x", i))
		if err != nil {
			t.Fatal(err)
		}
		switch d := v.Values["delay"]; d {
		case "5ms", "10ms", "15ms", "20ms", "25ms":
		default:
			t.Fatalf("delay %s: not on the 5ms step of [5ms, 25ms]", d)
		}
		if p := v.Values["port"]; p < "5000" || p > "5999" || len(p) != 4 {
			t.Fatalf("port %s out of range", p)
		}
	}
	if s, err := a1.Expand("port ${port}, seed ${seed}, lab ${lab}"); err != nil || strings.Contains(s, "${") {
		t.Errorf("Expand = %q, %v", s, err)
	}
	if _, err := a1.Expand("${nope}"); err == nil || !strings.Contains(err.Error(), "${nope} is not a param") {
		t.Errorf("Expand(${nope}) = %v", err)
	}
}

// TestLoadErrors: every problem of a lab.yml at its line and column, saying
// what is allowed.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "title: t\nversion: 1\ntitel: x\nchecks: [{name: c, points: 1, handshake: {node: h1}}]\n",
			[]string{`lab.yml:3:1: lab: unknown key "titel"; did you mean "title"?`}},
		{"no checks", "title: t\nversion: 1\n", []string{"lab.yml:1:1: lab: no checks"}},
		{"bad submit", "title: t\nversion: 1\nsubmit: zip\nchecks: [{name: c, points: 1, handshake: {node: h1}}]\n",
			[]string{`lab.yml:3:9: submit: "zip" is not a kind of submission (allowed: script, answers, program, overlay, none)`}},
		{"check without points", "title: t\nversion: 1\nchecks:\n  - {name: c, handshake: {node: h1}}\n",
			[]string{"lab.yml:4:5: check 1: points is missing"}},
		{"two kinds", "title: t\nversion: 1\nchecks:\n  - {name: c, points: 1, handshake: {node: h1}, time-wait: {node: h1}}\n",
			[]string{"lab.yml:4:49: check 1: one kind only, but handshake and time-wait are both given"}},
		{"requires a later check", "title: t\nversion: 1\nchecks:\n  - {name: a, points: 1, requires: [b], handshake: {}}\n  - {name: b, points: 1, handshake: {}}\n",
			[]string{`lab.yml:4:5: check "a" requires "b", which is not a check before it`}},
		{"bad range", "title: t\nversion: 1\nparams:\n  p: {range: [1, 5ms]}\nchecks: [{name: c, points: 1, handshake: {}}]\n",
			[]string{"lab.yml:4:3: param p: range [1, 5ms]: want integers, durations (5ms) or sizes (64KiB), all of one kind"}},
		{"unknown step", "title: t\nversion: 1\nsteps:\n  - {sned: {node: h1}}\nchecks: [{name: c, points: 1, handshake: {}}]\n",
			[]string{`lab.yml:4:5: step 1: unknown action "sned"; did you mean "send"?`}},
		{"wait for a foreground step", "title: t\nversion: 1\nsteps:\n  - {name: a, exec: {node: h1, command: x}}\n  - {wait: {step: a}}\nchecks: [{name: c, points: 1, handshake: {}}]\n",
			[]string{`lab.yml:5:5: step "wait-2" waits for "a", which is not a step before it with background: true`}},
		{"background serve", "title: t\nversion: 1\nsteps:\n  - {background: true, serve: {node: h2}}\nchecks: [{name: c, points: 1, handshake: {}}]\n",
			[]string{`lab.yml:4:5: step 1: only exec, program, send, script, ping steps run in the background (the others return at once)`}},
		{"bad visibility", "title: t\nversion: 1\nchecks:\n  - {name: c, points: 1, visibility: secret, handshake: {}}\n",
			[]string{`lab.yml:4:38: check 1: visibility "secret" (allowed: visible, hidden, after_due_date, after_published)`}},
		{"a reserved param", "title: t\nversion: 1\nparams:\n  seed: {range: [1, 2]}\nchecks: [{name: c, points: 1, handshake: {}}]\n",
			[]string{`lab.yml:4:3: params: "seed" is netlab's own`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := labs.Load(fstest.MapFS{
				"lab.yml":      {Data: []byte(tc.file)},
				"topology.yml": {Data: []byte("name: x\n")},
				"README.md":    {Data: []byte("x")},
			}, "x", "lab.yml")
			var el topology.ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("Load = %v, want an ErrorList", err)
			}
			got := strings.Split(el.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant %d: %q", el, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error %d = %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
}

func load(t *testing.T, labYML string) *labs.Lab {
	t.Helper()
	l, err := labs.Load(fstest.MapFS{
		"lab.yml":      {Data: []byte(labYML)},
		"topology.yml": {Data: []byte("name: ${name}\n")},
		"README.md":    {Data: []byte("x")},
	}, "x", "lab.yml")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestApplyOverlay: a student's overlay sets the keys the lab allows on
// the lab's nodes, and nothing else, every problem at its line.
func TestApplyOverlay(t *testing.T) {
	l, err := labs.Find("routing")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := l.Variant("alice")
	base, err := l.TopologyFor(v, "t")
	if err != nil {
		t.Fatal(err)
	}
	good := "topology:\n  nodes:\n    h1:\n      routes: [{dst: default, via: 10." + v.Values["net"] + ".1.1}]\n"
	out, err := l.ApplyOverlay(base, []byte(good), "mine.yml")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := topology.Parse("t.yml", out)
	if err != nil {
		t.Fatalf("the merged topology: %v\n%s", err, out)
	}
	if r := lab.Node("h1").Routes; len(r) != 1 || r[0].String() != "default via 10."+v.Values["net"]+".1.1 dev eth1" {
		t.Errorf("h1's routes: %v", r)
	}
	if len(lab.Links) != 3 || lab.Node("r1").Base != topology.KindRouter {
		t.Errorf("the overlay changed the lab: %d links, r1 %s", len(lab.Links), lab.Node("r1").Base)
	}
	for _, tc := range []struct{ overlay, want string }{
		{"topology:\n  nodes:\n    h9: {routes: []}\n", `mine.yml:3:5: node "h9" is not in the lab`},
		{"topology:\n  nodes:\n    h1:\n      exec: [\"rm -rf /\"]\n", "mine.yml:4:7: node h1: exec cannot be changed in this lab (it lets you set routes)"},
		{"topology:\n  links: []\n", `mine.yml:2:3: topology: unknown key "links"`},
		{"name: mine\n", `mine.yml:1:1: overlay: unknown key "name"`},
		{"topology: [\n", "mine.yml: not YAML"},
	} {
		_, err := l.ApplyOverlay(base, []byte(tc.overlay), "mine.yml")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ApplyOverlay(%q) = %v, want %q", tc.overlay, err, tc.want)
		}
	}
}
