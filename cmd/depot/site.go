package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"depot/internal/site"
)

func newSiteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "site",
		Short: "Build a static website from Markdown docs, and audit it for third-party resources",
		Long: `site build turns a directory of Markdown documentation into a static website:
every page.md becomes page.html for browsers and page.txt for terminals, and
every other file is copied as it is. site audit checks any static website for
resources loaded from another origin, scripts and inline styles, which the
site's Content-Security-Policy would block and Tor Browser users with scripts
off would miss.`,
		Example: `  depot site build docs/ /srv/www/docs
  depot site audit /srv/www/docs --origin https://www.example.org
  curl https://www.example.org/docs/install.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("site needs a subcommand: build or audit")
		},
	}
	cmd.AddCommand(newSiteBuildCmd(), newSiteAuditCmd())
	return cmd
}

func newSiteBuildCmd() *cobra.Command {
	var opts site.BuildOptions
	cmd := &cobra.Command{
		Use:   "build SRC DST",
		Short: "Build Markdown docs in SRC into a static site in DST",
		Long: `build renders every Markdown file in SRC (page.md, with optional front matter
"title:") into page.html, through SRC/_layout.html if there is one (a Go
html/template that sees {{.Title}}, {{.Content}}, {{.Root}}, {{.Text}}) or a
built-in layout without scripts. It also writes page.txt, the Markdown text,
for terminals. Links to .md files become .html links in the HTML and .txt
links in the text. Other files are copied; names starting with "." or "_"
are skipped.

The site is built beside DST, audited as 'depot site audit' would, and only
then swapped in whole; if anything fails DST is left as it was. DST must be
empty, absent, or a site built by depot. Symlinks that lead out of SRC are
refused. The same SRC always gives byte-identical output.`,
		Example: `  depot site build docs/ /srv/www/docs
  depot site build docs/ public/ --origin https://www.example.org
  depot site build docs/ public/ --no-audit   # audit later with depot site audit`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := site.Build(args[0], args[1], opts)
			var af *site.AuditFailedError
			if errors.As(err, &af) {
				writeAuditTable(cmd.ErrOrStderr(), af.Report)
				return fmt.Errorf("%s: the built site fails its audit; %s was left as it was. Fix the sources listed above (paths are relative to DST), or pass --no-audit", args[0], args[1])
			}
			if errors.Is(err, site.ErrOrigin) {
				return usagef("%v", err)
			}
			if err != nil {
				return fmt.Errorf("building %s: %w", args[0], err)
			}
			if !opts.NoAudit {
				fmt.Fprintf(cmd.OutOrStdout(), "built %s from %s; audit passed (%d HTML and CSS files)\n", args[1], args[0], rep.Files)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "built %s from %s (not audited)\n", args[1], args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.NoAudit, "no-audit", false, "swap the site in without auditing it")
	cmd.Flags().StringVar(&opts.Audit.Origin, "origin", "", "the site's public address, such as https://www.example.org, for the audit")
	return cmd
}

func newSiteAuditCmd() *cobra.Command {
	var opts site.AuditOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit DIR",
		Short: "Fail if a static site loads anything from another origin or needs scripts",
		Long: `audit parses every .html, .htm and .css file under DIR and lists, with
file:line, element, attribute and URL:

  third-party        a resource from another origin (img, srcset, script, iframe,
                     link rel=stylesheet/icon/preload..., object, video poster,
                     source, track, form action, meta refresh, CSS url()/@import)
  protocol-relative  a //host URL
  inline-script      <script> without src
  event-handler      an on*= attribute
  javascript-url     a javascript: URL
  inline-style       a style= attribute (the CSP has no 'unsafe-inline')
  style-element      a <style> element
  data-url           a data: or blob: resource (the CSP allows only 'self')
  mixed-content      http: to the site's own origin when --origin is https

Any of these makes depot exit 1. Plain <a href> links to other sites load
nothing and are allowed; --links lists them. Symlinks are not followed.
Without --origin, absolute URLs to the site's own address count as another
origin.`,
		Example: `  depot site audit /srv/www --origin https://www.example.org
  depot site audit public/ --links
  depot site audit public/ --json | jq '.findings[] | .file'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := site.Audit(args[0], opts)
			if err != nil {
				if errors.Is(err, site.ErrOrigin) {
					return usagef("%v", err)
				}
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				writeAuditTable(out, rep)
			}
			if !rep.OK() {
				return fmt.Errorf("%s: %d problem(s) in %d HTML and CSS files; fix each file:line listed", args[0], len(rep.Findings), rep.Files)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Origin, "origin", "", "the site's public address, such as https://www.example.org")
	cmd.Flags().BoolVar(&opts.Links, "links", false, "also list outbound links to other sites (never errors)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// writeAuditTable prints a report for people: one row per finding.
func writeAuditTable(w io.Writer, rep site.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(f site.Finding) {
		where := f.Element
		if f.Attr != "" {
			where += "[" + f.Attr + "]"
		}
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%s\n", f.File, f.Line, f.Rule, where, f.URL, f.Message)
	}
	if len(rep.Findings)+len(rep.Links) > 0 {
		fmt.Fprintln(tw, "FILE:LINE\tRULE\tELEMENT\tURL\tWHAT TO DO")
	}
	for _, f := range rep.Findings {
		row(f)
	}
	for _, f := range rep.Links {
		row(f)
	}
	tw.Flush()
	if rep.OK() {
		fmt.Fprintf(w, "%s: %d HTML and CSS files, no third-party resources, scripts or inline styles\n", rep.Dir, rep.Files)
	}
}
