package stats

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Guard makes sure months are computed before their logs are deleted. It
// satisfies the log retention's StatsGuard: a month counts as computed
// when the data file records a computation made after the month ended
// (exit-list coverage is not required: without lists the Tor figure is a
// lower bound, and that is recorded, not lost).
type Guard struct {
	Options Options // as for Update; Months is replaced
}

// EnsureComputed computes those of months that the data file does not yet
// hold as computed after their end, and fails, naming the months, if that
// does not succeed.
func (g Guard) EnsureComputed(ctx context.Context, months []string) error {
	todo, err := g.missing(months)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		return nil
	}
	opts := g.Options
	opts.Months = todo
	if _, err := Update(ctx, opts); err != nil {
		return fmt.Errorf("computing statistics for %v before their logs are deleted: %w", todo, err)
	}
	still, err := g.missing(todo)
	if err != nil {
		return err
	}
	if len(still) > 0 {
		return fmt.Errorf("statistics for %v are still not recorded as computed after the month ended in %s", still, g.Options.DataFile)
	}
	return nil
}

// missing returns the months not computed after their end.
func (g Guard) missing(months []string) ([]string, error) {
	var todo []string
	for _, m := range months {
		start, err := time.Parse("2006-01", m)
		if err != nil {
			return nil, fmt.Errorf("month %q: want YYYY-MM", m)
		}
		at, _, err := MonthComputed(g.Options.DataFile, m)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("checking whether %s was computed: %w", m, err)
		}
		if at.Before(start.AddDate(0, 1, 0)) {
			todo = append(todo, m)
		}
	}
	return todo, nil
}
