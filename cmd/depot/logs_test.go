package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runDepot(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestLogsPruneAndSearch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("access.log.1", `203.0.113.7 - - [31/Aug/2026:23:59:59 +0000] "GET /old HTTP/1.1" 200 1 "-" "-"`+"\n"+
		`203.0.113.7 - - [01/Sep/2026:00:00:00 +0000] "GET /new HTTP/1.1" 404 1 "-" "-"`+"\n")
	write("access.log", `2001:db8::1 - - [29/Nov/2026:04:28:39 +0000] "GET /x HTTP/1.1" 200 1 "-" "-"`+"\n")

	out, _, err := runDepot(t, "logs", "prune", "--dir", dir, "--now", "2026-11-30", "--dry-run")
	if err != nil || !strings.Contains(out, "would rewrite "+filepath.Join(dir, "access.log.1")+": removed 1 lines of 2026-08, kept 1") {
		t.Fatalf("dry run: err %v, output %q", err, out)
	}
	out, _, err = runDepot(t, "logs", "search", "--dir", dir, "--status", "4xx")
	if err != nil || !strings.Contains(out, "GET /new") || strings.Contains(out, "/x") {
		t.Fatalf("search: err %v, output %q", err, out)
	}
	out, _, err = runDepot(t, "logs", "search", "--dir", dir, "--ip", "2001:db8::/64", "--json")
	if err != nil || !strings.Contains(out, `"time":"2026-11-29T04:28:39Z","log":"access"`) {
		t.Fatalf("search --json: err %v, output %q", err, out)
	}
	if _, _, err = runDepot(t, "logs", "prune", "--dir", dir, "--now", "2026-11-30"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "access.log.1"))
	if strings.Contains(string(b), "/old") || !strings.Contains(string(b), "/new") {
		t.Errorf("after prune access.log.1 holds %q", b)
	}
}

func TestLogsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"logs", "prune"},
		{"logs", "prune", "--dir", dir, "--config", "x.toml"},
		{"logs", "prune", "--dir", dir, "--now", "1 Dec"},
		{"logs", "search", "--dir", dir, "--ip", "203.0.113"},
		{"logs", "search", "--dir", dir, "--since", "yesterday"},
		{"logs", "search", "--dir", dir, "--status", "6xx"},
		{"logs", "search", "--dir", dir, "--path", "("},
	} {
		if code := run(args); code != 2 {
			t.Errorf("depot %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}

// depot logs pseudonymise on the shared case: it says which months it
// rewrote and how many lines, search then says those months hold no
// addresses, and usage errors exit 2.
func TestLogsPseudonymise(t *testing.T) {
	dir := t.TempDir()
	for src, dst := range map[string]string{"access.log.2": "access.log-20260930", "access.log.1": "access.log-20261031", "access.log": "access.log"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "qubes-method", "logs", src))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, dst), b, 0o640)
	}
	exits := filepath.Join("..", "..", "testdata", "qubes-method", "exit-lists")
	args := []string{"logs", "pseudonymise", "--dir", dir, "--exit-lists", exits, "--now", "2026-12-15"}

	out, _, err := runDepot(t, append(args, "--dry-run")...)
	if err != nil || !strings.Contains(out, "would pseudonymise 2026-09: 1963 lines in 1 files\n") {
		t.Fatalf("dry run: err %v, output %q", err, out)
	}
	out, errOut, err := runDepot(t, args...)
	if err != nil || !strings.Contains(out, "pseudonymised 2026-09: 1963 lines in 1 files\npseudonymised 2026-10: 1953 lines in 1 files\n") ||
		!strings.Contains(errOut, "note: "+filepath.Join(dir, "access.log")+": 1964 lines of 2026-11 hold client addresses, but the file is being written") {
		t.Fatalf("err %v, output %q, errors %q", err, out, errOut)
	}
	out, _, err = runDepot(t, args...)
	if err != nil || !strings.Contains(out, "nothing to pseudonymise (months before 2026-12 are settled)") {
		t.Fatalf("second run: err %v, output %q", err, out)
	}

	out, errOut, err = runDepot(t, "logs", "search", "--dir", dir, "--ip", "5.97.243.63", "--until", "2026-10-31")
	if err != nil || out != "" || !strings.Contains(errOut, "note: 2026-10 was pseudonymised on 2026-12-15: its lines hold pseudonyms, not client addresses") ||
		!strings.Contains(errOut, "note: 2026-09 was") {
		t.Fatalf("search: err %v, output %q, errors %q", err, out, errOut)
	}
	_, errOut, _ = runDepot(t, "logs", "search", "--dir", dir, "--ip", "5.97.243.63", "--since", "2026-11-01")
	if strings.Contains(errOut, "pseudonymised") {
		t.Errorf("a search of November only notes pseudonymised months: %q", errOut)
	}

	for _, bad := range [][]string{
		{"logs", "pseudonymise", "--dir", dir},
		{"logs", "pseudonymise", "--dir", dir, "--exit-lists", exits, "--now", "15 Dec"},
		{"logs", "pseudonymise", "--dir", dir, "--exit-lists", exits, "--after", "1h"},
		{"logs", "pseudonymise"},
	} {
		if code := run(bad); code != 2 {
			t.Errorf("depot %s: exit %d, want 2", strings.Join(bad, " "), code)
		}
	}
}
