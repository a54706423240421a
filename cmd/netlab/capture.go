package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
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
	if err := m.flush(); err != nil {
		return err
	}
	for err := range errs {
		return err
	}
	if c.out != "-" {
		fmt.Fprintf(o.stderr, "%d frames written to %s\n", m.frames, c.out)
	}
	return nil
}

// merger writes the frames of several pcapng streams into one, giving
// every stream's interfaces blocks of their own.
type merger struct {
	mu     sync.Mutex
	out    io.Writer
	w      *pcapgo.NgWriter
	frames int
}

func (m *merger) copy(r io.Reader) error {
	rd, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return err
	}
	ids := map[int]int{} // the stream's interface index -> ours
	for {
		data, ci, err := rd.ReadPacketData()
		if err != nil {
			return err
		}
		m.mu.Lock()
		id, ok := ids[ci.InterfaceIndex]
		if !ok {
			intf, _ := rd.Interface(ci.InterfaceIndex)
			id, err = m.addInterface(intf)
			if err != nil {
				m.mu.Unlock()
				return err
			}
			ids[ci.InterfaceIndex] = id
		}
		ci.InterfaceIndex = id
		err = m.w.WritePacket(ci, data)
		m.frames++
		if err == nil {
			err = m.w.Flush() // stream as it comes (wireshark -k -i -)
		}
		m.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (m *merger) addInterface(intf pcapgo.NgInterface) (int, error) {
	intf.LinkType = layers.LinkTypeEthernet
	intf.TimestampResolution = 9
	if m.w == nil {
		var err error
		m.w, err = pcapgo.NewNgWriterInterface(m.out, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "netlab"}})
		return 0, err
	}
	return m.w.AddInterface(intf)
}

func (m *merger) flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil {
		return nil
	}
	return m.w.Flush()
}
