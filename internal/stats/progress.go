package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// showProgress prints a one-line display to w every quarter second until
// the returned stop is called. A nil w shows nothing.
func showProgress(w io.Writer, p *progress, total int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	print := func() {
		secs := time.Since(start).Seconds()
		b := p.bytes.Load()
		pct := 100.0
		if total > 0 {
			pct = float64(b) * 100 / float64(total)
		}
		fmt.Fprintf(w, "\r%5.1f%%  %d lines  %.0f lines/s  %.1f MB/s ", min(pct, 100), p.lines.Load(),
			float64(p.lines.Load())/max(secs, 1e-3), float64(b)/1e6/max(secs, 1e-3))
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				print()
				fmt.Fprintln(w)
				return
			case <-tick.C:
				print()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func marshal(v any) (json.RawMessage, error) { return json.Marshal(v) }
