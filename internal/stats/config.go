package stats

import (
	"fmt"

	"depot/internal/config"
)

// OptionsFromConfig turns the [stats] table into Options. Months, Now,
// Progress and the HTTP client are left for the caller.
func OptionsFromConfig(c *config.Config) (Options, error) {
	s := c.Stats
	opts := Options{
		Logs:         s.Logs,
		ExitListsDir: s.ExitLists,
		DataFile:     s.Data,
		Title:        s.Title,
		Comment:      s.Comment,
		CountIPv6:    s.CountIPv6,
		MinCount:     s.MinCount,
		HideCurrent:  s.PublishCurrent != nil && !*s.PublishCurrent,
		Nodes:        s.Nodes,
		Fetch:        s.Fetch,
	}
	for i, r := range s.Rules {
		rule, err := NewRule(r.Path, r.Exclude, r.ExcludeRelease)
		if err != nil {
			return Options{}, fmt.Errorf("stats.rule[%d]: %w", i, err)
		}
		opts.Rules = append(opts.Rules, rule)
	}
	return opts, nil
}
