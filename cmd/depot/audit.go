package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"depot/internal/audit"
	"depot/internal/config"
	"depot/internal/demo"
)

func newAuditCmd() *cobra.Command {
	var (
		file    string
		torrc   string
		offline bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the configuration and the running server against the privacy policy",
		Long: `audit runs one check per promise of the privacy policy and prints each under
the sentence it proves:

  onion-service, torrc          an onion listener exists; tor's HiddenServicePort
                                lines (--torrc) reach it and never a clearnet one
  clearnet-logged               marked requests are logged with the client address
  onion-not-logged              marked onion requests leave no trace in any file
  onion-reachable               each site answers 200 on each onion listener when
                                asked with its onion name, as Tor Browser asks
  onion-answers-onion-only      onion metalinks name onion URLs only
  retention-months              retention_months is 3
  retention-enforced            no line older than the cutoff in any file under
                                log_dir or [stats] logs, whatever its name or
                                compression; every file readable to its end and
                                modified since the cutoff
  statistics                    the previous two months are computed
  logs-not-published            log_dir, data_dir and [stats] logs lie outside
                                every site root
  published-no-address          no client address of the logs, in any spelling,
                                in any published byte of statistics or mirror status
  site[N]-local-resources,      sites load nothing from third parties
  content-security-policy
  outbound                      every destination depot serve recorded in
                                <data_dir>/outbound.json is one the configuration
                                asks for; the DNS resolver when names resolve locally
  tls                           public clearnet listeners have TLS

The live checks send a few requests with a random marker to every listener
of the running 'depot serve'. When nothing accepts connections, audit says
so once and runs the offline checks; --offline skips the live checks
outright. audit changes nothing on disk and contacts nothing but depot's
own listeners.

Exit status: 0 when no check fails (warnings allowed), 1 otherwise.`,
		Example: `  depot audit                      # the embedded demo, while 'depot serve' runs it
  depot audit --config /etc/depot/depot.toml --torrc /etc/tor/torrc
  depot audit --config /etc/depot/depot.toml --offline --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Config
			var err error
			if file == "" {
				var dir string
				if dir, err = filepath.Abs("depot-data"); err == nil {
					cfg, err = demo.ConfigAt(dir) // as serve runs it, extracting nothing
				}
				file = "the embedded demo"
			} else {
				cfg, err = config.LoadForAudit(file) // sites that publish the logs are a failed check
			}
			if err != nil {
				return err
			}
			rs := audit.Run(cmd.Context(), audit.Options{Config: cfg, Live: !offline, Torrc: torrc})
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rs); err != nil {
					return err
				}
			} else {
				printAudit(cmd.OutOrStdout(), rs)
			}
			if audit.Failed(rs) {
				return fmt.Errorf("%s: the privacy policy is not kept (see the failed checks above)", file)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML); default: the embedded demo")
	cmd.Flags().BoolVar(&offline, "offline", false, "skip the checks that send requests to the running server")
	cmd.Flags().StringVar(&torrc, "torrc", "", "tor's configuration `FILE` to check (default: the configuration's torrc, if set)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// printAudit prints the results grouped under the policy sentence each one
// proves, in the order the sentences first appear.
func printAudit(w io.Writer, rs []audit.Result) {
	var order []string
	by := map[string][]audit.Result{}
	for _, r := range rs {
		if _, ok := by[r.Policy]; !ok {
			order = append(order, r.Policy)
		}
		by[r.Policy] = append(by[r.Policy], r)
	}
	counts := map[audit.Status]int{}
	for _, p := range order {
		if p != "" {
			fmt.Fprintf(w, "%q\n", p)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range by[p] {
			counts[r.Status]++
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", strings.ToUpper(string(r.Status)), r.ID, r.Detail)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "checks: %d pass, %d fail, %d warn, %d skip\n", counts[audit.Pass], counts[audit.Fail], counts[audit.Warn], counts[audit.Skip])
}
