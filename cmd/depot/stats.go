package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"depot/internal/config"
	"depot/internal/month"
	"depot/internal/stats"
)

func newStatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Estimate the monthly userbase from access logs and Tor exit lists",
		Long: `stats counts, per month and release, the distinct IPv4 addresses that check for
updates, and estimates Tor users from the share of requests sent by Tor exit
relays (the method of stats-method.md). Only aggregate counts are written.`,
		Example: `  depot stats update --config /etc/depot/depot.toml
  depot stats show --config /etc/depot/depot.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("stats needs a subcommand: update or show")
		},
	}
	cmd.AddCommand(newStatsUpdateCmd(), newStatsShowCmd())
	return cmd
}

func newStatsUpdateCmd() *cobra.Command {
	var (
		file, exitLists, data, chartPrefix, title string
		logs, months                              []string
		fetch, countIPv6, force                   bool
	)
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Recompute months from the logs and write the data file",
		Long: `update recomputes the given months (default: the current month and the two
before it) from the access logs and writes them into the JSON data file; every
other month in the file is kept as it is. Flags override the configuration's
[stats] table. Without --fetch nothing is downloaded: exit lists are read from
the exit-lists directory (CollecTor's exit-list-YYYY-MM.tar.xz archives or
plain TorDNSEL files). With --fetch, where it connected is added to
outbound.json in data_dir (beside the data file without --config), which
depot audit reads.

A month that has figures is never replaced by a run that read no line of it
(a log pattern that matches nothing, logs moved): update exits 1 and writes
nothing. --force records such months as empty.`,
		Example: `  depot stats update --config /etc/depot/depot.toml
  depot stats update --logs '/var/log/depot/access.log*' --exit-lists /var/lib/depot/exit-lists \
      --data /var/lib/depot/stats.json --month 2026-10 --month 2026-11 --chart /srv/www/stats
  depot stats update --config /etc/depot/depot.toml --fetch   # download missing exit lists first`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := stats.Options{}
			dataDir := ""
			if file != "" {
				c, err := config.Load(file)
				if err != nil {
					return err
				}
				if opts, err = stats.OptionsFromConfig(c); err != nil {
					return err
				}
				dataDir = c.DataDir
			}
			ov := stats.Overrides{CountIPv6: countIPv6, Force: force}
			flags := cmd.Flags()
			if flags.Changed("logs") {
				ov.Logs = logs
			}
			if flags.Changed("exit-lists") {
				ov.ExitListsDir = &exitLists
			}
			if flags.Changed("data") {
				ov.DataFile = &data
			}
			if flags.Changed("title") {
				ov.Title = &title
			}
			if flags.Changed("fetch") {
				ov.Fetch = &fetch
			}
			for _, s := range months {
				m, err := month.Parse(s)
				if err != nil {
					return usagef("--month: %v", err)
				}
				ov.Months = append(ov.Months, m)
			}
			opts = opts.With(ov)
			if len(opts.Logs) == 0 {
				return usagef("stats update needs --logs GLOB or a --config FILE whose [stats] table has logs")
			}
			if opts.DataFile == "" {
				return usagef("stats update needs --data FILE or --config FILE")
			}
			stderr := cmd.ErrOrStderr()
			tty := isTerminal(stderr)
			if tty {
				opts.Progress = stderr
			}
			if opts.Fetch {
				// Where the download connects, for depot audit: in
				// data_dir, or beside the data file without --config.
				if dataDir == "" {
					dataDir = filepath.Dir(opts.DataFile)
				}
				rec := newOutboundRecord(dataDir, stderr)
				opts.Outbound = rec.Record
				defer rec.flush()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := stats.Update(ctx, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, w := range res.Warnings {
				warn(stderr, tty, w)
			}
			for _, d := range res.Duplicates {
				fmt.Fprintf(stderr, "depot: %s\n", d)
			}
			fmt.Fprintf(out, "%s: %d months from %d files, %d lines (%d undated malformed), %d exit lists, in %s\n",
				opts.DataFile, len(res.Months), res.Files, res.Lines, res.Undated, res.ExitListFiles, res.Elapsed.Round(1e6))
			if len(res.Fetched.Archives) > 0 || res.Fetched.Recent > 0 {
				fmt.Fprintf(out, "fetched exit lists: archives %v, %d recent files\n", res.Fetched.Archives, res.Fetched.Recent)
			}
			if chartPrefix != "" {
				if err := stats.WriteCharts(chartPrefix, opts.DataFile, time.Now()); err != nil {
					return fmt.Errorf("--chart: %w", err)
				}
				fmt.Fprintf(out, "wrote %s.svg and %s.png\n", chartPrefix, chartPrefix)
			}
			d, err := stats.Load(opts.DataFile)
			if err != nil {
				return err
			}
			var shown []string
			for _, m := range res.Months {
				shown = append(shown, m.Month.String())
			}
			stats.WriteTable(out, d, shown)
			if err := stats.WriteCoverage(out, d, shown); err != nil {
				return err
			}
			for _, e := range res.Damaged {
				fmt.Fprintf(stderr, "error: %v\n", e)
			}
			if n := len(res.Damaged); n > 0 {
				return fmt.Errorf("%d log file(s) could not be read to their end (above): the lines before the damage were counted and the months written; check those files", n)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML) whose [stats] table gives the defaults")
	f.StringArrayVar(&logs, "logs", nil, "access-log path or `GLOB` (plain or .gz); repeatable")
	f.StringVar(&exitLists, "exit-lists", "", "`DIR` of Tor exit lists (CollecTor archives or TorDNSEL files)")
	f.StringVar(&data, "data", "", "JSON data `FILE` to update")
	f.StringArrayVar(&months, "month", nil, "month to recompute, `YYYY-MM`; repeatable (default: current and two before)")
	f.StringVar(&chartPrefix, "chart", "", "also write the chart to `PREFIX`.svg and PREFIX.png")
	f.StringVar(&title, "title", "", "chart and page title (stored in the data file)")
	f.BoolVar(&fetch, "fetch", false, "download missing exit lists from collector.torproject.org first")
	f.BoolVar(&countIPv6, "count-ipv6", false, "also count IPv6 /64 prefixes (reported separately)")
	f.BoolVar(&force, "force", false, "record a month as empty even though it had figures and this run read no line of it")
	return cmd
}

func newStatsShowCmd() *cobra.Command {
	var file, data string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the data file as a table",
		Long: `show prints every month of the data file, newest first: for each release and
"any", the clearnet figure and the estimated Tor users, with a note when exit
lists did not cover the month or the month is still in progress.`,
		Example: `  depot stats show --data /var/lib/depot/stats.json
  depot stats show --config /etc/depot/depot.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" && data == "" {
				c, err := config.Load(file)
				if err != nil {
					return err
				}
				data = c.Stats.Data
			}
			if data == "" {
				return usagef("stats show needs --data FILE or --config FILE")
			}
			d, err := stats.Load(data)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s does not exist yet; run 'depot stats update' first", data)
			}
			if err != nil {
				return err
			}
			stats.WriteTable(cmd.OutOrStdout(), d, nil)
			return stats.WriteCoverage(cmd.OutOrStdout(), d, nil)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML) naming the data file")
	cmd.Flags().StringVar(&data, "data", "", "JSON data `FILE`")
	return cmd
}

// warn prints a warning the operator cannot miss: in bold red on a
// terminal.
func warn(w io.Writer, tty bool, msg string) {
	if tty {
		fmt.Fprintf(w, "\x1b[1;31mWARNING:\x1b[0m \x1b[1m%s\x1b[0m\n", msg)
		return
	}
	fmt.Fprintf(w, "WARNING: %s\n", msg)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
