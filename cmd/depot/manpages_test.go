package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"depot/internal/testtool"
)

// TestManPages writes every page and has groff format each with all
// warnings on: a page per visible command, none with a warning.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runDepot(t, "manpages", dir); err != nil {
		t.Fatal(err)
	}
	var want []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	walk(newRootCmd())
	for _, name := range []string{"depot.1", "depot-serve.1", "depot-stats-update.1", "depot-init.1", "depot-version.1"} {
		if !strings.Contains(strings.Join(want, " "), name) {
			t.Errorf("%s is not among the commands' pages %v", name, want)
		}
	}
	testtool.Need(t, "groff") // Debian package groff-base
	for _, name := range want {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("no page for %s: %v", name, err)
			continue
		}
		out, err := exec.Command("groff", "-man", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww %s: %v\n%s", name, err, out)
		}
		text, err := exec.Command("groff", "-man", "-Tutf8", "-P-cbou", p).Output()
		if err != nil || !strings.Contains(string(text), "EXIT STATUS") {
			t.Errorf("groff -man -Tutf8 %s: %v; no EXIT STATUS section", name, err)
		}
	}
}
