package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/logfiles"
	"depot/internal/stats"
)

func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Prune, search and pseudonymise the access and error logs",
		Long: `logs works on the log directory (log_dir): the active access.log and error.log,
their daily rotations (access.log-YYYYMMDD.gz) and files rotated by logrotate
(access.log.1, access.log.2.gz).`,
		Example: `  depot logs prune --config /etc/depot/depot.toml --dry-run
  depot logs search --dir /var/log/depot --ip 203.0.113.7 --since 2026-11-01
  depot logs pseudonymise --config /etc/depot/depot.toml --dry-run`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newLogsPruneCmd(), newLogsSearchCmd(), newLogsPseudonymiseCmd())
	return cmd
}

// logsTarget is the --config / --dir pair shared by the logs commands.
type logsTarget struct {
	config, dir string
}

func (t *logsTarget) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&t.config, "config", "c", "", "configuration `FILE` (TOML); its log_dir is used")
	cmd.Flags().StringVar(&t.dir, "dir", "", "log directory `DIR`, instead of --config")
}

// load returns the configuration (nil with --dir) and the log directory.
func (t *logsTarget) load() (*config.Config, string, error) {
	switch {
	case t.config != "" && t.dir != "":
		return nil, "", usagef("give --config FILE or --dir DIR, not both")
	case t.dir != "":
		if st, err := os.Stat(t.dir); err != nil || !st.IsDir() {
			return nil, "", fmt.Errorf("--dir %s: not a readable directory; give the log directory (log_dir in the configuration)", t.dir)
		}
		return nil, t.dir, nil
	case t.config != "":
		cfg, err := config.Load(t.config)
		if err != nil {
			return nil, "", err
		}
		return cfg, cfg.LogDir, nil
	}
	return nil, "", usagef("give --config FILE or --dir DIR to say which logs")
}

// statsGuard returns what makes sure a month's statistics are computed
// before its logs are deleted, or nil when statistics are not configured
// (no [stats] logs).
func statsGuard(cfg *config.Config) (logfiles.StatsGuard, error) {
	if len(cfg.Stats.Logs) == 0 {
		return nil, nil
	}
	opts, err := stats.OptionsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return stats.Guard{Options: opts}, nil
}

func newLogsPruneCmd() *cobra.Command {
	var (
		target logsTarget
		now    string
		months int
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete log lines older than the retention period",
		Long: `prune keeps the current month and the months before it up to retention_months
(default 3: the current month and the two before it) and deletes older lines:
files wholly older are deleted, files that straddle the cutoff are rewritten
without their old lines (atomically; a .gz stays gzip). Lines with no readable
time are kept and reported. The active access.log and error.log are never
changed.

When statistics are configured, a month's logs are deleted only after its
statistics were computed; prune computes them first, and refuses if it cannot.
It prints each file deleted or rewritten. depot serve runs the same every day.`,
		Example: `  depot logs prune --config /etc/depot/depot.toml
  depot logs prune --dir /var/log/depot --dry-run
  depot logs prune --dir ./logs --now 2026-12-01 --retention-months 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, dir, err := target.load()
			if err != nil {
				return err
			}
			opts := logfiles.PruneOptions{Dir: dir, DryRun: dryRun, Now: time.Now, RetentionMonths: months}
			if cfg != nil {
				if !cmd.Flags().Changed("retention-months") {
					opts.RetentionMonths = cfg.RetentionMonths
				}
				guard, err := statsGuard(cfg)
				if err != nil {
					return err
				}
				opts.Stats = guard
			}
			if months < 1 {
				return usagef("--retention-months %d: must be at least 1", months)
			}
			if opts.Now, err = nowFlag(now); err != nil {
				return err
			}
			res, err := logfiles.Prune(cmd.Context(), opts)
			if res != nil {
				printPrune(cmd.OutOrStdout(), cmd.ErrOrStderr(), res, dryRun)
			}
			if err != nil {
				return err
			}
			if n := len(res.Problems); n > 0 {
				return fmt.Errorf("%d file(s) could not be pruned and were kept (see above); fix them and run prune again", n)
			}
			return nil
		},
	}
	target.addFlags(cmd)
	cmd.Flags().StringVar(&now, "now", "", "act as if today were `YYYY-MM-DD` (UTC)")
	cmd.Flags().IntVar(&months, "retention-months", config.DefaultRetentionMonths, "calendar months kept, the current one included (default: retention_months of --config)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted or rewritten, change nothing")
	return cmd
}

func printPrune(out, errOut io.Writer, res *logfiles.PruneResult, dryRun bool) {
	would := ""
	if dryRun {
		would = "would "
	}
	fmt.Fprintf(out, "keeping lines from %s on\n", res.Cutoff.Format("2006-01-02"))
	for _, a := range res.Actions {
		months := strings.Join(a.Months, ", ")
		switch a.Kind {
		case logfiles.Delete:
			verb := "deleted"
			if dryRun {
				verb = "delete"
			}
			fmt.Fprintf(out, "%s%s %s (%d lines of %s)\n", would, verb, a.Path, a.Removed, months)
		case logfiles.Rewrite:
			verb := "rewrote"
			if dryRun {
				verb = "rewrite"
			}
			fmt.Fprintf(out, "%s%s %s: removed %d lines of %s, kept %d\n", would, verb, a.Path, a.Removed, months, a.Kept)
		}
	}
	if len(res.Actions) == 0 {
		fmt.Fprintln(out, "nothing to prune")
	}
	for _, n := range res.Notes {
		fmt.Fprintf(errOut, "note: %s\n", n)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(errOut, "error: %v\n", p)
	}
}

func newLogsSearchCmd() *cobra.Command {
	var (
		target       logsTarget
		ips          []string
		since, until string
		pathRE       string
		status       string
		errorsToo    bool
		asJSON       bool
		verbose      bool
	)
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find log lines by client address, time, path and status",
		Long: `search prints the access-log lines that match every filter given, in time
order, across the active and rotated files, plain and .gz. With --errors the
error logs are searched too: their lines have no status, so --status selects
access lines only, and error lines are selected by the other filters. Files are read in parallel; files and blocks of
depot's indexed .gz files that cannot match are skipped without inflating them.

T is RFC 3339 (2026-11-29T04:28:39Z) or a date (2026-11-29, UTC). --since is
inclusive; --until a date includes that whole day. --path is a Go regular
expression matched against the request target as logged.`,
		Example: `  depot logs search --dir /var/log/depot --ip 203.0.113.7
  depot logs search --config /etc/depot/depot.toml --ip 2001:db8::/32 --since 2026-11-01 --until 2026-11-15
  depot logs search --dir /var/log/depot --path '^/r4\.2/.*\.rpm$' --status 4xx --json
  depot logs search --dir /var/log/depot --ip 198.51.100.9 --errors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, dir, err := target.load()
			if err != nil {
				return err
			}
			q := logfiles.Query{Errors: errorsToo}
			for _, s := range ips {
				p, err := logfiles.ParseIPFilter(s)
				if err != nil {
					return usagef("--ip: %v; give an address (203.0.113.7, 2001:db8::1) or a network (203.0.113.0/24)", err)
				}
				q.IPs = append(q.IPs, p)
			}
			if q.Since, err = parseSearchTime("--since", since, false); err != nil {
				return err
			}
			if q.Until, err = parseSearchTime("--until", until, true); err != nil {
				return err
			}
			if pathRE != "" {
				if q.Path, err = regexp.Compile(pathRE); err != nil {
					return usagef("--path: %v", err)
				}
			}
			if q.Status, err = parseStatus(status); err != nil {
				return err
			}
			notes, err := logfiles.PseudonymisedNotes(dir, q)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", n)
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			emit := emitPlain(out)
			if asJSON {
				emit = emitJSON(out)
			}
			st, err := logfiles.Search(cmd.Context(), dir, q, emit)
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if verbose {
				fmt.Fprintf(cmd.ErrOrStderr(), "searched %s\n", st)
			}
			for _, p := range st.Problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "error: %v\n", p)
			}
			if len(st.Problems) > 0 {
				return fmt.Errorf("%d file(s) could not be read whole; the results above may be incomplete", len(st.Problems))
			}
			return nil
		},
	}
	target.addFlags(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&ips, "ip", nil, "client `ADDR` or CIDR network (repeatable: any of them)")
	f.StringVar(&since, "since", "", "lines at or after `T`")
	f.StringVar(&until, "until", "", "lines up to `T`")
	f.StringVar(&pathRE, "path", "", "request target matches `REGEX`")
	f.StringVar(&status, "status", "", "status `N` (404) or class (4xx) of access lines")
	f.BoolVar(&errorsToo, "errors", false, "search the error logs too")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	f.BoolVarP(&verbose, "verbose", "v", false, "print how many files and blocks were read or skipped")
	return cmd
}

// nowFlag is the clock of --now YYYY-MM-DD (that day, 00:00 UTC), or
// time.Now without it.
func nowFlag(now string) (func() time.Time, error) {
	if now == "" {
		return time.Now, nil
	}
	t, err := time.Parse("2006-01-02", now)
	if err != nil {
		return nil, usagef("--now %q: want a date YYYY-MM-DD", now)
	}
	return func() time.Time { return t }, nil
}

// parseSearchTime reads RFC 3339 or YYYY-MM-DD. For an upper bound the
// result is exclusive: the next day after a date, the next second after a
// time.
func parseSearchTime(flag, s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if upper {
			t = t.Truncate(time.Second).Add(time.Second)
		}
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, usagef("%s %q: want RFC 3339 (2026-11-29T04:28:39Z) or a date (2026-11-29)", flag, s)
	}
	if upper {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func parseStatus(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") && s[0] >= '1' && s[0] <= '5' {
		return int(s[0] - '0'), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 999 {
		return 0, usagef("--status %q: want a status such as 404 or a class such as 4xx", s)
	}
	return n, nil
}

func emitPlain(w *bufio.Writer) func(*logfiles.Match) error {
	return func(m *logfiles.Match) error {
		w.Write(m.Line)
		return w.WriteByte('\n')
	}
}

// searchJSON is one --json line.
type searchJSON struct {
	Time string `json:"time"`
	Log  string `json:"log"`
	File string `json:"file"`
	Line string `json:"line"`
}

func emitJSON(w *bufio.Writer) func(*logfiles.Match) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(m *logfiles.Match) error {
		return enc.Encode(searchJSON{
			Time: time.Unix(m.Unix, 0).UTC().Format(time.RFC3339),
			Log:  m.Kind.String(),
			File: m.File,
			Line: string(m.Line),
		})
	}
}
