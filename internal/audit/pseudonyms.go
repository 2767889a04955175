package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"depot/internal/config"
	"depot/internal/stats"
)

// checkPseudonymised fails, when pseudonymise is on, on any log line of a
// settled month (ended more than pseudonymise_after ago) that still holds
// a real client address: depot logs pseudonymise should have replaced it.
func checkPseudonymised(cfg *config.Config, ls *logScan) Result {
	r := Result{ID: "logs-pseudonymised", Policy: policyRetention}
	switch {
	case !cfg.Pseudonymise:
		r.Status, r.Detail = Skip, "pseudonymise = false: real addresses are kept until retention deletes them"
	case len(ls.real) > 0:
		r.Status = Fail
		r.Detail = fmt.Sprintf("real client addresses in lines before %s, whose months are settled: %s; run 'depot logs pseudonymise --config FILE' and read its notes (depot serve runs it daily)",
			ls.settled.Format(time.DateOnly), strings.Join(first(ls.real, 20), "; "))
	default:
		r.Status = Pass
		r.Detail = fmt.Sprintf("no real client address in the lines before %s (settled months hold pseudonyms only)", ls.settled.Format(time.DateOnly))
	}
	return r
}

// checkMinCount warns when the statistics may publish a cell of a handful
// of users: min_count is 0, or the data file holds a cell below it.
func checkMinCount(cfg *config.Config) Result {
	r := Result{ID: "published-min-count", Policy: policyShare}
	published := slices.ContainsFunc(cfg.Site, func(s config.Site) bool { return s.StatsPath != "" })
	if len(cfg.Stats.Logs) == 0 && !published {
		r.Status, r.Detail = Skip, "no statistics are computed or published"
		return r
	}
	n := cfg.Stats.MinCount
	if n <= 0 {
		r.Status, r.Detail = Warn, "[stats] min_count = 0: a release's figures are published however few addresses they count, which can single out a user; set min_count = 10"
		return r
	}
	d, err := stats.Load(cfg.Stats.Data)
	if err != nil {
		r.Status, r.Detail = Pass, fmt.Sprintf("min_count = %d (no data file to check yet: %v)", n, err)
		return r
	}
	var small []string
	for _, m := range slices.Sorted(maps.Keys(d.Months)) {
		for _, rel := range slices.Sorted(maps.Keys(d.Months[m])) {
			if f := d.Months[m][rel]; f.Plain < int64(n) && f.Plain+f.Tor > 0 {
				small = append(small, fmt.Sprintf("%s %s (%d)", m, rel, f.Plain))
			}
		}
	}
	if len(small) > 0 {
		r.Status = Warn
		r.Detail = fmt.Sprintf("%s publishes %d cell(s) below min_count = %d: %s; run 'depot stats update --config FILE' for the months still in the logs, and remove older ones by hand",
			cfg.Stats.Data, len(small), n, strings.Join(first(small, 20), ", "))
		return r
	}
	r.Status, r.Detail = Pass, fmt.Sprintf("min_count = %d: no published cell counts fewer addresses", n)
	return r
}
