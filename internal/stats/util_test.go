package stats

import (
	"sort"

	"depot/internal/month"
)

func sortStrings(s []string) { sort.Strings(s) }

// months parses "YYYY-MM" months.
func months(names ...string) []month.Month {
	var ms []month.Month
	for _, n := range names {
		ms = append(ms, month.MustParse(n))
	}
	return ms
}
