package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
)

// testServer is a running Server on loopback ports with a real site tree.
type testServer struct {
	srv      *Server
	cfg      *config.Config
	clearnet string // host:port
	onion    string // host:port
	root     string
	logDir   string
	done     chan error
	cancel   context.CancelFunc
}

// writeTree creates files (name → content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var defaultTree = map[string]string{
	"index.html": "<!DOCTYPE html><title>home</title>",
	"r4.2/current/host/fc37/repodata/repomd.xml": "<?xml version=\"1.0\"?><repomd/>",
	"r4.2/current/host/fc37/a-1.0.noarch.rpm":    "rpm-bytes",
	"deb/dists/bookworm/InRelease":               "Origin: demo\n",
	"deb/pool/main/h/hello_1.0_all.deb":          "deb-bytes",
	"iso/Qubes-R4.2.iso":                         strings.Repeat("0123456789", 1000),
	"iso/Qubes-R4.2.iso.asc":                     "-----BEGIN PGP SIGNATURE-----",
	"keys/KEY.gpg":                               "key",
	"meta/x.meta4":                               "<metalink/>",
	"meta/x.metalink":                            "<metalink/>",
	".git/config":                                "secret",
	"sub/.htpasswd":                              "secret",
	"listing/b.txt":                              "b",
	"listing/a <&>.txt":                          "a",
	"listing/dir/x":                              "x",
}

// startServer runs a server with one clearnet and one onion listener over
// a site at a fresh root. extra is appended to the [[site]] table.
func startServer(t testing.TB, siteExtra string, opts Options) *testServer {
	t.Helper()
	return startServerLogs(t, siteExtra, opts, "")
}

// startServerLogs is startServer with the logs in logDir ("" for a fresh
// directory).
func startServerLogs(t testing.TB, siteExtra string, opts Options, logDir string) *testServer {
	t.Helper()
	return startListenersLogs(t, []string{`address = "127.0.0.1:0"`, "address = \"127.0.0.1:0\"\nonion = true"}, siteExtra, opts, logDir)
}

// startListeners runs a server with the given [[listen]] tables (each the
// body of one table) over a site at a fresh root. The first listener is
// ts.clearnet and the second, if any, ts.onion.
func startListeners(t testing.TB, listeners []string, siteExtra string, opts Options) *testServer {
	t.Helper()
	return startListenersLogs(t, listeners, siteExtra, opts, "")
}

// startListenersLogs is startListeners with the logs in logDir ("" for a
// fresh directory).
func startListenersLogs(t testing.TB, listeners []string, siteExtra string, opts Options, logDir string) *testServer {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	writeTree(t, root, defaultTree)
	if logDir == "" {
		logDir = filepath.Join(dir, "logs")
	}
	toml := `log_dir = "` + logDir + `"
data_dir = "` + filepath.Join(dir, "data") + `"
`
	for _, l := range listeners {
		toml += "[[listen]]\n" + l + "\n"
	}
	toml += `[[site]]
hosts = ["*"]
root = "` + root + `"
` + siteExtra
	cfg, err := config.Parse(filepath.Join(dir, "depot.toml"), []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	// Two listeners on 127.0.0.1:0 look like duplicates to Validate, which
	// is right for real configurations; tests bind ephemeral ports instead.
	srv, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, cfg: cfg, root: root, logDir: logDir, done: make(chan error, 1), cancel: cancel}
	addrs := srv.Addrs()
	ts.clearnet = addrs[0].String()
	if len(addrs) > 1 {
		ts.onion = addrs[1].String()
	}
	go func() { ts.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	// The listeners accept from Listen on, but the connection set that
	// tests inspect exists once Serve has begun.
	waitFor(t, "Serve to begin", func() bool { return srv.conns.Load() != nil })
	return ts
}

// stop shuts the server down and waits for it; safe to call twice.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("server did not stop")
	}
}

func (ts *testServer) readLog(t testing.TB, name string) string {
	t.Helper()
	if err := ts.srv.access.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.errors.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ts.logDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get sends a GET through Go's client (which cleans nothing it need not).
func get(t testing.TB, addr, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw sends bytes on a fresh TCP connection and returns the status line of
// the answer ("" if the server closed without one).
func raw(t testing.TB, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		return ""
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func mustRequest(t testing.TB, target string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, "http://x"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = target
	r.RemoteAddr = "192.0.2.1:1234"
	return r
}

// readLogAfterStop reads a log file once the server has stopped and
// flushed it.
func (ts *testServer) readLogAfterStop(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ts.logDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStartServerReturnsAServingServer: tests that look at the server's
// connections (anyStarted, openConns) right after startServer must find
// them; Serve runs in a goroutine, so the helper waits for it.
func TestStartServerReturnsAServingServer(t *testing.T) {
	for range 20 {
		ts := startServer(t, "", Options{})
		if ts.srv.conns.Load() == nil {
			t.Fatal("startServer returned before Serve set up its connections")
		}
		ts.stop(t)
	}
}
