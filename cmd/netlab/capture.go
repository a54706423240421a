package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

type captureOptions struct {
	topoOptions
	out      string
	duration time.Duration
	count    int
}

func newCaptureCmd(o *options) *cobra.Command {
	c := &captureOptions{}
	cmd := &cobra.Command{
		Use:   "capture [-t FILE] NODE[:IFACE]... [-w out.pcapng|-] [--duration D] [--count N]",
		Short: "Capture what Go-stack nodes send and receive into one pcapng (Wireshark/tshark)",
		Long: `capture records frames exactly as they cross the Go stack's frame path, from
any interfaces of any nodes, into one pcapng file with an interface block
each. NODE alone means all its interfaces. -w - streams to stdout:

  netlab capture h1:eth1 -w - | wireshark -k -i -

It ends after --duration, once every node gave --count frames, or on Ctrl-C
or SIGTERM (a second one ends it at once), leaving a whole pcapng. It ends
with an error when an agent refuses (an interface its node does not have)
or stops in the middle (the lab destroyed, its agent dead); what it wrote
until then is still a whole pcapng.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCapture(cmd.Context(), o, c, args) },
	}
	addTopoFlag(cmd, &c.topoOptions)
	addFormatFlag(cmd, &c.topoOptions)
	f := cmd.Flags()
	f.StringVarP(&c.out, "write", "w", "capture.pcapng", "output file, or - for stdout")
	f.DurationVar(&c.duration, "duration", 0, "stop after this long (default: until interrupted or --count)")
	f.IntVarP(&c.count, "count", "c", 0, "stop after this many frames per node")
	return cmd
}

func runCapture(ctx context.Context, o *options, c *captureOptions, args []string) error {
	r, err := findLab(&c.topoOptions)
	if err != nil {
		return err
	}
	nodes, ifaces, err := captureTargets(r.lab, args)
	if err != nil {
		return err
	}
	clients := map[string]*nodeagent.Client{}
	for _, node := range nodes {
		if clients[node], err = r.client(node); err != nil {
			return err
		}
	}
	var out io.Writer = o.stdout
	var file *os.File
	if c.out != "-" {
		if file, err = os.Create(c.out); err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	m := &merger{out: out}
	err = captureNodes(ctx, m, clients, nodes, ifaces, c)
	if err == nil {
		err = m.finish() // a capture that saw nothing is still a pcapng
	}
	switch {
	case file != nil && !m.started:
		// Nothing came: no empty file that is no pcapng.
		os.Remove(c.out)
	case file != nil:
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil || c.format != "json" {
			fmt.Fprintf(o.stderr, "%d frames written to %s\n", m.frames, c.out)
		}
	}
	if err != nil || file == nil {
		return err // with -w -, stdout holds the capture and nothing else
	}
	return printOut(o, c.format, map[string]any{"frames": m.frames, "file": c.out}, func() {})
}

// captureTargets reads NODE[:IFACE] arguments: the nodes in the order
// given, and each one's interfaces by their Linux names (what its agent
// knows; the user may write ethernet-1/1 as the file did), nil for all.
// An interface the node does not have is left for its agent to refuse.
func captureTargets(lab *topology.Lab, args []string) ([]string, map[string][]string, error) {
	ifaces := map[string][]string{}
	var nodes []string
	for _, a := range args {
		node, ifc, _ := strings.Cut(a, ":")
		n := lab.Node(node)
		if n == nil {
			return nil, nil, fmt.Errorf("lab %s has no node %q", lab.Name, node)
		}
		if i := n.Interface(ifc); ifc != "" && i != nil {
			ifc = i.Name
		}
		if _, seen := ifaces[node]; !seen {
			nodes = append(nodes, node)
			ifaces[node] = nil
		}
		if ifc != "" {
			ifaces[node] = append(ifaces[node], ifc)
		}
	}
	return nodes, ifaces, nil
}

// captureNodes streams the capture of every node into m until ctx ends
// (SIGINT, SIGTERM), --duration passes or every node's agent reached
// --count; those are normal ends. The first error (an agent that refuses,
// or stops in the middle) ends the others' streams and is returned.
func captureNodes(ctx context.Context, m *merger, clients map[string]*nodeagent.Client, nodes []string, ifaces map[string][]string, c *captureOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.duration > 0 {
		// The agents end their streams on the duration themselves, with
		// every frame of it; this deadline is for one that is late.
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, c.duration+2*time.Second)
		defer stop()
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	for _, node := range nodes {
		wg.Go(func() {
			pr, pw := io.Pipe()
			merged := make(chan error, 1)
			go func() {
				err := m.copy(pr)
				pr.CloseWithError(err) // a merger that stopped fails the stream's writes
				merged <- err
			}()
			err := clients[node].Capture(ctx, ifaces[node], c.duration, c.count, pw)
			pw.Close() // a block the stream ends in the middle of is dropped
			merr := <-merged
			if merr != nil && !errors.Is(merr, io.EOF) && !errors.Is(merr, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("capture of %s: %w", node, merr) // the stream's own error, not the pipe's echo of it
			}
			if err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	return first
}

// merger writes the blocks of several pcapng streams into one section,
// block by block: each stream's interface blocks get indices of their own
// and its packet blocks are rewritten to them, their options (the comments
// marking impairment drops) untouched. Streams are little endian, as the
// agents write them.
type merger struct {
	mu      sync.Mutex
	out     io.Writer
	started bool // the section header is written
	nextIf  uint32
	frames  int
}

const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 1
	blockEPB = 6
)

// finish writes a section header if no stream gave one, so that what was
// written is a pcapng whatever happened.
func (m *merger) finish() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return nil
	}
	shb := make([]byte, 28)
	binary.LittleEndian.PutUint32(shb[0:], blockSHB)
	binary.LittleEndian.PutUint32(shb[4:], 28)
	binary.LittleEndian.PutUint32(shb[8:], 0x1A2B3C4D)  // byte-order magic
	binary.LittleEndian.PutUint16(shb[12:], 1)          // version 1.0
	binary.LittleEndian.PutUint64(shb[16:], ^uint64(0)) // section length unknown
	binary.LittleEndian.PutUint32(shb[24:], 28)
	_, err := m.out.Write(shb)
	m.started = true
	return err
}

// copy writes the blocks of the stream r into the merged capture, whole
// blocks only: a block r ends in the middle of is left out.
func (m *merger) copy(r io.Reader) error {
	br := bufio.NewReader(r)
	local := map[uint32]uint32{} // the stream's interface index -> ours
	var nIf uint32
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return err
		}
		typ, total := binary.LittleEndian.Uint32(hdr), binary.LittleEndian.Uint32(hdr[4:])
		if total < 12 || total > 1<<24 || total%4 != 0 {
			return fmt.Errorf("capture stream: bad block length %d", total)
		}
		block := make([]byte, total)
		copy(block, hdr)
		if _, err := io.ReadFull(br, block[8:]); err != nil {
			return err
		}
		m.mu.Lock()
		var err error
		switch typ {
		case blockSHB:
			nIf = 0 // a new section restarts the stream's interface numbering
			if !m.started {
				_, err = m.out.Write(block)
				m.started = true
			}
		case blockIDB:
			local[nIf] = m.nextIf
			nIf++
			m.nextIf++
			_, err = m.out.Write(block)
		case blockEPB:
			id, ok := local[binary.LittleEndian.Uint32(block[8:])]
			if !ok {
				err = fmt.Errorf("capture stream: packet on an undeclared interface")
				break
			}
			binary.LittleEndian.PutUint32(block[8:], id)
			_, err = m.out.Write(block)
			m.frames++
		}
		m.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
