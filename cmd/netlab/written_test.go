package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestWrittenInterfaceNamesCLI: after deploy, an interface the file wrote
// as containerlab does (ethernet-1/1, e1-1 in Linux) is named either way
// on the command line: impair and capture find it.
func TestWrittenInterfaceNamesCLI(t *testing.T) {
	file := fakeDeploy(t, `name: writtencli
topology:
  nodes: {r1: {}, r2: {}}
  links:
    - endpoints: ["r1:ethernet-1/1", "r2:eth1"]
`)
	pcap := filepath.Join(t.TempDir(), "c.pcapng")
	for _, tc := range []struct {
		args []string
		out  string // part of the output
		err  string // part of the error; "" for none
	}{
		{args: []string{"impair", "r1:ethernet-1/1", "--direction", "egress", "--delay", "5ms"}, out: "r1:e1-1 egress: delay 5ms"},
		{args: []string{"impair", "r1:e1-1", "--direction", "egress", "--delay", "6ms"}, out: "r1:e1-1 egress: delay 6ms"},
		{args: []string{"impair", "r1:ethernet-1/2", "--delay", "5ms"}, err: "has no interface r1:ethernet-1/2"},
		{args: []string{"capture", "r1:ethernet-1/1", "r2", "--duration", "200ms", "-w", pcap}},
		{args: []string{"capture", "r1:ethernet-1/2", "--duration", "200ms", "-w", pcap}, err: "ethernet-1/2"},
	} {
		out, err := run(t, append(tc.args, "-t", file)...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("netlab %s: error %v, want one containing %q\n%s", strings.Join(tc.args, " "), err, tc.err, out)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tc.out) {
			t.Errorf("netlab %s: %v\n%s\nwant output containing %q", strings.Join(tc.args, " "), err, out, tc.out)
		}
	}
}
