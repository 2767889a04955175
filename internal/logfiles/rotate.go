package logfiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"depot/internal/logsink"
)

// RotatorOptions are a Rotator's optional hooks.
type RotatorOptions struct {
	// Report receives errors from background work (compression, Daily).
	// nil discards them.
	Report func(error)
	// Daily, when non-nil, runs after each midnight rotation and once when
	// Run starts: the place for retention (see Prune). It runs in the
	// background, so that however long it takes, rotation keeps its
	// schedule; a run is skipped (and reported) while the previous one has
	// not finished.
	Daily func(ctx context.Context)
	// Rotated, when non-nil, receives the outcome of each rotation pass:
	// the one at start (files last written on an earlier day) and each
	// midnight's. Compression, which follows in the background, goes to
	// Report.
	Rotated func(error)
}

// Rotator rotates log files at 00:00 UTC: "access.log" becomes
// "access.log-YYYYMMDD" (the day its lines belong to) and is then
// compressed in the background to "access.log-YYYYMMDD.gz".
//
// Invariant: a line is written to exactly one file. Rotation runs inside
// File.Swap, so writers wait while the file is flushed, renamed and opened
// afresh; if the fresh open fails the rename is undone and lines keep
// going to the old file.
type Rotator struct {
	dir   string
	files []*logsink.File
	now   func() time.Time
	opts  RotatorOptions

	mu    sync.Mutex     // serialises rotations
	wg    sync.WaitGroup // background compressions and daily runs
	daily atomic.Bool    // a daily run is in progress
}

// NewRotator returns a rotator for files, which live in dir. now is the
// clock (time.Now in production).
func NewRotator(dir string, files []*logsink.File, now func() time.Time, opts RotatorOptions) *Rotator {
	return &Rotator{dir: dir, files: files, now: now, opts: opts}
}

// Run finishes compressions that a crash interrupted, rotates files last
// written on an earlier day, then rotates at every 00:00 UTC until ctx is
// done. It waits for background compression and the daily run (which gets
// ctx) before it returns.
func (r *Rotator) Run(ctx context.Context) error {
	defer r.wg.Wait()
	// Recovery first, so that it never races the compression of a file
	// that rotateStale is about to rotate.
	r.report(r.recover())
	r.rotated(r.rotateStale())
	r.runDaily(ctx)
	for {
		now := r.now().UTC()
		next := startOfDay(now).AddDate(0, 0, 1)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if r.now().Before(next) {
			continue // woke early (clock stepped back): wait again
		}
		r.rotated(r.rotateAll(next.AddDate(0, 0, -1)))
		r.runDaily(ctx)
	}
}

func (r *Rotator) recover() error {
	unlock, err := lockDir(r.dir)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = recoverCompression(r.dir)
	return err
}

// RotateNow rotates every file now, naming the rotations for today, and
// starts their compression. Empty files are left alone.
func (r *Rotator) RotateNow() error {
	return r.rotateAll(startOfDay(r.now().UTC()))
}

// Wait blocks until background compressions have finished.
func (r *Rotator) Wait() { r.wg.Wait() }

func (r *Rotator) rotateAll(day time.Time) error {
	var errs []error
	for _, f := range r.files {
		errs = append(errs, r.rotate(f, day))
	}
	return errors.Join(errs...)
}

// rotateStale rotates each file whose last write was on an earlier day
// (depot was not running at midnight), naming it for that day.
func (r *Rotator) rotateStale() error {
	today := startOfDay(r.now().UTC())
	var errs []error
	for _, f := range r.files {
		st, err := os.Stat(f.Path())
		if err != nil || st.Size() == 0 {
			continue
		}
		if day := startOfDay(st.ModTime().UTC()); day.Before(today) {
			errs = append(errs, r.rotate(f, day))
		}
	}
	return errors.Join(errs...)
}

var errEmpty = errors.New("empty")

// rotate moves f's file to its dated name and compresses it in the
// background.
func (r *Rotator) rotate(f *logsink.File, day time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var target string
	path := f.Path()
	err := f.Swap(func() error {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			return errEmpty
		}
		target = freeName(path + "-" + day.Format("20060102"))
		return os.Rename(path, target)
	}, func() error { return os.Rename(target, path) })
	switch {
	case errors.Is(err, errEmpty):
		return nil
	case err != nil:
		return fmt.Errorf("rotating %s: %w", path, err)
	}
	r.background(func() error {
		unlock, err := lockDir(r.dir)
		if err != nil {
			return err
		}
		defer unlock()
		return CompressFile(target)
	})
	return nil
}

// freeName returns base, or base-N with the smallest N ≥ 1, such that
// neither it nor its .gz exists.
func freeName(base string) string {
	name := base
	for n := 1; ; n++ {
		_, err1 := os.Lstat(name)
		_, err2 := os.Lstat(name + ".gz")
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			return name
		}
		name = base + "-" + strconv.Itoa(n)
	}
}

func (r *Rotator) background(fn func() error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.report(fn())
	}()
}

func (r *Rotator) runDaily(ctx context.Context) {
	if r.opts.Daily == nil || ctx.Err() != nil {
		return
	}
	if !r.daily.CompareAndSwap(false, true) {
		r.report(errors.New("the previous daily run (retention) has not finished yet; this one is skipped"))
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.daily.Store(false)
		r.opts.Daily(ctx)
	}()
}

// rotated reports a rotation pass's error and hands its outcome to
// Rotated.
func (r *Rotator) rotated(err error) {
	r.report(err)
	if r.opts.Rotated != nil {
		r.opts.Rotated(err)
	}
}

func (r *Rotator) report(err error) {
	if err != nil && r.opts.Report != nil {
		r.opts.Report(err)
	}
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
