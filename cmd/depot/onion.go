package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/demo"
	"depot/internal/torrc"
)

func newOnionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "onion",
		Short:   "Set up the onion services that forward to depot's unlogged listeners",
		Example: `  depot onion torrc --config /etc/depot/depot.toml >> /etc/tor/torrc`,
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newOnionTorrcCmd())
	return cmd
}

func newOnionTorrcCmd() *cobra.Command {
	var file, hsDir string
	cmd := &cobra.Command{
		Use:   "torrc",
		Short: "Print the torrc lines for an onion service per onion listener",
		Long: `torrc prints the HiddenServiceDir and HiddenServicePort lines that make tor
forward port 80 of an onion service to each of depot's onion listeners
(the listeners with onion = true, which log nothing). Add them to
/etc/tor/torrc, check with 'tor --verify-config', and reload tor; the
onion address is then in <hidden-service-dir>/hostname.

With several onion listeners, each gets its own onion service: the first
uses --hidden-service-dir, the next ones the same name with -2, -3...
Without --config it prints the lines for the embedded demo.`,
		Example: `  depot onion torrc --config /etc/depot/depot.toml >> /etc/tor/torrc
  depot onion torrc --config depot.toml --hidden-service-dir /var/lib/tor/www/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !filepath.IsAbs(hsDir) {
				return usagef("--hidden-service-dir %q must be an absolute path", hsDir)
			}
			var listen []config.Listen
			source := "the embedded demo"
			if file == "" {
				listen = []config.Listen{{Address: demo.OnionAddress, Onion: true}}
			} else {
				c, err := config.Load(file)
				if err != nil {
					return err
				}
				listen, source = c.Listen, file
			}
			return torrc.Write(cmd.OutOrStdout(), source, hsDir, listen)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML); default: the embedded demo")
	cmd.Flags().StringVar(&hsDir, "hidden-service-dir", "/var/lib/tor/depot/", "tor's `DIR` for the onion service's keys and hostname")
	return cmd
}
