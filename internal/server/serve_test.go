package server

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestServeFiles(t *testing.T) {
	ts := startServer(t, `autoindex = true
onion_location = "http://`+strings.Repeat("a", 56)+`.onion"
`, Options{})
	tests := []struct {
		name, path  string
		header      []string
		status      int
		contentType string
		body        string
	}{
		{name: "index", path: "/", status: 200, contentType: "text/html; charset=utf-8", body: "<!DOCTYPE html><title>home</title>"},
		{name: "repomd", path: "/r4.2/current/host/fc37/repodata/repomd.xml", status: 200, contentType: "application/xml"},
		{name: "rpm", path: "/r4.2/current/host/fc37/a-1.0.noarch.rpm", status: 200, contentType: "application/x-rpm", body: "rpm-bytes"},
		{name: "deb", path: "/deb/pool/main/h/hello_1.0_all.deb", status: 200, contentType: "application/vnd.debian.binary-package"},
		{name: "InRelease", path: "/deb/dists/bookworm/InRelease", status: 200, contentType: "text/plain; charset=utf-8"},
		{name: "iso", path: "/iso/Qubes-R4.2.iso", status: 200, contentType: "application/x-iso9660-image"},
		{name: "asc", path: "/iso/Qubes-R4.2.iso.asc", status: 200, contentType: "application/pgp-signature"},
		{name: "gpg", path: "/keys/KEY.gpg", status: 200, contentType: "application/pgp-keys"},
		{name: "meta4", path: "/meta/x.meta4", status: 200, contentType: "application/metalink4+xml"},
		{name: "metalink", path: "/meta/x.metalink", status: 200, contentType: "application/metalink+xml"},
		{name: "range", path: "/iso/Qubes-R4.2.iso", header: []string{"Range", "bytes=10-14"}, status: 206, body: "01234"},
		{name: "missing", path: "/r9.9/nothing", status: 404},
		{name: "dotgit", path: "/.git/config", status: 404},
		{name: "htpasswd", path: "/sub/.htpasswd", status: 404},
		{name: "dir without slash", path: "/listing", status: 301},
		{name: "no index, no autoindex for sub? listing on", path: "/listing/", status: 200, contentType: "text/html; charset=utf-8"},
		{name: "wrong host falls back to *", path: "/", header: []string{"Host", "other.example"}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, ts.clearnet, tt.path, tt.header...)
			b := body(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, b)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if tt.body != "" && b != tt.body {
				t.Errorf("body %q, want %q", b, tt.body)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q", got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self'") {
				t.Errorf("Content-Security-Policy %q", got)
			}
			if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
				t.Errorf("Set-Cookie %q: depot never sets cookies", c)
			}
			if resp.StatusCode == 404 && strings.Contains(b, ts.root) {
				t.Errorf("404 body %q reveals the root", b)
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	ts := startServer(t, "", Options{})
	const p = "/r4.2/current/host/fc37/repodata/repomd.xml"
	resp := get(t, ts.clearnet, p)
	body(t, resp)
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("ETag %q, Last-Modified %q: both must be set", etag, lm)
	}
	if r := get(t, ts.clearnet, p, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", r.StatusCode)
	}
	if r := get(t, ts.clearnet, p, "If-Modified-Since", lm); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: status %d, want 304", r.StatusCode)
	}
	if r := get(t, ts.clearnet, p, "If-None-Match", `"other"`); r.StatusCode != http.StatusOK {
		t.Errorf("stale ETag: status %d, want 200", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, "http://"+ts.clearnet+p, nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 || r.ContentLength != int64(len(defaultTree[p[1:]])) {
		t.Errorf("HEAD: status %d length %d", r.StatusCode, r.ContentLength)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+ts.clearnet+p, strings.NewReader("x"))
	if r, err = http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %v %v", r.StatusCode, err)
	}
}

func TestOnionLocation(t *testing.T) {
	onion := "http://" + strings.Repeat("b", 56) + ".onion"
	ts := startServer(t, `onion_location = "`+onion+`"`, Options{})
	if got := get(t, ts.clearnet, "/?q=1").Header.Get("Onion-Location"); got != onion+"/?q=1" {
		t.Errorf("clearnet HTML: Onion-Location %q, want %q", got, onion+"/?q=1")
	}
	if got := get(t, ts.clearnet, "/r4.2/current/host/fc37/repodata/repomd.xml").Header.Get("Onion-Location"); got != "" {
		t.Errorf("clearnet XML: Onion-Location %q, want none (HTML only)", got)
	}
	if got := get(t, ts.onion, "/").Header.Get("Onion-Location"); got != "" {
		t.Errorf("onion listener: Onion-Location %q, want none", got)
	}
}

func TestAutoindex(t *testing.T) {
	ts := startServer(t, "autoindex = true", Options{})
	b := body(t, get(t, ts.clearnet, "/listing/"))
	for _, want := range []string{`<a href="dir/">dir/</a>`, `<a href="a%20%3C&amp;%3E.txt">a &lt;&amp;&gt;.txt</a>`, `<a href="b.txt">`} {
		if !strings.Contains(b, want) {
			t.Errorf("listing lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(b, "<script") {
		t.Error("listing has a script")
	}
	if b := body(t, get(t, ts.clearnet, "/sub/")); strings.Contains(b, ".htpasswd") {
		t.Errorf("listing shows a hidden file:\n%s", b)
	}

	off := startServer(t, "", Options{})
	if r := get(t, off.clearnet, "/listing/"); r.StatusCode != http.StatusForbidden {
		t.Errorf("autoindex off: status %d, want 403", r.StatusCode)
	}
}

func TestAccessAndErrorLog(t *testing.T) {
	ts := startServer(t, "", Options{})
	body(t, get(t, ts.clearnet, "/r4.2/current/host/fc37/repodata/repomd.xml?countme=1", "User-Agent", `libdnf "x"`, "Referer", "http://ref/"))
	body(t, get(t, ts.clearnet, "/r9.9/x", "Host", "yum.example.org"))

	access := ts.readLog(t, "access.log")
	lines := strings.Split(strings.TrimSuffix(access, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("access.log has %d lines, want 2:\n%s", len(lines), access)
	}
	combined := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /r4\.2/current/host/fc37/repodata/repomd\.xml\?countme=1 HTTP/1\.1" 200 \d+ "http://ref/" "libdnf \\x22x\\x22"$`)
	if !combined.MatchString(lines[0]) {
		t.Errorf("access line\n%s\ndoes not match nginx combined format %s", lines[0], combined)
	}
	if !strings.Contains(lines[1], `"GET /r9.9/x HTTP/1.1" 404 `) {
		t.Errorf("404 line: %s", lines[1])
	}

	errs := ts.readLog(t, "error.log")
	want := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: \*\d+ open\(\) ".*/root/r9\.9/x" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: \*, request: "GET /r9\.9/x HTTP/1\.1", host: "yum\.example\.org"\n$`)
	if !want.MatchString(errs) {
		t.Errorf("error.log\n%s\ndoes not match %s", errs, want)
	}
}

func TestLogsFlushedOnShutdown(t *testing.T) {
	ts := startServer(t, "", Options{})
	for range 5 {
		body(t, get(t, ts.clearnet, "/"))
	}
	ts.stop(t)
	b, err := os.ReadFile(filepath.Join(ts.logDir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 5 {
		t.Errorf("after shutdown access.log has %d lines, want 5", n)
	}
}

// TestAutoindexListsOnlyServable: a listing shows what a click on each
// entry would serve, and nothing else: no symlink that leads out of the
// root, no symlink loop, no socket; a symlink within the root is listed
// with its target's size.
func TestAutoindexListsOnlyServable(t *testing.T) {
	ts := startServer(t, "autoindex = true", Options{})
	outside := filepath.Dir(ts.root)
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("1234567"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ts.root, "listing")
	for name, target := range map[string]string{
		"out-file":   filepath.Join(outside, "secret.txt"),
		"out-dir":    outside,
		"out-rel":    "../../secret.txt",
		"loop":       "loop",
		"dangling":   "nothing-here",
		"in-file":    "b.txt",
		"in-dir":     "dir",
		"in-abs-out": "/etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	b := body(t, get(t, ts.clearnet, "/listing/"))
	for _, name := range []string{"out-file", "out-dir", "out-rel", "loop", "dangling", "in-abs-out"} {
		if strings.Contains(b, name) {
			t.Errorf("listing shows %s, which the server would not serve:\n%s", name, b)
		}
	}
	for _, want := range []string{`<a href="in-file">in-file</a></td><td>`, `<a href="in-dir/">in-dir/</a>`} {
		if !strings.Contains(b, want) {
			t.Errorf("listing lacks %q:\n%s", want, b)
		}
	}
	if !regexp.MustCompile(`<a href="in-file">in-file</a></td><td>[^<]*</td><td>1</td>`).MatchString(b) {
		t.Errorf("in-file should be listed with its target's size, 1:\n%s", b)
	}
	for _, name := range []string{"in-file", "in-dir/"} {
		if r := get(t, ts.clearnet, "/listing/"+name); r.StatusCode != 200 {
			t.Errorf("GET /listing/%s: %d, want 200 (it is listed)", name, r.StatusCode)
		}
	}
}

// TestConnectionIDsUniquePerProcess: the "*N" of error lines numbers
// connections across every clearnet listener of the process, as nginx's
// connection numbers do; requests on one connection share its number.
func TestConnectionIDsUniquePerProcess(t *testing.T) {
	ts := startListeners(t, []string{`address = "127.0.0.1:0"`, `address = "127.0.0.1:0"`}, "", Options{})
	second := ts.srv.Addrs()[1].String()
	for _, addr := range []string{ts.clearnet, second, ts.clearnet, second} {
		rawFull(t, addr, "GET /missing-a HTTP/1.1\r\nHost: x\r\n\r\nGET /missing-b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	}
	errs := ts.readLog(t, "error.log")
	idRE := regexp.MustCompile(`(?m)^\S+ \S+ \[error\] \d+#0: \*(\d+) .*request: "GET /missing-(a|b) `)
	m := idRE.FindAllStringSubmatch(errs, -1)
	if len(m) != 8 {
		t.Fatalf("error.log has %d request lines, want 8:\n%s", len(m), errs)
	}
	seen := map[string]bool{}
	for i := 0; i < len(m); i += 2 {
		if m[i][1] != m[i+1][1] {
			t.Errorf("two requests of one connection have IDs *%s and *%s; want one", m[i][1], m[i+1][1])
		}
		if seen[m[i][1]] {
			t.Errorf("connection ID *%s is used by two connections:\n%s", m[i][1], errs)
		}
		seen[m[i][1]] = true
	}
}
