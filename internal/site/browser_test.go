package site

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"depot/internal/testtool"
)

// chromiumOwnHosts are the exact hosts Chromium contacts by itself
// (component updates, network time, account sign-in) even with background
// networking disabled. Requests to them carry no page's Referer and are
// not the page's doing; they are logged, not counted. The list is exact
// hosts, so fonts.googleapis.com or www.google.com from a page still fail
// (TestBrowserCatchesLeaks proves it).
var chromiumOwnHosts = []string{
	"accounts.google.com", "clients1.google.com", "clients2.google.com",
	"update.googleapis.com", "optimizationguide-pa.googleapis.com",
	"content-autofill.googleapis.com", "safebrowsingohttpgateway.googleapis.com",
	"redirector.gvt1.com", "edgedl.me.gvt1.com", "android.clients.google.com",
}

// request is what the recording server saw.
type request struct {
	Method, URI, Host, Referer string
}

// siteHost is the site's name in the browser. It resolves nowhere (.test is
// reserved, RFC 6761): the site is reachable only through the recorder.
const siteHost = "site.depot.test"

// siteURL is the site's origin as the browser sees it.
const siteURL = "http://" + siteHost

// recorder is both the site's HTTP server and the browser's proxy for
// every destination, loopback included: a request the browser makes to
// any origin arrives here and is recorded, and only requests for the
// site's host are answered.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newRecorder(t testing.TB, site http.Handler) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, request{req.Method, req.RequestURI, req.Host, req.Referer()})
		r.mu.Unlock()
		if req.Method == http.MethodConnect || req.Host != r.host() {
			http.Error(w, "another origin: recorded and refused", http.StatusBadGateway)
			return
		}
		// Scripts are blocked by a CSP that forbids scripts and nothing
		// else, as Tor Browser's NoScript does. (Chromium's
		// --blink-settings=scriptEnabled=false also stops --dump-dom and
		// --screenshot from working.) The site's full CSP is not sent on
		// purpose: it would make the browser block a third-party load
		// before it reached us, hiding exactly what this test looks for.
		w.Header().Set("Content-Security-Policy", "script-src 'none'")
		site.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) host() string { return siteHost }

// take returns and forgets what was recorded.
func (r *recorder) take() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// foreign splits recorded requests into those to other origins that a
// page made and Chromium's own.
func (r *recorder) foreign(reqs []request) (page, own []request) {
	for _, q := range reqs {
		if q.Method != http.MethodConnect && q.Host == r.host() {
			continue
		}
		h := q.Host
		if q.Method == http.MethodConnect {
			h, _, _ = strings.Cut(q.URI, ":")
		} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
			h = h[:i]
		}
		if slices.Contains(chromiumOwnHosts, h) && !strings.HasPrefix(q.Referer, siteURL) {
			own = append(own, q)
		} else {
			page = append(page, q)
		}
	}
	return page, own
}

// load opens url in headless Chromium, through the
// recorder as proxy, and returns what the extra flag produced on stdout
// (the DOM for --dump-dom).
func load(t testing.TB, browser string, rec *recorder, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-default-apps", "--no-pings",
		"--user-data-dir=" + t.TempDir(),
		"--proxy-server=" + rec.srv.URL,
		// Send loopback through the proxy too, so nothing bypasses it.
		"--proxy-bypass-list=<-loopback>",
	}
	args = append(append(args, extra...), url)
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, browser, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, lastLines(errb.String(), 10))
	}
	return out.String()
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// builtSites builds the demo website and the test docs and serves them as
// one site: the demo at /, the docs under /docs/.
func builtSites(t testing.TB) http.Handler {
	t.Helper()
	demo, docs := build(t, "../demo/tree"), build(t, "testdata/docs")
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(demo)))
	mux.Handle("/docs/", http.StripPrefix("/docs", http.FileServer(http.Dir(docs))))
	return mux
}

// TestBrowserLoadsOnlyTheSite loads every built page in headless Chromium
// with scripts blocked and checks, from the server's own record, that the
// browser asked nothing of any other origin and that the page rendered.
func TestBrowserLoadsOnlyTheSite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	browser := testtool.Path(t, "chromium", "chromium-browser", "google-chrome")
	rec := newRecorder(t, builtSites(t))
	pages := []struct {
		path, title string
		wantFetched []string // paths the page must have loaded from the site
	}{
		{"/", "<title>depot demo</title>", []string{"/style.css"}},
		{"/privacy.html", "<title>Privacy - depot demo</title>", []string{"/style.css"}},
		{"/repositories.html", "<title>", []string{"/style.css"}},
		{"/docs/", "<title>Example project documentation</title>", []string{"/docs/style.css"}},
		{"/docs/guide/install.html", "<title>Installing the example</title>", []string{"/docs/style.css"}},
		{"/docs/guide/install.txt", "Back to the [index](../index.txt).", nil},
	}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			rec.take()
			dom := load(t, browser, rec, siteURL+p.path, "--dump-dom")
			if !strings.Contains(dom, p.title) {
				t.Errorf("the DOM dump lacks %q; got\n%s", p.title, dom)
			}
			reqs := rec.take()
			page, own := rec.foreign(reqs)
			for _, q := range page {
				t.Errorf("the page contacted another origin: %s %s (Host %s, Referer %q)", q.Method, q.URI, q.Host, q.Referer)
			}
			if len(own) > 0 {
				var hosts []string
				for _, q := range own {
					hosts = append(hosts, q.Host)
				}
				t.Logf("%d requests were Chromium's own, not the page's: %v", len(own), hosts)
			}
			var fetched []string
			proxied := false
			for _, q := range reqs {
				if q.Host == rec.host() && q.Method == http.MethodGet {
					u := strings.TrimPrefix(q.URI, siteURL)
					fetched = append(fetched, u)
					proxied = proxied || strings.HasPrefix(q.URI, "http://")
				}
			}
			if !proxied {
				t.Errorf("no request came through the proxy (got %v); the test would not see other origins", fetched)
			}
			for _, w := range append([]string{p.path}, p.wantFetched...) {
				if !slices.Contains(fetched, w) {
					t.Errorf("the browser did not fetch %s; it fetched %v", w, fetched)
				}
			}
		})
	}
}

// TestBrowserCatchesLeaks is the control: a page that loads from other
// origins must show up in the record, and its script must not run, or the
// test above proves nothing.
func TestBrowserCatchesLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	browser := testtool.Path(t, "chromium", "chromium-browser", "google-chrome")
	leaky := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!DOCTYPE html><title>leaky</title>
<script>document.title = "the script ran";</script>
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto">
<img src="http://tracker.example/pixel.gif">`))
	})
	rec := newRecorder(t, leaky)
	dom := load(t, browser, rec, siteURL+"/", "--dump-dom")
	if !strings.Contains(dom, "<title>leaky</title>") {
		t.Errorf("the page's script ran, or the page did not render; got\n%s", dom)
	}
	page, _ := rec.foreign(rec.take())
	var hosts []string
	for _, q := range page {
		hosts = append(hosts, q.Host)
	}
	for _, want := range []string{"fonts.googleapis.com:443", "tracker.example"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("the leak to %s was not recorded; recorded %v", want, hosts)
		}
	}
}

// TestBrowserScreenshot renders a built page to PNG. Set
// DEPOT_SITE_SCREENSHOT=/path/shot.png to keep it and look at it.
func TestBrowserScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	browser := testtool.Path(t, "chromium", "chromium-browser", "google-chrome")
	rec := newRecorder(t, builtSites(t))
	shot := filepath.Join(t.TempDir(), "shot.png")
	if p := os.Getenv("DEPOT_SITE_SCREENSHOT"); p != "" {
		shot = p
	}
	load(t, browser, rec, siteURL+"/docs/guide/install.html", "--screenshot="+shot, "--window-size=900,700", "--hide-scrollbars")
	b, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 5000 {
		t.Fatalf("screenshot %s: %d bytes, err %v; want a PNG of a rendered page", shot, len(b), err)
	}
	if page, _ := rec.foreign(rec.take()); len(page) != 0 {
		t.Errorf("rendering contacted other origins: %v", page)
	}
}
