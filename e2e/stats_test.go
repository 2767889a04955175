package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sharedCase is the statistics case with known answers (a copy of the
// project's shared case, kept in the repository so a clone tests alone).
const sharedCase = "../testdata/qubes-method"

// TestStatsPublished computes the shared case with `depot stats update`
// and has `depot serve` publish it at a site's stats_path: the page, the
// data file and the chart answer on clearnet and on the onion listener,
// and the onion requests leave no trace in the logs.
func TestStatsPublished(t *testing.T) {
	abs, err := filepath.Abs(sharedCase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("the shared case should be in the repository at testdata/qubes-method: %v", err)
	}
	data := filepath.Join(t.TempDir(), "stats.json")
	runOK(t, ".", depotBin, "stats", "update",
		"--logs", filepath.Join(abs, "logs", "access.log*"), "--exit-lists", filepath.Join(abs, "exit-lists"),
		"--data", data, "--month", "2026-09", "--month", "2026-10", "--month", "2026-11")

	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("home"))
	cfg := serveConfig(t, root) + "stats_path = \"/statistics/\"\n\n[stats]\ndata = \"" + data + "\"\n"
	d := startDepot(t, cfg)

	onion := unixClient(d.Config.Listen[1].SocketPath())
	published := map[string][]byte{}
	for _, c := range []struct{ path, ctype, has string }{
		{"/statistics/", "text/html", "2026-10"},
		{"/statistics/stats.json", "application/json", `"2026-09"`},
		{"/statistics/stats.svg", "image/svg+xml", "<svg"},
		{"/statistics/stats.png", "image/png", "PNG"},
	} {
		for name, client := range map[string]*http.Client{"clearnet": http.DefaultClient, "onion": onion} {
			resp, err := client.Get(d.URL(c.path + "?from=" + name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.has) {
				t.Errorf("%s GET %s: %d %q; want 200 %s holding %q", name, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.ctype, c.has)
			}
			published[c.path] = b
		}
	}
	assertNoAddress(t, published, filepath.Join(abs, "logs"))
	waitForLog(t, d.AccessLog(), "the statistics page", func(l logLine) bool { return strings.Contains(l.Request, "/statistics/stats.png?from=clearnet") })
	d.Stop(t)
	for _, l := range readLog(t, d.AccessLog()) {
		if strings.Contains(l.Request, "from=onion") {
			t.Errorf("an onion request was logged: %s", l.Raw)
		}
	}
}

// assertNoAddress fails if any published body holds a client address of
// the logs under logDir, or anything shaped like an IPv4 address: the
// policy publishes aggregates only.
func assertNoAddress(t *testing.T, published map[string][]byte, logDir string) {
	t.Helper()
	addrs := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(logDir, "access.log*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if a, _, ok := strings.Cut(line, " "); ok && strings.Count(a, ".") == 3 {
				addrs[a] = true
			}
		}
	}
	if len(addrs) < 100 {
		t.Fatalf("found only %d addresses in %s; the check below would prove little", len(addrs), logDir)
	}
	dotted := regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	for path, body := range published {
		if !strings.HasSuffix(path, ".png") {
			if m := dotted.Find(body); m != nil {
				t.Errorf("%s publishes %q, shaped like an address", path, m)
			}
		}
		for a := range addrs {
			if bytes.Contains(body, []byte(a)) {
				t.Errorf("%s publishes the client address %s", path, a)
			}
		}
	}
}
