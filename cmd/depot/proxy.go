package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"depot/internal/atomicfile"
	"depot/internal/config"
	"depot/internal/logsink"
	"depot/internal/metrics"
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

func runProxy(ctx context.Context, file string, stdout, stderr io.Writer) error {
	cfg, err := config.LoadProxy(file)
	if err != nil {
		return err
	}
	rec := newOutboundRecord(cfg.DataDir, stderr)
	srv, pxLog, err := bindProxy(cfg, rec.Record, stderr, nil)
	if err != nil {
		return err
	}
	logFile, err := pxLog.open(cfg, func(format string, args ...any) { fmt.Fprintf(stderr, "depot: "+format+"\n", args...) })
	if err != nil {
		closeProxy(srv)
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
	// One write: whoever reads the first line reads the whole description.
	var b strings.Builder
	fmt.Fprintf(&b, "depot: updates proxy on %s, %s; %s\n", p.Listen, via, logged)
	if len(p.Allow) == 0 {
		fmt.Fprintln(&b, "  allow is empty: every destination is refused (a closed proxy)")
	}
	for _, a := range p.Allow {
		fmt.Fprintf(&b, "  allow %s\n", a)
	}
	io.WriteString(w, b.String())
}

// bindProxy builds and binds the updates proxy of cfg's [proxy] table, or
// returns nil, nil, nil when there is none (for depot serve). It creates
// nothing: with log = true, the proxy writes to the returned proxyLog,
// whose file the caller opens once every listener is bound. m, if not nil,
// counts the allowlist's decisions.
func bindProxy(cfg *config.Config, rec *outbound.Record, stderr io.Writer, m *metrics.Metrics) (*proxy.Server, *proxyLog, error) {
	if !cfg.Proxy.Enabled() {
		return nil, nil, nil
	}
	var pl *proxyLog
	opts := proxy.Options{Errors: stderr, Outbound: rec}
	if m != nil {
		opts.Decision = m.ProxyDecision
	}
	if cfg.Proxy.Log {
		pl = &proxyLog{}
		opts.Log = pl
	}
	px, err := proxy.New(cfg.Proxy, opts)
	if err == nil {
		err = px.Listen()
	}
	if err != nil {
		return nil, nil, err
	}
	return px, pl, nil
}

// closeProxy closes a bound proxy (nil: nothing to do) after a failed start.
func closeProxy(px *proxy.Server) {
	if px != nil {
		px.Close()
	}
}

// proxyLog is proxy.log as the proxy writes to it. The file is opened by
// open, after every listener is bound, so that a failed start creates
// nothing; the proxy serves (and writes) only after that.
type proxyLog struct {
	f atomic.Pointer[logsink.File]
}

func (l *proxyLog) Write(p []byte) (int, error) {
	if f := l.f.Load(); f != nil {
		return f.Write(p)
	}
	return 0, errors.New("proxy.log is not open yet")
}

// open creates log_dir (its last element only) and opens proxy.log; a nil
// proxyLog (log = false) opens nothing and returns nil. Write failures (a
// full disk) are reported on logf.
func (l *proxyLog) open(cfg *config.Config, logf func(format string, args ...any)) (*logsink.File, error) {
	if l == nil {
		return nil, nil
	}
	if err := atomicfile.MakeDir(cfg.LogDir, 0o750); err != nil {
		return nil, fmt.Errorf("log_dir: %w", err)
	}
	f, err := logsink.OpenWith(cfg.ProxyLogPath(), logsink.FileOptions{Report: func(in logsink.Incident) { logf("%v", in) }})
	if err != nil {
		return nil, err
	}
	l.f.Store(f)
	return f, nil
}
