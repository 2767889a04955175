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
	defer typeUsageErrors(root)
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
		newVersionCmd(),
		newInitCmd(),
		newManpagesCmd(),
	)
	return root
}

// typeUsageErrors makes every way of calling a command wrongly a
// usageError, so that the exit status follows from the error's type and
// never from its text: argument counts (cobra's Args checks return plain
// errors), and unknown or missing subcommands (cobra prints the help of a
// command that has only subcommands and reports success).
func typeUsageErrors(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && sub.Name() != "help" && sub.Name() != "completion" {
					names = append(names, sub.Name())
				}
			}
			if len(args) == 0 {
				return usagef("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			} else {
				msg += "; the commands are " + strings.Join(names, ", ")
			}
			return usageError{errors.New(msg)}
		}
	}
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typeUsageErrors(sub)
	}
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
	code := exitCode(err)
	if code == 2 {
		fmt.Fprintln(os.Stderr, "Run 'depot --help' for usage.")
	}
	return code
}

// exitCode is the README's contract: 0 success, 2 bad usage (a
// usageError anywhere in the chain), 1 any other failure.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(usageError)):
		return 2
	}
	return 1
}
