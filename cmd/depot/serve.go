package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"depot/internal/certs"
	"depot/internal/config"
	"depot/internal/demo"
	"depot/internal/logfiles"
	"depot/internal/logsink"
	"depot/internal/metrics"
	"depot/internal/mirrors"
	"depot/internal/outbound"
	"depot/internal/responder"
	"depot/internal/sdnotify"
	"depot/internal/server"
	"depot/internal/stats"
)

func newServeCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the configured sites and repositories",
		Long: `serve validates the whole configuration, binds every listener (all or none),
and serves each site's files. Clearnet listeners write nginx combined access
lines to <log_dir>/access.log and errors to <log_dir>/error.log; onion
listeners write nothing, anywhere.

Without --config it serves the embedded demo: a website, a yum tree and an apt
tree, on 127.0.0.1:8080 (logged) and 127.0.0.1:8081 (onion, unlogged), with
logs under ./depot-data/.

Signals: SIGHUP reloads the configuration and the certificate files (a
certificate that does not load, match its key or is not valid now is refused
and the running one kept) and reopens the log files (for logrotate); SIGTERM
or SIGINT stops accepting, lets requests in flight finish, flushes the logs
and exits 0.`,
		Example: `  depot serve
  depot serve --config /etc/depot/depot.toml
  kill -HUP $(pidof depot)    # reload and reopen logs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), file, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML); default: the embedded demo")
	return cmd
}

// loadServeConfig loads the file, or the embedded demo when file is "".
func loadServeConfig(file string) (*config.Config, error) {
	if file != "" {
		return config.LoadServe(file)
	}
	dir, err := filepath.Abs("depot-data")
	if err != nil {
		return nil, err
	}
	return demo.Config(dir) // validated there
}

func serve(ctx context.Context, file string, stdout, stderr io.Writer) error {
	cfg, err := loadServeConfig(file)
	if err != nil {
		return err
	}
	printWarnings(stderr, cfg)
	// Where depot connects (mirror checks, exit lists, the proxy, ACME), for
	// depot audit; data_dir is read at start, a reload keeps it.
	rec := newOutboundRecord(cfg.DataDir, stderr)
	svc, err := mirrors.New(cfg, mirrors.Options{
		Interval: time.Duration(cfg.Mirrors.CheckInterval),
		Timeout:  time.Duration(cfg.Mirrors.Timeout),
		Window:   time.Duration(cfg.Mirrors.AlternatesWindow),
		Outbound: rec.Record,
		Warn:     warnTo(stderr), // a corrupt mirror state file, moved aside
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "depot: "+format+"\n", args...) }
	var m *metrics.Metrics // nil without [admin]: nothing is counted
	if cfg.Admin.Enabled() {
		m = metrics.New()
	}
	acme, err := newACME(cfg, rec.Record, logf)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg, server.Options{Responders: responders(cfg, svc), Logf: logf, Metrics: m, ACME: acme})
	if err != nil {
		return err
	}
	if n := srv.MaxResponses(); n < cfg.MaxResponses {
		logf("max_responses lowered from %d to %d, half of the open-file limit (raise LimitNOFILE for more)", cfg.MaxResponses, n)
	}
	// Every listener is bound before anything is created: the admin
	// listener, the proxy's, then the server's, which then creates log_dir
	// and its logs; then proxy.log, and (rec.keep, below) the outbound
	// record in data_dir. If one fails, the others are closed: all or
	// nothing.
	var admin *metrics.Admin
	if m != nil {
		if admin, err = metrics.Listen(cfg.Admin.Address, m.Handler()); err != nil {
			return err
		}
	}
	px, pxLog, err := bindProxy(cfg, rec.Record, stderr, m)
	if err != nil {
		admin.Close()
		return err
	}
	if err := srv.Listen(); err != nil {
		closeProxy(px)
		admin.Close()
		return err
	}
	proxyLog, err := pxLog.open(cfg, logf)
	if err != nil {
		closeProxy(px)
		admin.Close()
		srv.Close()
		return err
	}
	if proxyLog != nil {
		defer proxyLog.Close()
	}
	// One write: whoever reads "depot: serving" reads the whole
	// description, the proxy's and the admin listener's lines included.
	var desc strings.Builder
	describe(&desc, cfg, srv)
	if px != nil {
		describeProxy(&desc, cfg)
	}
	if m != nil {
		watch(m, srv, svc, proxyLog)
		fmt.Fprintf(&desc, "  %s  (admin: /metrics, /healthz)\n", cfg.Admin.Address)
	}
	io.WriteString(stdout, desc.String())

	// systemd (Type=notify) learns that every listener is bound, and
	// about each reload and the shutdown.
	notify, err := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		fmt.Fprintf(stderr, "depot: %v\n", err)
	}
	ctx, release := withSignals(ctx, func() {
		warnNotify(stderr, notify.Reloading())
		reopenLog(stderr, proxyLog)
		warnNotify(stderr, notify.Ready(reload(srv, svc, file, stderr)))
	})
	defer release()
	// STOPPING=1 goes when shutdown begins, and is sent before exit.
	defer notify.StoppingWhenDone(ctx, func(err error) { warnNotify(stderr, err) })()
	warnNotify(stderr, notify.Ready("serving"))
	jobs := startJobs(ctx, cfg, srv, proxyLog, rec.Record, m, stderr)
	jobs.Go(func() { rec.keep(ctx) })
	defer rec.flush() // connections made during the shutdown grace
	if admin != nil {
		jobs.Go(func() {
			if err := admin.Serve(ctx); err != nil {
				fmt.Fprintf(stderr, "depot: admin listener: %v\n", err)
			}
		})
	}
	if px != nil {
		jobs.Go(func() {
			if err := px.Serve(ctx); err != nil {
				fmt.Fprintf(stderr, "depot: proxy: %v\n", err)
			}
		})
	}
	if len(cfg.Mirror) > 0 {
		jobs.Go(func() { svc.Run(ctx, func(err error) { fmt.Fprintf(stderr, "depot: mirrors: %v\n", err) }) })
	}
	if acme != nil {
		jobs.Go(func() { acme.Run(ctx) })
	}
	err = srv.Serve(ctx)
	jobs.Wait() // compressions in flight finish: nothing is left half-done
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "depot: stopped; logs flushed")
	return nil
}

// printWarnings prints what config.PermissionWarnings finds, one line each.
func printWarnings(w io.Writer, cfg *config.Config) {
	for _, warn := range cfg.PermissionWarnings(os.Geteuid()) {
		fmt.Fprintf(w, "depot: warning: %v\n", warn)
	}
}

// reload applies SIGHUP: logs are reopened whatever happens; a configuration
// that does not validate (a certificate file that does not load, match or
// is not valid now included) is reported and the running one kept, with its
// certificates. It returns the outcome in a few words, for systemctl status.
func reload(srv *server.Server, svc *mirrors.Service, file string, stderr io.Writer) (status string) {
	if err := srv.ReopenLogs(); err != nil {
		fmt.Fprintf(stderr, "depot: reopening logs: %v\n", err)
	}
	cfg, err := loadServeConfig(file)
	if err != nil {
		fmt.Fprintf(stderr, "depot: reload failed, still serving the previous configuration and certificates:\n%v\n", err)
		return "reload failed, serving the previous configuration (see the journal)"
	}
	svc.Reload(cfg)
	reloadErr := srv.Reload(cfg)
	notes, certErr := srv.ReloadCertificates()
	for _, n := range notes {
		fmt.Fprintf(stderr, "depot: %s\n", n)
	}
	if certErr != nil {
		fmt.Fprintf(stderr, "depot: %v\n", certErr)
	}
	switch {
	case reloadErr != nil:
		fmt.Fprintf(stderr, "depot: reload: %v\n", reloadErr)
		return "reloaded in part (see the journal)"
	case certErr != nil:
		return "reloaded, but a new certificate was refused (see the journal)"
	}
	fmt.Fprintln(stderr, "depot: configuration reloaded, logs reopened")
	return "serving; configuration reloaded"
}

// newACME is the ACME manager of a configuration that uses ACME, or nil.
// It contacts nobody until it runs.
func newACME(cfg *config.Config, rec *outbound.Record, logf func(string, ...any)) (*certs.ACME, error) {
	if !cfg.ACMEEnabled() {
		return nil, nil
	}
	plain := slices.ContainsFunc(cfg.Listen, func(l config.Listen) bool { return !l.TLS() && !l.Onion })
	return certs.NewACME(certs.ACMEOptions{
		CA:       cfg.ACME.CA,
		Email:    cfg.ACME.Email,
		CARoot:   cfg.ACME.CARoot,
		Dir:      cfg.ACMEDir(),
		Hosts:    cfg.ACMEHosts(),
		HTTP01:   plain,
		Outbound: rec,
		Logf:     logf,
	})
}

// warnNotify reports a failed notification to systemd: the service keeps
// running, but systemd may consider it failed to start or reload.
func warnNotify(stderr io.Writer, err error) {
	if err != nil {
		fmt.Fprintf(stderr, "depot: %v\n", err)
	}
}

// watch registers what the admin listener reports besides requests: the
// log files and the mirrors.
func watch(m *metrics.Metrics, srv *server.Server, svc *mirrors.Service, proxyLog *logsink.File) {
	var logs []metrics.LogFile
	for _, f := range []*logsink.File{srv.AccessLog(), srv.ErrorLog(), proxyLog} {
		if f != nil {
			logs = append(logs, f)
		}
	}
	m.Register(metrics.LogCollector(func() []metrics.LogFile { return logs }))
	m.Register(metrics.MirrorCollector(func() []metrics.Mirror {
		rep := svc.Status()
		out := make([]metrics.Mirror, 0, len(rep.Mirrors))
		for _, mr := range rep.Mirrors {
			files := map[string]int{}
			for st, n := range mr.Counts {
				files[string(st)] = n
			}
			out = append(out, metrics.Mirror{Name: mr.Name, State: mr.State(), Files: files,
				Latency: time.Duration(mr.LatencyMS) * time.Millisecond, Checked: !mr.LastCheck.IsZero()})
		}
		return out
	}, func() metrics.Round {
		rd := svc.LastRound()
		return metrics.Round{Started: rd.Started, Ended: rd.Ended}
	}))
}

// describe prints what is served where: the addresses actually bound
// (port 0 shows the port the kernel chose).
func describe(w io.Writer, cfg *config.Config, srv *server.Server) {
	src := cfg.Path
	if src == "" {
		src = "embedded demo"
	}
	fmt.Fprintf(w, "depot: serving (%s)\n", src)
	addrs := srv.Addrs()
	for i, l := range cfg.Listen {
		addr := l.Address
		if i < len(addrs) && addrs[i].Network() == "tcp" {
			addr = addrs[i].String()
		}
		scheme := "http"
		if l.TLS() {
			scheme = "https"
		}
		kind := "clearnet, logged to " + cfg.LogDir
		switch {
		case l.Onion:
			kind = "onion, never logged"
		case l.RedirectHTTPS:
			kind += ", redirects to https"
		case l.ACME:
			kind += ", certificates by ACME"
		}
		fmt.Fprintf(w, "  %s://%s  (%s)\n", scheme, addr, kind)
	}
	for _, s := range cfg.Site {
		fmt.Fprintf(w, "  site %v -> %s\n", s.Hosts, s.Root)
	}
	if ca := cfg.ACMECA(); ca != "" {
		fmt.Fprintf(w, "  ACME: certificates for %v from %s, kept in %s\n", cfg.ACMEHosts(), ca, cfg.ACMEDir())
	}
}

// responders returns what each site answers before its files: the
// published statistics, then live metalinks, Metalink 4 files, redirects
// to mirrors and the mirror status page. Nothing here may log: these handlers sit below the
// onion chain too, so page errors are dropped rather than written anywhere.
// The [stats] table is read at start; changing it needs a restart.
func responders(cfg *config.Config, svc *mirrors.Service) func(config.Site) []responder.Responder {
	dataFile := cfg.Stats.Data
	return func(site config.Site) []responder.Responder {
		var rs []responder.Responder
		if site.StatsPath != "" {
			rs = append(rs, responder.Mount(site.StatsPath, stats.NewPage(stats.PageOptions{DataFile: dataFile, Prefix: site.StatsPath})))
		}
		return append(rs, svc.Responders(site)...)
	}
}

// startJobs starts the periodic work of a running server: log rotation
// (access, error and, when enabled, proxy log), retention and
// pseudonymisation, and the statistics. Jobs report to stderr only, with lines
// about the job, never about a request. The returned group ends when ctx
// is done and the jobs have finished what they started.
func startJobs(ctx context.Context, cfg *config.Config, srv *server.Server, proxyLog *logsink.File, rec *outbound.Record, m *metrics.Metrics, stderr io.Writer) *sync.WaitGroup {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "depot: "+format+"\n", args...) }
	var jobs sync.WaitGroup

	var files []*logsink.File
	if cfg.LogRotation == config.RotationDaily {
		for _, f := range []*logsink.File{srv.AccessLog(), srv.ErrorLog(), proxyLog} {
			if f != nil {
				files = append(files, f)
			}
		}
	}
	daily := dailyPrune(cfg, stderr, logf, m)
	if cfg.Pseudonymise {
		daily = withPseudonymise(cfg, daily, stderr, logf, m)
	}
	rot := logfiles.NewRotator(cfg.LogDir, files, time.Now, logfiles.RotatorOptions{
		Report:  func(err error) { logf("log rotation: %v", err) },
		Daily:   daily,
		Rotated: func(err error) { m.JobDone(metrics.JobRotation, time.Now(), err) },
	})
	jobs.Go(func() {
		if err := rot.Run(ctx); err != nil {
			logf("log rotation: %v", err)
		}
	})

	if len(cfg.Stats.Logs) > 0 {
		opts, err := stats.OptionsFromConfig(cfg)
		if err != nil {
			logf("statistics: %v; the daily run is off", err)
		} else {
			opts.Outbound = rec
			jobs.Go(func() {
				stats.RunDaily(ctx, opts, stats.DailyOptions{Logf: logf, Done: func(err error) { m.JobDone(metrics.JobStats, time.Now(), err) }})
			})
		}
	}
	return &jobs
}

// dailyPrune is retention as the rotator runs it each day, or nil (and
// said so) when the statistics configuration is broken: without its guard
// no month may be deleted, but rotation goes on.
func dailyPrune(cfg *config.Config, stderr io.Writer, logf func(string, ...any), m *metrics.Metrics) func(context.Context) {
	opts, err := pruneOptions(cfg, false)
	if err != nil {
		logf("statistics: %v; log retention is off until this is fixed (rotation goes on)", err)
		return nil
	}
	return logfiles.DailyPrune(opts, func(res *logfiles.PruneResult, err error) {
		m.JobDone(metrics.JobPrune, time.Now(), err)
		if res != nil && (len(res.Actions) > 0 || len(res.Problems) > 0) {
			printPrune(stderr, stderr, res, false)
		}
		if err != nil {
			logf("log retention: %v", err)
		}
	})
}
