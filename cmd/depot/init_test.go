package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/examples"
	"depot/examples/examplestest"
	"depot/internal/config"
)

func TestInit(t *testing.T) {
	dir := t.TempDir()
	const onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
	out, _, err := runDepot(t, "init", dir, "--domain", "Qubes-OS.org", "--yum", "packages.qubes-os.org", "--onion", "http://"+onion+"/")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "depot.toml")
	for _, want := range []string{"wrote " + file, "mirror.example.net", "next: depot check --config " + file} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "example.org") {
		t.Errorf("example.org is left in the file")
	}
	check := filepath.Join(t.TempDir(), "depot.toml")
	os.WriteFile(check, []byte(examplestest.Sandbox(t, text, filepath.Dir(check))), 0o644)
	c, err := config.Load(check)
	if err != nil {
		t.Fatalf("depot check refuses what init wrote: %v", err)
	}
	hosts := [][]string{{"www.qubes-os.org", "qubes-os.org", onion}, {"packages.qubes-os.org"}, {"deb.qubes-os.org"}}
	for i, want := range hosts {
		if got := c.Site[i].Hosts; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("site[%d].hosts = %q, want %q", i, got, want)
		}
	}
	if c.Site[0].OnionLocation != "http://"+onion {
		t.Errorf("onion_location %q", c.Site[0].OnionLocation)
	}
	if c.Site[1].BaseURL != "https://packages.qubes-os.org/" {
		t.Errorf("yum base_url %q", c.Site[1].BaseURL)
	}

	// Never overwrite: the second run fails (exit 1) and the file is intact.
	os.WriteFile(file, []byte("mine\n"), 0o644)
	if code := run([]string{"init", dir}); code != 1 {
		t.Errorf("init over an existing file: exit %d, want 1", code)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine\n" {
		t.Errorf("init changed an existing file: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".depot.toml.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// "-" prints the example itself without a flag.
	out, _, err = runDepot(t, "init", "-")
	if err != nil || out != examples.DepotTOML {
		t.Errorf("init - printed %d bytes (%v), want the example's %d", len(out), err, len(examples.DepotTOML))
	}
}

func TestInitRefusesBadNames(t *testing.T) {
	for _, args := range [][]string{
		{"--domain", "exa mple.org"},
		{"--domain", "example"},
		{"--www", `www.example.org"`},
		{"--onion", "tooshort.onion"},
		{"--deb", "abc.onion"},
	} {
		dir := t.TempDir()
		if code := run(append([]string{"init", dir}, args...)); code != 2 {
			t.Errorf("init %v: exit %d, want 2", args, code)
		}
		if _, err := os.Stat(filepath.Join(dir, "depot.toml")); err == nil {
			t.Errorf("init %v wrote a file", args)
		}
	}
}
