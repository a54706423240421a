package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
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

  netlab capture h1:eth1 -w - | wireshark -k -i -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCapture(cmd.Context(), o, c, args) },
	}
	addTopoFlag(cmd, &c.topoOptions)
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
	ifaces := map[string][]string{}
	var nodes []string
	for _, a := range args {
		node, ifc, _ := strings.Cut(a, ":")
		if r.lab.Node(node) == nil {
			return fmt.Errorf("lab %s has no node %q", r.lab.Name, node)
		}
		if _, seen := ifaces[node]; !seen {
			nodes = append(nodes, node)
			ifaces[node] = nil
		}
		if ifc != "" {
			ifaces[node] = append(ifaces[node], ifc)
		}
	}
	var out io.Writer = o.stdout
	if c.out != "-" {
		f, err := os.Create(c.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	m := &merger{out: out}
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes))
	for _, node := range nodes {
		cl, err := r.client(node)
		if err != nil {
			return err
		}
		pr, pw := io.Pipe()
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := cl.Capture(ctx, ifaces[node], 0, c.count, pw)
			pw.CloseWithError(err)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", node, err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := m.copy(pr); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", node, err)
			}
			pr.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if c.out != "-" {
		fmt.Fprintf(o.stderr, "%d frames written to %s\n", m.frames, c.out)
	}
	return nil
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
