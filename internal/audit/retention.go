package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"depot/internal/config"
	"depot/internal/logfiles"
	"depot/internal/logread"
	"depot/internal/mirrors"
	"depot/internal/month"
	"depot/internal/outbound"
)

// tempGrace is how recently a temporary file of depot's must have been
// written to count as in progress: its early end is then no failure.
const tempGrace = 10 * time.Minute

// logScan is what reading every log file of a configuration found.
type logScan struct {
	cutoff time.Time
	read   []string // where logs were looked for: log_dir, [stats] logs
	files  int
	lines  int64
	bad    []string // one entry per file that breaks retention
	// settled is the end of the last month pseudonymise should have done,
	// zero when pseudonymise is off; real lists, per file, the lines
	// before it that still hold an address.
	settled time.Time
	real    []string
	clients *clients      // every client address of the logs
	months  []month.Month // the months since the cutoff that have dated lines
	err     error         // log_dir itself cannot be read
}

// fileScan is one file read to its end (or as far as it could be).
type fileScan struct {
	path      string
	info      fs.FileInfo
	lines     int64
	old       int      // lines older than the cutoff
	oldMonth  []string // their months
	kept      []bool   // per month since the cutoff's: it has lines here
	undated   int      // lines with a client address but no readable time
	real      int      // lines of settled months with a real address (pseudonymise)
	realMonth []string
	cut       int64 // lines longer than logread.MaxLine, read in part
	err       error // why the file could not be read to the end
	// inProgress is a temporary file being written now (see tempGrace).
	inProgress bool
	clients    *clients
}

// chunk is the size of the parts a large plain file is read in, in
// parallel: one 1 GB access.log takes every core, not one.
const chunk = 64 << 20

// part is a byte range of one file to read; to < 0 means the whole file.
type part struct {
	path     string
	from, to int64
}

// scanLogs finds every file that can hold log lines: everything under
// log_dir, at any depth and whatever its name (site roots, the data
// directory and exit lists below it excepted), and every file the [stats]
// logs globs match. It reads each to its end, in parallel, and notes
// lines older than the cutoff, lines with an address but no time, files
// it cannot read to the end and files last modified before the cutoff. It
// changes nothing.
func scanLogs(ctx context.Context, cfg *config.Config, now time.Time) *logScan {
	return scanLogsIn(ctx, cfg, now, chunk)
}

// scanLogsIn is scanLogs reading plain files in parts of size bytes.
func scanLogsIn(ctx context.Context, cfg *config.Config, now time.Time, size int64) *logScan {
	ls := &logScan{cutoff: logfiles.Cutoff(now, cfg.RetentionMonths), clients: newClients()}
	if cfg.Pseudonymise {
		ls.settled = logfiles.SettledBefore(now, time.Duration(cfg.PseudonymiseAfter))
	}
	paths, err := logPaths(cfg)
	ls.err = err
	ls.read = append([]string{cfg.LogDir}, cfg.Stats.Logs...)

	var mu sync.Mutex
	byPath := map[string]*fileScan{}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
dispatch:
	for _, p := range paths {
		for _, pt := range parts(p, size) {
			if ctx.Err() != nil {
				break dispatch
			}
			g.Go(func() error {
				f := scanFile(pt, ls.cutoff, ls.settled, now)
				mu.Lock()
				defer mu.Unlock()
				if prev := byPath[f.path]; prev != nil {
					prev.add(f)
				} else {
					byPath[f.path] = f
				}
				return nil
			})
		}
	}
	g.Wait()
	kept := make([]bool, len(keptMonths(ls.cutoff, now)))
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		f := byPath[p]
		for i, k := range f.kept {
			kept[i] = kept[i] || k
		}
		ls.files++
		ls.lines += f.lines
		ls.clients.merge(f.clients)
		ls.bad = append(ls.bad, f.problems(ls.cutoff)...)
		if f.real > 0 {
			ls.real = append(ls.real, fmt.Sprintf("%s: %d lines of %s", f.path, f.real, strings.Join(f.realMonth, ", ")))
		}
	}
	for i, m := range keptMonths(ls.cutoff, now) {
		if kept[i] {
			ls.months = append(ls.months, m)
		}
	}
	return ls
}

// keptMonths are the months from the cutoff's to now's.
func keptMonths(cutoff, now time.Time) []month.Month {
	return month.Range(month.Of(cutoff), month.Of(now))
}

// parts splits a plain file larger than size into parts of that size; any
// other file is one part.
func parts(path string, size int64) []part {
	whole := []part{{path: path, to: -1}}
	st, err := os.Stat(path)
	if err != nil || st.Size() <= size {
		return whole
	}
	r, err := logread.Open(path)
	if err != nil {
		return whole
	}
	plain := r.Format() == logread.Plain
	r.Close()
	if !plain {
		return whole
	}
	var out []part
	for from := int64(0); from < st.Size(); from += size {
		out = append(out, part{path: path, from: from, to: min(from+size, st.Size())})
	}
	out[len(out)-1].to = 1 << 62 // lines written while it is read count too
	return out
}

// add merges another part of the same file.
func (f *fileScan) add(o *fileScan) {
	f.lines += o.lines
	f.old += o.old
	f.undated += o.undated
	f.cut += o.cut
	f.real += o.real
	for _, m := range o.realMonth {
		if !slices.Contains(f.realMonth, m) {
			f.realMonth = append(f.realMonth, m)
		}
	}
	slices.Sort(f.realMonth)
	for _, m := range o.oldMonth {
		if !slices.Contains(f.oldMonth, m) {
			f.oldMonth = append(f.oldMonth, m)
		}
	}
	slices.Sort(f.oldMonth)
	for i, k := range o.kept {
		f.kept[i] = f.kept[i] || k
	}
	if f.err == nil {
		f.err = o.err
	}
	if f.info == nil {
		f.info = o.info
	}
	f.clients.merge(o.clients)
}

// problems says how one file breaks retention, if it does.
func (f *fileScan) problems(cutoff time.Time) []string {
	var out []string
	if f.old > 0 {
		out = append(out, fmt.Sprintf("%s: %d lines older than %s (%s)", f.path, f.old, cutoff.Format(time.DateOnly), strings.Join(f.oldMonth, ", ")))
	}
	if f.undated > 0 {
		out = append(out, fmt.Sprintf("%s: %d lines with a client address and no readable time, which retention can never date", f.path, f.undated))
	}
	if f.cut > 0 {
		out = append(out, fmt.Sprintf("%s: %d lines longer than %d bytes, whose ends cannot be read nor dated (no log line is that long: an old line can hide there)", f.path, f.cut, logread.MaxLine))
	}
	if f.err != nil {
		out = append(out, fmt.Sprintf("%s: cannot be read to the end (%v), so what it holds cannot be dated", f.path, f.err))
	}
	if f.info != nil && f.info.Size() > 0 && f.info.ModTime().Before(cutoff) {
		out = append(out, fmt.Sprintf("%s: last modified %s, before %s", f.path, f.info.ModTime().UTC().Format(time.DateOnly), cutoff.Format(time.DateOnly)))
	}
	return out
}

// scanFile reads one part of a file to its end. Lines before settled
// (unless zero) that still hold a real address are counted.
func scanFile(pt part, cutoffTime, settledTime, now time.Time) *fileScan {
	settled := settledTime.Unix()
	if settledTime.IsZero() {
		settled = 0
	}
	path := pt.path
	cutoff := cutoffTime.Unix()
	var bounds []int64 // month ends after the cutoff
	for _, m := range keptMonths(cutoffTime, now) {
		bounds = append(bounds, m.End().Unix())
	}
	f := &fileScan{path: path, clients: newClients(), kept: make([]bool, len(bounds))}
	f.info, f.err = os.Stat(path)
	if f.err != nil {
		return f
	}
	var lr *logread.Reader
	var err error
	if pt.to < 0 {
		lr, err = logread.Open(path)
	} else {
		lr, err = logread.OpenRange(path, pt.from, pt.to)
	}
	if err != nil {
		f.err = err
		return f
	}
	defer lr.Close()
	if info, err := lr.Stat(); err == nil {
		f.info = info // the file read, should path have been replaced
	}
	if logread.IsTemp(filepath.Base(path)) && now.Sub(f.info.ModTime()) < tempGrace {
		// A compression or rewrite in progress: its source is still there
		// and is read on its own; the temporary file ends early.
		f.inProgress = true
	}
	for {
		line, err := lr.Next()
		if err != nil {
			f.cut = lr.Cut()
			if !errors.Is(err, io.EOF) && !(f.inProgress && errors.Is(err, logread.ErrTruncated)) {
				f.err = err
			}
			return f
		}
		f.lines++
		addr := logfiles.LineAddr(line)
		isAddr := false
		if v, ok := parseDotted(addr); ok {
			f.clients.add4(v)
			isAddr = true
		} else if looksLikeAddr(addr) {
			f.clients.addText(addr)
			isAddr = true
		}
		t, ok := logfiles.LineTime(line)
		if ok && t < settled && logfiles.HasRealAddress(line) {
			f.real++
			if m := month.Of(time.Unix(t, 0)).String(); !slices.Contains(f.realMonth, m) {
				f.realMonth = append(f.realMonth, m)
			}
		}
		switch {
		case ok && t < cutoff:
			f.old++
			if m := month.Of(time.Unix(t, 0)).String(); !slices.Contains(f.oldMonth, m) {
				f.oldMonth = append(f.oldMonth, m)
			}
		case !ok && isAddr:
			f.undated++
		case ok:
			for i, end := range bounds {
				if t < end {
					f.kept[i] = true
					break
				}
			}
		}
	}
}

// looksLikeAddr is a quick test before parsing: an address starts with a
// hex digit or a colon and holds a dot or a colon.
func looksLikeAddr(b []byte) bool {
	if len(b) < 2 || len(b) > 45 {
		return false
	}
	c := b[0]
	return (c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':') &&
		(bytes.IndexByte(b, ':') >= 0 || bytes.IndexByte(b, '.') >= 0)
}

// logPaths lists every file that can hold log lines (see scanLogs).
func logPaths(cfg *config.Config) ([]string, error) {
	skipDirs := []string{config.Resolve(cfg.Stats.ExitLists), config.Resolve(filepath.Dir(mirrors.StateFile(cfg)))}
	if config.Resolve(cfg.DataDir) != config.Resolve(cfg.LogDir) {
		skipDirs = append(skipDirs, config.Resolve(cfg.DataDir))
	}
	for _, s := range cfg.Site {
		skipDirs = append(skipDirs, config.Resolve(s.Root))
	}
	skipFiles := []string{config.Resolve(cfg.Stats.Data), config.Resolve(outbound.Path(cfg.DataDir))}
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		r := config.Resolve(p)
		if !seen[r] && !slices.Contains(skipFiles, r) {
			seen[r] = true
			out = append(out, p)
		}
	}
	var walkErr error
	if _, err := os.Stat(cfg.LogDir); err == nil {
		walkErr = filepath.WalkDir(cfg.LogDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != cfg.LogDir && slices.ContainsFunc(skipDirs, func(s string) bool { return s != "" && config.Resolve(p) == s }) {
					return filepath.SkipDir
				}
				return nil
			}
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				add(p)
			}
			return nil
		})
	} else if !errors.Is(err, fs.ErrNotExist) {
		walkErr = err
	}
	for _, g := range cfg.Stats.Logs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				add(m)
			}
		}
	}
	return out, walkErr
}

// checkRetentionEnforced fails on anything on disk that outlives the
// retention period.
func checkRetentionEnforced(ls *logScan) Result {
	r := Result{ID: "retention-enforced", Policy: policyRetention}
	switch {
	case ls.err != nil:
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read the log directory: %v", ls.err)
	case len(ls.bad) > 0:
		r.Status = Fail
		r.Detail = fmt.Sprintf("%d problem(s): %s; run 'depot logs prune', and delete by hand what it cannot date or read", len(ls.bad), strings.Join(first(ls.bad, 20), "; "))
	default:
		r.Status = Pass
		r.Detail = fmt.Sprintf("%d files, %d lines read in %s: none older than %s, every file read to its end and modified since", ls.files, ls.lines, strings.Join(ls.read, ", "), ls.cutoff.Format(time.DateOnly))
	}
	return r
}
