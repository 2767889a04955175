package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"depot/internal/chart"
	"depot/internal/month"
)

// Data is a data file as read for display: the page, the chart and
// `depot stats show`.
type Data struct {
	Title, Comment string
	// MinCount is the data file's meta.min_count: cells listed in a
	// month's BelowMinCount had fewer distinct addresses (0: none left out).
	MinCount    int
	LastUpdated time.Time
	Months      map[string]map[string]Figures // month -> release -> figures
	Detail      map[string]MonthMeta          // meta.months
}

// Load reads a data file for display. A missing file is an error that
// wraps fs.ErrNotExist.
func Load(path string) (*Data, error) {
	d, err := readData(path)
	if err != nil {
		return nil, err
	}
	if len(d.top) == 0 {
		if _, statErr := readFileInfo(path); statErr != nil {
			return nil, statErr
		}
	}
	out := &Data{Months: map[string]map[string]Figures{}, Detail: map[string]MonthMeta{}}
	for k, raw := range d.top {
		if k == metaKey {
			continue
		}
		var m map[string]Figures
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("data file %s: month %q: %w", path, k, err)
		}
		out.Months[k] = m
	}
	str := func(key string) string {
		var s string
		json.Unmarshal(d.meta[key], &s) // absent or not a string: empty
		return s
	}
	out.Title, out.Comment = str("title"), str("comment")
	json.Unmarshal(d.meta["min_count"], &out.MinCount) // absent: 0
	out.LastUpdated, _ = time.Parse(time.RFC3339, str("last-updated"))
	mm, err := d.monthsMeta()
	if err != nil {
		return nil, err
	}
	for k, raw := range mm {
		var m MonthMeta
		if json.Unmarshal(raw, &m) == nil {
			out.Detail[k] = m
		}
	}
	return out, nil
}

// Below reports whether release's cell of month was left out for having
// fewer than MinCount distinct addresses.
func (d *Data) Below(month, release string) bool {
	return slices.Contains(d.Detail[month].BelowMinCount, release)
}

// MonthNames lists the data's months, newest first.
func (d *Data) MonthNames() []string {
	var ms []string
	for m := range d.Months {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	slices.Reverse(ms)
	return ms
}

// Releases lists every release in the data, sorted by version, then
// "other" (releases folded by min_count) and "any".
func (d *Data) Releases() []string {
	seen := map[string]bool{}
	for _, m := range d.Months {
		for r := range m {
			if r != Any {
				seen[r] = true
			}
		}
	}
	for _, m := range d.Detail {
		for _, r := range m.BelowMinCount {
			if r != Any {
				seen[r] = true
			}
		}
	}
	var rs []string
	for r := range seen {
		if r != Other {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, chart.CompareVersions)
	if seen[Other] {
		rs = append(rs, Other)
	}
	return append(rs, Any)
}

// ChartInput is the chart of d as of now.
func (d *Data) ChartInput(now time.Time) chart.Input {
	in := chart.Input{
		Title:    d.Title,
		Updated:  d.LastUpdated,
		Current:  month.Of(now),
		Months:   map[month.Month]map[string]chart.Bar{},
		MinCount: d.MinCount,
		Below:    map[month.Month][]string{},
	}
	for name, detail := range d.Detail {
		if m, err := month.Parse(name); err == nil {
			in.Below[m] = detail.BelowMinCount
		}
	}
	for name, rels := range d.Months {
		m, err := month.Parse(name)
		if err != nil {
			continue // not a month: nothing to draw
		}
		bars := map[string]chart.Bar{}
		for r, f := range rels {
			bars[r] = chart.Bar{Plain: f.Plain, Tor: f.Tor}
		}
		in.Months[m] = bars
	}
	return in
}

// Note says what a reader must know about a month's figures, or "".
func (d *Data) Note(name string) string {
	m, ok := d.Detail[name]
	if !ok {
		return ""
	}
	var notes []string
	if m.ExitListCoverage < 1000 {
		notes = append(notes, fmt.Sprintf("exit lists cover %d.%d%%: Tor figures are lower bounds", m.ExitListCoverage/10, m.ExitListCoverage%10))
	}
	mo, err := month.Parse(name)
	if err != nil {
		return fmt.Sprintf("not a month (%v)", err)
	}
	if t, err := time.Parse(time.RFC3339, m.ComputedAt); err != nil {
		notes = append(notes, fmt.Sprintf("computed_at %q is not a time", m.ComputedAt))
	} else if t.Before(mo.End()) && m.TotalsOnly {
		notes = append(notes, "month in progress: totals only until it ends")
	} else if t.Before(mo.End()) {
		notes = append(notes, "month in progress")
	}
	var missing []string
	for _, n := range sortedNodes(m.Nodes) {
		if c := m.Nodes[n]; c.Required && !c.Covered {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		notes = append(notes, "logs incomplete: "+strings.Join(missing, ", "))
	}
	return strings.Join(notes, "; ")
}

// WriteCoverage writes, for the months given (every month when nil),
// newest first, how much of each month every node's logs hold: a line
// per node, with its lines, its first and last line and the days without
// one. A month read from one directory that covered it is left out, as
// are months computed before coverage was recorded.
func WriteCoverage(w io.Writer, d *Data, months []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := false
	for _, name := range d.MonthNames() {
		if months != nil && !slices.Contains(months, name) {
			continue
		}
		nodes := d.Detail[name].Nodes
		if len(nodes) == 0 {
			continue
		}
		if len(nodes) == 1 {
			for _, c := range nodes {
				if !c.Required && c.Covered {
					nodes = nil
				}
			}
			if nodes == nil {
				continue
			}
		}
		if !header {
			fmt.Fprintln(tw, "coverage\tnode\tstate\tlines\tfirst line\tlast line\tdays without a line")
			header = true
		}
		required := false
		for _, c := range nodes {
			required = required || c.Required
		}
		for i, n := range sortedNodes(nodes) {
			c := nodes[n]
			state := "ok"
			switch {
			case c.Lines == 0:
				state = "NO LINES"
			case !c.Covered:
				state = "INCOMPLETE"
			}
			if required && !c.Required {
				state += " (not in [stats] nodes)"
			}
			m := name
			if i > 0 {
				m = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m, n, state, c.Lines, shortTime(c.First), shortTime(c.Last), strings.Join(c.MissingDays, ", "))
		}
	}
	return tw.Flush()
}

// shortTime writes an RFC 3339 time as "2006-01-02 15:04:05Z", "-" when
// empty.
func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
