package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/stack/link/udpwire"
	"github.com/netlab/netlab/topology"
)

// Spec is what a worker is told to run (PUT /v1/worker): the whole lab's
// resolved plan, which worker runs each node, which one this is, and
// where every worker's wire listens.
type Spec struct {
	// Generation names this spec (the Lab's metadata.generation): a spec
	// of the generation already running is a no-op.
	Generation int64           `json:"generation"`
	Plan       json.RawMessage `json:"plan"` // json.Marshal of the *topology.Lab
	// Placement is each node's worker, by node index.
	Placement []int    `json:"placement"`
	Index     int      `json:"index"`
	Peers     []string `json:"peers"` // each worker's wire, "ip:port"
	// Run names the deploy's run (kube.LabSpec.Run): the run the files
	// served belong to, said in each listing (RunHeader).
	Run string `json:"run,omitempty"`
}

// RunHeader names, in a listing of the run's files, the run they belong
// to (Spec.Run; absent when none was given): a reader that expects
// another run's — the lab was redeployed since — fetches none.
const RunHeader = "Netlab-Run"

// State is what a worker reports (GET /v1/worker).
type State struct {
	Generation int64    `json:"generation"`
	Ready      bool     `json:"ready"`
	Error      string   `json:"error,omitempty"`
	Nodes      []string `json:"nodes,omitempty"`
	// Namespaces are the network namespaces of Nodes, in the pod, by
	// node: where `netlab exec` runs a command.
	Namespaces map[string]string `json:"namespaces,omitempty"`
	Peers      []string          `json:"peers,omitempty"` // as the spec gave them
	Wire       udpwire.Stats     `json:"wire"`
	// Own is the node this worker runs alone in its pod's namespace, as
	// the pod's other container (its image's): commands for it run
	// there, not in the worker's.
	Own string `json:"own,omitempty"`
}

// Server is a worker pod's API: the spec it is given and its state under
// /v1/worker, and once its share runs, the node agent's API for its nodes
// (the same paths as an agent's on one machine).
type Server struct {
	mux *udpwire.Mux
	run labdir.Run
	log *slog.Logger

	mu    sync.Mutex
	spec  *Spec
	w     *Worker
	err   error
	agent http.Handler
	// starting is set while a share starts (or an older one stops);
	// closed once Close is called.
	starting, closed bool
	// leftover is a share a newer generation replaced that did not stop
	// cleanly.
	leftover *Worker
	// epoch changes when a generation is given and when the run folder
	// has been emptied for it; retiring is set in between.
	epoch    int
	retiring bool
	starts   sync.WaitGroup
	// own is the node this worker runs in its own pod's namespace, and
	// that namespace ("" a worker of nodes in namespaces it makes).
	own, ownNS string
}

// Own makes the worker one that runs node alone, in the namespace at
// nsPath (its pod's: a container node with its own image). Call it before
// the handler serves; a spec that gives it other nodes fails.
func (s *Server) Own(node, nsPath string) {
	s.own, s.ownNS = node, nsPath
}

// NewServer returns the API of a worker whose tunnels mux carries; its
// nodes record into run.
func NewServer(mux *udpwire.Mux, run labdir.Run, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{mux: mux, run: run, log: log}
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/worker", s.getState)
	m.HandleFunc("PUT /v1/worker", s.putSpec)
	m.HandleFunc("GET /v1/worker/files", s.listFiles)
	m.HandleFunc("GET /v1/worker/files/{path...}", s.getFile)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		agent := s.agent
		s.mu.Unlock()
		if agent == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "this worker runs no nodes yet"})
			return
		}
		agent.ServeHTTP(w, r)
	})
	return m
}

func (s *Server) state() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Wire: s.mux.Stats(), Own: s.own}
	if s.spec != nil {
		st.Generation, st.Peers = s.spec.Generation, slices.Clone(s.spec.Peers)
	}
	if s.err != nil {
		st.Error = s.err.Error()
	}
	if s.w != nil {
		st.Ready = true
		st.Nodes = slices.Clone(s.w.nodes)
		st.Namespaces = map[string]string{}
		for i, n := range s.w.nodes {
			st.Namespaces[n] = s.w.nsPaths[i]
		}
	}
	return st
}

func (s *Server) getState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.state())
}

// File is one file of the run a worker's nodes record into (traces,
// captures, logs), as GET /v1/worker/files lists them.
type File struct {
	Path string `json:"path"` // relative to the run's folder, with slashes
	Size int64  `json:"size"`
}

// listFiles lists the run's regular files, for the CLI to fetch what it
// has not got yet.
func (s *Server) listFiles(w http.ResponseWriter, _ *http.Request) {
	run, epoch, retiring := s.runNow()
	if retiring {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the worker is being reconfigured: ask again"})
		return
	}
	if run != "" {
		w.Header().Set(RunHeader, run)
	}
	files := []File{}
	if s.run.Dir != "" {
		err := filepath.WalkDir(s.run.Dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // a file removed (a capture ring rotating) while listed
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			rel, err := filepath.Rel(s.run.Dir, path)
			if err != nil {
				return err
			}
			files = append(files, File{Path: filepath.ToSlash(rel), Size: fi.Size()})
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "list the run's files: " + err.Error()})
			return
		}
	}
	if _, now, _ := s.runNow(); now != epoch {
		// Another generation emptied the folder meanwhile: what was
		// listed may be of either run.
		writeJSON(w, http.StatusConflict, map[string]string{"error": "the worker was reconfigured while its files were listed: ask again"})
		return
	}
	writeJSON(w, http.StatusOK, files)
}

// runNow is the run the worker's files belong to, the epoch, and whether
// the folder is being emptied for a new generation.
func (s *Server) runNow() (run string, epoch int, retiring bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spec != nil {
		run = s.spec.Run
	}
	return run, s.epoch, s.retiring
}

// getFile serves one file of the run, saying which run (RunHeader);
// paths outside it are not found.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	if s.run.Dir == "" {
		http.NotFound(w, r)
		return
	}
	run, _, retiring := s.runNow()
	if retiring {
		http.Error(w, "the worker is being reconfigured: ask again", http.StatusServiceUnavailable)
		return
	}
	if run != "" {
		w.Header().Set(RunHeader, run)
	}
	http.ServeFileFS(w, r, os.DirFS(s.run.Dir), r.PathValue("path"))
}

// putSpec starts the worker's share: the same generation again is
// answered with the state (its peers updated when they moved); a newer
// generation replaces the running share in place (the pod, its address
// and its wire stay: the old share's nodes and links go, the run's files
// are emptied — the CLI fetched them first — and the new share starts);
// an older one is refused, as is a new one while a share still starts.
func (s *Server) putSpec(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a worker spec: " + err.Error()})
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "this worker is stopping"})
		return
	}
	var old *Worker
	replacing := s.spec != nil
	if replacing {
		switch gen := s.spec.Generation; {
		case spec.Generation < gen:
			s.mu.Unlock()
			writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("this worker runs generation %d, newer than %d", gen, spec.Generation)})
			return
		case spec.Generation > gen && s.starting:
			s.mu.Unlock()
			writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("this worker is still starting generation %d: tell it generation %d when it is ready", gen, spec.Generation)})
			return
		case spec.Generation == gen:
			s.samePut(w, &spec) // unlocks
			return
		}
		old = s.w
		s.log.Info("worker reconfiguring", "from", s.spec.Generation, "to", spec.Generation)
	}
	s.spec, s.w, s.agent, s.err, s.starting = &spec, nil, nil, nil, true
	s.epoch++
	s.retiring = replacing
	// Counted before the lock goes: a Close from now on waits for it.
	s.starts.Add(1)
	s.mu.Unlock()
	// Starting takes a while (namespaces, veths, packet sockets): the
	// caller polls GET for Ready or Error.
	go func() {
		defer s.starts.Done()
		var err error
		if replacing {
			err = s.retire(old)
			s.mu.Lock()
			s.retiring = false
			s.epoch++
			if err != nil && old != nil {
				s.leftover = old // Close tries again
			}
			s.mu.Unlock()
		}
		var wk *Worker
		if err == nil {
			wk, err = s.start(context.Background(), &spec)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.starting = false
		if err != nil {
			s.err = err
			s.log.Error("worker failed", "generation", spec.Generation, "error", err)
			return
		}
		s.w, s.agent = wk, wk.Agent.Handler()
	}()
	writeJSON(w, http.StatusAccepted, s.state())
}

// samePut answers a spec of the generation already given: only the peers
// may have moved (a worker pod made again has another address); another
// plan or share under the same generation is a caller's bug, refused.
// s.mu is held, and released.
func (s *Server) samePut(w http.ResponseWriter, spec *Spec) {
	if !bytes.Equal(s.spec.Plan, spec.Plan) || !slices.Equal(s.spec.Placement, spec.Placement) || s.spec.Index != spec.Index {
		gen := s.spec.Generation
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("generation %d was given with another plan, placement or index", gen)})
		return
	}
	if !slices.Equal(s.spec.Peers, spec.Peers) {
		if err := s.setPeersLocked(spec.Peers); err != nil {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.state())
}

// retire stops a share a newer generation replaces and empties the run's
// folder for the new one.
func (s *Server) retire(old *Worker) error {
	var errs []error
	if old != nil {
		if err := old.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the share it ran: %w", err))
		}
	}
	if s.run.Dir != "" {
		entries, err := os.ReadDir(s.run.Dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("empty the run's folder: %w", err))
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(s.run.Dir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("empty the run's folder: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// setPeersLocked points the running worker's tunnels at peers; s.mu is
// held. A worker still starting gets them when it is told again.
func (s *Server) setPeersLocked(peers []string) error {
	if len(peers) != len(s.spec.Peers) {
		return fmt.Errorf("%d peers; the lab has %d workers", len(peers), len(s.spec.Peers))
	}
	var aps []netip.AddrPort
	for _, a := range peers {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fmt.Errorf("peer %q: %w", a, err)
		}
		aps = append(aps, ap)
	}
	if s.w == nil {
		return fmt.Errorf("this worker is still starting: tell it its peers again when it is ready")
	}
	if err := s.w.SetPeers(aps); err != nil {
		return err
	}
	s.spec.Peers = slices.Clone(peers)
	return nil
}

func (s *Server) start(ctx context.Context, spec *Spec) (*Worker, error) {
	lab, err := topology.DecodePlan(spec.Plan)
	if err != nil {
		return nil, fmt.Errorf("the spec's plan: %w", err)
	}
	if len(spec.Placement) != len(lab.Nodes) {
		return nil, fmt.Errorf("the spec places %d nodes; the lab has %d", len(spec.Placement), len(lab.Nodes))
	}
	p := &placement.Placement{Workers: len(spec.Peers), Worker: spec.Placement}
	var peers []netip.AddrPort
	for _, a := range spec.Peers {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return nil, fmt.Errorf("the spec's peer %q: %w", a, err)
		}
		peers = append(peers, ap)
	}
	for _, w := range spec.Placement {
		if w < 0 || w >= len(peers) {
			return nil, fmt.Errorf("the spec places a node on worker %d of %d", w, len(peers))
		}
	}
	cfg := Config{Lab: lab, Placement: p, Index: spec.Index, Mux: s.mux, Peers: peers, Run: s.run, Log: s.log}
	if s.own != "" {
		for i, w := range spec.Placement {
			if w != spec.Index {
				continue
			}
			if name := lab.Nodes[i].Name; name != s.own {
				return nil, fmt.Errorf("the spec gives node %s to the worker of node %s, which runs it alone", name, s.own)
			}
		}
		cfg.Adopt = map[string]string{s.own: s.ownNS}
	}
	return Start(ctx, cfg)
}

// Close stops the worker's share (its agent, its namespaces); a spec
// given after is refused.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.starts.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.leftover != nil {
		errs = append(errs, s.leftover.Close())
		s.leftover = nil
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
		s.w, s.agent = nil, nil
	}
	return errors.Join(errs...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
