package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"depot/internal/logread"
	"depot/internal/month"
	"depot/internal/outbound"
	"depot/internal/torexit"
)

// Options say what Update reads, computes and writes.
type Options struct {
	// Logs are paths or globs of access logs, plain or gzip-compressed (by
	// content, whatever the name), of any months in any order.
	Logs []string
	// ExitListsDir holds CollecTor archives and TorDNSEL files. Empty means
	// no exit lists: every month is reported as uncovered.
	ExitListsDir string
	// DataFile is the JSON data file to update. Required.
	DataFile string
	// Months to recompute. Empty means the current month and the two
	// before it.
	Months []month.Month
	// Force records a month that read no line although the data file has
	// figures for it (a log pattern that matches nothing would otherwise
	// wipe a computed month: without Force, Update refuses).
	Force bool
	// Title and Comment go to meta; empty keeps what the data file has.
	Title, Comment string
	// Rules decide which requests count. Empty means stats-method.md's
	// default rule.
	Rules []Rule
	// Nodes names the nodes whose logs Logs holds (name → the directory of
	// that node's files, or a glob): coverage is recorded per node, and a
	// month is complete only when each of them covered it. Files in no
	// node's place are grouped by directory. Empty means every directory
	// is a node, none of which a month needs to be complete.
	Nodes map[string]string
	// CountIPv6 counts distinct IPv6 /64 prefixes per release, reported in
	// meta only and never mixed into plain.
	CountIPv6 bool
	// MinCount, when above 0, keeps small cells out of the data file (see
	// publish.go): a release's figures in a month whose plain count is
	// below it are left out and listed in meta, a release below it in
	// every month is folded into "other", and the month in progress is
	// written as its "any" totals only. 0 writes every cell, as the
	// reference counter does.
	MinCount int
	// HideCurrent leaves the month in progress out of the data file.
	HideCurrent bool
	// Fetch downloads missing exit lists from CollecTor first. Without it
	// Update never touches the network.
	Fetch bool
	// HTTPClient is used by Fetch; nil means outbound's client for
	// "exit-lists" (no proxy from the environment, bounded waits), which
	// records where it connects in Outbound.
	HTTPClient *http.Client
	// Outbound receives the destinations of Fetch; nil records nothing.
	Outbound *outbound.Record
	// CollecTorURL overrides torexit.CollecTorURL (tests, mirrors).
	CollecTorURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, when set, receives a one-line progress display ("\r"
	// updates) while logs are read.
	Progress io.Writer
}

// Result is what Update computed and wrote.
type Result struct {
	Months []MonthResult
	// Files is how many log files were read, Lines how many lines, and
	// Undated how many malformed lines had no readable time at all.
	Files          int
	Lines, Bytes   int64
	Undated        int64
	ExitListFiles  int
	ExitListErrors int // malformed exit-list entries skipped
	ExitAddresses  int
	Fetched        torexit.FetchReport
	// Warnings are things the operator must hear about: months that exit
	// lists do not fully cover, log patterns that match no file.
	Warnings []string
	// Damaged are log files that could not be read to their end (a
	// truncated .gz): the lines before the damage were counted, and the
	// months were written; the operator must act on them.
	Damaged []error
	// Duplicates are files that hold the same lines as another file read
	// (a re-synced copy, a rotation both plain and compressed): each was
	// counted once.
	Duplicates []Duplicate
	Elapsed    time.Duration
}

// MonthResult is one recomputed month.
type MonthResult struct {
	Month    month.Month
	Releases map[string]Figures // includes "any" unless nothing counted
	Meta     MonthMeta

	gaps []torexit.Gap // parts of the month no exit list covers
}

// Any is the pseudo-release of all releases together.
const Any = "any"

// DefaultMonths is the current month (UTC) and the two before it, oldest
// first.
func DefaultMonths(now time.Time) []month.Month {
	cur := month.Of(now)
	return []month.Month{cur.Add(-2), cur.Prev(), cur}
}

// Update recomputes opts.Months from the logs and writes them into the data
// file, keeping every other month exactly as it was. A log file that cannot
// be read to its end does not stop it: its lines before the damage are
// counted and the file is listed in Result.Damaged.
func Update(ctx context.Context, opts Options) (*Result, error) {
	return run(ctx, opts, nil, true)
}

// run computes opts.Months, reading replace[p] instead of each log p that
// replace names, and with write records them in the data file.
func run(ctx context.Context, opts Options, replace map[string]string, write bool) (*Result, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	start := now().UTC()
	if write && opts.DataFile == "" {
		return nil, errors.New("stats: no data file given")
	}
	months := opts.Months
	if len(months) == 0 {
		months = DefaultMonths(start)
	}
	months = slices.Clone(months)
	slices.SortFunc(months, month.Month.Compare)
	months = slices.Compact(months)
	for _, m := range months {
		if m.IsZero() {
			return nil, errors.New("stats: a month to compute is missing (the zero month)")
		}
	}

	// Read the data file first: a corrupt one stops the run before any
	// work, and is never overwritten.
	data := &dataFile{}
	if write {
		var err error
		if data, err = readData(opts.DataFile); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	paths, warn, err := expandLogs(opts.Logs)
	if err != nil {
		return nil, err
	}
	for i, p := range paths {
		if r, ok := replace[p]; ok {
			paths[i] = r
		}
	}
	res.Warnings = append(res.Warnings, warn...)
	res.Files = len(paths)
	nodes, warn, err := assignNodes(paths, opts.Nodes)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	res.Warnings = append(res.Warnings, warn...)

	if opts.Fetch {
		if opts.ExitListsDir == "" {
			return nil, errors.New("stats: --fetch needs an exit-lists directory to store the lists in")
		}
		f := &torexit.Fetcher{Client: opts.HTTPClient, Record: opts.Outbound, BaseURL: opts.CollecTorURL, Dir: opts.ExitListsDir}
		if res.Fetched, err = f.Fetch(ctx, months, start); err != nil {
			return nil, err
		}
	}
	exits, err := torexit.Load(ctx, opts.ExitListsDir, months[0].Start(), months[len(months)-1].End())
	if err != nil {
		return nil, err
	}
	res.ExitListFiles, res.ExitListErrors, res.ExitAddresses = exits.Files, exits.Malformed, exits.Addresses()

	chunks, total, err := plan(paths, chunkSize)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	res.Bytes = total
	prog := &progress{}
	stop := showProgress(opts.Progress, prog, total)
	t, err := countFiles(ctx, chunks, len(paths), months, opts.Rules, opts.CountIPv6, exits, prog)
	stop()
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	copyOf, dups := duplicates(paths, t.identities())
	res.Duplicates = dups
	var sums []monthSum
	res.Lines, res.Undated, sums = t.sums(copyOf)
	res.Damaged = t.damaged
	slices.SortFunc(res.Damaged, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })

	computed := now().UTC()
	for i := range t.months {
		mr := result(&t.months[i], &sums[i], t.relNames, exits, computed)
		var covered bool
		mr.Meta.Nodes, covered = nodes.coverage(mr.Month, t.spans(i), copyOf, computed)
		mr.Meta.Complete = mr.Meta.Complete && covered
		if !covered {
			res.Warnings = append(res.Warnings, nodeWarning(mr))
		}
		res.Months = append(res.Months, mr)
		if mr.Meta.ExitListCoverage < 1000 {
			res.Warnings = append(res.Warnings, coverageWarning(mr, opts.ExitListsDir, computed))
		}
	}
	if !write {
		res.Elapsed = now().Sub(start)
		return res, nil
	}
	mm, err := data.monthsMeta()
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if err := refuseEmptyRecount(t, sums, data, mm, paths, opts.Logs); err != nil {
			return nil, err
		}
	}
	pub := newPublication(opts, data, res.Months, t, sums)
	for i, mr := range res.Months {
		rels, meta, ok := pub.month(i, mr, computed)
		if !ok {
			delete(data.top, mr.Month.String())
			delete(mm, mr.Month.String())
			continue
		}
		if err := data.set(mr.Month.String(), rels); err != nil {
			return nil, err
		}
		b, err := marshal(meta)
		if err != nil {
			return nil, err
		}
		mm[mr.Month.String()] = b
	}
	if opts.MinCount > 0 {
		if err := data.setMeta("min_count", opts.MinCount); err != nil {
			return nil, err
		}
	} else {
		delete(data.meta, "min_count")
	}
	if err := writeMeta(data, opts, mm, computed); err != nil {
		return nil, err
	}
	if err := data.write(opts.DataFile); err != nil {
		return nil, err
	}
	res.Elapsed = now().Sub(start)
	return res, nil
}

func writeMeta(d *dataFile, opts Options, mm any, computed time.Time) error {
	if opts.Title != "" {
		if err := d.setMeta("title", opts.Title); err != nil {
			return err
		}
	}
	if opts.Comment != "" {
		if err := d.setMeta("comment", opts.Comment); err != nil {
			return err
		}
	}
	if _, ok := d.meta["source"]; !ok {
		if err := d.setMeta("source", "depot stats: monthly distinct IPv4 addresses checking for updates; Tor users estimated from exit lists"); err != nil {
			return err
		}
	}
	if err := d.setMeta("last-updated", computed.Format(time.RFC3339)); err != nil {
		return err
	}
	return d.setMeta("months", mm)
}

// publishDelay is how far behind real time exit lists may be without the
// month in progress being reported as uncovered.
const publishDelay = 3 * time.Hour

// figuresOf is the method's estimate for one release (or "any"): its
// distinct addresses, and the Tor users in proportion to the requests.
func figuresOf(r *relAcc, q reqs) Figures {
	f := Figures{Plain: r.distinct()}
	if q.plain > 0 {
		f.Tor = q.tor * f.Plain / q.plain // floor: all non-negative
	}
	return f
}

// result turns a month's sets and sums (release ids name relNames) into
// its published figures and meta.
func result(m *monthAcc, sum *monthSum, relNames []string, exits *torexit.Set, computed time.Time) MonthResult {
	mr := MonthResult{Month: m.name, Releases: map[string]Figures{}}
	from, to := m.name.Start(), m.name.End()
	figures := figuresOf
	for id, q := range sum.reqs {
		if q.plain+q.tor > 0 {
			mr.Releases[relNames[id]] = figures(m.rel(id), q)
		}
	}
	if len(mr.Releases) > 0 {
		mr.Releases[Any] = figures(&m.any, sum.any)
	}
	// A month in progress is measured up to a little before now: CollecTor
	// publishes a list about every hour, so the last hour or two are never
	// covered yet and would otherwise raise a false alarm every day.
	cov := exits.Coverage(from, minTime(to, computed.Add(-publishDelay)))
	if computed.Before(from) {
		cov = torexit.Coverage{}
	}
	meta := MonthMeta{
		Lines:            sum.lines,
		Malformed:        sum.malformed,
		PlainRequests:    sum.any.plain,
		TorRequests:      sum.any.tor,
		IPv6Addresses:    int64(len(m.v6)),
		ExitListCoverage: cov.Permille,
		ComputedAt:       computed.Format(time.RFC3339),
	}
	meta.Complete = !computed.Before(to) && cov.Permille == 1000
	for i, g := range cov.Gaps {
		if i == 10 {
			meta.ExitListGaps = append(meta.ExitListGaps, fmt.Sprintf("... %d more", len(cov.Gaps)-i))
			break
		}
		meta.ExitListGaps = append(meta.ExitListGaps, g.From.Format(time.RFC3339)+"/"+g.To.Format(time.RFC3339))
	}
	if m.any.v6Prefixes != nil {
		meta.IPv6Prefixes = map[string]int64{Any: int64(len(m.any.v6Prefixes))}
		for id, r := range m.releases {
			if r != nil && len(r.v6Prefixes) > 0 {
				meta.IPv6Prefixes[relNames[id]] = int64(len(r.v6Prefixes))
			}
		}
	}
	mr.Meta = meta
	mr.gaps = cov.Gaps
	return mr
}

// nodeWarning says which nodes a month needs logs of.
func nodeWarning(mr MonthResult) string {
	var missing []string
	for _, name := range sortedNodes(mr.Meta.Nodes) {
		c := mr.Meta.Nodes[name]
		if !c.Required || c.Covered {
			continue
		}
		if c.Lines == 0 {
			missing = append(missing, name+" has no line of it")
		} else {
			missing = append(missing, fmt.Sprintf("%s has no line on %s", name, strings.Join(c.MissingDays, ", ")))
		}
	}
	return fmt.Sprintf("%s: %s; the month is not complete until those logs are in [stats] logs (see [stats] nodes)", mr.Month, strings.Join(missing, "; "))
}

func coverageWarning(mr MonthResult, dir string, now time.Time) string {
	gap := ""
	if len(mr.Meta.ExitListGaps) > 0 {
		gap = " (first gap " + mr.Meta.ExitListGaps[0] + ")"
	}
	return fmt.Sprintf("%s: exit lists cover only %d.%d%% of the month%s, so its Tor figures are lower bounds; %s",
		mr.Month, mr.Meta.ExitListCoverage/10, mr.Meta.ExitListCoverage%10, gap, exitListAdvice(mr.gaps, dir, now))
}

// exitListAdvice says what would fill the gaps. A list published at D
// covers the 24 hours before D, so a gap [From, To) is filled by lists
// published from From to To+24h: those of the months from From's to
// To+24h's. For each such month: a CollecTor archive (exit-list-YYYY-MM.tar.xz)
// exists only once the month is over, so for a month in progress the
// advice is CollecTor's recent lists (--fetch downloads them); an archive
// already in dir is not asked for again (it lacks those days); any other
// is.
func exitListAdvice(gaps []torexit.Gap, dir string, now time.Time) string {
	if dir == "" {
		return "no exit-list directory is configured (set [stats] exit_lists or --exit-lists)"
	}
	current := month.Of(now)
	seen := map[month.Month]bool{}
	var missing, present []string
	inProgress := false
	for _, g := range gaps {
		for _, m := range month.Range(month.Of(g.From), month.Of(g.To.Add(24*time.Hour))) {
			if seen[m] {
				continue
			}
			seen[m] = true
			name := torexit.ArchiveName(m)
			switch _, err := os.Stat(filepath.Join(dir, name)); {
			case !m.Before(current):
				inProgress = true
			case err == nil:
				present = append(present, name)
			default:
				missing = append(missing, name)
			}
		}
	}
	var advice []string
	if len(missing) > 0 {
		advice = append(advice, fmt.Sprintf("put CollecTor's %s in %s, or run with --fetch", strings.Join(missing, " and "), dir))
	}
	if inProgress {
		advice = append(advice, fmt.Sprintf("the month in progress (%s) has no archive until it ends: its lists are CollecTor's recent/exit-lists/ files, which --fetch copies to %s", current, filepath.Join(dir, "recent")))
	}
	if len(present) > 0 {
		advice = append(advice, fmt.Sprintf("%s in %s has no list for those days (CollecTor published none then, or the file is incomplete: download it again to be sure)", strings.Join(present, " and "), dir))
	}
	if len(advice) == 0 {
		return "add exit lists for those days to " + dir
	}
	return strings.Join(advice, "; ")
}

// refuseEmptyRecount fails when a month that the data file holds figures
// for read no line at all this time: the logs it was computed from are
// not where the patterns point (a mistyped glob, a moved directory), and
// writing the month would replace its figures with nothing.
func refuseEmptyRecount(t *tally, sums []monthSum, data *dataFile, mm map[string]json.RawMessage, paths, patterns []string) error {
	var lost []string
	for i := range t.months {
		m := &t.months[i]
		if sums[i].lines > 0 {
			continue
		}
		var meta MonthMeta
		if raw, ok := mm[m.name.String()]; ok && json.Unmarshal(raw, &meta) == nil && meta.Lines > 0 {
			lost = append(lost, fmt.Sprintf("%s (computed at %s from %d lines)", m.name, meta.ComputedAt, meta.Lines))
		} else if raw, ok := data.top[m.name.String()]; ok && len(raw) > 2 {
			lost = append(lost, fmt.Sprintf("%s (figures without a line count)", m.name))
		}
	}
	if len(lost) == 0 {
		return nil
	}
	return fmt.Errorf("stats: refusing to replace %s with figures from no line at all: the log patterns %q match %d files, none of which holds a line of those months; nothing was written. Check [stats] logs (or --logs), or give --force to record the months as empty",
		strings.Join(lost, ", "), patterns, len(paths))
}

// expandLogs resolves globs, skipping depot's own temporary files
// (logread.IsTemp), directories and, with a warning, anything else that
// is not a regular file. A pattern that matches nothing is a
// warning (a month may have no rotated file yet); a malformed pattern is
// an error.
func expandLogs(patterns []string) (paths, warnings []string, err error) {
	seen := map[string]bool{}
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, nil, fmt.Errorf("stats: log pattern %q: %w", p, err)
		}
		if len(matches) == 0 {
			warnings = append(warnings, fmt.Sprintf("log pattern %q matches no file", p))
		}
		for _, m := range matches {
			if logread.IsTemp(filepath.Base(m)) {
				continue
			}
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				continue
			} else if err == nil && !st.Mode().IsRegular() {
				// A named pipe planted in the log directory would hold
				// the run in its open.
				warnings = append(warnings, fmt.Sprintf("%s is not a regular file (%v): skipped", m, st.Mode().Type()))
				continue
			}
			if !seen[m] {
				seen[m] = true
				paths = append(paths, m)
			}
		}
	}
	return paths, warnings, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
