package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"depot/internal/config"
)

func newCheckCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate a configuration without starting anything",
		Long: `check decodes the configuration strictly and validates all of it, exactly as
serve does before it binds anything, and lists every problem with its key:
types and values, addresses and ports, site roots that cannot be read,
certificates that do not match their keys, a log_dir or data_dir that cannot
be created. It creates nothing and binds nothing. Run it as the user depot
runs as: whether a directory can be read or written depends on who asks.

It also warns (without failing) about files and directories that someone
other than root and depot's user can change, a TLS key others can read and
a log_dir that is a symlink, as serve does when it starts.

A file with a [proxy] table and no [[listen]] or [[site]] is checked as
depot proxy reads it.`,
		Example: "  depot check --config /etc/depot/depot.toml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("check needs --config FILE")
			}
			cfg, proxyOnly, err := config.LoadCheck(file)
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), cfg)
			if proxyOnly {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid for depot proxy (it has no [[listen]] or [[site]], so depot serve would refuse it)\n", file)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid\n", file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML)")
	return cmd
}
