package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"depot/internal/config"
	"depot/internal/mirrors"
	"depot/internal/responder"
)

// h2Twins is a server whose HTTPS listener answers HTTP/2 with depot's own
// server (internal/h2), and a reference: net/http's bundled HTTP/2 server
// (as httptest.Server with EnableHTTP2 starts it) over the same handler
// chain, built by the same httpServer, with the same sites, cache,
// responders (metalinks, the mirror status page) and logs.
type h2Twins struct {
	ts        *testServer
	depot     string // host:port of depot's HTTPS listener
	reference string // host:port of the reference
	tc        *tls.Config
}

func startH2Twins(t *testing.T, opts Options) *h2Twins {
	t.Helper()
	dir := t.TempDir()
	mcfg, err := config.Parse(filepath.Join(dir, "mirrors.toml"), []byte(`log_dir = "`+filepath.Join(dir, "logs")+`"
data_dir = "`+filepath.Join(dir, "data")+`"
[[listen]]
address = "127.0.0.1:0"
[[site]]
hosts = ["*"]
root = "`+dir+`"
`))
	if err != nil {
		t.Fatal(err)
	}
	// A fixed clock: a metalink's pubdate is the same in both answers.
	fixed := time.Now()
	svc, err := mirrors.New(mcfg, mirrors.Options{Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	opts.Responders = func(s config.Site) []responder.Responder { return svc.Responders(s) }
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startListeners(t, []string{`address = "127.0.0.1:0"
tls_cert = "` + certFile + `"
tls_key = "` + keyFile + `"`}, `onion_location = "http://`+strings.Repeat("a", 56)+`.onion"
autoindex = true
metalinks = true
base_url = "https://downloads.example.org/"
mirror_status_path = "/mirrors/"
`, opts)

	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	l := ts.cfg.Listen[0]
	srv, h := ts.srv.httpServer(l, ts.srv.conns.Load())
	h.edge = ts.srv.edgeFor(l, ts.srv.httpsPort())
	ref := httptest.NewUnstartedServer(nil)
	ref.Config = srv
	ref.EnableHTTP2 = true
	ref.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	ref.StartTLS()
	t.Cleanup(ref.Close)
	return &h2Twins{ts: ts, depot: ts.clearnet, reference: ref.Listener.Addr().String(), tc: &tls.Config{RootCAs: pool}}
}

// h2Answer is one answer as a client sees it, comparable.
type h2Answer struct {
	proto         string
	status        int
	header        http.Header
	contentLength int64
	body          string
}

func (a h2Answer) String() string {
	body := a.body
	if len(body) > 300 {
		body = body[:300] + "... (" + strconv.Itoa(len(a.body)) + " bytes)"
	}
	return a.proto + " " + recorded{status: a.status, header: a.header, body: body}.String() + "\nContentLength " + strconv.FormatInt(a.contentLength, 10)
}

// h2Do sends one request over HTTP/2 with x/net's client and records the
// answer, but its Date, with a multipart boundary made constant.
func h2Do(t testing.TB, client *http.Client, addr, method, target string, header []string, body string) h2Answer {
	t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "https://"+addr+"/", rb)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Add(header[i], header[i+1])
	}
	// The path as written, not re-encoded ("//x" too: the client takes
	// the scheme and host off an Opaque that starts with them).
	req.URL.Opaque = "//" + req.Host + target
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s %q: %v", method, target, header, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	resp.Header.Del("Date")
	a := h2Answer{proto: resp.Proto, status: resp.StatusCode, header: resp.Header, contentLength: resp.ContentLength, body: string(b)}
	r := recorded{header: a.header, body: a.body}
	normalizeBoundary(&r)
	a.body = r.body
	return a
}

// h2OnlyClient speaks HTTP/2 and nothing else (x/net's Transport), takes
// the server's answer as it is (no gzip added or undone) and follows no
// redirect.
func h2OnlyClient(tc *tls.Config) *http.Client {
	return &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http2.Transport{TLSClientConfig: tc, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestHTTP2AnswersAsNetHTTP serves one tree over HTTP/2 by depot's own
// server and by net/http's bundled one around the same handler chain,
// and compares what x/net's HTTP/2 client receives from each (status,
// every header but Date, body, the length it declares) for the cache's
// table of conditional and Range requests on files, directories, missing
// and hidden paths, metalinks and the mirror status page; then that both
// wrote the same log lines.
func TestHTTP2AnswersAsNetHTTP(t *testing.T) {
	tw := startH2Twins(t, Options{Now: settledClock})
	mod := time.Date(2026, 11, 3, 10, 20, 30, 0, time.UTC)
	writeTree(t, tw.ts.root, map[string]string{
		"big.bin":          strings.Repeat("0123456789abcdef", 8<<10), // over max_file: not cached
		"huge.bin":         strings.Repeat("fedcba9876543210", 256<<10),
		"noext":            "<html><body>sniffed</body></html>",
		"empty.txt":        "",
		"odd $&+,:;=@.txt": "odd",
	})
	for i := range 40 { // a listing over a frame
		writeTree(t, tw.ts.root, map[string]string{"listing/many/" + strings.Repeat("n", 60) + strconv.Itoa(i): "x"})
	}
	err := filepath.WalkDir(tw.ts.root, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			err = os.Chtimes(p, mod, mod)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lm := mod.Format(http.TimeFormat)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	tagOf := func(name string) string {
		fi, err := os.Stat(filepath.Join(tw.ts.root, name))
		if err != nil {
			return `"none"`
		}
		return `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(fi.Size(), 16) + `"`
	}
	type request struct {
		method, target string
		header         []string
		body           string
	}
	var requests []request
	for _, p := range []string{
		"/", "/index.html", "/r4.2/current/host/fc37/repodata/repomd.xml", "/deb/dists/bookworm/InRelease",
		"/iso/Qubes-R4.2.iso", "/big.bin", "/noext", "/empty.txt", "/r9.9/missing",
		"/listing", "/listing/", "/listing/many/", "/.git/config", "/sub/.htpasswd",
		"/r4.2/current/host/fc37/repodata/repomd.xml/", "/index.html?x=1&y=2", "//listing",
		"/odd%20$&+,:;=@.txt", "/a/../index.html", "/%2e%2e/etc/passwd",
		"/r4.2/current/host/fc37/repodata/repomd.xml.metalink", "/iso/Qubes-R4.2.iso.meta4",
		"/meta/x.meta4", "/mirrors/", "/mirrors",
	} {
		name := strings.TrimPrefix(strings.SplitN(p, "?", 2)[0], "/")
		if name == "" {
			name = "index.html"
		}
		for _, dr := range diffRequests(tagOf(name), lm, before, after) {
			if dr.method == "" {
				dr.method = "GET"
			}
			requests = append(requests, request{dr.method, p, dr.header, ""})
		}
		requests = append(requests, request{"POST", p, nil, ""}, request{"OPTIONS", p, nil, ""})
	}
	requests = append(requests,
		request{"GET", "/index.html", []string{"Host", "other.example"}, ""},
		request{"GET", "/index.html", []string{"Accept-Encoding", "gzip, br"}, ""},
		request{"GET", "/index.html", []string{"Cookie", "a=1", "Cookie", "b=2"}, ""},
		request{"GET", "/index.html", []string{"User-Agent", "dnf/4.14", "Referer", "https://x/"}, ""},
		request{"GET", "/index.html", []string{"X-Long", strings.Repeat("v", 9000)}, ""},
		request{"BREW", "/pot", nil, ""},
		request{"GET", "/huge.bin", nil, ""},
		request{"HEAD", "/huge.bin", nil, ""},
		request{"GET", "/huge.bin", []string{"Range", "bytes=0-1,4000000-"}, ""},
		// Bodies, which depot never reads: it answers 405 before the
		// request ends (RFC 9113 §8.1).
		request{"POST", "/index.html", nil, "a=1"},
		request{"PUT", "/index.html", nil, strings.Repeat("u", 200<<10)},
		request{"GET", "/index.html", nil, strings.Repeat("g", 70<<10)},
	)

	run := func(addr string) (answers []h2Answer, access, errs []string) {
		client := h2OnlyClient(tw.tc)
		defer client.CloseIdleConnections()
		logLines := func() map[string][]string { return logLines(t, tw.ts, addr) }
		before := logLines()
		for range 2 { // the second from the cache
			for _, r := range requests {
				answers = append(answers, h2Do(t, client, addr, r.method, r.target, r.header, r.body))
			}
		}
		// A line is written once its handler returns, which may be a
		// moment after the client read the answer.
		waitFor(t, "an access line per request", func() bool {
			return len(logLines()["access.log"]) >= len(before["access.log"])+len(answers)
		})
		now := logLines()
		return answers, now["access.log"][len(before["access.log"]):], now["error.log"][len(before["error.log"]):]
	}
	got, gotAccess, gotErrors := run(tw.depot)
	if n, _ := tw.ts.srv.cache.stats(); n == 0 {
		t.Fatal("nothing was cached; the second round proved nothing")
	}
	want, wantAccess, wantErrors := run(tw.reference)
	for i, r := range append(requests, requests...) {
		if got[i].proto != "HTTP/2.0" || want[i].proto != "HTTP/2.0" {
			t.Fatalf("%s %s: depot answered over %s, the reference over %s", r.method, r.target, got[i].proto, want[i].proto)
		}
		if _, ok := want[i].header["Content-Length"]; !ok && got[i].header.Get("Content-Length") == strconv.Itoa(len(want[i].body)) && r.method == "GET" {
			// depot's server gathers a body up to 16 KiB (net/http's, 4
			// KiB) and declares the length of one it holds whole.
			delete(got[i].header, "Content-Length")
			got[i].contentLength = -1
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("round %d: %s %s %q\ndepot's HTTP/2:\n%s\nnet/http's HTTP/2:\n%s", i/len(requests), r.method, r.target, r.header, got[i], want[i])
		}
	}
	sameLines(t, "access.log", gotAccess, wantAccess)
	sameLines(t, "error.log", gotErrors, wantErrors)
}

// logLines reads both logs (flushed), as lines with their times,
// connection numbers and the server's address made constant.
func logLines(t *testing.T, ts *testServer, addr string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range []string{"access.log", "error.log"} {
		s := logTimes.ReplaceAllString(strings.ReplaceAll(ts.readLog(t, name), addr, "ADDR"), "T")
		if s = strings.TrimSuffix(s, "\n"); s != "" {
			out[name] = strings.Split(s, "\n")
		}
	}
	return out
}

var logTimes = regexp.MustCompile(`(?m)\[[^]]*\]|^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d|#\d+: \*\d+`)

// sameLines fails t unless depot's and the reference's lines are the
// same, in any order.
func sameLines(t *testing.T, name string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s: depot's HTTP/2 wrote\n%s\nnet/http's wrote\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// tlsH2 dials addr over TLS with tc, offering only h2 by ALPN.
func tlsH2(t *testing.T, addr string, tc *tls.Config) *tls.Conn {
	t.Helper()
	tc = tc.Clone()
	tc.NextProtos = []string{"h2"}
	c, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dialH2 opens one HTTP/2 connection of x/net's client to addr, whose state
// (a GOAWAY received) the test can see.
func dialH2(t *testing.T, addr string, tc *tls.Config) *http2.ClientConn {
	t.Helper()
	cc, err := (&http2.Transport{}).NewClientConn(tlsH2(t, addr, tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// rawH2 opens an HTTP/2 connection to addr for raw frames: TLS with
// ALPN h2, a deadline of d for all of it, the client preface and an
// empty SETTINGS frame sent. The connection closes when t ends.
func rawH2(t *testing.T, addr string, tc *tls.Config, d time.Duration) (net.Conn, *http2.Framer) {
	t.Helper()
	conn := tlsH2(t, addr, tc)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(d))
	fr := http2.NewFramer(conn, conn)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return conn, fr
}

// h2Get starts a GET of path on cc and returns the response, whose body
// is the caller's to read.
func h2Get(t *testing.T, cc *http2.ClientConn, addr, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// TestStopLetsHTTP2DownloadsFinish: downloads in flight on an HTTP/2
// connection when the server stops get its GOAWAY and go on to their last
// byte; no new connection is taken; the server stops once they are done,
// and each download has its access line.
func TestStopLetsHTTP2DownloadsFinish(t *testing.T) {
	ts, _, tc := startTLS(t, Options{})
	const size = 12 << 20 // more than x/net's client takes unread (4 MiB a stream)
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i / 4099)
	}
	writeTree(t, ts.root, map[string]string{"large.bin": string(body)})
	cc := dialH2(t, ts.clearnet, tc)
	var resps []*http.Response
	for range 3 {
		resp := h2Get(t, cc, ts.clearnet, "/large.bin")
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}

	stop := ts.cancel
	ts.cancel = nil
	stop()
	waitFor(t, "the server's GOAWAY", func() bool { return cc.State().Closing })
	if c, err := net.DialTimeout("tcp", ts.clearnet, time.Second); err == nil {
		c.Close()
		t.Error("a new connection was taken after the stop began")
	}
	for i, resp := range resps {
		rest, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(rest, body[64<<10:]) {
			t.Errorf("download %d: %d of the %d bytes after the stop began, %v", i, len(rest), size-64<<10, err)
		}
	}
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop within 20s of its downloads' end")
	}
	if n := strings.Count(ts.readLogAfterStop(t, "access.log"), `"GET /large.bin HTTP/2.0" 200 `+strconv.Itoa(size)+` `); n != 3 {
		t.Errorf("access.log has %d lines of the whole downloads, want 3", n)
	}
}

// TestHTTP2IdleTimeout: an HTTP/2 connection with no stream open for the
// idle timeout gets a GOAWAY and is closed, while one whose download
// lasts longer than the timeout is left alone until its end.
func TestHTTP2IdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts, _, tc := startTLS(t, Options{IdleTimeout: idle})
	writeTree(t, ts.root, map[string]string{"large.bin": strings.Repeat("x", 8<<20)})

	quiet := dialH2(t, ts.clearnet, tc)
	resp := h2Get(t, quiet, ts.clearnet, "/index.html")
	if b := body(t, resp); b != defaultTree["index.html"] {
		t.Fatalf("GET /index.html: %q", b)
	}
	busy := dialH2(t, ts.clearnet, tc)
	download := h2Get(t, busy, ts.clearnet, "/large.bin")
	defer download.Body.Close()
	waitFor(t, "the idle connection to be closed", func() bool { return quiet.State().Closed })
	if !quiet.State().Closing {
		t.Error("the idle connection was closed without GOAWAY")
	}
	// The download, read slowly, outlasts the idle timeout several times.
	got := 0
	start := time.Now()
	for {
		n, err := download.Body.Read(make([]byte, 16<<10))
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the download after %d bytes and %v: %v", got, time.Since(start), err)
		}
		if time.Since(start) < 4*idle {
			time.Sleep(idle / 20) // a slow reader's pace, not a wait for an outcome
		}
	}
	if got != 8<<20 {
		t.Errorf("the download got %d bytes, want %d", got, 8<<20)
	}
	if time.Since(start) < 2*idle {
		t.Fatalf("the download lasted %v, less than twice the idle timeout: it proved nothing", time.Since(start))
	}
	// Then idle, it is closed too.
	waitFor(t, "the download's connection to be closed once idle", func() bool { return busy.State().Closed })
}

// TestHTTP2ConnectionSeesAReload: a reload swaps the sites under an open
// HTTP/2 connection: a download in flight goes on from the old root, and
// the connection's next stream is answered from the new one.
func TestHTTP2ConnectionSeesAReload(t *testing.T) {
	ts, _, tc := startTLS(t, Options{})
	old := strings.Repeat("o", 8<<20)
	writeTree(t, ts.root, map[string]string{"large.bin": old, "page.html": "old page"})
	cc := dialH2(t, ts.clearnet, tc)
	download := h2Get(t, cc, ts.clearnet, "/large.bin")
	defer download.Body.Close()
	if _, err := io.ReadFull(download.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}

	other := filepath.Join(t.TempDir(), "other")
	writeTree(t, other, map[string]string{"large.bin": "new", "page.html": "new page"})
	moved := *ts.cfg
	moved.Site = []config.Site{ts.cfg.Site[0]}
	moved.Site[0].Root = other
	if err := ts.srv.Reload(&moved); err != nil {
		t.Fatal(err)
	}
	if b := body(t, h2Get(t, cc, ts.clearnet, "/page.html")); b != "new page" {
		t.Errorf("the connection's stream after the reload: %q, want the new root's page", b)
	}
	rest, err := io.ReadAll(download.Body)
	if err != nil || 64<<10+len(rest) != len(old) || strings.Trim(string(rest), "o") != "" {
		t.Errorf("the download across the reload: %d of %d bytes of the old file, %v", 64<<10+len(rest), len(old), err)
	}
}

// TestHTTP2StreamsUpToTheLimitAreNeverRefused: a client that keeps as
// many streams open as the server's SETTINGS_MAX_CONCURRENT_STREAMS, and
// opens the next as soon as one ends (as h2load -m 128 does), gets every
// one answered: none is refused. (The server counted a stream as open,
// and its handler as running, until the handler returned, after the
// stream's last frame had gone: a stream the client opened in its place
// was refused, a few in 10,000 for small files, hundreds for files over
// 16 KiB, whose last write ends the stream.)
func TestHTTP2StreamsUpToTheLimitAreNeverRefused(t *testing.T) {
	ts, _, tc := startTLS(t, Options{Now: settledClock})
	// A file over the server's 16 KiB buffer, whose last write ends its
	// stream before the handler returns, and a small one, whose stream
	// ends when the handler returns.
	writeTree(t, ts.root, map[string]string{"large.bin": strings.Repeat("l", 30000)})
	_, fr := rawH2(t, ts.clearnet, tc, 2*time.Minute)
	if err := fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	next := uint32(1)
	open := func() {
		path := "/index.html"
		if next%4 == 1 {
			path = "/large.bin"
		}
		hbuf.Reset()
		for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", path}} {
			enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: next, BlockFragment: hbuf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		next += 2
	}
	const total = 10000 // 150 MB, within the connection's window
	var limit uint32
	opened, ended, refused := 0, 0, 0
	for ended < total {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d streams answered: %v", ended, err)
		}
		end := false
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok && limit == 0 {
				limit = v
				for ; opened < int(limit); opened++ {
					open()
				}
			}
			if err := fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
		case *http2.HeadersFrame:
			end = f.StreamEnded()
		case *http2.DataFrame:
			end = f.StreamEnded()
		case *http2.RSTStreamFrame:
			end = true
			if f.ErrCode == http2.ErrCodeRefusedStream {
				refused++
			} else {
				t.Errorf("stream %d reset: %v", f.StreamID, f.ErrCode)
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY after %d streams answered: %v", ended, f.ErrCode)
		}
		if end {
			ended++
			if opened < total {
				open()
				opened++
			}
		}
	}
	if limit != MaxConcurrentStreams {
		t.Errorf("the server allows %d streams at once, want %d", limit, MaxConcurrentStreams)
	}
	if refused > 0 {
		t.Errorf("%d of %d streams refused, with never more open than the server allows", refused, total)
	}
}
