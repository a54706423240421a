// Package layering holds a test of the project's import rules: data flows
// one way (DESIGN.md), and a package's imports read like its job.
package layering

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/netlab/netlab/"

// rules: a package (and everything it imports) must not depend on these.
var rules = []struct {
	pkg    string
	banned []string
	why    string
}{
	{"stack", []string{"topology", "deploy", "nodeagent", "runtime", "gopkg.in/yaml.v3", "github.com/docker/docker", "cmd/"}, "the stack is a library of its own"},
	{"impair", []string{"topology", "deploy", "nodeagent", "runtime", "gopkg.in/yaml.v3", "github.com/docker/docker", "cmd/"}, "the impairment engine knows nothing of YAML, Docker or the CLI"},
	{"clock", []string{"stack", "topology", "gopkg.in/yaml.v3"}, "time is an input to everything else"},
	{"trace", []string{"nodeagent", "stack/link/afpacket", "linuxnet", "topology", "deploy"}, "the trace event is shared by the agent, plots and reports"},
	{"plot", []string{"nodeagent", "stack/link/afpacket", "linuxnet", "deploy", "runtime"}, "plots read traces and captures, not the agent"},
	{"topology", []string{"deploy", "nodeagent", "runtime", "wiring", "linuxnet", "github.com/docker/docker", "cmd/"}, "the plan is pure"},
	{"labdir", []string{"topology", "deploy", "nodeagent", "runtime", "stack"}, "the layout of a lab's files sits below everything that uses it"},
	{"nodeagent", []string{"deploy", "runtime", "github.com/docker/docker", "cmd/"}, "the agent runs in a node; launching it is deploy's job"},
	{"runtime/netns", []string{"deploy", "nodeagent", "topology"}, "a runtime makes nodes, nothing more"},
	{"runtime/docker", []string{"deploy", "nodeagent", "topology"}, "a runtime makes nodes, nothing more"},
	{"deploy", []string{"cmd/", "plot", "labs"}, "the CLI calls deploy, not the other way"},
	{"labs", []string{"deploy", "nodeagent", "runtime", "cmd/", "labs/runner"}, "a lab's model knows nothing of running it"},
	{"labs/check", []string{"deploy", "nodeagent", "runtime", "topology", "cmd/", "labs/runner"}, "checks read evidence, they do not make it"},
	{"labs/grade", []string{"deploy", "nodeagent", "runtime", "topology", "trace", "cmd/"}, "grades and their formats are plain data"},
	{"labs/runner", []string{"cmd/"}, "the grader reaches the rest through the packages the CLI uses, never through the CLI"},
	{"placement", []string{"deploy", "nodeagent", "runtime", "wiring", "linuxnet", "kube", "k8s.io/client-go", "cmd/"}, "a placement is a partition of the plan, nothing more"},
	{"stack/link/udpwire", []string{"topology", "nodeagent", "deploy", "kube", "k8s.io/client-go"}, "a link endpoint is a library of its own"},
	{"worker", []string{"deploy", "runtime", "kube", "k8s.io/client-go", "k8s.io/api", "cmd/"}, "a worker runs nodes wherever it is; Kubernetes is the controller's business"},
	{"kube", []string{"deploy", "nodeagent", "wiring", "cmd/"}, "reaching a cluster knows nothing of running nodes"},
	{"kubelab", []string{"controller", "cmd/"}, "the CLI's side of a cluster asks for a Lab and reads its status; reconciling it is the controller's job"},
}

func TestImportRules(t *testing.T) {
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", module+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			for _, b := range r.banned {
				full := b
				if !strings.Contains(b, ".") {
					full = module + b
				}
				if p.ImportPath == full || strings.HasPrefix(p.ImportPath, strings.TrimSuffix(full, "/")+"/") {
					t.Errorf("%s depends on %s: %s", r.pkg, p.ImportPath, r.why)
				}
			}
		}
	}
}
