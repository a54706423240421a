package web

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/netlab/netlab/trace"
)

// TestTraceCacheKeepsShownConnections: the server keeps in memory the
// events of the connections the page asked for, not the rest of a node's
// trace, and at most traceCacheConns of them.
func TestTraceCacheKeepsShownConnections(t *testing.T) {
	dir := t.TempDir()
	path := func(node string) string { return filepath.Join(dir, node+".jsonl") }
	remote := netip.MustParseAddrPort("10.0.0.1:5001")
	local := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("10.0.0.0"), uint16(40000+i))
	}
	// 20 connections, 100 events each, interleaved; a slow reader's loss.
	var evs []trace.Event
	for k := range 100 {
		for i := range 20 {
			evs = append(evs, trace.Event{TimeUS: int64(k*20 + i), Kind: trace.KindOut, Local: local(i), Remote: remote, Flags: ".", Len: 1000, State: "ESTABLISHED"})
		}
	}
	evs = append(evs, trace.Event{TimeUS: 5000, Kind: trace.KindLost, Len: 3})
	writeTrace(t, path("h1"), evs, "")
	tr := newTraces(path)
	all, err := tr.all("h1")
	if err != nil || len(all) != len(evs) {
		t.Fatalf("all: %d events, %v; want %d", len(all), err, len(evs))
	}
	for i := range 20 {
		sel, _ := trace.ParseSelector(fmt.Sprintf("%s->%s", local(i), remote), "")
		got, err := tr.conn("h1", sel)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 101 || got[0].Local != local(i) || got[100].Kind != trace.KindLost {
			t.Fatalf("connection %d: %d events (first of %v); want its 100 and the loss", i, len(got), got[0].Local)
		}
	}
	kept := 0
	for _, ct := range tr.conns {
		kept += len(ct.events)
	}
	if len(tr.conns) != traceCacheConns || kept != traceCacheConns*101 {
		t.Errorf("the cache holds %d connections, %d events; want %d, %d", len(tr.conns), kept, traceCacheConns, traceCacheConns*101)
	}
	// It follows the file: the next events of a kept connection only.
	sel, _ := trace.ParseSelector(fmt.Sprintf("%s->%s", local(19), remote), "")
	writeTrace(t, path("h1"), []trace.Event{
		{TimeUS: 6000, Kind: trace.KindOut, Local: local(19), Remote: remote, Flags: "F."},
		{TimeUS: 6001, Kind: trace.KindOut, Local: local(1), Remote: remote, Flags: "F."},
	}, "")
	if got, _ := tr.conn("h1", sel); len(got) != 102 || got[101].Flags != "F." {
		t.Errorf("after the file grew: %d events; want 102, the FIN last", len(got))
	}
}
