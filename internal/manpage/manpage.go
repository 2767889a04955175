// Package manpage renders depot's cobra commands as man pages (roff, the
// man macros): one page per command, from its Use, Short, Long, Example and
// flags, so the pages never drift from --help.
//
// It returns text; it never writes a file.
package manpage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Page is one man page.
type Page struct {
	Name string // file name, e.g. "depot-stats-update.1"
	Text string
}

// Render returns the page of root and of every visible command below it,
// parents first. source is the footer's source, e.g. "depot 1.2.0".
func Render(root *cobra.Command, source string) []Page {
	var pages []Page
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		pages = append(pages, Page{Name: pageName(c) + ".1", Text: render(c, source)})
		for _, sub := range visible(c) {
			walk(sub)
		}
	}
	walk(root)
	return pages
}

func visible(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" && sub.Name() != "completion" {
			out = append(out, sub)
		}
	}
	return out
}

// pageName is the command path joined by '-': "depot-stats-update".
func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

func render(c *cobra.Command, source string) string {
	var b strings.Builder
	name := pageName(c)
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s\" \"depot manual\"\n", strings.ToUpper(escape(name)), escape(source))
	b.WriteString(".nh\n.ad l\n") // no hyphenation: names and options are copied
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", escape(name), escape(c.Short))

	b.WriteString(".SH SYNOPSIS\n")
	use := c.UseLine()
	if c.HasAvailableSubCommands() && !c.Runnable() {
		use = c.CommandPath() + " COMMAND"
	}
	path := c.CommandPath()
	fmt.Fprintf(&b, ".B %s\n", escape(path))
	if rest := strings.TrimSpace(strings.TrimPrefix(use, path)); rest != "" {
		b.WriteString(escape(rest) + "\n")
	}

	if c.Long != "" || c.Short != "" {
		b.WriteString(".SH DESCRIPTION\n")
		text := c.Long
		if text == "" {
			text = c.Short
		}
		paragraphs(&b, text)
	}

	var flags []*pflag.Flag
	collect := func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			flags = append(flags, f)
		}
	}
	c.NonInheritedFlags().VisitAll(collect)
	c.InheritedFlags().VisitAll(collect)
	if len(flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, f := range flags {
			varname, usage := pflag.UnquoteUsage(f)
			b.WriteString(".TP\n")
			if f.Shorthand != "" {
				fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", escape(f.Shorthand))
			}
			fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", escape(f.Name))
			if varname != "" {
				fmt.Fprintf(&b, " \\fI%s\\fR", escape(varname))
			}
			b.WriteString("\n")
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
			b.WriteString(line(usage) + "\n")
		}
	}

	if subs := visible(c); len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range subs {
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR(1)\n%s\n", escape(pageName(sub)), line(sub.Short))
		}
	}

	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n.RS 2\n")
		for _, l := range strings.Split(strings.TrimRight(c.Example, "\n"), "\n") {
			b.WriteString(line(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".RE\n.fi\n")
	}

	b.WriteString(".SH EXIT STATUS\n0 on success, 1 on a failure to act on, 2 on bad usage.\n")

	var see []string
	if p := c.Parent(); p != nil {
		see = append(see, pageName(p))
	}
	for _, sub := range visible(c) {
		see = append(see, pageName(sub))
	}
	if c.Parent() == nil {
		see = append(see, "systemd.unit")
	}
	slices.Sort(see)
	b.WriteString(".SH SEE ALSO\n")
	for i, s := range see {
		sep := ","
		if i == len(see)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, ".BR %s (1)%s\n", escape(s), sep)
	}
	return b.String()
}

// paragraphs writes text, whose paragraphs are separated by blank lines,
// as filled roff paragraphs; indented lines are kept as they are.
func paragraphs(b *strings.Builder, text string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		lines := strings.Split(para, "\n")
		literal := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  ") })
		if literal {
			b.WriteString(".nf\n")
		}
		for _, l := range lines {
			b.WriteString(line(l) + "\n")
		}
		if literal {
			b.WriteString(".fi\n")
		}
	}
}

// line escapes one line of text so that roff prints it as it is.
func line(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// escape makes s literal in roff: backslashes printed, hyphens not turned
// into typographic ones (which would break copied options), and characters
// beyond ASCII named by code point, which every troff reads.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
