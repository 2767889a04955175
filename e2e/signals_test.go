package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGHUPReopensLogsAndReloads plays an external logrotate: the access
// log is moved away, SIGHUP makes depot write to a new file; then the
// configuration changes and SIGHUP applies it; a broken configuration is
// refused and the running one kept.
func TestSIGHUPReopensLogsAndReloads(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("one"))
	writeFile(t, filepath.Join(root, "dir", "f.txt"), []byte("f"))
	cfg := serveConfig(t, root)
	d := startDepot(t, cfg)
	file := filepath.Join(d.Dir, "depot.toml")

	if code, _ := get(t, http.DefaultClient, d.URL("/?before")); code != 200 {
		t.Fatalf("GET /: %d", code)
	}
	waitForLog(t, d.AccessLog(), "GET /?before", func(l logLine) bool { return strings.Contains(l.Request, "/?before") })

	rotated := d.AccessLog() + ".1"
	if err := os.Rename(d.AccessLog(), rotated); err != nil {
		t.Fatal(err)
	}
	signal(t, d, syscall.SIGHUP, "logs reopened")
	get(t, http.DefaultClient, d.URL("/?after"))
	waitForLog(t, d.AccessLog(), "GET /?after in the new file", func(l logLine) bool { return strings.Contains(l.Request, "/?after") })
	for _, l := range readLog(t, rotated) {
		if strings.Contains(l.Request, "/?after") {
			t.Errorf("a line written after SIGHUP went to the rotated file: %s", l.Raw)
		}
	}

	// autoindex = true → false takes effect on reload.
	if code, _ := get(t, http.DefaultClient, d.URL("/dir/")); code != 200 {
		t.Fatalf("before reload GET /dir/: %d, want 200 (autoindex)", code)
	}
	writeFile(t, file, []byte(strings.Replace(cfg, "autoindex = true", "autoindex = false", 1)))
	signal(t, d, syscall.SIGHUP, "configuration reloaded")
	if code, _ := get(t, http.DefaultClient, d.URL("/dir/")); code != http.StatusForbidden {
		t.Errorf("after reload GET /dir/: %d, want 403 (autoindex off)", code)
	}

	// A broken file is refused; depot keeps serving.
	writeFile(t, file, []byte(cfg+"\nbogus_key = 1\n"))
	signal(t, d, syscall.SIGHUP, "reload failed")
	if code, body := get(t, http.DefaultClient, d.URL("/")); code != 200 || body != "one" {
		t.Errorf("after a failed reload GET /: %d %q, want 200 \"one\"", code, body)
	}
	if !strings.Contains(d.Output(), "bogus_key") {
		t.Errorf("the failed reload does not name the bad key; output:\n%s", d.Output())
	}
}

// signal sends sig and waits until depot's output holds want.
func signal(t *testing.T, d *Depot, sig syscall.Signal, want string) {
	t.Helper()
	before := strings.Count(d.Output(), want)
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(d.Output(), want) == before {
		if time.Now().After(deadline) {
			t.Fatalf("after %v depot did not say %q within 5s; output:\n%s", sig, want, d.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
