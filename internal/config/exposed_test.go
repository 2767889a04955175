package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesPrivatePathsInsideASiteRoot: log_dir, data_dir or a
// [stats] logs path inside a site root would be served to anyone; the
// error names both keys.
func TestLoadRefusesPrivatePathsInsideASiteRoot(t *testing.T) {
	tests := []struct {
		name  string
		extra string // top-level keys before minimal
		stats string // a [stats] table after it
		want  []string
	}{
		{"log_dir under the root", `log_dir = "www/logs"`, "", []string{"log_dir:", "inside site[0].root", "www/logs", "move log_dir out of every site root"}},
		{"log_dir is the root", `log_dir = "www"`, "", []string{"log_dir:", "inside site[0].root"}},
		{"data_dir under the root", `data_dir = "www/state"` + "\nlog_dir = \"logs\"", "", []string{"data_dir:", "inside site[0].root"}},
		{"stats logs under the root", `log_dir = "logs"` + "\ndata_dir = \"data\"", "[stats]\nlogs = [\"www/old/access*.log\"]\n", []string{"stats.logs[0]:", "inside site[0].root"}},
		{"stats glob with a pattern directory", `log_dir = "logs"` + "\ndata_dir = \"data\"", "[stats]\nlogs = [\"www/*/access.log\"]\n", []string{"stats.logs[0]:", "inside site[0].root"}},
		{"beside the root", `log_dir = "logs"` + "\ndata_dir = \"data\"", "[stats]\nlogs = [\"logs/access*.log*\"]\n", nil},
		{"a sibling with the root's name as prefix", `log_dir = "www-logs"` + "\ndata_dir = \"data\"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoad(t, tt.extra+"\n"+minimalNoDirs+tt.stats, tt.want)
		})
	}
}

// TestLoadRefusesALogDirReachedThroughASymlink: the root is a symlink to a
// directory that holds log_dir, or log_dir is a symlink into the root; both
// are resolved before comparing.
func TestLoadRefusesALogDirReachedThroughASymlink(t *testing.T) {
	t.Run("root symlinked over the log directory's parent", func(t *testing.T) {
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "var", "logs"))
		if err := os.Symlink(filepath.Join(dir, "var"), filepath.Join(dir, "site")); err != nil {
			t.Fatal(err)
		}
		body := "log_dir = \"var/logs\"\ndata_dir = \"data\"\n[[listen]]\naddress = \"127.0.0.1:8080\"\n[[site]]\nhosts = [\"*\"]\nroot = \"site\"\n"
		_, err := Load(writeIn(t, dir, body))
		if err == nil || !strings.Contains(err.Error(), "log_dir:") || !strings.Contains(err.Error(), "site[0].root") || !strings.Contains(err.Error(), "after following symlinks") {
			t.Fatalf("got %v, want log_dir inside site[0].root after following symlinks", err)
		}
	})
	t.Run("log_dir a symlink into the root", func(t *testing.T) {
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "www", "hidden"))
		if err := os.Symlink(filepath.Join(dir, "www", "hidden"), filepath.Join(dir, "logs")); err != nil {
			t.Fatal(err)
		}
		body := "log_dir = \"logs\"\ndata_dir = \"data\"\n" + minimalNoDirs
		_, err := Load(writeIn(t, dir, body))
		if err == nil || !strings.Contains(err.Error(), "log_dir:") || !strings.Contains(err.Error(), "www/hidden") {
			t.Fatalf("got %v, want log_dir resolved into www/hidden", err)
		}
	})
}

func TestResolveAndWithin(t *testing.T) {
	dir := t.TempDir()
	mustMkdir(t, filepath.Join(dir, "a"))
	if err := os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got, want := Resolve(filepath.Join(dir, "b", "not", "yet")), filepath.Join(real, "a", "not", "yet"); got != want {
		t.Errorf("Resolve = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		p, dir string
		want   bool
	}{
		{"/srv/www", "/srv/www", true},
		{"/srv/www/logs", "/srv/www", true},
		{"/srv/www-logs", "/srv/www", false},
		{"/srv", "/srv/www", false},
		{"/var/log", "/", true},
	} {
		if got := Within(tt.p, tt.dir); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.p, tt.dir, got, tt.want)
		}
	}
}

// TestLoadRefusesAnOnionLocationNoOnionListenerServes: Tor Browser sends
// the onion name as Host; a name in no site's hosts gets 404 there.
func TestLoadRefusesAnOnionLocationNoOnionListenerServes(t *testing.T) {
	const onion = "http://" + torProjectOnion
	const name = torProjectOnion
	const onionListener = "[[listen]]\naddress = \"127.0.0.1:8081\"\nonion = true\n"
	site := func(hosts, extra string) string {
		return "[[site]]\nhosts = [" + hosts + "]\nroot = \"www\"\n" + extra
	}
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"the README's example: name in no site's hosts", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + onionListener + site(`"www.example.org"`, "onion_location = \""+onion+"\"\n"),
			[]string{"site[0].onion_location", "in no site's hosts", "add \"" + name + "\" to site[0].hosts"}},
		{"no onion listener", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + site(`"www.example.org", "`+name+`"`, "onion_location = \""+onion+"\"\n"),
			[]string{"site[0].onion_location", "no onion listener"}},
		{"name answered by another site", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + onionListener + site(`"www.example.org"`, "onion_location = \""+onion+"\"\n") + site(`"*"`, ""),
			[]string{"site[0].onion_location", "get site[1], not this site"}},
		{"name in the site's hosts", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + onionListener + site(`"www.example.org", "`+name+`"`, "onion_location = \""+onion+"\"\n"), nil},
		{"the * site", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + onionListener + site(`"*"`, "onion_location = \""+onion+"\"\n"), nil},
		{"onion_base_url on the clearnet", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + site(`"*"`, "onion_base_url = \"https://yum.example.org/\"\n"),
			[]string{"site[0].onion_base_url", ".onion host"}},
		{"onion_base_url", "[[listen]]\naddress = \"127.0.0.1:8080\"\n" + site(`"*"`, "onion_base_url = \""+onion+"/repo/\"\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoad(t, tt.body, tt.want)
		})
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeIn(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "depot.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadForAudit: a configuration whose only problems are private paths
// inside a site root loads for the audit, which reports them; any other
// problem still stops it.
func TestLoadForAudit(t *testing.T) {
	p := writeConfig(t, "log_dir = \"www/logs\"\n"+minimalNoDirs)
	c, err := LoadForAudit(p)
	if err != nil || c == nil || len(c.Exposed()) != 1 {
		t.Fatalf("got %v, %v; want the configuration, with its one exposed path", c, err)
	}
	if _, err := Load(p); err == nil {
		t.Error("Load accepted log_dir inside the root")
	}
	p = writeConfig(t, "log_dir = \"www/logs\"\nretention_months = -1\n"+minimalNoDirs)
	if _, err := LoadForAudit(p); err == nil || !strings.Contains(err.Error(), "retention_months") {
		t.Errorf("got %v, want the other problem to stop the audit", err)
	}
	if _, err := LoadForAudit(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("a missing file loaded")
	}
}
