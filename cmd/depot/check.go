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
serve does before it binds anything, and lists every problem with its key.`,
		Example: "  depot check --config /etc/depot/depot.toml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("check needs --config FILE")
			}
			if _, err := config.Load(file); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid\n", file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML)")
	return cmd
}
