package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"depot/internal/audit"
	"depot/internal/site"
)

func newAuditCmd() *cobra.Command {
	var (
		file    string
		offline bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the configuration and the running server against the privacy policy",
		Long: `audit runs one check per promise of the privacy policy and says which sentence
each one proves: onion access leaves no trace in any log file, clearnet access
is logged with the client address, logs are kept for exactly three months and
nothing older is left, statistics are computed and publish no address, sites
load nothing from third parties, and which hosts depot itself contacts.

The live checks send a few requests with a random marker to every configured
listener of the running 'depot serve' and read the log directory; --offline
skips them. Nothing is changed and nothing but depot's own listeners is
contacted.

Exit status: 0 when no check fails (warnings allowed), 1 otherwise.`,
		Example: `  depot audit                      # the embedded demo, while 'depot serve' runs it
  depot audit --config /etc/depot/depot.toml
  depot audit --config /etc/depot/depot.toml --offline --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServeConfig(file) // "" is the embedded demo, as for serve
			if err != nil {
				return err
			}
			if file == "" {
				file = "the embedded demo"
			}
			rs := audit.Run(cmd.Context(), audit.Options{Config: cfg, Live: !offline, SiteAudit: siteAuditor()})
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
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// siteAuditor is the site auditor the policy checks use: depot site
// audit's rules, one line per finding.
func siteAuditor() func(root, origin string) ([]string, error) {
	return func(root, origin string) ([]string, error) {
		rep, err := site.Audit(root, site.AuditOptions{Origin: origin})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, f := range rep.Findings {
			out = append(out, f.String())
		}
		return out, nil
	}
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
		fmt.Fprintf(w, "%q\n", p)
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
