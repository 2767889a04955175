package e2e

import (
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"depot/internal/config"
	"depot/internal/demo"
	"depot/internal/testtool"
)

// TestDemo runs `depot serve` with no configuration, as the README tells a
// new user to: the embedded website on 127.0.0.1:8080, logged to
// ./depot-data/access.log, and on the onion listener 127.0.0.1:8081,
// logged nowhere.
//
// The demo's ports are fixed, and other tests or programs on the machine
// may hold them: depot runs in a network namespace of its own, where they
// are always free. Only where no namespace can be made (not root) does the
// test need the machine's own ports, and it skips when they are taken
// (never under CI=true, which runs as root).
func TestDemo(t *testing.T) {
	ns, nsErr := newNetns(t)
	client := http.DefaultClient
	if ns != nil {
		client = ns.Client()
	} else {
		for _, addr := range []string{demo.ClearnetAddress, demo.OnionAddress} {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				testtool.Missing(t, "no private network namespace (%v) and the demo's fixed address %s is taken: %v", nsErr, addr, err)
			}
			l.Close()
		}
	}
	work := t.TempDir()
	dataDir := filepath.Join(work, "depot-data")
	c, err := config.Parse("", demo.TOML(dataDir, filepath.Join(dataDir, "demo-root")))
	if err != nil {
		t.Fatal(err)
	}
	d := &Depot{Dir: work, Config: c, Addr: demo.ClearnetAddress, ns: ns}
	d.start(t, work, "serve")

	for _, want := range []string{demo.ClearnetAddress, demo.OnionAddress} {
		if !strings.Contains(d.Output(), want) {
			t.Errorf("depot serve does not say it serves %s; it printed:\n%s", want, d.Output())
		}
	}
	index, err := fs.ReadFile(demo.Tree(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, client, d.URL("/")); status != 200 || body != string(index) {
		t.Errorf("GET / = %d with %d bytes, want 200 and the embedded index.html (%d bytes)", status, len(body), len(index))
	}
	for _, path := range []string{"/style.css", "/KEY.asc", "/yum/r4.2/current/host/fc37/repodata/repomd.xml", "/deb/r4.2/vm/dists/bookworm/InRelease"} {
		if status, _ := get(t, client, d.URL(path)); status != 200 {
			t.Errorf("GET %s = %d, want 200", path, status)
		}
	}
	// autoindex: directories without index.html are listed.
	if status, body := get(t, client, d.URL("/yum/r4.2/current/host/fc37/")); status != 200 || !strings.Contains(body, "repodata") || !strings.Contains(body, "rpm") {
		t.Errorf("GET /yum/r4.2/current/host/fc37/ = %d, want 200 and a listing with repodata and rpm:\n%s", status, body)
	}

	assertOnionUnlogged(t, d, client, d.URL(""), client, "http://"+demo.OnionAddress)
	d.Stop(t)
	waitForLog(t, filepath.Join(dataDir, "access.log"), "GET /", func(l logLine) bool {
		return l.Request == "GET / HTTP/1.1" && l.Status == "200" && l.Size == strconv.Itoa(len(index))
	})
	assertNoMention(t, dataDir, onionProbe)
}
