package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"depot/internal/initconf"
)

func newInitCmd() *cobra.Command {
	var n initconf.Names
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Write a complete, commented configuration with your host names",
		Long: `init writes DIR/depot.toml: the example configuration (the one the Debian
package installs as /etc/depot/depot.toml) with your host names filled in:
www.DOMAIN and DOMAIN for the website, yum.DOMAIN and deb.DOMAIN for the
repositories, unless --www, --yum or --deb name them otherwise. --onion adds
the website's onion address. DIR "-" prints the file instead.

init never overwrites a file. It then lists the lines that still name the
example's hosts (the mirrors, say): edit those before starting depot, and run
depot check.`,
		Example: `  depot init /etc/depot --domain example.com
  depot init ./conf --domain example.com --yum packages.example.com --onion abcd…wxyd.onion
  depot init - --domain example.com > depot.toml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := initconf.Render(n)
			if err != nil {
				return usageError{err}
			}
			if args[0] == "-" {
				_, err := fmt.Fprint(cmd.OutOrStdout(), text)
				return err
			}
			path, err := initconf.Write(args[0], text)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s\n", path)
			if left := initconf.Placeholders(text); len(left) > 0 {
				fmt.Fprintf(out, "these lines still name the example's hosts; edit them (or remove the tables) before starting depot:\n")
				for _, l := range left {
					fmt.Fprintf(out, "  %s:%s\n", path, l)
				}
			}
			fmt.Fprintf(out, "next: depot check --config %s\n", path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.Domain, "domain", "", "your `DOMAIN`: www.DOMAIN, yum.DOMAIN, deb.DOMAIN (default example.org)")
	f.StringVar(&n.WWW, "www", "", "the website's `HOST` (default www.DOMAIN)")
	f.StringVar(&n.Yum, "yum", "", "the yum repository's `HOST` (default yum.DOMAIN)")
	f.StringVar(&n.Deb, "deb", "", "the apt repository's `HOST` (default deb.DOMAIN)")
	f.StringVar(&n.Onion, "onion", "", "the website's onion `ADDRESS` (56 characters, then .onion)")
	return cmd
}
