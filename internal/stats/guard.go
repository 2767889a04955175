package stats

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"depot/internal/month"
)

// Guard makes sure months are computed before their logs are deleted. It
// satisfies the log retention's StatsGuard: a month counts as computed
// when the data file records a computation made after the month ended
// (exit-list coverage is not required: without lists the Tor figure is a
// lower bound, and that is recorded, not lost), from at least one line
// when the logs to delete hold lines of it.
//
// A Guard never touches the network: it computes with the exit lists
// already on disk, whatever Options.Fetch says, so that retention never
// waits on CollecTor.
type Guard struct {
	Options Options // as for Update; Months, Fetch and Progress are replaced
}

// EnsureComputed computes those months of lines that the data file does
// not yet hold as computed after their end, and fails, naming the months,
// if that does not succeed. lines[m] is how many access-log lines of m the
// files about to be deleted hold: a month with lines there must not be
// recorded as computed from no line (the [stats] logs do not cover the
// files being deleted).
func (g Guard) EnsureComputed(ctx context.Context, lines map[month.Month]int64) error {
	months := slices.SortedFunc(maps.Keys(lines), month.Month.Compare)
	todo, err := g.missing(months)
	if err != nil {
		return fmt.Errorf("checking whether the statistics of %s were computed: %w", month.Join(months), err)
	}
	if len(todo) > 0 {
		opts := g.Options
		opts.Months, opts.Fetch, opts.Progress = todo, false, nil
		if _, err := Update(ctx, opts); err != nil {
			return fmt.Errorf("computing statistics for %s before their logs are deleted: %w", month.Join(todo), err)
		}
		still, err := g.missing(todo)
		if err != nil {
			return err
		}
		if len(still) > 0 {
			return fmt.Errorf("statistics for %s are still not recorded as computed after the month ended in %s", month.Join(still), g.Options.DataFile)
		}
	}
	recs, err := monthRecords(g.Options.DataFile)
	if err != nil {
		return err
	}
	var empty []string
	for _, m := range months {
		if rec := recs[m]; lines[m] > 0 && rec.Lines == 0 {
			empty = append(empty, fmt.Sprintf("%s (the statistics counted 0 lines, the logs to delete hold %d)", m, lines[m]))
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("statistics of %s were computed from no line of the logs being deleted: [stats] logs %q do not cover them. Add those files to [stats] logs, run 'depot stats update --month %s', and prune again",
			strings.Join(empty, ", "), g.Options.Logs, months[0])
	}
	return nil
}

// missing returns the months not computed after their end.
func (g Guard) missing(months []month.Month) ([]month.Month, error) {
	recs, err := monthRecords(g.Options.DataFile)
	if err != nil {
		return nil, err
	}
	var todo []month.Month
	for _, m := range months {
		if rec, ok := recs[m]; !ok || rec.computedAt.Before(m.End()) {
			todo = append(todo, m)
		}
	}
	return todo, nil
}
