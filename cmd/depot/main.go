// Command depot is the server side of a privacy-respecting software project:
// static and repository serving, logs, statistics, mirrors and the checks
// that prove the privacy policy. Each capability lives in a package under
// internal/; this package only wires flags to them.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks a failure caused by how depot was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns an error that makes depot exit with status 2.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "depot",
		Short: "Serve a project's website, repositories and mirrors, and keep its privacy policy",
		Long: `depot serves a project's static website and its yum and apt repositories,
writes nginx-compatible logs on clearnet listeners and none on onion listeners,
rotates and prunes them, estimates the monthly userbase, and watches mirrors.`,
		Example: `  depot serve                      # the embedded demo on 127.0.0.1:8080 and :8081
  depot serve --config /etc/depot/depot.toml
  depot check --config /etc/depot/depot.toml`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServeCmd(),
		newCheckCmd(),
		newOnionCmd(),
		newStatsCmd(),
		newLogsCmd(),
		newMirrorsCmd(),
		newSiteCmd(),
		newAuditCmd(),
		newProxyCmd(),
	)
	return root
}

func main() {
	// net/http writes some messages to the standard logger rather than a
	// server's ErrorLog: its client reports a destination's stray bytes
	// there, per request. depot writes only through its own writers (and
	// the updates proxy promises nothing per request unless log = true),
	// so the standard logger goes nowhere.
	log.SetOutput(io.Discard)
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintf(os.Stderr, "depot: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(os.Stderr, "Run 'depot --help' for usage.")
		return 2
	}
	return 1
}

// isCobraUsage recognises cobra's own errors for unknown commands and
// wrong argument counts, which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
