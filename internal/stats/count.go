package stats

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"depot/internal/torexit"
)

// relAcc counts one release (or "any") in one month.
type relAcc struct {
	plain addrSet // distinct clearnet IPv4 addresses
	// pseudo holds the IDs of IPv4 pseudonyms, apart from plain: an ID is
	// no address, and one may equal an unrelated real address of a month
	// whose logs were only partly pseudonymised.
	pseudo     addrSet
	plainReq   int64
	torReq     int64
	v6Prefixes map[uint64]struct{} // /64 prefixes; only with CountIPv6
}

// monthAcc counts one month. [from, to) are Unix seconds, UTC.
type monthAcc struct {
	name      string
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
}

func newTally(months []string, countV6 bool) *tally {
	t := &tally{countV6: countV6}
	for _, m := range months {
		from, _ := time.Parse("2006-01", m)
		t.months = append(t.months, monthAcc{
			name:     m,
			from:     from.Unix(),
			to:       from.AddDate(0, 1, 0).Unix(),
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
			p := c.p64
			for _, acc := range [2]*relAcc{&m.any, r} {
				if acc.v6Prefixes == nil {
					acc.v6Prefixes = map[uint64]struct{}{}
				}
				acc.v6Prefixes[p] = struct{}{}
			}
		}
		return
	}
	// A pseudonym carries the verdict of the exit lists at rewrite time;
	// its ID is no address to look up.
	if (c.pseudo && c.tor) || (!c.pseudo && exits.IsTorV4(c.v4, c.unix)) {
		m.any.torReq++
		r.torReq++
		return
	}
	m.any.plainReq++
	r.plainReq++
	if c.pseudo {
		m.any.pseudo.add(c.v4)
		r.pseudo.add(c.v4)
		return
	}
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
	a.pseudo.union(&o.pseudo)
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
	path     string
	gz       bool
	from, to int64
}

// chunkSize is how much of a plain file one worker takes at a time, so that
// one large file keeps every core busy.
const chunkSize = 16 << 20

func plan(paths []string, chunkSize int64) ([]chunk, int64, error) {
	var chunks []chunk
	var total int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		var magic [2]byte
		n, _ := io.ReadFull(f, magic[:])
		f.Close()
		size := st.Size()
		total += size
		if n == 2 && magic == [2]byte{0x1f, 0x8b} {
			chunks = append(chunks, chunk{path: p, gz: true, to: size})
			continue
		}
		for from := int64(0); from < size; from += chunkSize {
			chunks = append(chunks, chunk{path: p, from: from, to: min(from+chunkSize, size)})
		}
	}
	return chunks, total, nil
}

// progress counts what the workers have read, for a progress display.
type progress struct {
	lines, bytes atomic.Int64
}

// countFiles reads every chunk with one worker per core and returns the
// merged tally.
func countFiles(ctx context.Context, chunks []chunk, months []string, rules []Rule, countV6 bool, exits *torexit.Set, prog *progress) (*tally, error) {
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
				errs[i] = w.read(c)
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
	buf   *bufio.Reader
}

// maxLine is the longest line read whole; longer lines are malformed.
const maxLine = 64 << 10

func (w *worker) read(c chunk) error {
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader
	if c.gz {
		zr, err := gzip.NewReader(bufio.NewReaderSize(&countingReader{r: f, prog: w.prog}, 1<<16))
		if err != nil {
			return fmt.Errorf("%s: %w", c.path, err)
		}
		defer zr.Close()
		r = zr
	} else {
		// Read past c.to to finish the last line that starts inside the
		// chunk; start one byte early to find the first line that does.
		r = io.NewSectionReader(f, max(c.from-1, 0), 1<<62)
	}
	if w.buf == nil {
		w.buf = bufio.NewReaderSize(r, 1<<18)
	} else {
		w.buf.Reset(r)
	}
	pos := c.from
	if !c.gz && c.from > 0 {
		// The byte before c.from ends a line exactly when the next line
		// starts at c.from; otherwise skip the partial line, which belongs
		// to the previous chunk.
		n, err := w.skipLine()
		if err != nil {
			return nil
		}
		pos += int64(n) - 1
	}
	var cl classified
	var lines int64
	reported := pos
	for c.gz || pos < c.to {
		line, err := w.buf.ReadSlice('\n')
		pos += int64(len(line))
		if err == bufio.ErrBufferFull || len(line) > maxLine {
			n, _ := w.skipLine()
			pos += int64(n)
			w.t.count(malformed, &classified{}, w.exits)
			continue
		}
		if len(line) > 0 {
			v := w.cl.classify(line, &cl)
			w.t.count(v, &cl, w.exits)
			lines++
			if lines&4095 == 0 {
				w.prog.lines.Add(4096)
				if !c.gz {
					w.prog.bytes.Add(pos - reported)
					reported = pos
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.path, err)
		}
	}
	w.prog.lines.Add(lines & 4095)
	if !c.gz {
		w.prog.bytes.Add(min(pos, c.to) - reported)
	}
	return nil
}

// skipLine discards through the next newline and returns how many bytes
// it read.
func (w *worker) skipLine() (int, error) {
	n := 0
	for {
		b, err := w.buf.ReadSlice('\n')
		n += len(b)
		if err != bufio.ErrBufferFull {
			return n, err
		}
	}
}

type countingReader struct {
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.bytes.Add(int64(n))
	return n, err
}
