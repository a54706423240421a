package nodeagent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// TestWholeRequestsOfAnOlderAgent: an agent that does not know the
// whole-agent requests (404) makes them fail with ErrUnsupported, so that
// callers ask node by node; other failures do not.
func TestWholeRequestsOfAnOlderAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "a.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status" {
			http.Error(w, `{"error":"busy"}`, http.StatusInternalServerError)
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := NewClient(sock, "")
	if _, err := c.AllImpairments(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a 404: %v; want ErrUnsupported", err)
	}
	if _, err := c.AllStatus(context.Background()); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("a 500: %v; want an error other than ErrUnsupported", err)
	}
}
