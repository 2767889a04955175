package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/server/servertest"
	"depot/internal/testtool"
)

// The tests in this file run real HTTP/2 clients (curl, nghttp, h2load,
// Chromium) against depot serve's HTTPS listener, where depot's own
// HTTP/2 server (internal/h2) answers ALPN "h2".

// h2Site is a depot serving an HTTPS listener over a tree made for the
// clients: a page with a style sheet, a script and an image, and a large
// file.
type h2Site struct {
	d      *Depot
	cert   *servertest.Cert
	root   string
	big    []byte // /big.bin
	origin string // https://127.0.0.1:port
}

// h2Page is the page Chromium loads. Its script (same origin, as the
// Content-Security-Policy allows) reports, once everything has loaded,
// the protocol each resource came over, whether the style sheet applied
// and whether the image decoded.
const h2Page = `<!DOCTYPE html>
<html><head><title>h2</title><link rel="stylesheet" href="/style.css"><script src="/report.js"></script></head>
<body><p>served over HTTP/2</p><img src="/pixel.png" alt=""></body></html>
`

const h2Script = `window.addEventListener("load", function () {
  var entries = performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"));
  var lines = entries.map(function (e) { return "resource " + new URL(e.name).pathname + " " + e.nextHopProtocol; });
  lines.push("color " + getComputedStyle(document.body).color);
  lines.push("image " + document.querySelector("img").naturalWidth + "x" + document.querySelector("img").naturalHeight);
  var pre = document.createElement("pre");
  pre.id = "report";
  pre.textContent = lines.join("\n");
  document.body.appendChild(pre);
});
`

func startH2Site(t *testing.T, bigSize int) *h2Site {
	t.Helper()
	root := t.TempDir()
	s := &h2Site{root: root, cert: servertest.SelfSigned(t, t.TempDir())}
	writeFile(t, filepath.Join(root, "index.html"), []byte(h2Page))
	writeFile(t, filepath.Join(root, "style.css"), []byte("body { color: rgb(255, 0, 0); }\n"))
	writeFile(t, filepath.Join(root, "report.js"), []byte(h2Script))
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(1, 1, color.RGBA{R: 0x80, A: 0xff})
	var pix bytes.Buffer
	if err := png.Encode(&pix, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "pixel.png"), pix.Bytes())
	writeFile(t, filepath.Join(root, "repo", "repodata", "repomd.xml"), []byte(strings.Repeat("<repomd/>\n", 200)))
	s.big = make([]byte, bigSize)
	rng := rand.NewChaCha8([32]byte{'h', '2'})
	rng.Read(s.big)
	writeFile(t, filepath.Join(root, "big.bin"), s.big)
	s.d = startDepot(t, tlsServeConfig(t, root, s.cert, "", ""))
	s.origin = "https://" + s.d.Addr
	return s
}

// curl runs curl over HTTP/2 only (--http2 falls back to HTTP/1.1 when
// ALPN does not give h2: --http2 with a check of %{http_version}) with
// args, and returns the version and status it printed, the headers and
// the body.
func (s *h2Site) curl(t *testing.T, args ...string) (version, status string, header, body string) {
	t.Helper()
	dir := t.TempDir()
	hf, bf := filepath.Join(dir, "header"), filepath.Join(dir, "body")
	args = append([]string{"-sS", "--http2", "--cacert", s.cert.CertFile, "-D", hf, "-o", bf, "-w", "%{http_version} %{http_code}"}, args...)
	out := runStdout(t, dir, "curl", args...)
	version, status, _ = strings.Cut(out, " ")
	h, err := os.ReadFile(hf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bf)
	if err != nil && !os.IsNotExist(err) { // HEAD, 304: curl writes no file
		t.Fatal(err)
	}
	return version, status, string(h), string(b)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// headerValue is the value of the first header line named name (HTTP/2
// sends names in lower case).
func headerValue(header, name string) string {
	for _, l := range strings.Split(header, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestHTTP2Curl: curl over HTTP/2 gets what depot serves: GET, HEAD, a
// Range and several, a conditional GET with the ETag it was given,
// --compressed (depot sends the file as it is), a 404 and a directory's
// redirect; every request is logged as HTTP/2.0.
func TestHTTP2Curl(t *testing.T) {
	testtool.Need(t, "curl")
	s := startH2Site(t, 1<<20)
	page := h2Page
	version, status, header, body := s.curl(t, s.origin+"/index.html")
	if version != "2" || status != "200" || body != page {
		t.Fatalf("GET: HTTP/%s %s, %d bytes; want HTTP/2 200 with the page\n%s", version, status, len(body), header)
	}
	etag := headerValue(header, "etag")
	if etag == "" || headerValue(header, "content-length") != strconv.Itoa(len(page)) {
		t.Fatalf("GET: no ETag or a wrong Content-Length:\n%s", header)
	}
	for _, tt := range []struct {
		name         string
		args         []string
		status, body string
		header       map[string]string
	}{
		{"HEAD", []string{"-I", s.origin + "/index.html"}, "200", "",
			map[string]string{"content-length": strconv.Itoa(len(page)), "etag": etag}},
		{"Range", []string{"-r", "2-5", s.origin + "/index.html"}, "206", page[2:6],
			map[string]string{"content-range": "bytes 2-5/" + strconv.Itoa(len(page)), "content-length": "4"}},
		{"Range of the large file", []string{"-r", "1000000-", s.origin + "/big.bin"}, "206", string(s.big[1000000:]),
			map[string]string{"content-range": fmt.Sprintf("bytes 1000000-%d/%d", len(s.big)-1, len(s.big))}},
		{"If-None-Match", []string{"-H", "If-None-Match: " + etag, s.origin + "/index.html"}, "304", "",
			map[string]string{"etag": etag, "content-length": ""}},
		{"If-None-Match, another tag", []string{"-H", `If-None-Match: "other"`, s.origin + "/index.html"}, "200", page, nil},
		{"compressed", []string{"--compressed", s.origin + "/index.html"}, "200", page,
			map[string]string{"content-encoding": "", "content-length": strconv.Itoa(len(page))}},
		{"missing", []string{s.origin + "/nothing-here"}, "404", "404 Not Found\n", nil},
		{"directory", []string{s.origin + "/repo"}, "301", `<a href="/repo/">Moved Permanently</a>.` + "\n\n", map[string]string{"location": "/repo/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			version, status, header, body := s.curl(t, tt.args...)
			if version != "2" || status != tt.status {
				t.Fatalf("HTTP/%s %s, want HTTP/2 %s\n%s", version, status, tt.status, header)
			}
			if tt.args[0] == "-I" {
				body = strings.TrimPrefix(body, header) // curl writes the headers there too
			}
			if body != tt.body {
				t.Errorf("body of %d bytes (%.40q), want %d (%.40q)", len(body), body, len(tt.body), tt.body)
			}
			for k, want := range tt.header {
				if got := headerValue(header, k); got != want {
					t.Errorf("%s: %q, want %q\n%s", k, got, want, header)
				}
			}
		})
	}
	// Several ranges: a multipart answer whose parts are the ranges.
	_, status, header, body = s.curl(t, "-r", "0-1,4-6", s.origin+"/index.html")
	ct := headerValue(header, "content-type")
	if status != "206" || !strings.HasPrefix(ct, "multipart/byteranges; boundary=") ||
		!strings.Contains(body, "Content-Range: bytes 0-1/"+strconv.Itoa(len(page))+"\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+page[0:2]+"\r\n") ||
		!strings.Contains(body, "Content-Range: bytes 4-6/"+strconv.Itoa(len(page))+"\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+page[4:7]+"\r\n") {
		t.Errorf("two ranges: %s %s\n%s\n%q", status, ct, header, body)
	}
	waitForLog(t, s.d.AccessLog(), "the multipart request", func(l logLine) bool {
		return l.Request == "GET /index.html HTTP/2.0" && l.Status == "206" && strings.HasPrefix(l.UserAgent, "curl/")
	})
	for _, l := range readLog(t, s.d.AccessLog()) {
		if !strings.HasSuffix(l.Request, " HTTP/2.0") {
			t.Errorf("a request not over HTTP/2: %s", l.Raw)
		}
	}
	waitForLog(t, s.d.AccessLog(), "the HEAD", func(l logLine) bool {
		return l.Request == "HEAD /index.html HTTP/2.0" && l.Status == "200" && l.Size == "0"
	})
}

// nghttpProblems are what nghttp prints when a server breaks the
// protocol, resets a stream or leaves: none may appear.
var nghttpProblems = regexp.MustCompile(`(?i)PROTOCOL_ERROR|FLOW_CONTROL_ERROR|FRAME_SIZE_ERROR|COMPRESSION_ERROR|INTERNAL_ERROR|STREAM_CLOSED|recv RST_STREAM|recv GOAWAY|\[ERROR\]|Some requests were not processed`)

// TestHTTP2Nghttp: nghttp, which checks every frame it receives, finds
// nothing wrong in depot's frames (-v prints them, and its errors); it
// gets a page and the assets it links (-a), 100 streams at once on one
// connection (-m 100), and a large file through windows of 1 KiB per
// stream and 64 KiB for the connection, which take many WINDOW_UPDATEs.
func TestHTTP2Nghttp(t *testing.T) {
	testtool.Need(t, "nghttp")
	s := startH2Site(t, 8<<20)
	dir := t.TempDir()
	nghttp := func(args ...string) string {
		t.Helper()
		out := runOK(t, dir, "nghttp", args...)
		if m := nghttpProblems.FindString(out); m != "" {
			t.Errorf("nghttp %s printed %q:\n%s", strings.Join(args, " "), m, lastLines(out, 40))
		}
		return out
	}

	out := nghttp("-nv", s.origin+"/index.html")
	for _, want := range []string{
		"recv SETTINGS frame", "; ACK", ":status: 200", "content-length: " + strconv.Itoa(len(h2Page)),
		"recv DATA frame <length=" + strconv.Itoa(len(h2Page)) + ", flags=0x01", "; END_STREAM",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nghttp -nv lacks %q:\n%s", want, lastLines(out, 40))
		}
	}

	out = nghttp("-nas", s.origin+"/index.html")
	for _, p := range []string{"/index.html", "/style.css", "/report.js", "/pixel.png"} {
		if !regexp.MustCompile(`(?m) 200 +\S+ ` + regexp.QuoteMeta(p) + `$`).MatchString(out) {
			t.Errorf("nghttp -a did not get %s with 200:\n%s", p, out)
		}
	}

	out = nghttp("-ns", "-m", "100", s.origin+"/repo/repodata/repomd.xml")
	if n := len(regexp.MustCompile(`(?m) 200 +\S+ /repo/repodata/repomd.xml$`).FindAllString(out, -1)); n != 100 {
		t.Errorf("nghttp -m 100: %d answers of 200 with the file, want 100:\n%s", n, lastLines(out, 20))
	}

	// -w 10 -W 16: a stream window of 1 KiB, a connection window of 64
	// KiB: 8 MiB in 1 KiB frames, each one given back by WINDOW_UPDATE.
	body := runStdout(t, dir, "nghttp", "-w", "10", "-W", "16", s.origin+"/big.bin")
	if len(body) != len(s.big) || sum([]byte(body)) != sum(s.big) {
		t.Errorf("nghttp with small windows: %d bytes, SHA-256 %s; want %d, %s", len(body), sum([]byte(body)), len(s.big), sum(s.big))
	}
	waitForLog(t, s.d.AccessLog(), "the download through small windows", func(l logLine) bool {
		return l.Request == "GET /big.bin HTTP/2.0" && l.Status == "200" && l.Size == strconv.Itoa(len(s.big))
	})
}

// TestHTTP2H2load: h2load's 2000 requests on 4 connections, 100 streams
// at once on each, are all answered 200, none failed or errored, and
// each has its access line; so are 10000 of a 20 KB file on one
// connection that keeps open as many streams as depot allows (128), of
// which depot used to refuse some (REFUSED_STREAM, which h2load counts
// as errored).
func TestHTTP2H2load(t *testing.T) {
	testtool.Need(t, "h2load")
	s := startH2Site(t, 20_000)
	h2load := func(n, c, m int, path string) {
		t.Helper()
		out := runOK(t, t.TempDir(), "h2load", "-n", strconv.Itoa(n), "-c", strconv.Itoa(c), "-m", strconv.Itoa(m), s.origin+path)
		for _, want := range []string{
			fmt.Sprintf("requests: %d total, %d started, %d done, %d succeeded, 0 failed, 0 errored, 0 timeout", n, n, n, n),
			fmt.Sprintf("status codes: %d 2xx, 0 3xx, 0 4xx, 0 5xx", n),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("h2load -n %d -c %d -m %d: its report lacks %q:\n%s", n, c, m, want, out)
			}
		}
	}
	h2load(2000, 4, 100, "/repo/repodata/repomd.xml")
	h2load(10000, 1, 128, "/big.bin")
	if t.Failed() {
		return
	}
	waitForLines(t, s.d.AccessLog(), 2000, func(l logLine) bool {
		return l.Request == "GET /repo/repodata/repomd.xml HTTP/2.0" && l.Status == "200" && l.Size == "2000"
	})
}

// waitForLines waits until the access log at path holds n lines that
// match, and fails the test if it does not within logWait.
func waitForLines(t *testing.T, path string, n int, match func(logLine) bool) {
	t.Helper()
	deadline := time.Now().Add(logWait)
	for {
		got := 0
		for _, l := range readLog(t, path) {
			if match(l) {
				got++
			}
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d matching lines within %v, want %d", path, got, logWait, n)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not an outcome
	}
}

// TestHTTP2LargeFileCurl: a 50 MB file over HTTP/2 by curl arrives whole,
// at full speed and by a client limited to 20 MB/s, which lets the
// server's flow-control window run out again and again: the server waits
// for each WINDOW_UPDATE, and sends on.
func TestHTTP2LargeFileCurl(t *testing.T) {
	testtool.Need(t, "curl")
	s := startH2Site(t, 50_000_000)
	want := sum(s.big)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"full speed", nil},
		{"limited to 20 MB/s", []string{"--limit-rate", "20M"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			version, status, header, body := s.curl(t, append(tt.args, s.origin+"/big.bin")...)
			if version != "2" || status != "200" || len(body) != len(s.big) || sum([]byte(body)) != want {
				t.Errorf("HTTP/%s %s, %d bytes, SHA-256 %s; want HTTP/2 200, %d bytes, %s\n%s",
					version, status, len(body), sum([]byte(body)), len(s.big), want, header)
			}
		})
	}
	waitForLines(t, s.d.AccessLog(), 2, func(l logLine) bool {
		return l.Request == "GET /big.bin HTTP/2.0" && l.Status == "200" && l.Size == "50000000"
	})
}

// TestHTTP2Chromium: headless Chromium loads a page from depot over
// HTTP/2, with its style sheet, script and image: the script, which runs
// once everything loaded, reports each resource's protocol (h2), that
// the style applied and that the image decoded.
func TestHTTP2Chromium(t *testing.T) {
	browser := testtool.Path(t, "chromium", "chromium-browser", "google-chrome")
	s := startH2Site(t, 1<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-default-apps", "--no-pings",
		"--user-data-dir="+t.TempDir(),
		// The test's certificate, self-signed, is not in Chromium's store.
		"--ignore-certificate-errors",
		"--dump-dom", s.origin+"/")
	cmd.Env = clientEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, lastLines(errb.String(), 20))
	}
	dom := out.String()
	for _, want := range []string{
		"resource / h2", "resource /style.css h2", "resource /report.js h2", "resource /pixel.png h2",
		"color rgb(255, 0, 0)", "image 3x2",
	} {
		if !strings.Contains(dom, want+"\n") && !strings.Contains(dom, want+"</pre>") {
			t.Errorf("Chromium's report lacks %q; the page:\n%s\nstderr:\n%s", want, dom, lastLines(errb.String(), 20))
		}
	}
	for _, p := range []string{"/", "/style.css", "/report.js", "/pixel.png"} {
		waitForLog(t, s.d.AccessLog(), "Chromium's "+p, func(l logLine) bool {
			return l.Request == "GET "+p+" HTTP/2.0" && l.Status == "200" && strings.Contains(l.UserAgent, "HeadlessChrome")
		})
	}
}

// startCurl starts curl downloading url over HTTP/2 at rate bytes per
// second into a file, and returns a function that waits for it to end
// and returns what it printed (%{http_version} %{http_code}) and
// downloaded, and the file's path (growing meanwhile).
func (s *h2Site) startCurl(t *testing.T, url, rate string) (wait func() (string, []byte, error), file string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "body")
	cmd := exec.Command("curl", "-sS", "--http2", "--cacert", s.cert.CertFile, "--limit-rate", rate,
		"-o", file, "-w", "%{http_version} %{http_code}", url)
	cmd.Env = clientEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return func() (string, []byte, error) {
		var err error
		select {
		case err = <-done:
			done <- err // for the cleanup
		case <-time.After(2 * time.Minute):
			return out.String(), nil, fmt.Errorf("curl still runs after 2 minutes")
		}
		b, rerr := os.ReadFile(file)
		if err == nil {
			err = rerr
		}
		return out.String(), b, err
	}, file
}

// waitForSize waits until the file at path holds at least n bytes.
func waitForSize(t *testing.T, path string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %d bytes within 30s", path, n)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not an outcome
	}
}

// TestSIGTERMLetsHTTP2DownloadsFinish: curl downloads a large file over
// HTTP/2, slowly, when depot gets SIGTERM: the download ends whole and
// curl exits 0, a new request is refused, depot exits 0 and the download
// has its access line.
func TestSIGTERMLetsHTTP2DownloadsFinish(t *testing.T) {
	testtool.Need(t, "curl")
	s := startH2Site(t, 30_000_000)
	wait, file := s.startCurl(t, s.origin+"/big.bin", "15M")
	waitForSize(t, file, 2<<20)
	if err := s.d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.d.Addr, time.Second)
		if err != nil {
			break // the listener is closed
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("depot still accepted new connections 10s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not an outcome
	}
	if out, err := runErr(t.TempDir(), "curl", "-sS", "--http2", "--cacert", s.cert.CertFile, s.origin+"/index.html"); err == nil {
		t.Errorf("a new request after SIGTERM was answered:\n%s", out)
	}
	out, got, err := wait()
	if err != nil || out != "2 200" || len(got) != len(s.big) || sum(got) != sum(s.big) {
		t.Errorf("the download across SIGTERM: curl %v, %q, %d of %d bytes, SHA-256 %s, want %s", err, out, len(got), len(s.big), sum(got), sum(s.big))
	}
	s.d.Stop(t)
	waitForLines(t, s.d.AccessLog(), 1, func(l logLine) bool {
		return l.Request == "GET /big.bin HTTP/2.0" && l.Status == "200" && l.Size == "30000000"
	})
}

// TestSIGHUPUnderHTTP2Downloads: depot reloads (another site root) and
// reopens its logs while curl downloads over HTTP/2: the download ends
// whole from the old root, a new request is answered from the new one,
// and the download's access line is in the reopened log.
func TestSIGHUPUnderHTTP2Downloads(t *testing.T) {
	testtool.Need(t, "curl")
	s := startH2Site(t, 30_000_000)
	wait, file := s.startCurl(t, s.origin+"/big.bin", "15M")
	waitForSize(t, file, 2<<20)

	newRoot := t.TempDir()
	writeFile(t, filepath.Join(newRoot, "index.html"), []byte("the new root"))
	cfgFile := filepath.Join(s.d.Dir, "depot.toml")
	cfg, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfgFile, bytes.Replace(cfg, []byte(strconv.Quote(s.root)), []byte(strconv.Quote(newRoot)), 1))
	if err := os.Rename(s.d.AccessLog(), s.d.AccessLog()+".1"); err != nil {
		t.Fatal(err)
	}
	signal(t, s.d, syscall.SIGHUP, "configuration reloaded")

	if version, status, _, body := s.curl(t, s.origin+"/index.html"); version != "2" || status != "200" || body != "the new root" {
		t.Errorf("after the reload: HTTP/%s %s %q, want HTTP/2 200 from the new root", version, status, body)
	}
	out, got, err := wait()
	if err != nil || out != "2 200" || len(got) != len(s.big) || sum(got) != sum(s.big) {
		t.Errorf("the download across SIGHUP: curl %v, %q, %d of %d bytes, SHA-256 %s, want %s", err, out, len(got), len(s.big), sum(got), sum(s.big))
	}
	waitForLines(t, s.d.AccessLog(), 1, func(l logLine) bool {
		return l.Request == "GET /big.bin HTTP/2.0" && l.Status == "200" && l.Size == "30000000"
	})
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
