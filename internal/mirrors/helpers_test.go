package mirrors

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/responder"
)

// clock is a fake clock for tests that must not sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const repoPath = "r4.2/current/host/fc37/repodata/repomd.xml"

func repomd(ts int) string {
	return `<?xml version="1.0" encoding="UTF-8"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>` +
		itoa(ts) + `</revision><data type="primary"><timestamp>` + itoa(ts) + `</timestamp></data></repomd>`
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// write creates files (tree path → content) under dir, with mtime set to
// a distinct value per call so that a rewrite of the same size is seen.
func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyTree copies the origin to a mirror directory (a sync).
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// fixture is an origin tree, a configuration and a Service over them.
type fixture struct {
	root  string
	data  string
	cfg   *config.Config
	clock *clock
	svc   *Service
}

func newFixture(t testing.TB, files map[string]string, mirrors ...config.Mirror) *fixture {
	t.Helper()
	return newFixtureAt(t, newClock(), files, mirrors...)
}

// newFixtureAt is newFixture on a given clock, which several nodes share.
func newFixtureAt(t testing.TB, clk *clock, files map[string]string, mirrors ...config.Mirror) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{root: filepath.Join(dir, "origin"), data: filepath.Join(dir, "data"), clock: clk}
	if err := os.MkdirAll(fx.root, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, fx.root, files)
	fx.cfg = &config.Config{
		DataDir: fx.data,
		Site: []config.Site{{
			Hosts: []string{"*"}, Root: fx.root, BaseURL: "http://origin.example/",
			Metalinks: true, Redirect: true, RedirectMinSize: 1024, MirrorStatusPath: "/mirrors/",
		}},
		Mirror: mirrors,
	}
	fx.svc = fx.open(t, 2*time.Second)
	return fx
}

func (fx *fixture) open(t testing.TB, timeout time.Duration) *Service {
	t.Helper()
	svc, err := New(fx.cfg, Options{Now: fx.clock.Now, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func (fx *fixture) site() config.Site { return fx.cfg.Site[0] }

// get asks the site's responders for path, as a clearnet listener would;
// handled=false gives a 0 code.
func (fx *fixture) get(t testing.TB, target string, host string) *httptest.ResponseRecorder {
	t.Helper()
	return fx.respond(t, httptest.NewRequest(http.MethodGet, target, nil), host)
}

// getOnion is get as an onion listener would ask.
func (fx *fixture) getOnion(t testing.TB, target string, host string) *httptest.ResponseRecorder {
	t.Helper()
	return fx.respond(t, responder.WithOnion(httptest.NewRequest(http.MethodGet, target, nil)), host)
}

func (fx *fixture) respond(t testing.TB, req *http.Request, host string) *httptest.ResponseRecorder {
	t.Helper()
	target := req.URL.Path
	if host != "" {
		req.Host = host
	}
	rec := httptest.NewRecorder()
	for _, r := range fx.svc.Responders(fx.site()) {
		handled, err := r.Respond(rec, req)
		if err != nil {
			t.Errorf("%s: responder error: %v", target, err)
		}
		if handled {
			return rec
		}
	}
	rec.Code = 0
	return rec
}
