package stats

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"net/netip"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"depot/internal/atomicfile"
	"depot/internal/logread"
	"depot/internal/month"
	"depot/internal/torexit"
)

// relAcc holds the address sets of one release (or "any") in one month.
// What adds up (requests, lines) is kept per file instead (fileAcc), so
// that a file that is a copy of another can be left out of the sums; the
// sets are the same with or without a copy.
type relAcc struct {
	plain addrSet // distinct clearnet IPv4 addresses
	// pseudo holds the IDs of IPv4 pseudonyms, apart from plain: an ID is
	// no address, and one may equal an unrelated real address of a month
	// whose logs were only partly pseudonymised.
	pseudo     addrSet
	v6Prefixes map[uint64]struct{} // /64 prefixes; only with CountIPv6
}

// distinct is the number of distinct clearnet IPv4 addresses (and
// pseudonyms of them).
func (r *relAcc) distinct() int64 { return int64(r.plain.len() + r.pseudo.len()) }

// monthAcc holds the sets of one month. [from, to) are Unix seconds, UTC.
type monthAcc struct {
	name     month.Month
	from, to int64
	any      relAcc
	releases []*relAcc               // by release id; nil where none was seen
	v6       map[netip.Addr]struct{} // IPv6 addresses of update checks
}

// rel returns the month's sets of release id, made on first use.
func (m *monthAcc) rel(id int) *relAcc {
	if id >= len(m.releases) {
		m.releases = append(m.releases, make([]*relAcc, id+1-len(m.releases))...)
	}
	r := m.releases[id]
	if r == nil {
		r = &relAcc{}
		m.releases[id] = r
	}
	return r
}

// reqs are counted update checks.
type reqs struct{ plain, tor int64 }

// fileMonth is what one file adds to one month: its lines (and when and on
// which days they were), the malformed ones, and the counted requests per
// release id.
type fileMonth struct {
	span
	malformed int64
	reqs      []reqs
}

// fileAcc is what one file adds up to, and its identity.
type fileAcc struct {
	id      identity
	undated int64 // malformed lines without a readable time
	months  []fileMonth
}

// tally is one worker's counts: every month being computed, and what each
// file added. Workers never share a tally; merge joins them.
type tally struct {
	months   []monthAcc
	files    []*fileAcc // by file index; nil for a file not read here
	relIDs   map[string]int
	relNames []string // by release id
	countV6  bool
	seed     maphash.Seed // of file identities, the same in every tally of a run
	damaged  []error      // files that could not be read to their end
}

func newTally(months []month.Month, countV6 bool, files int, seed maphash.Seed) *tally {
	t := &tally{countV6: countV6, files: make([]*fileAcc, files), relIDs: map[string]int{}, seed: seed}
	for _, m := range months {
		t.months = append(t.months, monthAcc{
			name: m,
			from: m.Start().Unix(),
			to:   m.End().Unix(),
			v6:   map[netip.Addr]struct{}{},
		})
	}
	return t
}

// file returns what file i added, made on first use.
func (t *tally) file(i int) *fileAcc {
	f := t.files[i]
	if f == nil {
		f = &fileAcc{months: make([]fileMonth, len(t.months))}
		t.files[i] = f
	}
	return f
}

// release returns the id of a release name, made on first use.
func (t *tally) release(name []byte) int {
	if id, ok := t.relIDs[string(name)]; ok {
		return id
	}
	id := len(t.relNames)
	t.relIDs[string(name)] = id
	t.relNames = append(t.relNames, string(name))
	return id
}

func (t *tally) month(unix int64) int {
	for i := range t.months {
		if m := &t.months[i]; unix >= m.from && unix < m.to {
			return i
		}
	}
	return -1
}

// count applies one classified line of file f. It allocates only the
// first time a month or a file sees a release, and when an address set
// grows.
func (t *tally) count(v verdict, c *classified, exits *torexit.Set, f *fileAcc) {
	i := t.month(c.unix)
	if i < 0 {
		if v == malformed && c.unix == 0 {
			f.undated++
		}
		return
	}
	m, fm := &t.months[i], &f.months[i]
	fm.see(c.unix, m.from)
	switch v {
	case malformed:
		fm.malformed++
		return
	case notCounted:
		return
	}
	id := t.release(c.release)
	r := m.rel(id)
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
	if id >= len(fm.reqs) {
		fm.reqs = append(fm.reqs, make([]reqs, id+1-len(fm.reqs))...)
	}
	// A pseudonym carries the verdict of the exit lists at rewrite time;
	// its ID is no address to look up.
	if (c.pseudo && c.tor) || (!c.pseudo && exits.IsTorV4(c.v4, c.unix)) {
		fm.reqs[id].tor++
		return
	}
	fm.reqs[id].plain++
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
	if o.v6Prefixes != nil && a.v6Prefixes == nil {
		a.v6Prefixes = map[uint64]struct{}{}
	}
	for p := range o.v6Prefixes {
		a.v6Prefixes[p] = struct{}{}
	}
}

// merge adds what o counted; its release ids are o's own, remapped here.
func (t *tally) merge(o *tally) {
	t.damaged = append(t.damaged, o.damaged...)
	remap := make([]int, len(o.relNames))
	for oid, name := range o.relNames {
		remap[oid] = t.release([]byte(name))
	}
	for i := range t.months {
		m, om := &t.months[i], &o.months[i]
		m.any.merge(&om.any)
		for oid, r := range om.releases {
			if r != nil {
				m.rel(remap[oid]).merge(r)
			}
		}
		for a := range om.v6 {
			m.v6[a] = struct{}{}
		}
	}
	for fi, of := range o.files {
		if of == nil {
			continue
		}
		f := t.file(fi)
		f.id.merge(of.id)
		f.undated += of.undated
		for i := range f.months {
			fm, ofm := &f.months[i], &of.months[i]
			fm.span.add(ofm.span)
			fm.malformed += ofm.malformed
			for oid, q := range ofm.reqs {
				id := remap[oid]
				if id >= len(fm.reqs) {
					fm.reqs = append(fm.reqs, make([]reqs, id+1-len(fm.reqs))...)
				}
				fm.reqs[id].plain += q.plain
				fm.reqs[id].tor += q.tor
			}
		}
	}
}

// identities are the files' identities, by file index.
func (t *tally) identities() []identity {
	ids := make([]identity, len(t.files))
	for i, f := range t.files {
		if f != nil {
			ids[i] = f.id
		}
	}
	return ids
}

// monthSum is what the files that are not a copy add up to in one month.
type monthSum struct {
	lines, malformed int64
	any              reqs
	reqs             []reqs // by release id
}

// sums adds up the files that are not a copy (copyOf[i] < 0; nil: none
// is): the lines read and the undated ones, and each month's sums.
func (t *tally) sums(copyOf []int) (lines, undated int64, months []monthSum) {
	months = make([]monthSum, len(t.months))
	for fi, f := range t.files {
		if f == nil || copyOf != nil && copyOf[fi] >= 0 {
			continue
		}
		lines += f.id.lines
		undated += f.undated
		for i := range f.months {
			fm, ms := &f.months[i], &months[i]
			ms.lines += fm.lines
			ms.malformed += fm.malformed
			for id, q := range fm.reqs {
				if id >= len(ms.reqs) {
					ms.reqs = append(ms.reqs, make([]reqs, id+1-len(ms.reqs))...)
				}
				ms.reqs[id].plain += q.plain
				ms.reqs[id].tor += q.tor
				ms.any.plain += q.plain
				ms.any.tor += q.tor
			}
		}
	}
	return lines, undated, months
}

// spans are the files' spans of month i, by file index.
func (t *tally) spans(i int) []span {
	out := make([]span, len(t.files))
	for fi, f := range t.files {
		if f != nil {
			out[fi] = f.months[i].span
		}
	}
	return out
}

// chunk is a piece of work: a whole compressed file, or the lines of a
// plain file that start in [from, to).
type chunk struct {
	file       int // index in the paths planned
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
	for fi, p := range paths {
		format, size, err := sniff(p)
		if err != nil {
			return nil, 0, err
		}
		total += size
		if format != logread.Plain {
			chunks = append(chunks, chunk{file: fi, path: p, compressed: true, to: size})
			continue
		}
		for from := int64(0); from < size; from += chunkSize {
			chunks = append(chunks, chunk{file: fi, path: p, from: from, to: min(from+chunkSize, size)})
		}
	}
	return chunks, total, nil
}

// sniff returns the format and size of the file at path.
func sniff(path string) (logread.Format, int64, error) {
	f, err := atomicfile.OpenRegular(path)
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

// countFiles reads every chunk of files files with one worker per core
// and returns the merged tally.
func countFiles(ctx context.Context, chunks []chunk, files int, months []month.Month, rules []Rule, countV6 bool, exits *torexit.Set, prog *progress) (*tally, error) {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(chunks)))
	seed := maphash.MakeSeed()
	// Each worker keeps its own tally (no locks on the hot path); a chunk
	// takes an idle worker, and the tallies are merged at the end.
	all := make([]*worker, workers)
	idle := make(chan *worker, workers)
	for i := range all {
		all[i] = &worker{cl: newClassifier(rules), t: newTally(months, countV6, files, seed), exits: exits, prog: prog}
		idle <- all[i]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, c := range chunks {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			w := <-idle
			defer func() { idle <- w }()
			var le *logread.Error
			if err := w.read(c); errors.As(err, &le) {
				// Damaged (truncated, corrupt): the lines before the
				// damage are counted, and the file is reported.
				w.t.damaged = append(w.t.damaged, err)
			} else if err != nil {
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, o := range all[1:] {
		all[0].t.merge(o.t)
	}
	return all[0].t, nil
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
	f := w.t.file(c.file)
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
			f.id.add(w.t.seed, line)
			w.t.count(malformed, &classified{}, w.exits, f)
		case len(line) > 0:
			f.id.add(w.t.seed, line)
			w.t.count(w.cl.classify(line, &cl), &cl, w.exits, f)
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
