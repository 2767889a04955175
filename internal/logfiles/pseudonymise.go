package logfiles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"depot/internal/atomicfile"
	"depot/internal/logread"
	"depot/internal/month"
	"depot/internal/pseudonym"
	"depot/internal/torexit"
)

// PseudonymStats is what Pseudonymise asks of the statistics
// (stats.Recount satisfies it).
type PseudonymStats interface {
	// Figures computes months from the logs the statistics read, reading
	// replace[p] instead of each p it names, and returns each month's
	// figures as comparable text. With record (and no replace) it also
	// records them in the statistics data file.
	Figures(ctx context.Context, months []month.Month, replace map[string]string, record bool) (map[month.Month]string, error)
}

// PseudonymiseOptions say what Pseudonymise rewrites.
type PseudonymiseOptions struct {
	// Dir, Paths and Skip are the log files, as for Prune: every file
	// under Dir, and the [stats] logs wherever they are.
	Dir   string
	Paths []string
	Skip  []string
	// After is how long after a month ends its lines keep their
	// addresses. 0 means 7 days.
	After time.Duration
	Now   func() time.Time // nil means time.Now
	// ExitLists loads the exit lists that decide each IPv4 pseudonym's Tor
	// flag for lines in [from, to), as the statistics load them. nil means
	// none: no line is from Tor, as the statistics would say without lists.
	ExitLists func(ctx context.Context, from, to time.Time) (*torexit.Set, error)
	// Stats, when set, computes the months (recording them) before
	// anything changes, and recounts them from the rewritten files: the
	// rewrite replaces the logs only when every figure is the same.
	Stats  PseudonymStats
	DryRun bool // report what would change, change nothing
	// Random is the source of the keys; nil means crypto/rand.
	Random io.Reader

	// hook, in tests, runs before each step of a change ("temp", "journal",
	// "rename", "state"); an error stops Pseudonymise there, as a crash
	// would. "temp" steps run on several goroutines at once.
	hook testHook
}

// PseudonymisedMonth is one month rewritten (or that would be).
type PseudonymisedMonth struct {
	Month month.Month
	Lines int64 // lines whose addresses were replaced
	Files int   // files that held them
}

// PseudonymisedFile is one file rewritten.
type PseudonymisedFile struct {
	Path  string
	Lines int64 // lines changed, undated ones included
}

// PseudonymiseResult is what Pseudonymise did.
type PseudonymiseResult struct {
	// Settled is the end of the last settled month: lines before it are
	// pseudonymised, later ones keep their addresses.
	Settled time.Time
	Months  []PseudonymisedMonth
	Files   []PseudonymisedFile
	Undated int64 // lines without a readable time whose addresses were replaced
	// Notes are things the operator should know that are not failures,
	// e.g. a month left as it is because a file of it is being written.
	Notes []string
	// Problems are files that could not be read or changed; their months
	// were left as they are.
	Problems []error
}

// Names of Pseudonymise's own files in the log directory.
const (
	pseudoJournalName = ".depot-pseudonymise.journal"
	// PseudonymStateName records which months were pseudonymised, and when.
	PseudonymStateName = "pseudonymised.json"
)

// DefaultPseudonymiseAfter is the grace period when none is given.
const DefaultPseudonymiseAfter = 7 * 24 * time.Hour

// SettledBefore returns the start of the first month that is not settled
// at now with grace after: every month before it ended at least after ago.
func SettledBefore(now time.Time, after time.Duration) time.Time {
	if after <= 0 {
		after = DefaultPseudonymiseAfter
	}
	return month.Of(now.Add(-after)).Start()
}

// Pseudonymise replaces the client addresses of every line of every
// settled month — a month that ended more than opts.After ago — in every
// log file (those Prune reads: under opts.Dir and opts.Paths), by
// pseudonyms under one fresh random key per month, which is never written
// anywhere (docs/pseudonyms.md).
//
// A month is rewritten whole or not at all: if one of its files cannot be
// rewritten (it is being written, cannot be read to its end, is bzip2,
// which depot cannot write, or has lines too long to rewrite), the month
// is left as it is and a note says why. Lines of other months stay byte
// for byte.
//
// Crash safety: every file is first written to a synced temporary file;
// a journal naming them is then written, the files are renamed into
// place, and the journal is removed. After a crash the next run (or
// prune) finishes the renames of a journal it finds, or removes temporary
// files without one: each month's files are all old or all new.
func Pseudonymise(ctx context.Context, opts PseudonymiseOptions) (*PseudonymiseResult, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	settled := SettledBefore(now(), opts.After)
	res := &PseudonymiseResult{Settled: settled}
	unlock, err := lockFor(opts.DryRun)(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if !opts.DryRun {
		if err := finishPseudonymise(opts.Dir); err != nil {
			return nil, err
		}
	}
	// The files retention reads, as it reads them.
	collected := &PruneResult{}
	paths, dirs, err := (&PruneOptions{Dir: opts.Dir, Paths: opts.Paths, Skip: opts.Skip}).collect(collected)
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, collected.Notes...)
	res.Problems = append(res.Problems, collected.Problems...)
	if !opts.DryRun {
		places, err := openPlaces(opts.Dir)
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			root, rel, err := places.of(dir, true)
			if err != nil {
				res.Problems = append(res.Problems, err)
				continue
			}
			_, errs := removeTemps(root, rel)
			res.Problems = append(res.Problems, errs...)
		}
		places.close()
	}

	surveys := surveyAll(ctx, paths, settled.Unix())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	todo, rewrite := planPseudonymise(res, surveys)
	if len(todo) == 0 || opts.DryRun {
		if opts.DryRun {
			for _, m := range todo {
				res.Months = append(res.Months, PseudonymisedMonth{Month: m.month, Lines: m.lines, Files: m.files})
			}
			for _, s := range rewrite {
				res.Files = append(res.Files, PseudonymisedFile{Path: s.path, Lines: s.total()})
			}
		}
		return res, nil
	}
	months := make([]month.Month, len(todo))
	for i, m := range todo {
		months[i] = m.month
	}
	names := month.Join(months)

	// The figures first, with the exit lists as they are now: what the
	// pseudonyms will carry, and what the rewritten logs must give again.
	var before map[month.Month]string
	if opts.Stats != nil {
		if before, err = opts.Stats.Figures(ctx, months, nil, true); err != nil {
			return res, fmt.Errorf("refusing to pseudonymise %s: computing their statistics first failed: %w", names, err)
		}
	}
	rw := &lineRewriter{}
	if opts.ExitLists != nil {
		if rw.exits, err = opts.ExitLists(ctx, months[0].Start(), months[len(months)-1].End()); err != nil {
			return res, fmt.Errorf("loading exit lists: %w", err)
		}
	}
	if rw.undated, err = pseudonym.NewMapper(opts.Random); err != nil {
		return res, err
	}
	for _, m := range months {
		mapper, err := pseudonym.NewMapper(opts.Random)
		if err != nil {
			return res, err
		}
		rw.months = append(rw.months, pseudoMonth{month: m, from: m.Start().Unix(), to: m.End().Unix(), m: mapper})
	}
	defer func() {
		// Once this returns no one can map a pseudonym back, depot included.
		rw.undated.Forget()
		for _, m := range rw.months {
			m.m.Forget()
		}
	}()

	done, err := rewriteAll(ctx, rewrite, rw, opts)
	temps := map[string]string{}
	for _, d := range done {
		temps[d.path] = d.tmp
	}
	abort := func() {
		for _, tmp := range temps {
			os.Remove(tmp)
		}
	}
	if err != nil {
		abort()
		return res, fmt.Errorf("pseudonymising %s: %w; nothing was changed", names, err)
	}
	if opts.Stats != nil {
		after, err := opts.Stats.Figures(ctx, months, temps, false)
		if err != nil {
			abort()
			return res, fmt.Errorf("recounting %s from the rewritten logs: %w; nothing was changed", names, err)
		}
		for _, m := range months {
			if after[m] != before[m] {
				abort()
				return res, fmt.Errorf("the rewritten logs of %s would change its statistics (before %s, after %s); nothing was changed: this is a bug in depot, please report it", m, before[m], after[m])
			}
		}
	}
	for _, d := range done {
		if changed(d.fileSurvey) {
			abort()
			return res, fmt.Errorf("%s changed while it was being pseudonymised (is something still writing it?); nothing was changed: run again", d.path)
		}
	}

	j := &pseudoJournal{At: now().UTC().Format(time.RFC3339), Lines: map[string]int64{}}
	for _, d := range done {
		j.Renames = append(j.Renames, pseudoRename{Tmp: d.tmp, Dst: d.path})
	}
	for _, m := range todo {
		j.Lines[m.month.String()] = m.lines
	}
	if err := opts.hook.step("journal", opts.Dir, func() error { return writeJournal(opts.Dir, j) }); err != nil {
		abort()
		return res, fmt.Errorf("writing the pseudonymisation journal: %w; nothing was changed", err)
	}
	if err := commitJournal(opts.Dir, j, opts.hook.step); err != nil {
		return res, fmt.Errorf("pseudonymising %s: %w; the next run finishes it", names, err)
	}

	for _, m := range todo {
		res.Months = append(res.Months, PseudonymisedMonth{Month: m.month, Lines: m.lines, Files: m.files})
	}
	for _, d := range done {
		res.Files = append(res.Files, PseudonymisedFile{Path: d.path, Lines: d.lines})
		res.Undated += d.undated
	}
	return res, nil
}

// fileSurvey is what one read of a file found.
type fileSurvey struct {
	path    string
	active  bool                  // being written: never rewritten
	real    map[month.Month]int64 // settled month -> lines with a real address
	undated int64                 // undated lines with a real address
	format  logread.Format
	cut     int64 // lines too long to be rewritten whole
	err     error
	st      os.FileInfo
}

func (s *fileSurvey) total() int64 {
	n := s.undated
	for _, c := range s.real {
		n += c
	}
	return n
}

// surveyAll reads every file (one worker per core, each with its own
// scanner) and counts, per settled month, the lines that still hold a real
// address.
func surveyAll(ctx context.Context, paths []string, settled int64) []*fileSurvey {
	out := make([]*fileSurvey, len(paths))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(paths)))
	type scanner struct {
		sc lineScanner
		s  lineScan
	}
	idle := make(chan *scanner, workers)
	for range workers {
		idle <- &scanner{}
	}
	var g errgroup.Group
	g.SetLimit(workers)
	for i, p := range paths {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			w := <-idle
			defer func() { idle <- w }()
			out[i] = surveyFile(p, settled, &w.sc, &w.s)
			return nil
		})
	}
	g.Wait()
	return slices.DeleteFunc(out, func(s *fileSurvey) bool { return s == nil })
}

// quickSkipSlack: a file whose first line is this much newer than the end
// of the settled months holds none of their lines (lines are written about
// in time order).
const quickSkipSlack = 24 * time.Hour

func surveyFile(path string, settled int64, sc *lineScanner, s *lineScan) *fileSurvey {
	fs := &fileSurvey{path: path, active: beingWritten(path), real: map[month.Month]int64{}}
	if t, ok := firstTime(path); ok && t >= settled+int64(quickSkipSlack/time.Second) {
		return fs
	}
	r, err := openLog(path)
	if err != nil {
		fs.err = err
		return fs
	}
	defer r.Close()
	fs.format = r.Format()
	if fs.st, err = r.Stat(); err != nil {
		fs.err = err
		return fs
	}
	var last int64 = -1
	var lastMonth month.Month
	for {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fs.err = err
			return fs
		}
		sc.scan(line, s)
		if len(s.spans) == 0 {
			continue
		}
		switch {
		case s.unix == 0:
			fs.undated++
		case s.unix < settled:
			// Lines come about in time order: the month is computed once
			// per run of one month.
			if s.unix < last || s.unix >= lastMonth.End().Unix() {
				lastMonth = month.Of(time.Unix(s.unix, 0))
				last = lastMonth.Start().Unix()
			}
			fs.real[lastMonth]++
		}
	}
	fs.cut = r.Cut()
	return fs
}

// openLog opens a log for reading, never through a symbolic link (the
// file is to be replaced).
func openLog(path string) (*logread.Reader, error) {
	f, err := atomicfile.OpenNoFollow(path)
	if err != nil {
		return nil, err
	}
	return logread.NewReader(f)
}

// monthWork is one month to rewrite.
type monthWork struct {
	month month.Month
	lines int64
	files int
}

// planPseudonymise decides the months to rewrite and the files that hold
// them. A month with lines in a file that cannot be rewritten waits, whole.
func planPseudonymise(res *PseudonymiseResult, surveys []*fileSurvey) ([]monthWork, []*fileSurvey) {
	blocked := map[month.Month]bool{}
	work := map[month.Month]*monthWork{}
	for _, s := range surveys {
		if s.err != nil {
			res.Problems = append(res.Problems, fmt.Errorf("%s: %w; its lines keep their addresses", s.path, s.err))
		}
		for _, m := range slices.SortedFunc(maps.Keys(s.real), month.Month.Compare) {
			why := ""
			switch {
			case s.err != nil:
				blocked[m] = true
			case s.active:
				why = "the file is being written; it keeps them until it is rotated (depot serve rotates daily)"
			case s.format == logread.Bzip2:
				why = fmt.Sprintf("depot cannot write bzip2; recompress it as gzip (bunzip2 -c %s | gzip > %s.gz, then remove it)", s.path, strings.TrimSuffix(s.path, ".bz2"))
			case s.cut > 0:
				why = fmt.Sprintf("%d of its lines are longer than %d bytes, which a rewrite would cut; split it by hand", s.cut, logread.MaxLine)
			}
			if why != "" {
				blocked[m] = true
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %d lines of %s hold client addresses, but %s; %s keeps its addresses meanwhile", s.path, s.real[m], m, why, m))
			}
			w := work[m]
			if w == nil {
				w = &monthWork{month: m}
				work[m] = w
			}
			w.lines += s.real[m]
			w.files++
		}
	}
	var todo []monthWork
	for _, m := range slices.SortedFunc(maps.Keys(work), month.Month.Compare) {
		if !blocked[m] {
			todo = append(todo, *work[m])
		}
	}
	var rewrite []*fileSurvey
	for _, s := range surveys {
		if s.err != nil || s.active || s.format == logread.Bzip2 || s.cut > 0 {
			continue
		}
		n := s.undated
		for m, c := range s.real {
			if !blocked[m] {
				n += c
			} else {
				delete(s.real, m)
			}
		}
		if n > 0 {
			rewrite = append(rewrite, s)
		}
	}
	if len(todo) == 0 {
		// Undated lines alone start no run: they are rewritten with the
		// next month's files.
		rewrite = nil
	}
	return todo, rewrite
}

// rewritten is one file written to its temporary file.
type rewritten struct {
	*fileSurvey
	tmp     string
	lines   int64
	undated int64
}

// rewriteAll writes each file's pseudonymised copy (one worker per core);
// the first error stops the rest. On error some temporary files may
// exist: the caller removes those returned.
func rewriteAll(ctx context.Context, files []*fileSurvey, rw *lineRewriter, opts PseudonymiseOptions) ([]rewritten, error) {
	out := make([]rewritten, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(runtime.GOMAXPROCS(0), max(1, len(files))))
	for i, f := range files {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var err error
			out[i], err = rewriteFile(f, rw, opts)
			return err
		})
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	done := slices.DeleteFunc(out, func(r rewritten) bool { return r.tmp == "" })
	return done, err
}

// rewriteFile writes the pseudonymised copy of one file to a synced
// temporary file beside it (atomicfile's, not yet renamed), in the same
// format (a .gz stays gzip, depot's indexed gzip).
func rewriteFile(s *fileSurvey, rw *lineRewriter, opts PseudonymiseOptions) (r rewritten, err error) {
	r = rewritten{fileSurvey: s}
	in, err := openLog(s.path)
	if err != nil {
		return r, err
	}
	defer in.Close()
	if err := opts.hook.step("temp", s.path, func() error { return nil }); err != nil {
		return r, err
	}
	out, err := atomicfile.Create(s.path, s.st.Mode().Perm())
	if err != nil {
		return r, err
	}
	defer func() {
		if err != nil {
			out.Abort()
		}
	}()
	bw := bufio.NewWriterSize(out, 256<<10)
	w, err := compressor(in.Format(), bw)
	if err != nil {
		return r, err
	}
	var sc lineScanner
	var ls lineScan
	buf := make([]byte, 0, 4096)
	for {
		line, rerr := in.Next()
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return r, rerr
		}
		sc.scan(line, &ls)
		if m := rw.mapper(ls.unix); m != nil && len(ls.spans) > 0 {
			if buf, err = rw.rewrite(buf[:0], line, &ls, m); err != nil {
				return r, fmt.Errorf("%s: %w", s.path, err)
			}
			line = buf
			r.lines++
			if ls.unix == 0 {
				r.undated++
			}
		}
		if _, err = w.Write(line); err != nil {
			return r, err
		}
		if _, err = w.Write(newline); err != nil {
			return r, err
		}
	}
	if err = w.Close(); err != nil {
		return r, err
	}
	if err = bw.Flush(); err != nil {
		return r, err
	}
	if err = out.SetModTime(s.st.ModTime()); err != nil {
		return r, err
	}
	// Synced and closed, but not renamed: the journal commits every file
	// of the run together.
	if err = out.Sync(); err != nil {
		return r, err
	}
	if err = out.Close(); err != nil {
		return r, err
	}
	r.tmp = out.Name()
	return r, nil
}

// changed reports whether a file is no longer what its survey read.
func changed(s *fileSurvey) bool {
	st, err := os.Lstat(s.path)
	return err != nil || !os.SameFile(st, s.st) || st.Size() != s.st.Size() || !st.ModTime().Equal(s.st.ModTime())
}
