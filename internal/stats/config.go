package stats

import (
	"fmt"

	"depot/internal/config"
	"depot/internal/month"
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
		rule, err := NewRule(r)
		if err != nil {
			return Options{}, fmt.Errorf("stats.rule[%d]: %w", i, err)
		}
		opts.Rules = append(opts.Rules, rule)
	}
	return opts, nil
}

// Overrides are what one run sets over the configuration's [stats] table
// (depot stats update's flags). A nil field keeps the configured value.
type Overrides struct {
	Logs         []string
	ExitListsDir *string
	DataFile     *string
	Title        *string
	Fetch        *bool
	// CountIPv6 counts IPv6 prefixes even if the configuration does not;
	// false keeps the configured choice.
	CountIPv6 bool
	// Months to recompute; none keeps o's (by default the current month
	// and the two before it).
	Months []month.Month
	Force  bool
}

// With returns o with ov applied.
func (o Options) With(ov Overrides) Options {
	if ov.Logs != nil {
		o.Logs = ov.Logs
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&o.ExitListsDir, ov.ExitListsDir)
	set(&o.DataFile, ov.DataFile)
	set(&o.Title, ov.Title)
	if ov.Fetch != nil {
		o.Fetch = *ov.Fetch
	}
	o.CountIPv6 = o.CountIPv6 || ov.CountIPv6
	if len(ov.Months) > 0 {
		o.Months = ov.Months
	}
	o.Force = o.Force || ov.Force
	return o
}
