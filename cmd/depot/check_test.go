package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("log_dir = \"logs\"\ndata_dir = \"data\"\n[[listen]]\naddress = \"127.0.0.1:8080\"\n[[site]]\nhosts = [\"*\"]\nroot = \"www\"\n"), 0o644)
	os.WriteFile(bad, []byte("retention_months = 9\n[[listen]]\naddress = \"0.0.0.0:81\"\nonion = true\n[[site]]\nhosts = [\"*\"]\nroot = \"nowhere\"\n"), 0o644)

	out, _, err := runDepot(t, "check", "--config", good)
	if err != nil || !strings.Contains(out, "configuration is valid") {
		t.Errorf("check of a valid file: %v, %q", err, out)
	}
	_, _, err = runDepot(t, "check", "--config", bad)
	if err == nil {
		t.Fatal("check accepted an invalid file")
	}
	for _, want := range []string{bad, "listen[0].onion", "site[0].root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var ue usageError
	if _, _, err := runDepot(t, "check"); !errors.As(err, &ue) {
		t.Errorf("check without --config: %v, want a usage error (exit 2)", err)
	}
	if code := run([]string{"check", "--config", bad}); code != 1 {
		t.Errorf("exit status %d for an invalid file, want 1", code)
	}
	if code := run([]string{"check", "--no-such-flag"}); code != 2 {
		t.Errorf("exit status %d for an unknown flag, want 2", code)
	}
}

// TestCheckTLSAndACME: check says what serve would refuse about TLS and
// ACME, naming each key, and accepts an ACME configuration without
// contacting the CA (its URL does not resolve).
func TestCheckTLSAndACME(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "www"), 0o755)
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte(`[[listen]]
address = "127.0.0.1:8080"
redirect_https = true
[[listen]]
address = "127.0.0.1:8443"
acme = true
[[site]]
hosts = ["www.example.org"]
root = "www"
[acme]
ca = "https://ca.invalid/directory"
`), 0o644)
	os.WriteFile(bad, []byte(`[[listen]]
address = "127.0.0.1:8080"
redirect_https = true
hsts_max_age = 600
[[site]]
hosts = ["*"]
root = "www"
acme = true
[acme]
ca = "http://ca.example.org/directory"
`), 0o644)
	if out, _, err := runDepot(t, "check", "--config", good); err != nil || !strings.Contains(out, "configuration is valid") {
		t.Errorf("check of a valid ACME file: %v, %q", err, out)
	}
	_, _, err := runDepot(t, "check", "--config", bad)
	if err == nil {
		t.Fatal("check accepted an invalid file")
	}
	for _, want := range []string{"listen[0].redirect_https: no TLS listener", "listen[0].hsts_max_age: only TLS listeners",
		"site[0].acme: no TLS listener", `site[0].hosts: "*" cannot get a certificate by ACME`, "acme.ca:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestExitStatusByErrorType: the status follows from the error's type,
// never from its text: every wrong call exits 2, including an unknown or
// missing subcommand (cobra reports success for those on its own), and a
// failure whose message happens to read like cobra's ("invalid argument")
// exits 1.
func TestExitStatusByErrorType(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"logs", "bogus"}, 2},
		{[]string{"logs"}, 2},
		{[]string{"bogus"}, 2},
		{[]string{}, 2},
		{[]string{"site", "build", "only-one"}, 2},
		{[]string{"mirrors", "import"}, 2},
		{[]string{"check", "--no-such-flag"}, 2},
		{[]string{"check", "extra-arg", "--config", "x"}, 2},
		{[]string{"logs", "--help"}, 0},
		{[]string{"check", "--config", filepath.Join(dir, "missing.toml")}, 1},
	} {
		if got := run(tt.args); got != tt.want {
			t.Errorf("depot %s: exit %d, want %d", strings.Join(tt.args, " "), got, tt.want)
		}
	}
	if got := exitCode(fmt.Errorf("listen[1] unix:/x: %w", errors.New("bind: invalid argument"))); got != 1 {
		t.Errorf("a bind error that reads like a usage error: exit %d, want 1", got)
	}
}

// TestCheckProxyOnlyFile: docs/proxy.md tells readers to validate its
// [proxy] example, a file of its own, with depot check, which refused it
// (no [[listen]], no [[site]]). check now reads such a file as depot proxy
// does; the example itself is taken from the document.
func TestCheckProxyOnlyFile(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```toml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(example, "[proxy]") {
		t.Fatalf("docs/proxy.md has no ```toml block with [proxy]")
	}
	file := filepath.Join(t.TempDir(), "proxy.toml")
	os.WriteFile(file, []byte(example), 0o644)
	out, _, err := runDepot(t, "check", "--config", file)
	if err != nil || !strings.Contains(out, "valid for depot proxy") {
		t.Errorf("depot check of docs/proxy.md's example: %v, %q; want it valid for depot proxy", err, out)
	}
	// A proxy-only file with a mistake is refused with the key.
	os.WriteFile(file, []byte("[proxy]\nlisten = \"127.0.0.1:8082\"\nallow = [\"*\"]\n"), 0o644)
	if _, _, err := runDepot(t, "check", "--config", file); err == nil || !strings.Contains(err.Error(), "proxy.allow[0]") {
		t.Errorf("an open proxy-only file: %v, want proxy.allow[0] refused", err)
	}
}

// TestCheckPrintsPermissionWarnings: check prints config.PermissionWarnings
// (here a configuration anyone may rewrite) and still exits 0.
func TestCheckPrintsPermissionWarnings(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "www"), 0o755)
	file := filepath.Join(dir, "depot.toml")
	os.WriteFile(file, []byte("log_dir = \"logs\"\ndata_dir = \"data\"\n[[listen]]\naddress = \"127.0.0.1:8080\"\n[[site]]\nhosts = [\"*\"]\nroot = \"www\"\n"), 0o644)
	os.Chmod(file, 0o666)
	out, errOut, err := runDepot(t, "check", "--config", file)
	if err != nil || !strings.Contains(out, "configuration is valid") {
		t.Fatalf("check: %v, %q", err, out)
	}
	if !strings.Contains(errOut, "warning: config: "+file+" is writable by every user") || !strings.Contains(errOut, "chmod o-w") {
		t.Errorf("stderr %q; want the warning about the world-writable configuration and what to do", errOut)
	}
}
