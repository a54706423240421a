package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netlab/netlab/labdir"
)

// FuzzReadJournal feeds arbitrary journals to readJournal: no panic, no
// error, and exactly the lines that hold a record with an op, in order
// (a torn or garbled line is skipped, the lines after it are kept).
func FuzzReadJournal(f *testing.F) {
	line := func(r record) string {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		return string(b) + "\n"
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	good := line(record{Op: opNode, Node: "h1", LongName: "netlab-l-h1", Time: at}) +
		line(record{Op: opNodeCreated, Node: "h1", ID: "abc", NSPath: "/run/netns/x", PID: 42, Time: at}) +
		line(record{Op: opSwitch, NS: "netlab-l-sw", Time: at}) +
		line(record{Op: opAgent, Time: at})
	for _, seed := range []string{
		"",
		good,
		good + `{"op":"node","node":"h2","long-na`, // a torn last write
		`{"op":""}` + "\n" + `{}` + "\n" + `null` + "\n" + `[1]` + "\n" + good,
		"\r\n\n" + good + "garbage\n" + good,
		`{"op":"node","time":"not a time"}` + "\n",
		`{"op":"node","pid":1e400}` + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, labdir.JournalFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readJournal(dir)
		if err != nil {
			t.Fatalf("readJournal: %v", err)
		}
		var want []record
		for _, l := range bytes.Split(data, []byte("\n")) {
			var r record
			if json.Unmarshal(bytes.TrimSuffix(l, []byte("\r")), &r) == nil && r.Op != "" {
				want = append(want, r)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("readJournal (-want +got):\n%s", diff)
		}
	})
}

// FuzzReadState feeds arbitrary state files to readState: no panic; an
// error names the file; a state it accepts encodes and reads back the same.
func FuzzReadState(f *testing.F) {
	st := State{Lab: "l", TopoFile: "/t/l.yml", LabDir: "/t/netlab-l", Runtime: "netns", Status: "running",
		DeployPID: 7, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SwitchNS: "netlab-l-sw", Agent: true,
		Nodes: []NodeState{{Name: "h1", LongName: "netlab-l-h1", Kind: "host", Stack: "go", NSPath: "/run/netns/x",
			Interfaces: []InterfaceState{{Name: "eth1", MAC: "02:00:00:00:00:01", IPv4: "10.0.0.0/31", Net: "h1:eth1--r1:eth1"}}}}}
	good, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{good, good[:len(good)/2], []byte("{}"), []byte("null"), []byte(`{"nodes":[null]}`), []byte(`{"started":"yesterday"}`), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, labdir.StateFile)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readState(dir)
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte(labdir.StateFile)) {
				t.Fatalf("readState error %q does not name %s", err, labdir.StateFile)
			}
			return
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("encode the state read: %v", err)
		}
		var back State
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("read back %s: %v", again, err)
		}
		// omitempty drops empty lists: nil and empty are the same state.
		if diff := cmp.Diff(*got, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("state read back differs (-first +again):\n%s", diff)
		}
	})
}
