package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/mirrors"
)

func newMirrorsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirrors",
		Short: "Import, check and show the status of volunteer mirrors",
		Long: `mirrors manages the [[mirror]] tables of a configuration: import turns a mirror
list into TOML, check fetches every repository index and ISO size from every
mirror and compares them with the origin, status shows what the last check
found. serve runs the same check periodically and serves metalinks from it.`,
		Example: `  depot mirrors import mirrors.list >> /etc/depot/depot.toml
  depot mirrors check --config /etc/depot/depot.toml
  depot mirrors status --config /etc/depot/depot.toml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("mirrors needs a subcommand: import, check or status")
		},
	}
	cmd.AddCommand(newMirrorsImportCmd(), newMirrorsCheckCmd(), newMirrorsStatusCmd())
	return cmd
}

func newMirrorsImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Print [[mirror]] tables for a one-URL-per-line mirror list",
		Long: `import reads a mirror list in the format Qubes OS publishes — one mirror per
line, "URL [SUBDIR]", blank lines and # comments allowed — and prints a
[[mirror]] table for each on standard output, to append to depot.toml. Each
mirror is named after its host; country, continent and content are left as
comments to fill in. "-" reads standard input.

Bad lines are reported on standard error with their line numbers, and depot
exits 1; the good lines are still printed. Nothing is fetched.`,
		Example: `  depot mirrors import mirrors.list >> /etc/depot/depot.toml
  depot check --config /etc/depot/depot.toml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			name := args[0]
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return fmt.Errorf("reading the mirror list: %w", err)
				}
				defer f.Close()
				in = f
			}
			ms, perr := mirrors.ParseList(in)
			if err := mirrors.WriteTOML(cmd.OutOrStdout(), ms); err != nil {
				return err
			}
			if perr != nil {
				return fmt.Errorf("%s: %w\nfix or remove these lines; the others were printed", name, perr)
			}
			if len(ms) == 0 {
				return fmt.Errorf("%s: no mirror found; expected lines like \"https://mirror.example.net/qubes/ [SUBDIR]\"", name)
			}
			return nil
		},
	}
}

// mirrorsFlags are the flags check and status share.
type mirrorsFlags struct {
	file   string
	json   bool
	window time.Duration
}

func (f *mirrorsFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "config", "c", "", "configuration `FILE` (TOML)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the status as JSON, as the status page's status.json")
	cmd.Flags().DurationVar(&f.window, "window", 0, "how long a superseded version counts as \"behind\" rather than \"stale\" (default: [mirrors] alternates_window, else 48h)")
}

func (f *mirrorsFlags) load(verb string) (*config.Config, error) {
	if f.file == "" {
		return nil, usagef("mirrors %s needs --config FILE", verb)
	}
	if f.window < 0 {
		return nil, usagef("--window must be positive, got %v", f.window)
	}
	cfg, err := config.Load(f.file)
	if err != nil {
		return nil, err
	}
	if f.window == 0 {
		f.window = time.Duration(cfg.Mirrors.AlternatesWindow) // 0: the package default
	}
	if len(cfg.Mirror) == 0 {
		return nil, fmt.Errorf("%s: no [[mirror]] table; add some (see 'depot mirrors import --help')", f.file)
	}
	return cfg, nil
}

func (f *mirrorsFlags) print(w io.Writer, rep mirrors.Report) error {
	if f.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(rep)
	}
	return mirrors.WriteTable(w, rep)
}

func newMirrorsCheckCmd() *cobra.Command {
	var f mirrorsFlags
	var timeout time.Duration
	var strict bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check every mirror now and print what each holds",
		Long: `check scans the origin (the roots of the sites with metalinks or redirect),
then fetches from every mirror, all at once, each repodata/repomd.xml and
dists/*/InRelease (compared by SHA-256 with the origin's current and recent
versions) and the size of each .iso. Each mirror's whole check is bounded by
--timeout. The result is saved under data_dir/mirrors/state.json, where serve
and 'depot mirrors status' read it, and the mirrors contacted are added to
data_dir/outbound.json, which depot audit reads.

Only the configured mirror URLs are contacted; a mirror that redirects to
another host is recorded as down.

On a node with [mirrors] checker = false, check contacts no mirror: it
fetches the checking node's results from [mirrors] state_from, as serve
does every check interval, and prints them.

Exit status: 0 when the check ran (whatever the mirrors' states; with
--strict, only if every mirror is fresh), 1 otherwise.`,
		Example: `  depot mirrors check --config /etc/depot/depot.toml
  depot mirrors check --config /etc/depot/depot.toml --timeout 10s --strict`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout < 0 {
				return usagef("--timeout must be positive, got %v", timeout)
			}
			cfg, err := f.load("check")
			if err != nil {
				return err
			}
			if timeout == 0 {
				timeout = time.Duration(cfg.Mirrors.Timeout) // 0: the package default
			}
			rec := newOutboundRecord(cfg.DataDir, cmd.ErrOrStderr())
			defer rec.flush()
			svc, err := mirrors.New(cfg, mirrors.Options{Timeout: timeout, Window: f.window, Outbound: rec.Record,
				Interval: time.Duration(cfg.Mirrors.CheckInterval), Warn: warnTo(cmd.ErrOrStderr())})
			if err != nil {
				return err
			}
			defer svc.Close()
			check := svc.Check
			if !cfg.Mirrors.IsChecker() {
				check = svc.Sync
			}
			rd, cerr := check(cmd.Context())
			rep := svc.Status()
			if err := f.print(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			if cerr != nil {
				return fmt.Errorf("mirror check: %w", cerr)
			}
			if strict {
				var bad []string
				for _, m := range rep.Mirrors {
					if m.Summary() != "ok" {
						bad = append(bad, m.Name+" ("+m.Summary()+")")
					}
				}
				if len(bad) > 0 {
					return fmt.Errorf("%d of %d mirrors are not fully fresh: %v", len(bad), rd.Mirrors, bad)
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "time `LIMIT` for each mirror's whole check (default: [mirrors] timeout, else 30s)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 unless every mirror holds every file's current version")
	return cmd
}

func newMirrorsStatusCmd() *cobra.Command {
	var f mirrorsFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the last mirror check found",
		Long: `status prints the state saved by the last check (by serve's periodic job or
'depot mirrors check'): each mirror's state, how many files are fresh, behind,
stale or down, the median latency, the last check and the last success, then
every mirror × file that is not fresh. It contacts nothing.`,
		Example: `  depot mirrors status --config /etc/depot/depot.toml
  depot mirrors status --config /etc/depot/depot.toml --json | jq '.mirrors[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load("status")
			if err != nil {
				return err
			}
			if _, err := os.Stat(mirrors.StateFile(cfg)); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no mirror state at %s yet; run 'depot mirrors check --config %s' or start serve", mirrors.StateFile(cfg), f.file)
			}
			svc, err := mirrors.New(cfg, mirrors.Options{Window: f.window, Interval: time.Duration(cfg.Mirrors.CheckInterval),
				Warn: warnTo(cmd.ErrOrStderr())})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), svc.Status())
		},
	}
	f.add(cmd)
	return cmd
}

// warnTo prints a warning that does not stop the command on w.
func warnTo(w io.Writer) func(error) {
	return func(err error) { fmt.Fprintf(w, "depot: %v\n", err) }
}
