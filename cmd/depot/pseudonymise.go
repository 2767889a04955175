package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/logfiles"
	"depot/internal/metrics"
	"depot/internal/stats"
	"depot/internal/torexit"
)

func newLogsPseudonymiseCmd() *cobra.Command {
	var (
		target    logsTarget
		exitLists string
		now       string
		after     time.Duration
		dryRun    bool
	)
	cmd := &cobra.Command{
		Use:   "pseudonymise",
		Short: "Replace the client addresses of settled months by pseudonyms",
		Long: `pseudonymise rewrites every line of every settled month — a month that ended
more than pseudonymise_after ago (default 7 days) — in the access and error
logs of the log directory, plain and compressed, and in the files [stats] logs
reads: each client address becomes a pseudonym under a fresh random key per
month that is never written anywhere. A pseudonym keeps what the statistics
count (IPv4 or IPv6 /64, one address from another, Tor exit or not), so depot
stats update gives the same figures afterwards; nothing maps it back to the
address. docs/pseudonyms.md describes the encoding.

The months' statistics are computed first (and recorded, with --config), and
the rewritten files replace the logs only when they give the same figures. A
month is rewritten whole or not at all: one with lines in a file being written
(the active access.log) waits, and a note says why. It prints each file
rewritten and, per month, how many lines. depot serve runs the same every day
after the prune when pseudonymise = true.`,
		Example: `  depot logs pseudonymise --config /etc/depot/depot.toml --dry-run
  depot logs pseudonymise --config /etc/depot/depot.toml
  depot logs pseudonymise --dir /var/log/depot --exit-lists /var/lib/depot/exit-lists --now 2026-12-08`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, dir, err := target.load()
			if err != nil {
				return err
			}
			var opts logfiles.PseudonymiseOptions
			if cfg != nil {
				if exitLists != "" {
					return usagef("--exit-lists goes with --dir; with --config the exit lists are [stats] exit_lists")
				}
				if opts, err = pseudonymiseOptions(cfg); err != nil {
					return err
				}
				if cmd.Flags().Changed("after") {
					opts.After = after
				}
			} else {
				if exitLists == "" {
					return usagef("--dir needs --exit-lists DIR: the exit lists decide which lines came from Tor, as the statistics count them")
				}
				if opts, err = dirPseudonymiseOptions(dir, exitLists); err != nil {
					return err
				}
				opts.After = after
			}
			if after < 24*time.Hour {
				return usagef("--after %s: at least 24h, so that the exit lists of a month's last day can arrive", after)
			}
			opts.DryRun = dryRun
			if opts.Now, err = nowFlag(now); err != nil {
				return err
			}
			res, err := logfiles.Pseudonymise(cmd.Context(), opts)
			if res != nil {
				printPseudonymise(cmd.OutOrStdout(), cmd.ErrOrStderr(), res, dryRun)
			}
			if err != nil {
				return err
			}
			if n := len(res.Problems); n > 0 {
				return fmt.Errorf("%d file(s) could not be read, and their months keep their addresses (see above); fix them and run again", n)
			}
			return nil
		},
	}
	target.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&exitLists, "exit-lists", "", "exit-list `DIR` (CollecTor archives, TorDNSEL files), with --dir")
	f.StringVar(&now, "now", "", "act as if today were `YYYY-MM-DD` (UTC)")
	f.DurationVar(&after, "after", logfiles.DefaultPseudonymiseAfter, "keep addresses this long after a month ends (default: pseudonymise_after of --config)")
	f.BoolVar(&dryRun, "dry-run", false, "print what would be rewritten, change nothing")
	return cmd
}

// pseudonymiseOptions are what depot serve and depot logs pseudonymise
// --config do: the log files retention reads (log_dir and [stats] logs),
// the configured grace, [stats]'s exit lists, and the statistics computed
// first and recounted from the rewritten files. Without [stats] logs the
// files of log_dir are recounted under the default rule, without a data
// file.
func pseudonymiseOptions(cfg *config.Config) (logfiles.PseudonymiseOptions, error) {
	files, err := pruneOptions(cfg, true)
	if err != nil {
		return logfiles.PseudonymiseOptions{}, err
	}
	opts := logfiles.PseudonymiseOptions{Dir: files.Dir, Paths: files.Paths, Skip: files.Skip, After: time.Duration(cfg.PseudonymiseAfter)}
	so := stats.Options{ExitListsDir: cfg.Stats.ExitLists}
	if len(cfg.Stats.Logs) > 0 {
		if so, err = stats.OptionsFromConfig(cfg); err != nil {
			return opts, err
		}
	} else if so.Logs, err = dirLogs(cfg.LogDir, files.Skip); err != nil {
		return opts, err
	}
	opts.Stats = stats.Recount{Options: so}
	opts.ExitLists = exitListLoader(so.ExitListsDir)
	return opts, nil
}

// dirPseudonymiseOptions recount the files of dir under the default rule,
// without a data file.
func dirPseudonymiseOptions(dir, exitLists string) (logfiles.PseudonymiseOptions, error) {
	logs, err := dirLogs(dir, nil)
	if err != nil {
		return logfiles.PseudonymiseOptions{}, err
	}
	so := stats.Options{Logs: logs, ExitListsDir: exitLists}
	return logfiles.PseudonymiseOptions{Dir: dir, Stats: stats.Recount{Options: so}, ExitLists: exitListLoader(exitLists)}, nil
}

// dirLogs is every log file under dir as [stats] logs patterns that match
// each exactly once.
func dirLogs(dir string, skip []string) ([]string, error) {
	paths, err := logfiles.LogFiles(dir, skip)
	for i, p := range paths {
		paths[i] = globEscape(p)
	}
	return paths, err
}

func exitListLoader(dir string) func(context.Context, time.Time, time.Time) (*torexit.Set, error) {
	return func(ctx context.Context, from, to time.Time) (*torexit.Set, error) {
		return torexit.Load(ctx, dir, from, to)
	}
}

// globEscape makes a path match itself as a glob.
func globEscape(p string) string {
	var b strings.Builder
	for _, c := range p {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func printPseudonymise(out, errOut io.Writer, res *logfiles.PseudonymiseResult, dryRun bool) {
	verb := "pseudonymised"
	if dryRun {
		verb = "would pseudonymise"
	}
	rewrote := "rewrote"
	if dryRun {
		rewrote = "would rewrite"
	}
	for _, f := range res.Files {
		fmt.Fprintf(out, "%s %s: %d lines\n", rewrote, f.Path, f.Lines)
	}
	for _, m := range res.Months {
		fmt.Fprintf(out, "%s %s: %d lines in %d files\n", verb, m.Month, m.Lines, m.Files)
	}
	if len(res.Months) == 0 {
		fmt.Fprintf(out, "nothing to pseudonymise (months before %s are settled)\n", res.Settled.Format("2006-01"))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(errOut, "note: %s\n", n)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(errOut, "error: %v\n", p)
	}
}

// withPseudonymise runs the daily pseudonymisation after daily (the
// retention), reporting to stderr.
func withPseudonymise(cfg *config.Config, daily func(context.Context), stderr io.Writer, logf func(string, ...any), m *metrics.Metrics) func(context.Context) {
	opts, err := pseudonymiseOptions(cfg)
	if err != nil {
		logf("pseudonymisation: %v; it is off until this is fixed", err)
		return daily
	}
	return func(ctx context.Context) {
		if daily != nil { // nil: retention is off (it said why)
			daily(ctx)
		}
		res, err := logfiles.Pseudonymise(ctx, opts)
		m.JobDone(metrics.JobPseudonymise, time.Now(), err)
		if res != nil && (len(res.Months) > 0 || len(res.Notes) > 0 || len(res.Problems) > 0) {
			printPseudonymise(stderr, stderr, res, false)
		}
		if err != nil {
			logf("pseudonymisation: %v", err)
		}
	}
}
