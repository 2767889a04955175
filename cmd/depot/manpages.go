package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"depot/internal/atomicfile"
	"depot/internal/buildinfo"
	"depot/internal/manpage"
)

// newManpagesCmd writes a man page per command, for packaging
// (packaging/build-deb.sh). It is hidden: operators read the pages.
func newManpagesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "manpages DIR",
		Short:   "Write a man page per command into DIR",
		Example: "  depot manpages debian/man",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			for _, p := range manpage.Render(cmd.Root(), "depot "+buildinfo.Read().Version) {
				if err := atomicfile.WriteBytes(filepath.Join(args[0], p.Name), 0o644, []byte(p.Text)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(args[0], p.Name))
			}
			return nil
		},
	}
}
