package logfiles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StatsGuard makes sure that statistics were computed for months whose log
// data is about to be deleted. EnsureComputed returns nil only when every
// month ("YYYY-MM") is recorded in the statistics data file as computed
// after the month ended, computing it first if needed.
type StatsGuard interface {
	EnsureComputed(ctx context.Context, months []string) error
}

// PruneOptions says what Prune deletes.
type PruneOptions struct {
	Dir string // the log directory
	// RetentionMonths is how many calendar months are kept: the current one
	// and those before it up to this count. 0 means 3.
	RetentionMonths int
	Now             func() time.Time // nil means time.Now
	// Stats guards the statistics; nil when they are not configured.
	Stats  StatsGuard
	DryRun bool // report what would change, change nothing

	// hook, in tests, runs before each step of a change ("delete",
	// "rename"); an error stops Prune there, as a crash would.
	hook func(step, path string) error
}

// Action kinds.
const (
	Delete  = "delete"  // every line was older than the cutoff
	Rewrite = "rewrite" // the file straddled the cutoff: old lines removed
)

// PruneAction is one file Prune deleted or rewrote (or would, in a dry run).
type PruneAction struct {
	Path    string
	Kind    string   // Delete or Rewrite
	Removed int      // lines older than the cutoff
	Kept    int      // lines kept (Rewrite)
	Undated int      // kept lines that hold no readable time
	Months  []string // months of the removed lines, "YYYY-MM"
}

// PruneResult is what Prune did.
type PruneResult struct {
	Cutoff  time.Time // lines before it are deleted
	Actions []PruneAction
	// Notes are things the operator should know that are not failures,
	// e.g. lines kept because they have no readable time.
	Notes []string
	// Problems are files Prune could not read or change; they were kept.
	Problems []error
}

// Cutoff returns the start of the oldest month kept: with months = 3 on any
// day of November 2026 it is 2026-09-01 00:00 UTC.
func Cutoff(now time.Time, months int) time.Time {
	if months <= 0 {
		months = 3
	}
	y, m, _ := now.UTC().Date()
	return time.Date(y, m-time.Month(months-1), 1, 0, 0, 0, 0, time.UTC)
}

// quickKeepSlack: a file whose first line is this much newer than the
// cutoff is kept without reading the rest. It covers lines written out of
// time order (a request logged when it ends).
const quickKeepSlack = 24 * time.Hour

// Prune deletes log lines older than the cutoff from the files in
// opts.Dir: files wholly older are deleted, files that straddle the cutoff
// are rewritten atomically without their old lines (a .gz stays gzip).
// Lines with no readable time are never deleted.
//
// Before anything is deleted, opts.Stats (when set) must confirm that the
// months being deleted were computed; if it cannot, Prune changes nothing
// and returns its error. Active files (access.log, error.log) are never
// changed: the server holds them open.
//
// Crash safety: a file is replaced by rename of a synced temporary file, so
// a crash leaves the old file or the new one. Leftover temporary files are
// removed on the next run.
func Prune(ctx context.Context, opts PruneOptions) (*PruneResult, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	res := &PruneResult{Cutoff: Cutoff(now(), opts.RetentionMonths)}
	unlock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !opts.DryRun {
		// A pseudonymisation's journal names temporary files that must
		// replace their logs, not be removed as leftovers.
		if err := finishPseudonymise(opts.Dir); err != nil {
			return nil, err
		}
		res.Problems = append(res.Problems, removeRewriteTemps(opts.Dir)...)
	}
	names, err := listLogs(opts.Dir, false)
	if err != nil {
		return nil, fmt.Errorf("listing log directory: %w", err)
	}

	cutoff := res.Cutoff.Unix()
	var months []string
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t, ok := firstTime(n.path); ok && t >= res.Cutoff.Add(quickKeepSlack).Unix() {
			continue
		}
		act, err := survey(n.path, cutoff)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Errorf("%s: %w; the file was kept", n.path, err))
			continue
		}
		if act.Removed == 0 {
			if act.Undated > 0 && act.Kept == act.Undated {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: all %d lines have no readable time; kept (delete it by hand if it is not needed)", n.path, act.Undated))
			}
			continue
		}
		if n.active {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d lines are older than %s, but the file is being written; rotate it (depot serve rotates daily) and prune again", n.path, act.Removed, res.Cutoff.Format("2006-01-02")))
			continue
		}
		if act.Undated > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: kept %d lines that have no readable time", n.path, act.Undated))
		}
		res.Actions = append(res.Actions, act)
		months = mergeMonths(months, act.Months)
	}
	if len(res.Actions) == 0 {
		return res, nil
	}

	if opts.Stats != nil {
		if opts.DryRun {
			res.Notes = append(res.Notes, fmt.Sprintf("statistics for %s would be computed first if they were not", strings.Join(months, ", ")))
		} else if err := opts.Stats.EnsureComputed(ctx, months); err != nil {
			return res, fmt.Errorf("refusing to delete logs of %s: their statistics are not computed and computing them failed: %w; fix that (depot stats update --month %s) and prune again",
				strings.Join(months, ", "), err, months[0])
		}
	}
	if opts.DryRun {
		return res, nil
	}
	done := res.Actions[:0]
	for _, act := range res.Actions {
		var err error
		if act.Kind == Delete {
			err = opts.step("delete", act.Path, func() error { return removeSynced(act.Path) })
		} else {
			err = rewrite(act.Path, cutoff, opts)
		}
		if err != nil {
			res.Problems = append(res.Problems, fmt.Errorf("%s: %w; the file was kept", act.Path, err))
			continue
		}
		done = append(done, act)
	}
	res.Actions = done
	return res, nil
}

func (o *PruneOptions) step(name, path string, fn func() error) error {
	if o.hook != nil {
		if err := o.hook(name, path); err != nil {
			return err
		}
	}
	return fn()
}

// survey reads a whole file and says what pruning it would do.
func survey(path string, cutoff int64) (PruneAction, error) {
	act := PruneAction{Path: path}
	lr, err := openLines(path)
	if err != nil {
		return act, err
	}
	defer lr.Close()
	seen := map[string]bool{}
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return act, err
		}
		if len(line) == 0 {
			continue
		}
		t, ok := lineTime(line)
		switch {
		case !ok:
			act.Undated++
			act.Kept++
		case t < cutoff:
			act.Removed++
			if m := time.Unix(t, 0).UTC().Format("2006-01"); !seen[m] {
				seen[m] = true
				act.Months = append(act.Months, m)
			}
		default:
			act.Kept++
		}
	}
	slices.Sort(act.Months)
	act.Kind = Delete
	if act.Kept > 0 {
		act.Kind = Rewrite
	}
	return act, nil
}

// rewrite replaces path with a copy that holds only its lines dated at or
// after cutoff and its undated lines.
func rewrite(path string, cutoff int64, opts PruneOptions) (err error) {
	tmp := path + rewriteTmpSuffix
	lr, err := openLines(path)
	if err != nil {
		return err
	}
	defer lr.Close()
	st, err := lr.f.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(out, 256<<10)
	var w io.Writer = bw
	var iw *indexedWriter
	if strings.HasSuffix(path, ".gz") {
		iw = newIndexedWriter(bw)
		w = iw
	}
	for {
		line, rerr := lr.next()
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
		if t, ok := lineTime(line); (ok && t < cutoff) || len(line) == 0 {
			continue
		}
		if _, err = w.Write(line); err != nil {
			return err
		}
		if _, err = w.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	if iw != nil {
		if err = iw.Close(); err != nil {
			return err
		}
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = out.Sync(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	_ = os.Chtimes(tmp, st.ModTime(), st.ModTime())
	if err = opts.step("rename", path, func() error { return os.Rename(tmp, path) }); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// removeRewriteTemps removes what an interrupted rewrite left: a temp file
// is only removed while the file it was made from still exists (which is
// always the case, since the rename that replaces it also consumes the
// temp file).
func removeRewriteTemps(dir string) []error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, e := range entries {
		src, ok := strings.CutSuffix(e.Name(), rewriteTmpSuffix)
		if !ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
			errs = append(errs, fmt.Errorf("%s: left by an interrupted prune, but %s is missing; kept for you to inspect", filepath.Join(dir, e.Name()), src))
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func removeSynced(path string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func mergeMonths(a, b []string) []string {
	for _, m := range b {
		if !slices.Contains(a, m) {
			a = append(a, m)
		}
	}
	slices.Sort(a)
	return a
}

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
