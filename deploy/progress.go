package deploy

import (
	"fmt"
	"io"
	"time"
)

// progressInterval is how often ProgressLine redraws at most.
const progressInterval = 100 * time.Millisecond

// ProgressLine returns a ProgressFunc that draws one line on w, a terminal,
// redrawn in place ("\r") at most every 100 ms and ended with a newline when
// done reaches total:
//
//	deploy [=========>          ]  512/1999  node h511
//
// verb starts the line. Use it only when w is a terminal; pass a nil
// ProgressFunc otherwise.
func ProgressLine(w io.Writer, verb string) ProgressFunc {
	var last time.Time
	return func(done, total int, what string) {
		now := time.Now()
		final := done >= total
		if !final && done > 0 && now.Sub(last) < progressInterval {
			return
		}
		last = now
		const width = 20
		filled := 0
		if total > 0 {
			filled = min(width, done*width/total)
		}
		bar := make([]byte, width)
		for i := range bar {
			switch {
			case i < filled:
				bar[i] = '='
			case i == filled && !final:
				bar[i] = '>'
			default:
				bar[i] = ' '
			}
		}
		if len(what) > 40 {
			what = what[:37] + "..."
		}
		fmt.Fprintf(w, "\r\x1b[K%s [%s] %*d/%d  %s", verb, bar, len(fmt.Sprint(total)), done, total, what)
		if final {
			fmt.Fprintln(w)
		}
	}
}
