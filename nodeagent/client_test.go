package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/trace"
)

// cutAgent serves h on a unix socket as an agent would, and returns a
// client of node h1 on it, with a log.
func cutAgent(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return NewClient(sock, "h1").WithLog("/x/agent.log")
}

// cut writes body and then drops the connection, as an agent killed in
// the middle of a stream does.
func cut(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", EndTrailer)
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

func TestStreamsCutByTheAgent(t *testing.T) {
	const sentence = "the agent of node h1 stopped during %s: the lab was destroyed or its agent died (its log: /x/agent.log)"
	line := `{"kind":"out","seq":1}` + "\n"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		call    func(c *Client, got *[]string) error
		want    string // the error's text; "" for nil
		lines   int    // complete lines (or bytes, for captures) given
	}{
		{"trace cut in a line", cut(line + `{"kind":"o`), traceCall, strings.Replace(sentence, "%s", "the trace", 1), 1},
		{"trace ended by the agent", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, line+line) },
			traceCall, strings.Replace(sentence, "%s", "the trace", 1), 2},
		{"ping ended by the agent", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"seq":1}`+"\n") },
			pingCall, "", 1},
		{"ping cut", cut(`{"seq":1}` + "\n" + `{"se`), pingCall, strings.Replace(sentence, "%s", "the ping", 1), 1},
		{"capture cut", cut("0123456789"), captureCall, strings.Replace(sentence, "%s", "the capture", 1), 10},
		{"capture ended without its trailer", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "0123") },
			captureCall, strings.Replace(sentence, "%s", "the capture", 1), 4},
		{"capture ended on its count", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", EndTrailer)
			io.WriteString(w, "0123")
			w.Header().Set(EndTrailer, "count")
		}, captureCall, "", 4},
		{"capture refused", func(w http.ResponseWriter, r *http.Request) {
			httpError(w, http.StatusBadRequest, errors.New(`node h1 has no interface "eth9"`))
		}, captureCall, `node h1 has no interface "eth9"`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cutAgent(t, tc.handler)
			var got []string
			start := time.Now()
			err := tc.call(c, &got)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.want, "stopped during") && !errors.Is(err, ErrAgentGone) {
				t.Errorf("error %v does not wrap ErrAgentGone", err)
			}
			n := len(got)
			if strings.HasPrefix(tc.name, "capture") {
				n = len(strings.Join(got, ""))
			}
			if n != tc.lines {
				t.Errorf("gave %d (%q), want %d", n, got, tc.lines)
			}
		})
	}
}

func traceCall(c *Client, got *[]string) error {
	return c.Trace(context.Background(), func(e trace.Event) { *got = append(*got, e.Kind) })
}

func pingCall(c *Client, got *[]string) error {
	return c.Ping(context.Background(), PingSpec{}, func(p PingReply) { *got = append(*got, "reply") })
}

func captureCall(c *Client, got *[]string) error {
	var b bytes.Buffer
	err := c.Capture(context.Background(), nil, 0, 0, &b)
	if b.Len() > 0 {
		*got = append(*got, b.String())
	}
	return err
}

// TestCaptureEndsByItself: a capture ended by the agent on its duration
// or count is a normal end, and a capture the client stops too.
func TestCaptureEndsByItself(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr().String() + ":5001"
	sent := make(chan error, 1)
	go func() {
		// Traffic while the captures run.
		for ctx.Err() == nil {
			if _, err := h1.Send(ctx, SendSpec{To: to, Bytes: 20000}); err != nil && ctx.Err() == nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for _, tc := range []struct {
		name     string
		duration time.Duration
		count    int
		stop     time.Duration // the client's own end
	}{
		{"duration", 300 * time.Millisecond, 0, 0},
		{"count", 0, 3, 0},
		{"client", 0, 0, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cctx := ctx
			if tc.stop > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, tc.stop)
				defer cancel()
			}
			var b bytes.Buffer
			start := time.Now()
			if err := h1.Capture(cctx, nil, tc.duration, tc.count, &b); err != nil {
				t.Fatalf("capture: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second || d < tc.duration {
				t.Errorf("capture took %v", d)
			}
			if b.Len() < 28 {
				t.Errorf("capture of %d bytes", b.Len())
			}
		})
	}
	cancel()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
