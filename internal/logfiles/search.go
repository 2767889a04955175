package logfiles

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"depot/internal/atomicfile"
	"depot/internal/logread"
)

// Match is one matching line.
type Match struct {
	Unix int64 // the line's time, Unix seconds
	Kind Kind
	File string
	Line []byte // without "\n"; owned by the receiver
}

// SearchStats says how much work a search did.
type SearchStats struct {
	Files, FilesSkipped     int // files considered, and skipped by time range
	Members, MembersSkipped int // indexed gzip members, and skipped by index
	// Problems are files that could not be read whole (corrupt or
	// truncated gzip); the lines before the damage were searched.
	Problems []error
}

// boundSlack widens time bounds read from a file's first or last line, or
// from its name, to allow for lines logged out of time order.
const boundSlack = time.Hour

// Search finds the lines matching q in the access logs (and error logs with
// q.Errors) in dir, active and rotated, plain and gzip, and passes them to
// emit in time order. Files are read in parallel on every core; files and
// indexed gzip members whose time range or address filter cannot match are
// skipped without being inflated.
//
// Lines come out in time order across files; within one file, lines logged
// more than boundSlack out of order may come out late.
func Search(ctx context.Context, dir string, q Query, emit func(*Match) error) (*SearchStats, error) {
	names, err := listLogs(dir, true)
	if err != nil {
		return nil, fmt.Errorf("listing log directory: %w", err)
	}
	m := newMatcher(q)
	st := &SearchStats{}
	plans := planFiles(names, q, m, st)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each worker keeps its buffers and inflater from job to job; a job
	// takes an idle one.
	workers := runtime.GOMAXPROCS(0)
	idle := make(chan *worker, workers)
	for range workers {
		idle <- &worker{m: m}
	}
	var pool errgroup.Group
	pool.SetLimit(workers)
	// The dispatcher keeps at most `ahead` files in flight beyond the one
	// being emitted; a slot is freed when the emitter takes a file's result.
	ahead := make(chan struct{}, 2*workers+2)
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		defer pool.Wait()
		for _, p := range plans {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			for _, j := range p.start() {
				if ctx.Err() != nil {
					return
				}
				pool.Go(func() error {
					w := <-idle
					defer func() { idle <- w }()
					j.run(w)
					return nil
				})
			}
		}
	}()
	err = mergeEmit(ctx, plans, ahead, emit)
	cancel()
	<-dispatched
	for _, p := range plans {
		p.close()
		if p.err != nil {
			st.Problems = append(st.Problems, p.err)
		}
	}
	return st, err
}

// filePlan is one file to search.
type filePlan struct {
	name   logName
	lo, hi int64 // bounds on the file's line times
	f      *os.File
	format logread.Format // by content
	// members are the indexed gzip members to inflate; rest is where the
	// part that must be read sequentially starts (size: none, 0: all).
	members []member
	rest    int64
	size    int64

	results [][]Match // one slot per job
	pending atomic.Int32
	done    chan struct{}
	mu      sync.Mutex
	err     error
}

// planFiles opens the files that may match, reads their indexes and time
// bounds, and orders them by their lowest possible time.
func planFiles(names []logName, q Query, m *matcher, st *SearchStats) []*filePlan {
	var plans []*filePlan
	for i, n := range names {
		if n.kind == ErrorLog && !q.Errors {
			continue
		}
		st.Files++
		p := &filePlan{name: n, lo: math.MinInt64, hi: math.MaxInt64, done: make(chan struct{})}
		f, err := atomicfile.OpenRegular(n.path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && n.comp == "" {
				// Compressed since it was listed.
				n.path, n.comp = n.path+".gz", ".gz"
				p.name = n
				f, err = atomicfile.OpenRegular(n.path)
			}
			if err != nil {
				st.Problems = append(st.Problems, err)
				continue
			}
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			st.Problems = append(st.Problems, err)
			continue
		}
		p.f, p.size, p.rest = f, fi.Size(), 0
		var head [8]byte
		hn, _ := f.ReadAt(head[:], 0)
		if p.format = logread.Sniff(head[:hn]); p.format == logread.Gzip {
			p.members, p.rest = readIndex(f, p.size)
			if p.rest < p.size {
				// Not indexed to its end (not depot's, or added to):
				// read it all in order.
				p.members, p.rest = nil, 0
			}
		}
		p.bounds(names, i)
		if !m.timeMayMatch(p.lo, p.hi) {
			st.FilesSkipped++
			f.Close()
			continue
		}
		kept := p.members[:0]
		for _, mb := range p.members {
			st.Members++
			if m.memberMayMatch(&mb) {
				kept = append(kept, mb)
			} else {
				st.MembersSkipped++
			}
		}
		p.members = kept
		plans = append(plans, p)
	}
	slices.SortStableFunc(plans, func(a, b *filePlan) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	return plans
}

// bounds sets lo and hi: exact from an index, otherwise from the first
// line, the last line (plain files), the dateext name, or the first line
// of the next newer file of the same log.
func (p *filePlan) bounds(names []logName, i int) {
	slack := int64(boundSlack / time.Second)
	if len(p.members) > 0 && p.rest == p.size {
		p.lo, p.hi = math.MaxInt64, math.MinInt64
		for _, mb := range p.members {
			if mb.dated > 0 {
				p.lo, p.hi = min(p.lo, mb.min), max(p.hi, mb.max)
			}
		}
		if p.lo > p.hi {
			p.lo, p.hi = 0, -1 // nothing dated: nothing can match
		}
		return
	}
	if t, ok := firstTime(p.name.path); ok {
		p.lo = t - slack
	}
	switch next := i + 1; {
	case p.format == logread.Plain:
		if t, ok := lastTime(p.f, p.size); ok && !p.name.active {
			p.hi = t + slack
		}
	case !p.name.day.IsZero():
		// depot names a file for the day of its lines; logrotate's dateext
		// for the day it rotated, the day after.
		p.hi = p.name.day.AddDate(0, 0, 2).Unix() + slack
	case p.name.numbered && next < len(names) && names[next].stem == p.name.stem && (names[next].numbered || names[next].active):
		// The next newer file of a numbered rotation (or the active file).
		if t, ok := firstTime(names[next].path); ok {
			p.hi = t + slack
		}
	}
}

// lastTime reads the time of the last dated line in the last 64 KiB of a
// plain file.
func lastTime(f *os.File, size int64) (int64, bool) {
	off := max(0, size-64<<10)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	for len(buf) > 0 {
		buf = bytes.TrimRight(buf, "\n")
		i := bytes.LastIndexByte(buf, '\n')
		if t, ok := lineTime(buf[i+1:]); ok {
			return t, true
		}
		if i < 0 {
			break
		}
		buf = buf[:i]
	}
	return 0, false
}

// job is one unit of work: an indexed member, or the sequential rest.
type job struct {
	p    *filePlan
	slot int
	mb   *member // nil: read p from p.rest to the end
}

// start makes the file's jobs. A file with none is done at once.
func (p *filePlan) start() []*job {
	var jobs []*job
	for i := range p.members {
		jobs = append(jobs, &job{p: p, slot: len(jobs), mb: &p.members[i]})
	}
	if p.rest < p.size {
		jobs = append(jobs, &job{p: p, slot: len(jobs)})
	}
	p.results = make([][]Match, len(jobs))
	p.pending.Store(int32(len(jobs)))
	if len(jobs) == 0 {
		close(p.done)
	}
	return jobs
}

func (p *filePlan) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		if le := (*logread.Error)(nil); !errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", p.name.path, err)
		}
		p.err = fmt.Errorf("%w; lines after the damage were not searched", err)
	}
}

func (p *filePlan) close() {
	if p.f != nil {
		p.f.Close()
	}
}

// worker holds one goroutine's reusable buffers.
type worker struct {
	m    *matcher
	s    scratch
	zr   *gzip.Reader
	comp []byte
	out  bytes.Buffer
}

func (j *job) run(w *worker) {
	p := j.p
	var err error
	if j.mb != nil {
		err = j.runMember(w)
	} else {
		err = j.runSequential(w)
	}
	if err != nil {
		p.fail(err)
	}
	if p.pending.Add(-1) == 0 {
		close(p.done)
	}
}

func (j *job) runMember(w *worker) error {
	mb := j.mb
	if cap(w.comp) < int(mb.size) {
		w.comp = make([]byte, mb.size)
	}
	comp := w.comp[:mb.size]
	if _, err := j.p.f.ReadAt(comp, mb.off); err != nil {
		return err
	}
	var err error
	if w.zr == nil {
		w.zr, err = gzip.NewReader(bytes.NewReader(comp))
	} else {
		err = w.zr.Reset(bytes.NewReader(comp))
	}
	if err != nil {
		return err
	}
	w.zr.Multistream(false)
	w.out.Reset()
	if _, err := w.out.ReadFrom(w.zr); err != nil {
		return err
	}
	var res []Match
	data := w.out.Bytes()
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if t, ok := w.m.match(j.p.name.kind, line, &w.s); ok {
			res = append(res, Match{Unix: t, Kind: j.p.name.kind, File: j.p.name.path, Line: bytes.Clone(line)})
		}
	}
	j.p.results[j.slot] = res
	return nil
}

func (j *job) runSequential(w *worker) error {
	p := j.p
	// A descriptor of its own (the plan's is read by offset elsewhere),
	// of the file as planned: its name may be rotated away meanwhile.
	fd, err := syscall.Dup(int(p.f.Fd()))
	if err != nil {
		return err
	}
	r, err := logread.NewReader(os.NewFile(uintptr(fd), p.name.path))
	if err != nil {
		return err
	}
	defer r.Close()
	var res []Match
	defer func() { p.results[j.slot] = res }()
	for {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if t, ok := w.m.match(p.name.kind, line, &w.s); ok {
			res = append(res, Match{Unix: t, Kind: p.name.kind, File: p.name.path, Line: bytes.Clone(line)})
		}
	}
}

// mergeEmit takes files' results in plan order and emits lines in time
// order: a line is emitted once no file still to come can hold an earlier
// one (its lower bound is later).
func mergeEmit(ctx context.Context, plans []*filePlan, ahead chan struct{}, emit func(*Match) error) error {
	h := &matchHeap{}
	for i, p := range plans {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		var ms []Match
		for _, r := range p.results {
			ms = append(ms, r...)
		}
		p.results = nil
		slices.SortStableFunc(ms, func(a, b Match) int { return cmpInt64(a.Unix, b.Unix) })
		if len(ms) > 0 {
			heap.Push(h, &cursor{ms: ms, order: i})
		}
		next := int64(math.MaxInt64)
		if i+1 < len(plans) {
			next = plans[i+1].lo
		}
		for h.Len() > 0 && (*h)[0].ms[0].Unix < next {
			if err := h.emitOne(emit); err != nil {
				return err
			}
		}
	}
	for h.Len() > 0 {
		if err := h.emitOne(emit); err != nil {
			return err
		}
	}
	return nil
}

type cursor struct {
	ms    []Match
	order int // file order breaks ties, keeping equal times stable
}

type matchHeap []*cursor

func (h matchHeap) Len() int { return len(h) }
func (h matchHeap) Less(i, j int) bool {
	a, b := h[i].ms[0].Unix, h[j].ms[0].Unix
	return a < b || (a == b && h[i].order < h[j].order)
}
func (h matchHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *matchHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *matchHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

func (h *matchHeap) emitOne(emit func(*Match) error) error {
	c := (*h)[0]
	err := emit(&c.ms[0])
	c.ms = c.ms[1:]
	if len(c.ms) == 0 {
		heap.Pop(h)
	} else {
		heap.Fix(h, 0)
	}
	return err
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String describes the work done, for a --verbose summary.
func (s *SearchStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d files (%d skipped by time), %d indexed blocks (%d skipped)", s.Files, s.FilesSkipped, s.Members, s.MembersSkipped)
	return b.String()
}
