package stats

import (
	"context"
	"encoding/json"

	"depot/internal/month"
)

// Recount is what log pseudonymisation asks of the statistics (it
// satisfies logfiles.PseudonymStats): the figures of some months computed
// from the logs, so that a rewrite of the logs replaces them only when
// every figure stays as it was.
type Recount struct {
	Options Options // as for Update; Months is replaced
}

// Figures computes months, reading replace[p] instead of each log p it
// names, and returns each month's published figures and detail (all but
// the time of computing) as comparable text. With record it also writes
// them to the data file, as depot stats update --month would; it never
// records figures read through replace, and never fetches exit lists for
// them. Without a data file nothing is recorded.
func (r Recount) Figures(ctx context.Context, months []month.Month, replace map[string]string, record bool) (map[month.Month]string, error) {
	opts := r.Options
	opts.Months = months
	opts.Progress = nil
	if replace != nil || opts.DataFile == "" {
		record, opts.Fetch = false, false
	}
	res, err := run(ctx, opts, replace, record)
	if err != nil {
		return nil, err
	}
	out := map[month.Month]string{}
	for _, m := range res.Months {
		m.Meta.ComputedAt = ""
		b, err := json.Marshal(struct {
			Releases map[string]Figures
			Meta     MonthMeta
		}{m.Releases, m.Meta})
		if err != nil {
			return nil, err
		}
		out[m.Month] = string(b)
	}
	return out, nil
}
