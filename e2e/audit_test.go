package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditPassesOnAKeptPolicy runs depot audit against a running depot
// whose configuration keeps the policy.
func TestAuditPassesOnAKeptPolicy(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("<!DOCTYPE html><title>x</title>"))
	d := startDepot(t, serveConfig(t, root))
	out := runOK(t, ".", depotBin, "audit", "--config", filepath.Join(d.Dir, "depot.toml"))
	for _, want := range []string{"PASS  onion-not-logged", "PASS  clearnet-logged", "PASS  retention-enforced", "checks: "} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
}

// TestAuditFailsWhenAPromiseIsBroken audits a server whose "onion"
// listener in fact logs (the audit's configuration says onion = true for
// a port that the running server treats as clearnet), and whose site loads
// a script from a CDN.
func TestAuditFailsWhenAPromiseIsBroken(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte(`<!DOCTYPE html><title>x</title><script src="https://cdn.example.net/x.js"></script>`))
	logs := t.TempDir()
	clear, fake := freeAddr(t), freeAddr(t)
	serving := "log_dir = \"" + logs + "\"\ndata_dir = \"" + logs + "\"\n[[listen]]\naddress = \"" + clear + "\"\n[[listen]]\naddress = \"" + fake + "\"\n[[site]]\nhosts = [\"*\"]\nroot = \"" + root + "\"\n"
	startDepot(t, serving)

	audited := filepath.Join(t.TempDir(), "audited.toml")
	if err := os.WriteFile(audited, []byte(strings.Replace(serving, "address = \""+fake+"\"", "address = \""+fake+"\"\nonion = true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runErr(".", depotBin, "audit", "--config", audited)
	if err == nil {
		t.Fatalf("audit passed a server that logs its onion listener:\n%s", out)
	}
	for _, want := range []string{"FAIL  onion-not-logged", "onion requests were logged in", "FAIL  site[0]-local-resources", "cdn.example.net"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
}

// TestAuditFailsOnLogsKeptTooLong: a log file older than three months in
// log_dir fails the retention check. (Offline: a running depot serve would
// prune the file at start, which is the point of it.)
func TestAuditFailsOnLogsKeptTooLong(t *testing.T) {
	root, logs := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(logs, "access.log-20250101"), []byte(`198.51.100.1 - - [01/Jan/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 4 "-" "x"`+"\n"))
	file := filepath.Join(t.TempDir(), "depot.toml")
	writeFile(t, file, []byte("log_dir = \""+logs+"\"\ndata_dir = \""+logs+"\"\n[[listen]]\naddress = \"127.0.0.1:1\"\n[[site]]\nhosts = [\"*\"]\nroot = \""+root+"\"\n"))
	out, err := runErr(".", depotBin, "audit", "--offline", "--config", file)
	if err == nil {
		t.Fatalf("audit passed a log directory holding 2025-01 lines:\n%s", out)
	}
	for _, want := range []string{"FAIL  retention-enforced", "access.log-20250101", "2025-01", "depot logs prune"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
}
