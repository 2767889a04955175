package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"depot/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print depot's version, the commit it was built from and its Go version",
		Long: `version prints what the Go toolchain recorded when this binary was built:
the module version, the commit (vcs.revision, and whether the tree had
uncommitted changes) and the Go version. A binary built with -buildvcs=false
or outside a git clone says that its commit is unknown.`,
		Example: "  depot version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), buildinfo.Read())
			return err
		},
	}
}
