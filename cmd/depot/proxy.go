package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/logfiles"
	"depot/internal/outbound"
	"depot/internal/proxy"
)

func newProxyCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the updates proxy alone: an allowlisted forward proxy, optionally over tor",
		Long: `proxy runs only the updates proxy of the [proxy] table: apt and dnf use it as
their HTTP proxy (plain GET of http:// URLs, CONNECT for https), and it
reaches only the destinations listed in allow. With upstream =
"socks5://127.0.0.1:9050" every destination is reached through tor, and host
names go to tor unresolved: no DNS query leaves the machine.

It needs only the [proxy] table of the configuration (no sites or
listeners). Nothing about any request is written anywhere unless log = true,
and then without client addresses, to <log_dir>/proxy.log.

Signals: SIGHUP reopens proxy.log (for logrotate); SIGTERM or SIGINT stops
accepting, lets requests and tunnels in flight finish for a few seconds and
exits 0. See docs/proxy.md for clients' settings.`,
		Example: `  depot proxy --config /etc/depot/proxy.toml
  apt-get -o Acquire::http::Proxy=http://127.0.0.1:8082 update
  curl -x http://127.0.0.1:8082 http://deb.debian.org/debian/dists/bookworm/InRelease`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("proxy needs --config FILE with a [proxy] table")
			}
			return runProxy(cmd.Context(), file, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML) with a [proxy] table")
	return cmd
}

// loadProxyConfig reads file and validates its [proxy] table alone.
func loadProxyConfig(file string) (*config.Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	cfg, err := config.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateProxy(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runProxy(ctx context.Context, file string, stdout, stderr io.Writer) error {
	cfg, err := loadProxyConfig(file)
	if err != nil {
		return err
	}
	rec := newOutboundRecord(cfg.DataDir, stderr)
	srv, logFile, err := bindProxy(cfg, rec.Record, stderr)
	if err != nil {
		return err
	}
	if logFile != nil {
		defer logFile.Close()
	}
	describeProxy(stdout, cfg)

	ctx, release := withSignals(ctx, func() { reopenLog(stderr, logFile) })
	defer release()
	kept := make(chan struct{})
	go func() { rec.keep(ctx); close(kept) }()
	err = srv.Serve(ctx)
	<-kept
	rec.flush()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "depot: proxy stopped")
	return nil
}

// describeProxy prints where the proxy listens and where it may go.
func describeProxy(w io.Writer, cfg *config.Config) {
	p := cfg.Proxy
	via := "directly"
	if p.Upstream != "" {
		via = "through " + p.Upstream + " (names resolved by the SOCKS server)"
	}
	logged := "nothing logged"
	if p.Log {
		logged = "requests logged without client addresses to " + cfg.ProxyLogPath()
	}
	fmt.Fprintf(w, "depot: updates proxy on %s, %s; %s\n", p.Listen, via, logged)
	if len(p.Allow) == 0 {
		fmt.Fprintln(w, "  allow is empty: every destination is refused (a closed proxy)")
	}
	for _, a := range p.Allow {
		fmt.Fprintf(w, "  allow %s\n", a)
	}
}

// bindProxy builds and binds the updates proxy of cfg's [proxy] table, or
// returns nil, nil, nil when there is none (for `depot serve`). lf is
// proxy.log, opened only with log = true; the caller closes it after
// Serve returns and reopens it on SIGHUP.
func bindProxy(cfg *config.Config, rec *outbound.Record, stderr io.Writer) (px *proxy.Server, lf *logfiles.File, err error) {
	if !cfg.Proxy.Enabled() {
		return nil, nil, nil
	}
	opts := proxy.Options{Errors: stderr, Outbound: rec}
	if cfg.Proxy.Log {
		if lf, err = logfiles.Open(cfg.ProxyLogPath()); err != nil {
			return nil, nil, err
		}
		opts.Log = lf
	}
	if px, err = proxy.New(cfg.Proxy, opts); err == nil {
		err = px.Listen()
	}
	if err != nil {
		if lf != nil {
			lf.Close()
		}
		return nil, nil, err
	}
	return px, lf, nil
}
