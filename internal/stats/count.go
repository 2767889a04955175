package stats

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"depot/internal/logread"
	"depot/internal/month"
	"depot/internal/torexit"
)

// relAcc counts one release (or "any") in one month.
type relAcc struct {
	plain      addrSet // distinct clearnet IPv4 addresses
	plainReq   int64
	torReq     int64
	v6Prefixes map[uint64]struct{} // /64 prefixes; only with CountIPv6
}

// monthAcc counts one month. [from, to) are Unix seconds, UTC.
type monthAcc struct {
	name      month.Month
	from, to  int64
	lines     int64
	malformed int64 // malformed lines whose time could still be read
	any       relAcc
	releases  map[string]*relAcc
	v6        map[netip.Addr]struct{} // IPv6 addresses of update checks
}

// tally is one worker's counts: every month being computed, plus what
// could not be dated. Workers never share a tally; merge joins them.
type tally struct {
	months  []monthAcc
	undated int64 // malformed lines without a readable time
	lines   int64
	countV6 bool
	damaged []error // files that could not be read to their end
}

func newTally(months []month.Month, countV6 bool) *tally {
	t := &tally{countV6: countV6}
	for _, m := range months {
		t.months = append(t.months, monthAcc{
			name:     m,
			from:     m.Start().Unix(),
			to:       m.End().Unix(),
			releases: map[string]*relAcc{},
			v6:       map[netip.Addr]struct{}{},
		})
	}
	return t
}

func (t *tally) month(unix int64) *monthAcc {
	for i := range t.months {
		if m := &t.months[i]; unix >= m.from && unix < m.to {
			return m
		}
	}
	return nil
}

// count applies one classified line. It allocates only the first time a
// month sees a release, and when an address set grows.
func (t *tally) count(v verdict, c *classified, exits *torexit.Set) {
	t.lines++
	m := t.month(c.unix)
	if m == nil {
		if v == malformed && c.unix == 0 {
			t.undated++
		}
		return
	}
	m.lines++
	switch v {
	case malformed:
		m.malformed++
		return
	case notCounted:
		return
	}
	r := m.releases[string(c.release)]
	if r == nil {
		r = &relAcc{}
		m.releases[string(c.release)] = r
	}
	if v == countedV6 {
		m.v6[c.v6] = struct{}{}
		if t.countV6 {
			p := prefix64(c.v6)
			for _, acc := range [2]*relAcc{&m.any, r} {
				if acc.v6Prefixes == nil {
					acc.v6Prefixes = map[uint64]struct{}{}
				}
				acc.v6Prefixes[p] = struct{}{}
			}
		}
		return
	}
	if exits.IsTorV4(c.v4, c.unix) {
		m.any.torReq++
		r.torReq++
		return
	}
	m.any.plainReq++
	r.plainReq++
	m.any.plain.add(c.v4)
	r.plain.add(c.v4)
}

func prefix64(a netip.Addr) uint64 {
	b := a.As16()
	var p uint64
	for _, x := range b[:8] {
		p = p<<8 | uint64(x)
	}
	return p
}

func (a *relAcc) merge(o *relAcc) {
	a.plain.union(&o.plain)
	a.plainReq += o.plainReq
	a.torReq += o.torReq
	if o.v6Prefixes != nil && a.v6Prefixes == nil {
		a.v6Prefixes = map[uint64]struct{}{}
	}
	for p := range o.v6Prefixes {
		a.v6Prefixes[p] = struct{}{}
	}
}

func (t *tally) merge(o *tally) {
	t.damaged = append(t.damaged, o.damaged...)
	t.undated += o.undated
	t.lines += o.lines
	for i := range t.months {
		m, om := &t.months[i], &o.months[i]
		m.lines += om.lines
		m.malformed += om.malformed
		m.any.merge(&om.any)
		for k, r := range om.releases {
			if mine := m.releases[k]; mine != nil {
				mine.merge(r)
			} else {
				m.releases[k] = r
			}
		}
		for a := range om.v6 {
			m.v6[a] = struct{}{}
		}
	}
}

// chunk is a piece of work: a whole compressed file, or the lines of a
// plain file that start in [from, to).
type chunk struct {
	path       string
	compressed bool
	from, to   int64
}

// chunkSize is how much of a plain file one worker takes at a time, so that
// one large file keeps every core busy.
const chunkSize = 16 << 20

func plan(paths []string, chunkSize int64) ([]chunk, int64, error) {
	var chunks []chunk
	var total int64
	for _, p := range paths {
		format, size, err := sniff(p)
		if err != nil {
			return nil, 0, err
		}
		total += size
		if format != logread.Plain {
			chunks = append(chunks, chunk{path: p, compressed: true, to: size})
			continue
		}
		for from := int64(0); from < size; from += chunkSize {
			chunks = append(chunks, chunk{path: p, from: from, to: min(from+chunkSize, size)})
		}
	}
	return chunks, total, nil
}

// sniff returns the format and size of the file at path.
func sniff(path string) (logread.Format, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	return logread.Sniff(head[:n]), st.Size(), nil
}

// progress counts what the workers have read, for a progress display.
type progress struct {
	lines, bytes atomic.Int64
}

// countFiles reads every chunk with one worker per core and returns the
// merged tally.
func countFiles(ctx context.Context, chunks []chunk, months []month.Month, rules []Rule, countV6 bool, exits *torexit.Set, prog *progress) (*tally, error) {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(chunks)))
	jobs := make(chan chunk)
	tallies := make([]*tally, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		tallies[i] = newTally(months, countV6)
		wg.Go(func() {
			w := &worker{cl: newClassifier(rules), t: tallies[i], exits: exits, prog: prog}
			for c := range jobs {
				if errs[i] != nil || ctx.Err() != nil {
					continue
				}
				var le *logread.Error
				if err := w.read(c); errors.As(err, &le) {
					// Damaged (truncated, corrupt): the lines before the
					// damage are counted, and the file is reported.
					tallies[i].damaged = append(tallies[i].damaged, err)
				} else {
					errs[i] = err
				}
			}
		})
	}
	for _, c := range chunks {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, o := range tallies[1:] {
		tallies[0].merge(o)
	}
	return tallies[0], nil
}

type worker struct {
	cl    *classifier
	t     *tally
	exits *torexit.Set
	prog  *progress
}

// read counts the lines of one chunk. A line longer than logread.MaxLine
// is malformed.
func (w *worker) read(c chunk) error {
	var r *logread.Reader
	var err error
	if c.compressed {
		r, err = logread.Open(c.path)
	} else {
		r, err = logread.OpenRange(c.path, c.from, c.to)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	var cl classified
	var lines, cut int64
	reported := c.from
	for {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // it names the file
		}
		switch {
		case r.Cut() != cut:
			cut = r.Cut()
			w.t.count(malformed, &classified{}, w.exits)
		case len(line) > 0:
			w.t.count(w.cl.classify(line, &cl), &cl, w.exits)
		}
		if lines++; lines&4095 == 0 {
			w.prog.lines.Add(4096)
			off := r.Offset()
			w.prog.bytes.Add(off - reported)
			reported = off
		}
	}
	w.prog.lines.Add(lines & 4095)
	w.prog.bytes.Add(min(r.Offset(), c.to) - reported)
	return nil
}
