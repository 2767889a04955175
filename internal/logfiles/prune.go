package logfiles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"depot/internal/atomicfile"
	"depot/internal/logread"
	"depot/internal/month"
)

// StatsGuard makes sure that statistics were computed for months whose log
// data is about to be deleted. EnsureComputed returns nil only when every
// month of lines is recorded in the statistics data file as computed after
// the month ended (computing it first if needed) and, where lines[m] > 0
// (access-log lines of m in the files about to be changed), computed from
// at least one line. It must never wait on the network.
type StatsGuard interface {
	EnsureComputed(ctx context.Context, lines map[month.Month]int64) error
}

// PruneOptions says what Prune deletes.
type PruneOptions struct {
	// Dir is the log directory: every file under it, in subdirectories
	// too, whatever its name, is read and pruned by the times of its lines.
	Dir string
	// Paths are more log files or globs to prune (the [stats] logs
	// patterns, which may point outside Dir): retention covers every path
	// the configuration reads logs from. Matches inside Dir are pruned
	// once.
	Paths []string
	// Skip are files or directories under Dir that hold no logs and are
	// not read (the statistics data file, when data_dir is log_dir).
	Skip []string
	// RetentionMonths is how many calendar months are kept: the current one
	// and those before it up to this count. 0 means 3.
	RetentionMonths int
	Now             func() time.Time // nil means time.Now
	// Stats guards the statistics; nil when they are not configured.
	Stats  StatsGuard
	DryRun bool // report what would change, change nothing (not even a lock file)

	// hook, in tests, runs before each step of a change ("delete",
	// "rename"); an error stops Prune there, as a crash would.
	hook testHook
}

// Action kinds.
const (
	Delete  = "delete"  // every line was older than the cutoff (or there was none)
	Rewrite = "rewrite" // the file straddled the cutoff: old lines removed
)

// PruneAction is one file Prune deleted or rewrote (or would, in a dry run).
type PruneAction struct {
	Path    string
	Kind    string // Delete or Rewrite
	Removed int    // lines older than the cutoff
	Kept    int    // lines kept (Rewrite)
	Undated int    // kept lines that hold no readable time
	// Lines counts the removed lines per month; Access the access-log lines
	// among them (those the statistics count).
	Lines, Access map[month.Month]int64
}

// Months are the months of the removed lines, in order.
func (a *PruneAction) Months() []month.Month {
	return slices.SortedFunc(maps.Keys(a.Lines), month.Month.Compare)
}

// PruneResult is what Prune did.
type PruneResult struct {
	Cutoff time.Time // lines before it are deleted
	// Actions are the files deleted or rewritten, after it was done (in a
	// dry run: what would be).
	Actions []PruneAction
	// Notes are things the operator should know that are not failures,
	// e.g. lines kept because they have no readable time.
	Notes []string
	// Problems are files that may hold lines older than the cutoff and
	// that Prune could not delete or rewrite (unreadable or truncated
	// files, old lines in a file being written, old lines with no readable
	// time); they were kept. Each names the file and what to do.
	Problems []error
}

// Cutoff returns the start of the oldest month kept: with months = 3 on any
// day of November 2026 it is 2026-09-01 00:00 UTC.
func Cutoff(now time.Time, months int) time.Time {
	if months <= 0 {
		months = 3
	}
	return month.Of(now).Add(1 - months).Start()
}

// quickKeepSlack: a file whose first line is this much newer than the
// cutoff is kept without reading the rest. It covers lines written out of
// time order (a request logged when it ends).
const quickKeepSlack = 24 * time.Hour

// Prune deletes log lines older than the cutoff from every file under
// opts.Dir and every file opts.Paths match, whatever the names: files
// wholly older are deleted, files that straddle the cutoff are rewritten
// atomically without their old lines (compressed files stay in their
// format). A file whose first line is more than a day after the cutoff is
// kept after reading that line; any other file is read whole. Files are
// recognised by content (logread): plain, gzip, xz, bzip2, zstd.
//
// Nothing is deleted that Prune cannot account for: lines with no readable
// time are kept (and named when the file was last changed before the
// cutoff), a file that cannot be read to its end is kept and named, and a
// file being written ("*.log", such as access.log) is never changed (old
// lines in it are named). One such file does not stop the others.
//
// Before anything is deleted, opts.Stats (when set) must confirm that the
// months being deleted were computed; if it cannot, Prune changes nothing
// and returns its error.
//
// Crash safety: a file is replaced by rename of a synced temporary file, so
// a crash leaves the old file or the new one. Leftover temporary files in
// Dir are removed on the next run, never followed.
func Prune(ctx context.Context, opts PruneOptions) (*PruneResult, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	res := &PruneResult{Cutoff: Cutoff(now(), opts.RetentionMonths)}
	unlock, err := lockFor(opts.DryRun)(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, dirs, err := opts.collect(res)
	if err != nil {
		return nil, err
	}
	places, err := openPlaces(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer places.close()
	if !opts.DryRun {
		// A pseudonymisation's journal names temporary files that must
		// replace their logs, not be removed as leftovers.
		if err := finishPseudonymise(opts.Dir); err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			root, rel, err := places.of(dir, true)
			if err != nil {
				res.Problems = append(res.Problems, err)
				continue
			}
			removed, errs := removeTemps(root, rel)
			res.Problems = append(res.Problems, errs...)
			for _, r := range removed {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: a leftover temporary file; removed", r))
			}
		}
	}

	var todo []PruneAction
	lines := map[month.Month]int64{}
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		act, ok := res.judge(path, survey(places, path, res.Cutoff))
		if !ok {
			continue
		}
		todo = append(todo, act)
		for m := range act.Lines {
			lines[m] += act.Access[m]
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	if opts.DryRun {
		if opts.Stats != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("statistics for %s would be computed first if they were not", month.Join(slices.SortedFunc(maps.Keys(lines), month.Month.Compare))))
		}
		res.Actions = todo
		return res, nil
	}
	if opts.Stats != nil && len(lines) > 0 {
		if err := opts.Stats.EnsureComputed(ctx, lines); err != nil {
			months := slices.SortedFunc(maps.Keys(lines), month.Month.Compare)
			return res, fmt.Errorf("refusing to delete logs of %s: their statistics are not computed and computing them failed: %w; fix that (depot stats update --month %s) and prune again",
				month.Join(months), err, months[0])
		}
	}
	for _, act := range todo {
		var err error
		if act.Kind == Delete {
			err = opts.hook.step("delete", act.Path, func() error {
				root, name, err := places.of(act.Path, false)
				if err != nil {
					return err
				}
				return atomicfile.RemoveIn(root, name)
			})
		} else {
			err = rewrite(places, act.Path, res.Cutoff.Unix(), opts)
		}
		if err != nil {
			res.Problems = append(res.Problems, fmt.Errorf("%s: %w; the file was kept", act.Path, err))
			continue
		}
		res.Actions = append(res.Actions, act)
	}
	return res, nil
}

// testHook, in tests, runs before each step of a change; an error stops
// the change there, as a crash would.
type testHook func(step, path string) error

// step runs fn after the hook, if any.
func (h testHook) step(name, path string, fn func() error) error {
	if h != nil {
		if err := h(name, path); err != nil {
			return err
		}
	}
	return fn()
}

// collect lists the files to prune: every regular file under Dir (not
// following links, skipping depot's temporary files and Skip), then the
// matches of Paths outside Dir. dirs are the directories of those files,
// where leftover temporary files of logs are removed.
func (o *PruneOptions) collect(res *PruneResult) (files, dirs []string, err error) {
	seen := map[string]bool{}
	skip := map[string]bool{}
	for _, s := range o.Skip {
		skip[filepath.Clean(s)] = true
	}
	add := func(path string, d fs.DirEntry) {
		switch {
		case atomicfile.IsTemp(d.Name()) || seen[path]:
		case d.Type()&fs.ModeSymlink != 0:
			res.Notes = append(res.Notes, fmt.Sprintf("%s: a symbolic link; not followed (prune the file it points to where it is)", path))
		case d.Type().IsRegular():
			seen[path] = true
			files = append(files, path)
		}
	}
	root := filepath.Clean(o.Dir)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && path == root:
			return err
		case err != nil:
			res.Problems = append(res.Problems, fmt.Errorf("%s: %w; not pruned", path, err))
			return nil
		case skip[path] && d.IsDir():
			return fs.SkipDir
		case skip[path]:
		case d.IsDir():
			dirs = append(dirs, path)
		default:
			add(path, d)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing log directory: %w", err)
	}
	for _, pattern := range o.Paths {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Errorf("log pattern %q: %w", pattern, err))
			continue
		}
		for _, m := range matches {
			m = filepath.Clean(m)
			if inside(root, m) || skip[m] {
				continue
			}
			st, err := os.Lstat(m)
			if err != nil {
				res.Problems = append(res.Problems, err)
				continue
			}
			add(m, fs.FileInfoToDirEntry(st))
			if d := filepath.Dir(m); !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return files, dirs, nil
}

// inside reports whether path is dir or under it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel) || rel == "."
}

// surveyed is what reading a file found.
type surveyed struct {
	act     PruneAction
	format  logread.Format
	modTime time.Time
	dated   int   // lines with a readable time
	cut     int64 // lines longer than logread.MaxLine
	quick   bool  // kept after its first dated line
	err     error // the file could not be read to its end
}

// survey reads a file (without following a link) and counts its lines by
// month against the cutoff. It stops after the first dated line when that
// line is comfortably after the cutoff.
func survey(places *places, path string, cutoff time.Time) (s surveyed) {
	s.act = PruneAction{Path: path, Lines: map[month.Month]int64{}, Access: map[month.Month]int64{}}
	f, err := places.open(path)
	if err != nil {
		s.err = err
		return s
	}
	r, err := logread.NewReader(f)
	if err != nil {
		s.err = err
		return s
	}
	defer r.Close()
	if st, err := r.Stat(); err == nil {
		s.modTime = st.ModTime()
	}
	s.format = r.Format()
	limit, quickAfter := cutoff.Unix(), cutoff.Add(quickKeepSlack).Unix()
	for {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.err = err
			break
		}
		if len(line) == 0 {
			continue
		}
		t, ok := lineTime(line)
		switch {
		case !ok:
			s.act.Undated++
			s.act.Kept++
			continue
		case s.dated == 0 && t >= quickAfter:
			s.quick = true
			s.cut = r.Cut()
			return s
		case t < limit:
			m := month.Of(time.Unix(t, 0))
			s.act.Removed++
			s.act.Lines[m]++
			if isAccessLine(line) {
				s.act.Access[m]++
			}
		default:
			s.act.Kept++
		}
		s.dated++
	}
	s.cut = r.Cut()
	return s
}

// judge decides what to do with a surveyed file: an action to take, or
// nothing (with a note or a problem recorded in res).
func (res *PruneResult) judge(path string, s surveyed) (PruneAction, bool) {
	act := s.act
	cutoff := res.Cutoff.Format("2006-01-02")
	active := beingWritten(path)
	old := func() string {
		return fmt.Sprintf("%d lines older than %s (of %s)", act.Removed, cutoff, month.Join(act.Months()))
	}
	problem := func(format string, args ...any) (PruneAction, bool) {
		res.Problems = append(res.Problems, fmt.Errorf(format, args...))
		return act, false
	}
	switch {
	case s.cut > 0 && s.err == nil && (act.Kept > 0 || s.quick):
		// What a line holds past logread.MaxLine is skipped unread: an old
		// line can hide there (behind a sparse hole, a crash's zeroes).
		return problem("%s: %d lines longer than %d bytes, whose ends cannot be read nor dated; no log line is that long: check the file, remove the junk or the file by hand, and prune again", path, s.cut, logread.MaxLine)
	case s.quick:
		return act, false
	case s.err != nil && act.Removed > 0:
		return problem("%w; the part before the damage holds %s. prune does not change a file it cannot read to the end: check it, then delete it by hand (rm %s)", s.err, old(), path)
	case s.err != nil:
		return problem("%w; the file was kept: check it, and delete it by hand if it is not needed (rm %s)", s.err, path)
	case act.Removed > 0 && active:
		return problem("%s: %s, but the file is being written: rotate it (depot serve rotates daily; with log_rotation = \"external\", check logrotate) and prune again", path, old())
	case act.Removed == 0 && act.Kept == 0:
		if !active && s.modTime.Before(res.Cutoff) {
			act.Kind = Delete // empty, and last changed before the cutoff
			return act, true
		}
		return act, false
	case act.Removed == 0 && act.Undated == act.Kept && s.modTime.Before(res.Cutoff):
		return problem("%s: its %d lines have no readable time, and it was last changed on %s, before %s, so they are older than the retention period; prune never deletes lines whose time it cannot read: check it and delete it by hand (rm %s)",
			path, act.Undated, s.modTime.UTC().Format("2006-01-02"), cutoff, path)
	case act.Removed == 0:
		if act.Undated > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d lines have no readable time; kept", path, act.Undated))
		}
		return act, false
	case act.Kept == 0:
		act.Kind = Delete
		return act, true
	case s.format == logread.Bzip2:
		return problem("%s: %s, and newer lines: prune cannot write bzip2 to rewrite it without them; decompress it (bunzip2 %s) and prune again", path, old(), path)
	}
	if act.Undated > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: kept %d lines that have no readable time", path, act.Undated))
	}
	act.Kind = Rewrite
	return act, true
}

// rewrite replaces path with a copy in the same format that holds only its
// lines dated at or after cutoff and its undated lines.
func rewrite(places *places, path string, cutoff int64, opts PruneOptions) error {
	f, err := places.open(path)
	if err != nil {
		return err
	}
	r, err := logread.NewReader(f)
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil {
		return err
	}
	var out *atomicfile.File
	err = opts.hook.step("create", path, func() error {
		root, name, err := places.of(path, false)
		if err == nil {
			out, err = atomicfile.CreateIn(root, name, st.Mode().Perm())
		}
		return err
	})
	if err != nil {
		return err
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 256<<10)
	w, err := compressor(r.Format(), bw)
	if err != nil {
		return err
	}
	for {
		line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if t, ok := lineTime(line); (ok && t < cutoff) || len(line) == 0 {
			continue
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if _, err := w.Write(newline); err != nil {
			return err
		}
	}
	if r.Cut() > 0 {
		return fmt.Errorf("%d lines are longer than %d bytes; not rewritten", r.Cut(), logread.MaxLine)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := out.SetModTime(st.ModTime()); err != nil {
		return err
	}
	return opts.hook.step("rename", path, out.Commit)
}

// compressor writes format f to w: a rewritten file keeps its format
// (gzip as depot's indexed gzip, which every gzip reader reads).
func compressor(f logread.Format, w io.Writer) (io.WriteCloser, error) {
	switch f {
	case logread.Plain:
		return nopCloser{w}, nil
	case logread.Gzip:
		return newIndexedWriter(w), nil
	case logread.Xz:
		return xz.NewWriter(w)
	case logread.Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	}
	return nil, fmt.Errorf("cannot write %s", f)
}

var newline = []byte{'\n'}

// places holds open the directories prune works in, so that it names each
// file relative to one of them (atomicfile's ...In functions): the log
// directory, in which a subdirectory swapped for a symbolic link after
// the listing (by someone who can write there) cannot lead a deletion or
// a rewrite out of it, and the directory of each [stats] logs file
// outside it.
type places struct {
	dir   string
	root  *os.Root
	other map[string]*os.Root
}

func openPlaces(dir string) (*places, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &places{dir: filepath.Clean(dir), root: root, other: map[string]*os.Root{}}, nil
}

// of returns the directory held open for path and path's name in it;
// isDir says that path is a directory, itself the place.
func (p *places) of(path string, isDir bool) (*os.Root, string, error) {
	path = filepath.Clean(path)
	if rel, err := filepath.Rel(p.dir, path); err == nil && filepath.IsLocal(rel) || rel == "." {
		return p.root, rel, nil
	}
	dir, name := filepath.Dir(path), filepath.Base(path)
	if isDir {
		dir, name = path, "."
	}
	r := p.other[dir]
	if r == nil {
		var err error
		if r, err = os.OpenRoot(dir); err != nil {
			return nil, "", err
		}
		p.other[dir] = r
	}
	return r, name, nil
}

// open opens path for reading, refusing a link.
func (p *places) open(path string) (*os.File, error) {
	root, name, err := p.of(path, false)
	if err != nil {
		return nil, err
	}
	return atomicfile.OpenNoFollowIn(root, name)
}

func (p *places) close() {
	p.root.Close()
	for _, r := range p.other {
		r.Close()
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// DailyPrune returns a function for RotatorOptions.Daily that runs Prune
// with opts (Now is taken at each run) and hands the outcome to report.
func DailyPrune(opts PruneOptions, report func(*PruneResult, error)) func(context.Context) {
	return func(ctx context.Context) {
		res, err := Prune(ctx, opts)
		if report != nil {
			report(res, err)
		}
	}
}
