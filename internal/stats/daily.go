package stats

import (
	"context"
	"time"
)

// DailyOptions configure RunDaily.
type DailyOptions struct {
	// At is the time of day (UTC) of each run, as an offset from
	// midnight. 0 means 04:00.
	At time.Duration
	// After waits; nil means time.After. Tests pass a fake.
	After func(time.Duration) <-chan time.Time
	// Logf receives one line per run (the figures or the error); nil
	// discards them.
	Logf func(format string, args ...any)
	// Done, when non-nil, receives the outcome of each run.
	Done func(error)
}

// NextRun is the first time after now whose time of day (UTC) is at.
func NextRun(now time.Time, at time.Duration) time.Time {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	next := day.Add(at)
	if !next.After(now) {
		next = day.AddDate(0, 0, 1).Add(at)
	}
	return next
}

// RunDaily recomputes the default months (the current one and the two
// before it) once a day at d.At until ctx ends. opts.Months is ignored;
// opts.Now is the clock. A failed run is logged and retried the next day:
// the data file is untouched by a failure.
func RunDaily(ctx context.Context, opts Options, d DailyOptions) {
	if d.At == 0 {
		d.At = 4 * time.Hour
	}
	if d.After == nil {
		d.After = time.After
	}
	now := opts.Now
	if now == nil {
		now = time.Now
		opts.Now = now
	}
	logf := d.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	opts.Months, opts.Progress = nil, nil
	for {
		t := now()
		select {
		case <-ctx.Done():
			return
		case <-d.After(NextRun(t, d.At).Sub(t)):
		}
		res, err := Update(ctx, opts)
		if d.Done != nil && ctx.Err() == nil {
			d.Done(err)
		}
		if err != nil {
			logf("stats: daily update failed: %v", err)
			continue
		}
		for _, w := range res.Warnings {
			logf("stats: warning: %s", w)
		}
		for _, e := range res.Damaged {
			logf("stats: %v; the lines before the damage were counted", e)
		}
		logf("stats: updated %s from %d files, %d lines in %s", opts.DataFile, res.Files, res.Lines, res.Elapsed.Round(time.Millisecond))
	}
}
