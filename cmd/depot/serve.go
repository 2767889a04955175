package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/demo"
	"depot/internal/server"
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

Signals: SIGHUP reloads the configuration and reopens the log files (for
logrotate); SIGTERM or SIGINT stops accepting, lets requests in flight finish,
flushes the logs and exits 0.`,
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
		return config.Load(file)
	}
	dir, err := filepath.Abs("depot-data")
	if err != nil {
		return nil, err
	}
	cfg, err := demo.Config(dir)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func serve(ctx context.Context, file string, stdout, stderr io.Writer) error {
	cfg, err := loadServeConfig(file)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	describe(stdout, cfg)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload(srv, file, stderr)
			}
		}
	}()
	if err := srv.Serve(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "depot: stopped; logs flushed")
	return nil
}

// reload applies SIGHUP: logs are reopened whatever happens; a configuration
// that does not validate is reported and the running one kept.
func reload(srv *server.Server, file string, stderr io.Writer) {
	if err := srv.ReopenLogs(); err != nil {
		fmt.Fprintf(stderr, "depot: reopening logs: %v\n", err)
	}
	cfg, err := loadServeConfig(file)
	if err != nil {
		fmt.Fprintf(stderr, "depot: reload failed, still serving the previous configuration:\n%v\n", err)
		return
	}
	if err := srv.Reload(cfg); err != nil {
		fmt.Fprintf(stderr, "depot: reload: %v\n", err)
		return
	}
	fmt.Fprintln(stderr, "depot: configuration reloaded, logs reopened")
}

// describe prints what is served where.
func describe(w io.Writer, cfg *config.Config) {
	src := cfg.Path
	if src == "" {
		src = "embedded demo"
	}
	fmt.Fprintf(w, "depot: serving (%s)\n", src)
	for _, l := range cfg.Listen {
		scheme := "http"
		if l.TLS() {
			scheme = "https"
		}
		kind := "clearnet, logged to " + cfg.LogDir
		if l.Onion {
			kind = "onion, never logged"
		}
		fmt.Fprintf(w, "  %s://%s  (%s)\n", scheme, l.Address, kind)
	}
	for _, s := range cfg.Site {
		fmt.Fprintf(w, "  site %v -> %s\n", s.Hosts, s.Root)
	}
}
