package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/logfiles"
	"depot/internal/mirrors"
	"depot/internal/month"
	"depot/internal/outbound"
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
	cmd.AddCommand(newLogsPruneCmd(defaultConfig), newLogsSearchCmd(), newLogsPseudonymiseCmd())
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

// defaultConfig is where the documentation puts depot's configuration:
// prune --dir checks that it does not guard the directory.
const defaultConfig = "/etc/depot/depot.toml"

// pruneOptions is retention as cfg configures it: its log_dir, the
// [stats] logs wherever they are, and, unless noGuard, the statistics
// guard (nil without [stats] logs). The guard never fetches.
func pruneOptions(cfg *config.Config, noGuard bool) (logfiles.PruneOptions, error) {
	opts := logfiles.PruneOptions{
		Dir:             cfg.LogDir,
		Paths:           cfg.Stats.Logs,
		RetentionMonths: cfg.RetentionMonths,
	}
	// depot's own state is not logs, in case data_dir is under log_dir (as
	// in the demo).
	for _, p := range []string{cfg.Stats.Data, cfg.Stats.ExitLists, mirrors.StateFile(cfg), outbound.Path(cfg.DataDir)} {
		if p != "" {
			opts.Skip = append(opts.Skip, p)
		}
	}
	if noGuard || len(cfg.Stats.Logs) == 0 {
		return opts, nil
	}
	sopts, err := stats.OptionsFromConfig(cfg)
	if err != nil {
		return opts, err
	}
	opts.Stats = stats.Guard{Options: sopts}
	return opts, nil
}

// guardedBy returns the configuration file at path when it has [stats]
// logs and reads logs under dir or above it (its log_dir, or a directory
// of its [stats] logs: prune walks subdirectories, so a parent of one
// reaches its files, and so does one of its subdirectories or one node's
// directory of a glob), or "" when it does not exist or does not. Only
// those two keys are read, leniently: a configuration written for a newer
// depot still guards its logs.
func guardedBy(dir, path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	var cfg struct {
		LogDir string `toml:"log_dir"`
		Stats  struct {
			Logs []string `toml:"logs"`
		} `toml:"stats"`
	}
	if err == nil {
		err = toml.Unmarshal(b, &cfg)
	}
	if err != nil {
		return "", fmt.Errorf("cannot tell whether %s reads logs from %s for its statistics (%w); give --config or --no-stats-guard", path, dir, err)
	}
	if len(cfg.Stats.Logs) == 0 {
		return "", nil
	}
	if cfg.LogDir == "" {
		cfg.LogDir = config.DefaultLogDir
	}
	dirs := []string{cfg.LogDir}
	for _, g := range cfg.Stats.Logs {
		dirs = append(dirs, config.GlobDir(g))
	}
	target := config.Resolve(dir)
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(filepath.Dir(path), d)
		}
		if d := config.Resolve(d); config.Within(target, d) || config.Within(d, target) {
			return path, nil
		}
	}
	return "", nil
}

func newLogsPruneCmd(defaultConfig string) *cobra.Command {
	var (
		target  logsTarget
		now     string
		months  int
		dryRun  bool
		noGuard bool
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete log lines older than the retention period",
		Long: `prune keeps the current month and the months before it up to retention_months
(default 3: the current month and the two before it) and deletes older lines
from every file under the log directory (subdirectories included, whatever the
names: plain, .gz, .xz, .bz2, .zst, recognised by content) and, with --config,
every file of [stats] logs: files wholly older are deleted, files that
straddle the cutoff are rewritten without their old lines (atomically, in
their own format). The active access.log and error.log are never changed.

prune names, and keeps, what it cannot bring within retention: a file it
cannot read to the end (a truncated .gz), old lines in a file being written,
lines with no readable time in a file last changed before the cutoff, an old
.bz2 that also holds newer lines. It deletes what it can and exits 1 when it
named anything.

When statistics are configured, a month's logs are deleted only after its
statistics were computed from those logs; prune computes them first (from the
exit lists on disk, never fetching), and refuses, changing nothing, if it
cannot. --dir on a directory that ` + defaultConfig + ` reads logs from for
statistics, or on one above or below it, is refused: use --config, or
--no-stats-guard to prune without the guard. It prints each file deleted or rewritten, after it was done. A dry run
changes nothing on disk. depot serve runs the same every day.`,
		Example: `  depot logs prune --config /etc/depot/depot.toml
  depot logs prune --dir /var/log/depot --dry-run
  depot logs prune --dir ./logs --now 2026-12-01 --retention-months 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clock, err := nowFlag(now)
			if err != nil {
				return err
			}
			cfg, dir, err := target.load()
			if err != nil {
				return err
			}
			opts := logfiles.PruneOptions{Dir: dir, RetentionMonths: months}
			if cfg != nil {
				if opts, err = pruneOptions(cfg, noGuard); err != nil {
					return err
				}
				if cmd.Flags().Changed("retention-months") {
					opts.RetentionMonths = months
				}
			} else if !noGuard && !dryRun {
				guard, err := guardedBy(dir, defaultConfig)
				if err != nil {
					return err
				}
				if guard != "" {
					return usagef("--dir %s: %s reads logs in or around this directory for its statistics; prune with --config %s, so that months whose statistics are not computed are kept, or give --no-stats-guard to prune without that guard", dir, guard, guard)
				}
			}
			if opts.RetentionMonths < 1 {
				return usagef("--retention-months %d: must be at least 1", opts.RetentionMonths)
			}
			opts.DryRun, opts.Now = dryRun, clock
			res, err := logfiles.Prune(cmd.Context(), opts)
			if res != nil {
				printPrune(cmd.OutOrStdout(), cmd.ErrOrStderr(), res, dryRun)
			}
			if err != nil {
				return err
			}
			if n := len(res.Problems); n > 0 {
				return fmt.Errorf("%d file(s) could not be brought within retention and were kept (see above); fix them and run prune again", n)
			}
			return nil
		},
	}
	target.addFlags(cmd)
	cmd.Flags().StringVar(&now, "now", "", "act as if today were `YYYY-MM-DD` (UTC)")
	cmd.Flags().IntVar(&months, "retention-months", config.DefaultRetentionMonths, "calendar months kept, the current one included (default: retention_months of --config)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted or rewritten, change nothing")
	cmd.Flags().BoolVar(&noGuard, "no-stats-guard", false, "delete old logs even if their months' statistics were not computed")
	return cmd
}

// printPrune prints what prune did (or, in a dry run, would do), then its
// notes and problems.
func printPrune(out, errOut io.Writer, res *logfiles.PruneResult, dryRun bool) {
	would := ""
	if dryRun {
		would = "would "
	}
	fmt.Fprintf(out, "keeping lines from %s on\n", res.Cutoff.Format("2006-01-02"))
	for _, a := range res.Actions {
		months := month.Join(a.Months())
		switch {
		case a.Kind == logfiles.Delete && a.Removed == 0:
			verb := "deleted"
			if dryRun {
				verb = "delete"
			}
			fmt.Fprintf(out, "%s%s %s (empty, last changed before the cutoff)\n", would, verb, a.Path)
		case a.Kind == logfiles.Delete:
			verb := "deleted"
			if dryRun {
				verb = "delete"
			}
			fmt.Fprintf(out, "%s%s %s (%d lines of %s)\n", would, verb, a.Path, a.Removed, months)
		case a.Kind == logfiles.Rewrite:
			verb := "rewrote"
			if dryRun {
				verb = "rewrite"
			}
			fmt.Fprintf(out, "%s%s %s: removed %d lines of %s, kept %d\n", would, verb, a.Path, a.Removed, months, a.Kept)
		}
	}
	if len(res.Actions) == 0 {
		if dryRun {
			fmt.Fprintln(out, "nothing would be deleted")
		} else {
			fmt.Fprintln(out, "nothing deleted")
		}
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
			q, err := logfiles.ParseQuery(logfiles.QueryText{IPs: ips, Since: since, Until: until, Path: pathRE, Status: status, Errors: errorsToo})
			if err != nil {
				return usagef("--%v", err)
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
