package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMirrorsCommands runs import, check and status against a real
// origin tree and one fake mirror that serves a copy of it.
func TestMirrorsCommands(t *testing.T) {
	dir := t.TempDir()
	origin := filepath.Join(dir, "origin")
	repomd := filepath.Join(origin, "r1", "repodata", "repomd.xml")
	os.MkdirAll(filepath.Dir(repomd), 0o755)
	os.WriteFile(repomd, []byte(`<repomd><data><timestamp>5</timestamp></data></repomd>`), 0o644)
	mirror := httptest.NewServer(http.FileServer(http.Dir(origin)))
	defer mirror.Close()

	list := filepath.Join(dir, "mirrors.list")
	os.WriteFile(list, []byte("# test\n"+mirror.URL+"/\n"), 0o644)
	tables, _, err := runDepot(t, "mirrors", "import", list)
	if err != nil || !strings.Contains(tables, "[[mirror]]") {
		t.Fatalf("import: %v\n%s", err, tables)
	}
	conf := filepath.Join(dir, "depot.toml")
	os.WriteFile(conf, []byte(`log_dir = "`+dir+`/logs"
data_dir = "`+dir+`/data"
[[listen]]
address = "127.0.0.1:0"
[[site]]
hosts = ["*"]
root = "`+origin+`"
base_url = "https://origin.example/"
metalinks = true
`+tables), 0o644)

	if _, _, err := runDepot(t, "mirrors", "status", "--config", conf); err == nil || !strings.Contains(err.Error(), "mirrors check") {
		t.Errorf("status before any check: %v, want a hint to run check", err)
	}
	out, _, err := runDepot(t, "mirrors", "check", "--config", conf, "--timeout", "5s", "--strict")
	if err != nil || !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, " ok ") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	out, _, err = runDepot(t, "mirrors", "status", "--config", conf, "--json")
	if err != nil || !strings.Contains(out, `"status": "fresh"`) {
		t.Fatalf("status --json: %v\n%s", err, out)
	}

	// A state file that cannot be decoded is a warning on stderr, the same
	// for every command: it is moved aside and the command goes on from an
	// empty state.
	state := filepath.Join(dir, "data", "mirrors", "state.json")
	os.WriteFile(state, []byte("{not json"), 0o640)
	out, errOut, err := runDepot(t, "mirrors", "status", "--config", conf)
	if err != nil || !strings.Contains(errOut, "moved it to "+state+".corrupt") {
		t.Errorf("status of a corrupt state: %v\nstdout:\n%s\nstderr:\n%s\nwant a warning and exit 0", err, out, errOut)
	}
}

func TestMirrorsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"mirrors"},
		{"mirrors", "check"},
		{"mirrors", "status"},
		{"mirrors", "check", "--config", "x.toml", "--timeout", "-1s"},
	} {
		_, _, err := runDepot(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error (exit 2)", args, err)
		}
	}
	if _, _, err := runDepot(t, "mirrors", "import", "/nonexistent/list"); err == nil {
		t.Error("import of a missing file succeeded")
	}
}
