package main

import (
	"errors"
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
	os.WriteFile(good, []byte("[[listen]]\naddress = \"127.0.0.1:8080\"\n[[site]]\nhosts = [\"*\"]\nroot = \"www\"\n"), 0o644)
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
