package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/testtool"
)

// TestTorrc checks `depot onion torrc` with the real tor: its lines must
// forward an onion service to the onion listener's socket, and tor must
// accept the file.
func TestTorrc(t *testing.T) {
	testtool.Need(t, "tor")
	dir := t.TempDir()
	cfg := serveConfig(t, t.TempDir())
	file := filepath.Join(dir, "depot.toml")
	writeFile(t, file, []byte(cfg))
	sock := ""
	for _, line := range strings.Split(cfg, "\n") {
		if s, ok := strings.CutPrefix(line, `address = "unix:`); ok {
			sock = strings.TrimSuffix(s, `"`)
		}
	}

	for _, tt := range []struct {
		name, hsDir string
		args        []string
	}{
		{"default directory", "/var/lib/tor/depot/", nil},
		{"--hidden-service-dir", filepath.Join(dir, "hs") + "/", []string{"--hidden-service-dir", filepath.Join(dir, "hs") + "/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			torrc := runOK(t, dir, depotBin, append([]string{"onion", "torrc", "--config", file}, tt.args...)...)
			for _, want := range []string{"HiddenServiceDir " + tt.hsDir, "HiddenServicePort 80 unix:" + sock} {
				if !hasLine(torrc, want) {
					t.Errorf("depot onion torrc printed no line %q:\n%s", want, torrc)
				}
			}
			path := filepath.Join(t.TempDir(), "torrc")
			// DataDirectory keeps tor away from the system's /var/lib/tor.
			writeFile(t, path, []byte(torrc+"DataDirectory "+filepath.Join(t.TempDir(), "tor-data")+"\n"))
			if out := runOK(t, dir, "tor", "--verify-config", "-f", path); !strings.Contains(out, "Configuration was valid") {
				t.Errorf("tor --verify-config did not say the configuration was valid:\n%s", out)
			}
		})
	}
}

func TestTorrcNoOnionListener(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "depot.toml")
	cfg := serveConfig(t, t.TempDir())
	cfg = strings.Replace(cfg, "onion = true", "", 1)
	writeFile(t, file, []byte(cfg))
	out, err := runErr(dir, depotBin, "onion", "torrc", "--config", file)
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 || !strings.Contains(out, "no onion listener") {
		t.Errorf("depot onion torrc on a configuration without onion listener: %v, output:\n%s\nwant exit 1 and an error naming the problem", err, out)
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// TestOnionNotLogged requests through the onion listener, a file and a
// missing path, and checks that no file depot wrote mentions them, while
// the same requests on the clearnet listener are logged.
func TestOnionNotLogged(t *testing.T) {
	www := t.TempDir()
	writeFile(t, filepath.Join(www, "index.html"), []byte("<!DOCTYPE html><title>t</title>hello\n"))
	d := startDepot(t, serveConfig(t, www))
	onion := unixClient(d.onionSocket(t))
	assertOnionUnlogged(t, d, http.DefaultClient, d.URL(""), onion, "http://onion.invalid")
	d.Stop(t)
	assertNoMention(t, d.Config.LogDir, onionProbe)
}

// onionSocket is the first onion listener's unix socket path.
func (d *Depot) onionSocket(t testing.TB) string {
	t.Helper()
	for _, l := range d.Config.Listen {
		if l.Onion && l.IsUnix() {
			return l.SocketPath()
		}
	}
	t.Fatal("the configuration has no unix onion listener")
	return ""
}

// onionProbe marks every request made through an onion listener.
var onionProbe = "onion-probe-" + randomHex()

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// assertOnionUnlogged makes the same requests on both listeners, a page
// and a missing file, and waits until the clearnet ones are logged, so that
// the onion ones would have been logged by then too.
func assertOnionUnlogged(t *testing.T, d *Depot, clear *http.Client, clearBase string, onion *http.Client, onionBase string) {
	t.Helper()
	clearProbe := "clearnet-probe-" + randomHex()
	for _, c := range []struct {
		client *http.Client
		base   string
		probe  string
	}{{onion, onionBase, onionProbe}, {clear, clearBase, clearProbe}} {
		if status, body := get(t, c.client, c.base+"/?"+c.probe); status != 200 || !strings.Contains(body, "<title>") {
			t.Errorf("GET %s/?%s = %d, want 200 and the index page", c.base, c.probe, status)
		}
		if status, _ := get(t, c.client, c.base+"/missing-"+c.probe); status != 404 {
			t.Errorf("GET %s/missing-%s = %d, want 404", c.base, c.probe, status)
		}
	}
	waitForLog(t, d.AccessLog(), "the clearnet probe", func(l logLine) bool {
		return l.Request == "GET /missing-"+clearProbe+" HTTP/1.1" && l.Status == "404"
	})
	// The error log is flushed on its own (within a second): wait for it.
	errorLog := filepath.Join(d.Config.LogDir, "error.log")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(errorLog)
		if strings.Contains(string(b), "client: 127.0.0.1") && strings.Contains(string(b), "missing-"+clearProbe) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("within 10s %s has no line with the clearnet 404's client address and path; it holds:\n%s", errorLog, b)
			break
		}
	}
	assertNoMention(t, d.Config.LogDir, onionProbe)
}

// assertNoMention fails if any file under dir contains s.
func assertNoMention(t testing.TB, dir, s string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			t.Errorf("%s mentions a request made through the onion listener (%s):\n%s", p, s, b)
		}
		return nil
	})
}
