package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"depot/internal/config"
	"depot/internal/demo"
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
			return writeTorrc(cmd.OutOrStdout(), source, hsDir, listen)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "configuration `FILE` (TOML); default: the embedded demo")
	cmd.Flags().StringVar(&hsDir, "hidden-service-dir", "/var/lib/tor/depot/", "tor's `DIR` for the onion service's keys and hostname")
	return cmd
}

// writeTorrc writes one onion service per onion listener.
func writeTorrc(w io.Writer, source, hsDir string, listen []config.Listen) error {
	n := 0
	for _, l := range listen {
		if !l.Onion {
			continue
		}
		n++
		dir := hsDir
		if n > 1 {
			dir = strings.TrimSuffix(hsDir, "/") + "-" + strconv.Itoa(n) + "/"
		}
		target := l.Address
		if l.IsUnix() {
			target = "unix:" + torQuote(l.SocketPath())
		}
		fmt.Fprintf(w, "# depot onion listener %s, from %s; nothing reaching it is logged.\n", l.Address, source)
		if l.IsUnix() {
			group := "depot's own group"
			if l.SocketGroup != "" {
				group = "group " + l.SocketGroup
			}
			fmt.Fprintf(w, "# The socket is mode 0660, %s: tor's user must be in it (see socket_group).\n", group)
		}
		fmt.Fprintf(w, "HiddenServiceDir %s\n", torQuote(dir))
		fmt.Fprintf(w, "HiddenServicePort 80 %s\n", target)
	}
	if n == 0 {
		return fmt.Errorf("%s has no onion listener; add a [[listen]] table with address = \"unix:/run/depot/onion.sock\" and onion = true", source)
	}
	return nil
}

// torQuote quotes a torrc value that holds spaces, quotes or backslashes
// (tor's config parser accepts C-style escapes in quoted values).
func torQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"\\#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
