package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/netlab/netlab/trace"
)

// API paths, all under /v1/nodes/{node}/: status, sockets, apps (GET list,
// POST start, DELETE apps/{id}, GET apps/{id}/conns), send, flows, get,
// ping, trace; and /v1/health.
const apiPrefix = "/v1/"

// Health is what an agent says of itself on GET /v1/health.
type Health struct {
	OK bool `json:"ok"`
	// Nodes are the nodes it serves, sorted.
	Nodes []string `json:"nodes"`
	// Relays counts the relays it runs.
	Relays int `json:"relays,omitempty"`
	// PID is the agent's process id (in its own PID namespace).
	PID    int    `json:"pid"`
	Uptime string `json:"uptime"`
	// CPU is the processor time the agent used so far (user and system,
	// all threads): its share of a core over an interval is ΔCPU/Δt.
	CPU time.Duration `json:"cpu"`
	// MaxRSS is the most memory the agent held resident so far, in bytes.
	MaxRSS uint64 `json:"max_rss"`
}

// usage returns the process's user and system time and its peak resident
// memory.
func usage() (time.Duration, uint64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), uint64(ru.Maxrss) * 1024 // kilobytes on Linux
}

// Handler returns the agent's control API.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		names := make([]string, 0, len(a.nodes))
		for k := range a.nodes {
			names = append(names, k)
		}
		a.mu.Unlock()
		sort.Strings(names)
		cpu, rss := usage()
		writeJSON(w, Health{OK: true, Nodes: names, Relays: len(a.relays), PID: os.Getpid(), Uptime: time.Since(a.start).String(), CPU: cpu, MaxRSS: rss})
	})
	// Every node at once, for a page that shows the whole lab: one
	// request instead of one per node.
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]NodeStatus{}
		for _, n := range a.servedNodes() {
			out[n.plan.Name] = n.status()
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /v1/impair", func(w http.ResponseWriter, r *http.Request) {
		names := map[string]bool{}
		for _, n := range a.servedNodes() {
			names[n.plan.Name] = true
		}
		for _, rl := range a.relays {
			names[rl.node] = true
		}
		out := map[string][]ImpairState{}
		for name := range names {
			if st, err := a.impairStates(name); err == nil {
				out[name] = st
			}
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /v1/nodes/{node}/status", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		writeJSON(w, n.status())
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/sockets", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		if n.stack == nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("node %s runs the Linux stack: use `netlab exec %s -- ss -ti`", n.plan.Name, n.plan.Name))
			return
		}
		writeJSON(w, n.stack.Connections())
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/apps", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		writeJSON(w, n.status().Apps)
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/apps", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var spec AppSpec
		if !readJSON(w, r, &spec) {
			return
		}
		// Under the node's lock: a stop cannot come between the check
		// and the new server's place among the node's apps.
		n.mu.Lock()
		if n.stopped {
			n.mu.Unlock()
			httpError(w, http.StatusConflict, fmt.Errorf("node %s is stopped: start it first", n.plan.Name))
			return
		}
		n.nextID++
		id := n.nextID
		ap, err := startApp(n.net, n.digests, id, spec)
		if err == nil {
			n.apps[id] = ap
		}
		n.mu.Unlock()
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, ap.snapshot())
	}))
	mux.HandleFunc("DELETE /v1/nodes/{node}/apps/{id}", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		n.mu.Lock()
		ap, ok := n.apps[id]
		delete(n.apps, id)
		n.mu.Unlock()
		if !ok {
			httpError(w, http.StatusNotFound, fmt.Errorf("no app %d on %s", id, n.plan.Name))
			return
		}
		ap.close()
		writeJSON(w, ap.snapshot())
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/apps/{id}/conns", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		n.mu.Lock()
		ap, ok := n.apps[id]
		n.mu.Unlock()
		if !ok {
			httpError(w, http.StatusNotFound, fmt.Errorf("no app %d on %s", id, n.plan.Name))
			return
		}
		writeJSON(w, ap.records())
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/flows", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var b FlowBatch
		if !readJSON(w, r, &b) {
			return
		}
		reps, err := runBatch(r.Context(), n.net, n.digests, b)
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, reps)
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/send", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var spec SendSpec
		if !readJSON(w, r, &spec) {
			return
		}
		rep, err := runSend(r.Context(), n.net, n.digests, spec)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, rep)
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/get", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		url := r.URL.Query().Get("url")
		// The body streams back; the report follows in trailers.
		w.Header().Set("Trailer", "X-Netlab-Report")
		w.Header().Set("Content-Type", "application/octet-stream")
		rep, err := runGet(r.Context(), n.net, url, w)
		if err != nil {
			w.Header().Set("X-Netlab-Report", jsonString(map[string]string{"error": err.Error()}))
			return
		}
		w.Header().Set("X-Netlab-Report", jsonString(rep))
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/sock", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var c SockCall
		if !readJSON(w, r, &c) {
			return
		}
		writeJSON(w, n.sockCall(c))
	}))
	// Impairments are also those of relays, which may serve nodes the
	// agent does not (a docker lab's relays run beside its containers).
	mux.HandleFunc("GET /v1/nodes/{node}/impair", func(w http.ResponseWriter, r *http.Request) {
		out, err := a.impairStates(r.PathValue("node"))
		if err != nil {
			httpError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /v1/nodes/{node}/impair", func(w http.ResponseWriter, r *http.Request) {
		var ch ImpairChange
		if !readJSON(w, r, &ch) {
			return
		}
		st, err := a.changeImpair(r.PathValue("node"), ch)
		if errors.Is(err, errNotFound) {
			httpError(w, http.StatusNotFound, err)
			return
		}
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, st)
	})
	mux.HandleFunc("POST /v1/nodes/{node}/power", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var ch PowerChange
		if !readJSON(w, r, &ch) {
			return
		}
		st, err := n.setPower(ch)
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, st)
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/capture", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		n.serveCapture(w, r)
	}))
	mux.HandleFunc("POST /v1/nodes/{node}/ping", a.withNode(func(w http.ResponseWriter, r *http.Request, n *node) {
		var spec PingSpec
		if !readJSON(w, r, &spec) {
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		fl, _ := w.(http.Flusher)
		err := runPing(r.Context(), n.net, spec, func(p PingReply) {
			enc.Encode(p)
			if fl != nil {
				fl.Flush()
			}
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			enc.Encode(map[string]string{"error": err.Error()})
		}
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/trace", func(w http.ResponseWriter, r *http.Request) {
		t, status, err := a.tracerOf(r.PathValue("node"))
		if err != nil {
			httpError(w, status, err)
			return
		}
		// ?conn=local->remote and ?kind=in,out,... narrow the stream here,
		// before anything is encoded: a reader that follows one connection
		// costs the agent that connection's events only.
		sel, err := trace.ParseSelector(r.URL.Query().Get("conn"), r.URL.Query().Get("kind"))
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		sub := t.subscribe(sel)
		defer t.unsubscribe(sub)
		fl, _ := w.(http.Flusher)
		if fl != nil {
			fl.Flush()
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var lost uint64
		var line []byte
		for {
			select {
			case e, ok := <-sub.ch:
				if !ok {
					return
				}
				line = append(trace.AppendJSON(line[:0], &e), '\n')
				if _, err := w.Write(line); err != nil {
					return
				}
			case <-tick.C:
				// Say so when the reader fell behind and events were lost.
				if m, ok := sub.lostSince(&lost, 0); ok {
					line = append(trace.AppendJSON(line[:0], &m), '\n')
					w.Write(line)
				}
				if fl != nil {
					fl.Flush()
				}
			case <-r.Context().Done():
				return
			}
		}
	})
	return mux
}

// tracerOf returns the probe stream of node: its Go stack's (with the
// drop events of its impaired interfaces), or for a `stack: linux` node
// the drop events of the relays this agent runs for it. It fails, with the
// HTTP status to answer, for a node with neither.
func (a *Agent) tracerOf(name string) (*tracer, int, error) {
	n, err := a.node(name)
	if err == nil && n.stack != nil {
		return n.trace, 0, nil
	}
	if t := a.relayTraces[name]; t != nil {
		return t, 0, nil
	}
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	return nil, http.StatusBadRequest, fmt.Errorf("node %s runs the Linux stack: trace needs the Go stack, or a link of it impaired by a relay of this agent (whose drops are traced)", n.plan.Name)
}

func (a *Agent) withNode(h func(http.ResponseWriter, *http.Request, *node)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := a.node(r.PathValue("node"))
		if err != nil {
			httpError(w, http.StatusNotFound, err)
			return
		}
		h(w, r, n)
	}
}

// Serve answers the control API on ln until ctx ends.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

type apiError struct {
	Error string `json:"error"`
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("bad request body: %w", err))
		return false
	}
	return true
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
