package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoEvents is returned when a trace holds no event of the connection
// asked for.
var ErrNoEvents = errors.New("no trace events for the connection")

// RotatedPath is where a recorded trace's previous part lies: the recorder
// renames a full file to it and starts the file anew.
func RotatedPath(path string) string { return path + ".1" }

// Read reads a trace written as JSON lines, one Event per line, as the
// agent records it and `netlab trace --format json` prints it. Blank lines
// are skipped; a line that does not parse is an error naming its line
// number, returned with the events before it.
func Read(r io.Reader) ([]Event, error) {
	br := bufio.NewReader(r)
	var evs []Event
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var e Event
			if jerr := json.Unmarshal(b, &e); jerr != nil {
				return evs, fmt.Errorf("trace line %d: %w", line, jerr)
			}
			evs = append(evs, e)
		}
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("read trace line %d: %w", line, err)
		}
	}
}

// ReadFile reads a recorded trace: its rotated part (RotatedPath), if there
// is one, then path itself, so that the events come in the order they were
// recorded. A missing path is an error that errors.Is os.ErrNotExist.
func ReadFile(path string) ([]Event, error) {
	var all []Event
	for _, p := range []string{RotatedPath(path), path} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		ev, err := Read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, ev...)
	}
	return all, nil
}

// LostEvents adds up the events a trace says it lost (KindLost markers): a
// plot of such a trace may miss segments.
func LostEvents(events []Event) int {
	n := 0
	for i := range events {
		if events[i].Kind == KindLost {
			n += events[i].Len
		}
	}
	return n
}
