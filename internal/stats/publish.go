package stats

import (
	"encoding/json"
	"slices"
	"time"
)

// Other is the pseudo-release into which releases too small in every month
// are folded when a minimum count is set.
const Other = "other"

// publication applies Options.MinCount and Options.HideCurrent to the
// months a run writes. The figures computed (Result) are never changed:
// only what goes into the data file, which is what is published.
type publication struct {
	opts   Options
	folded []string // releases below MinCount in every month, sorted
	t      *tally
	sums   []monthSum
}

// newPublication decides which releases are folded into "other": those
// whose plain count is below MinCount in every month they appear in, the
// recomputed ones and those the data file keeps (where a cell left out as
// below the minimum counts as below).
func newPublication(opts Options, d *dataFile, results []MonthResult, t *tally, sums []monthSum) *publication {
	p := &publication{opts: opts, t: t, sums: sums}
	if opts.MinCount <= 0 {
		return p
	}
	small := map[string]bool{}
	recomputed := map[string]bool{}
	for _, mr := range results {
		recomputed[mr.Month.String()] = true
		for r, f := range mr.Releases {
			if r == Any || r == Other {
				continue
			}
			if _, seen := small[r]; !seen {
				small[r] = true
			}
			small[r] = small[r] && f.Plain < int64(opts.MinCount)
		}
	}
	for m, raw := range d.top {
		if m == metaKey || recomputed[m] {
			continue
		}
		var rels map[string]Figures
		if json.Unmarshal(raw, &rels) != nil {
			continue
		}
		for r, f := range rels {
			if _, seen := small[r]; seen && f.Plain >= int64(opts.MinCount) {
				small[r] = false
			}
		}
	}
	for r, s := range small {
		if s {
			p.folded = append(p.folded, r)
		}
	}
	slices.Sort(p.folded)
	return p
}

// month returns what the data file gets for results[i]: its releases and
// meta, or ok false when the month is left out.
func (p *publication) month(i int, mr MonthResult, computed time.Time) (rels map[string]Figures, meta MonthMeta, ok bool) {
	meta = mr.Meta
	inProgress := computed.Before(mr.Month.End())
	if inProgress && p.opts.HideCurrent {
		return nil, meta, false
	}
	n := int64(p.opts.MinCount)
	if n <= 0 {
		return mr.Releases, meta, true
	}
	rels = map[string]Figures{}
	if inProgress {
		meta.TotalsOnly = true
		if f, ok := mr.Releases[Any]; ok {
			rels[Any] = f
		}
	} else {
		var other relAcc
		var q reqs
		for name, f := range mr.Releases {
			if !slices.Contains(p.folded, name) {
				rels[name] = f
				continue
			}
			id := p.t.relIDs[name]
			other.merge(p.t.months[i].rel(id))
			if id < len(p.sums[i].reqs) {
				q.plain += p.sums[i].reqs[id].plain
				q.tor += p.sums[i].reqs[id].tor
			}
		}
		if q.plain+q.tor > 0 {
			rels[Other] = figuresOf(&other, q)
		}
	}
	for name, f := range rels {
		if f.Plain < n {
			delete(rels, name)
			meta.BelowMinCount = append(meta.BelowMinCount, name)
		}
	}
	slices.Sort(meta.BelowMinCount)
	return rels, meta, true
}
