package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/responder"
)

// TestLaneAnswersAsNetHTTP serves one tree from a server with the lane and
// one without (net/http answers every request), and compares their
// answers byte for byte (but the Date) for a table of requests: those the
// lane takes, those it hands over at once, and sequences on one
// connection where it hands over midway. The logs must hold the same
// lines too.
func TestLaneAnswersAsNetHTTP(t *testing.T) {
	site := `onion_location = "http://` + strings.Repeat("a", 56) + `.onion"
autoindex = true
`
	lane := startServer(t, site, Options{Now: settledClock})
	plain := startServer(t, site, Options{Now: settledClock, NoLane: true})
	mod := time.Date(2026, 11, 3, 10, 20, 30, 0, time.UTC)
	for _, root := range []string{lane.root, plain.root} {
		writeTree(t, root, map[string]string{
			"big.bin":          strings.Repeat("0123456789abcdef", 8<<10), // over max_file: sendfile
			"noext":            "<html><body>sniffed</body></html>",
			"odd $&+,:;=@.txt": "odd",
		})
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				os.Chtimes(p, mod, mod)
			}
			return err
		})
	}
	lm := mod.Format(http.TimeFormat)
	before, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	paths := []string{
		"/", "/index.html", "/r4.2/current/host/fc37/repodata/repomd.xml", "/iso/Qubes-R4.2.iso",
		"/big.bin", "/noext", "/r9.9/missing", "/listing", "/listing/", "/.git/config",
		"/r4.2/current/host/fc37/repodata/repomd.xml/", "/index.html?x=1&y=2", "//listing",
		"/odd%20$&+,:;=@.txt", "/odd $&+,:;=@.txt", "/a/../index.html", "/%2e%2e/etc/passwd",
	}
	requests := diffRequestTable(paths, "", func(name string) string {
		fi, err := os.Stat(filepath.Join(lane.root, name))
		if err != nil {
			return `"none"`
		}
		return `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(fi.Size(), 16) + `"`
	}, lm, before, after)
	const get = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
	requests = append(requests,
		// Headers as clients send them, and odd ones.
		"GET /index.html HTTP/1.1\r\nhost: x\r\nuser-agent: dnf/4.14\r\naccept: */*\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nUser-Agent: b\r\nX-Odd-Name: v\r\nx-odd-name: w\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nReferer:    spaced\t \r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nReferer: caf\xc3\xa9 obs-text\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n",
		"HEAD /r9.9/missing HTTP/1.1\r\nHost: x\r\n\r\n",
		// What the lane hands to net/http, at once or midway.
		"GET /index.html HTTP/1.1\r\n\r\n",                           // no Host
		"GET /index.html HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",     // two
		"GET /index.html HTTP/1.1\r\nHost: a b\r\n\r\n",              // invalid
		"GET /index.html HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", // space in a name
		"GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",   // a control byte
		"GET /index.html HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
		"GET /index.html HTTP/1.1\nHost: x\n\n", // bare LF
		"GET /index.html HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
		"GET http://x/index.html HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nX: "+strings.Repeat("v", 5000)+"\r\n\r\n",  // over laneBuf
		"GET /index.html HTTP/1.1\r\nHost: x\r\nX: "+strings.Repeat("v", 17000)+"\r\n\r\n", // over 16 KiB: 431
		"\r\n"+get, // a leading empty line
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
		"garbage\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\n", // unfinished: the client closes
		// Sequences on one connection: pipelined, then handed over.
		get+get+"HEAD /noext HTTP/1.1\r\nHost: x\r\n\r\n",
		get+"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+get,
		get+"GET /%69ndex.html HTTP/1.1\r\nHost: x\r\n\r\n"+get,
		get+"garbage\r\n\r\n",
		get+"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"+get,
		get+"GET /index.html HTTP/1.1\r\nHost: x\r\n",
	)
	for round := range 2 {
		for _, req := range requests {
			want := laneExchange(t, plain.clearnet, req)
			if got := laneExchange(t, lane.clearnet, req); got != want {
				t.Errorf("round %d: %q\nlane's answer:\n%q\nnet/http's answer:\n%q", round, req, got, want)
			}
		}
	}
	if t.Failed() {
		return
	}
	sameLogLines(t, lane, plain, "the lane", "net/http")
}

// laneExchange sends request on a fresh connection and half-closes it:
// the server answers what it got, then closes. It returns everything
// received, with the Date and any multipart boundary made constant.
func laneExchange(t testing.TB, addr, request string) string {
	t.Helper()
	return constantDates(rawSend(t, addr, request, true))
}

// TestLaneParse: what the lane takes, and what it leaves to net/http.
func TestLaneParse(t *testing.T) {
	tests := []struct {
		in   string
		n    int // -1: net/http's; 0: not whole yet
		path string
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, "/"},
		{"HEAD /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", 33, "/a"},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /", 27, "/"},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0, ""},
		{"GE", 0, ""},
		{"HEAD", 0, ""},
		{"", 0, ""},
		{"POST / HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"PO", -1, ""},
		{"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET / HTTP/1.0\r\nHost: x\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\nHost: x\n\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\n", -1, ""},
		{"GET /%41 HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nTRANSFER-ENCODING: chunked\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nX : v\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: \x7f\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", -1, ""},
		{"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", -1, ""},
		{"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", -1, ""},
	}
	for _, tt := range tests {
		lc := newTestLaneConn()
		n, ok := lc.parse([]byte(tt.in))
		switch {
		case tt.n > 0 && (!ok || n != tt.n || lc.req.URL.Path != tt.path):
			t.Errorf("%q: parse = %d, %v (path %q), want %d, true (path %q)", tt.in, n, ok, lc.req.URL.Path, tt.n, tt.path)
		case tt.n <= 0 && (ok || n != tt.n):
			t.Errorf("%q: parse = %d, %v, want %d, false", tt.in, n, ok, tt.n)
		}
	}
}

func newTestLaneConn() *laneConn {
	lc := &laneConn{header: http.Header{}, remote: "192.0.2.1:1234", base: &http.Request{}, req: &http.Request{}}
	return lc
}

// TestLaneParseAllocatesNothing: a connection's repeated request costs no
// allocation to parse.
func TestLaneParseAllocatesNothing(t *testing.T) {
	lc := newTestLaneConn()
	req := []byte("GET /r4.2/current/host/fc37/repodata/repomd.xml HTTP/1.1\r\nHost: yum.example.org\r\nUser-Agent: libdnf (Fedora Linux 41)\r\nAccept: */*\r\nCache-Control: no-cache\r\nPragma: no-cache\r\n\r\n")
	lc.parse(req)
	if n := testing.AllocsPerRun(100, func() { lc.parse(req) }); n != 0 {
		t.Errorf("parse allocates %v times per request, want 0", n)
	}
}

// FuzzLaneParse: whatever the lane takes, net/http parses from the same
// bytes to the same request: method, target, path, query, Host, headers,
// Close, and the same length.
func FuzzLaneParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /a/b?c=d HTTP/1.1\r\nhost: example.org:8080\r\nUser-Agent: x\r\nuser-agent: y\r\nPragma: no-cache\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: [::1]:80\r\nConnection: keep-alive, Close\r\nX-Y: \t v \t\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nCache-Control: max-age=0\r\nPragma: no-cache\r\n\r\nGET /b HTTP/1.1\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lc := newTestLaneConn()
		n, ok := lc.parse(b)
		if !ok {
			if n > 0 || n < -1 {
				t.Fatalf("parse = %d, false", n)
			}
			return
		}
		br := bufio.NewReaderSize(bytes.NewReader(b), 64<<10)
		want, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("the lane took %q, net/http refuses it: %v", b[:n], err)
		}
		if used := len(b) - br.Buffered(); used != n && !(want.ContentLength == 0 && used >= n) {
			t.Fatalf("lane read %d bytes, net/http %d", n, used)
		}
		delete(want.Header, "Host") // net/http's server does this
		fixPragma(want.Header)
		got := lc.req
		if got.Method != want.Method || got.RequestURI != want.RequestURI || got.URL.Path != want.URL.Path ||
			got.URL.RawQuery != want.URL.RawQuery || got.URL.RequestURI() != want.URL.RequestURI() ||
			got.Host != want.Host || got.Close != want.Close || !reflect.DeepEqual(got.Header, want.Header) ||
			got.ContentLength != want.ContentLength {
			t.Fatalf("%q:\nlane:     %s %q path %q query %q host %q close %v %v\nnet/http: %s %q path %q query %q host %q close %v %v",
				b[:n], got.Method, got.RequestURI, got.URL.Path, got.URL.RawQuery, got.Host, got.Close, got.Header,
				want.Method, want.RequestURI, want.URL.Path, want.URL.RawQuery, want.Host, want.Close, want.Header)
		}
	})
}

// fixPragma is net/http's fixPragmaCacheControl, which its server applies
// and http.ReadRequest does too; kept here in case it stops.
func fixPragma(h http.Header) {
	if p, ok := h["Pragma"]; ok && len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
}

// TestLaneRequestStraddlingAStopIsLogged: a request the lane began to
// receive before a stop and must hand to net/http after the listener
// closed cannot be answered any more; it is closed and logged, not lost.
func TestLaneRequestStraddlingAStopIsLogged(t *testing.T) {
	ts := startServer(t, "", Options{})
	c, err := net.Dial("tcp", ts.clearnet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /straddle HTTP/1.1\r\nHost: x\r\n")
	// Until the server has read it, a stop closes the connection as one
	// that sent nothing (the client may retry).
	for deadline := time.Now().Add(10 * time.Second); !anyStarted(ts.srv.conns.Load()); {
		if time.Now().After(deadline) {
			t.Fatal("the server did not read the request's start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { ts.stop(t); close(stopped) }()
	// The listener closes first, then the connection, which has begun a
	// request, is let finish it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		probe, err := net.DialTimeout("tcp", ts.clearnet, time.Second)
		if err != nil {
			break
		}
		probe.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener did not close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(c, "Expect: 100-continue\r\n\r\n") // the lane leaves this to net/http
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("answered %q", b)
	}
	<-stopped
	if access := ts.readLogAfterStop(t, "access.log"); !strings.Contains(access, `"GET /straddle HTTP/1.1" 400 0`) {
		t.Errorf("access.log lacks the request:\n%s", access)
	}
	if errs := ts.readLogAfterStop(t, "error.log"); !strings.Contains(errs, "closed by the server's stop before the request was read") {
		t.Errorf("error.log lacks why:\n%s", errs)
	}
}

// anyStarted reports whether a connection of s has received bytes of a
// request.
func anyStarted(s *connSet) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.started.Load() {
			return true
		}
	}
	return false
}

// panicky panics on /panic.
type panicky struct{}

func (panicky) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if r.URL.Path == "/panic" {
		panic("boom")
	}
	return false, nil
}

// TestLaneHandlerPanicEndsOnlyItsConnection: as in net/http, a handler's
// panic closes its connection unanswered and is logged with the client's
// address; the server goes on.
func TestLaneHandlerPanicEndsOnlyItsConnection(t *testing.T) {
	for _, noLane := range []bool{false, true} {
		ts := startServer(t, "", Options{NoLane: noLane, Responders: func(config.Site) []responder.Responder { return []responder.Responder{panicky{}} }})
		if got := rawFull(t, ts.clearnet, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n"); got != "" {
			t.Errorf("NoLane %v: a panic was answered: %q", noLane, got)
		}
		if got := body(t, get(t, ts.clearnet, "/index.html")); !strings.Contains(got, "home") {
			t.Errorf("NoLane %v: after a panic, got %q", noLane, got)
		}
		waitFor(t, "the panic's error line", func() bool {
			return strings.Contains(ts.readLog(t, "error.log"), "http: panic serving 127.0.0.1:")
		})
	}
}

// TestLaneTLSLargeBodies: over TLS (no sendfile) a large body's records
// are gathered below TLS and leave several to a write; every byte arrives
// in order, HEAD gets none, and the connection goes on to answer the next
// requests, small and large.
func TestLaneTLSLargeBodies(t *testing.T) {
	ts, _, tc := startTLS(t, Options{})
	body := make([]byte, 3<<20+12345) // over the cache's max_file, and no multiple of a record
	for i := range body {
		body[i] = byte(i * 7 / 3)
	}
	writeTree(t, ts.root, map[string]string{"large.bin": string(body)})
	tc.NextProtos = []string{"http/1.1"}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i, tt := range []struct{ method, path, want string }{
		{"GET", "/large.bin", string(body)},
		{"HEAD", "/large.bin", ""},
		{"GET", "/index.html", "<!DOCTYPE html><title>home</title>"},
		{"GET", "/large.bin", string(body)},
	} {
		req, _ := http.NewRequest(tt.method, "https://"+ts.clearnet+tt.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.ProtoMajor != 1 || string(got) != tt.want {
			t.Errorf("%d: %s %s over HTTP/%d: %d bytes (%v), want %d", i, tt.method, tt.path, resp.ProtoMajor, len(got), err, len(tt.want))
		}
	}
}

// startTwins starts a server with the lane and one without (NoLane), with
// opts, over trees whose files have the same modification time, so that
// their answers (ETag, Last-Modified) can be compared byte for byte even
// when the two trees were written in different seconds.
func startTwins(t *testing.T, opts Options) (lane, plain *testServer) {
	t.Helper()
	lane = startServer(t, "", opts)
	opts.NoLane = true
	plain = startServer(t, "", opts)
	mod := time.Date(2026, 11, 3, 10, 20, 30, 0, time.UTC)
	for _, root := range []string{lane.root, plain.root} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				err = os.Chtimes(p, mod, mod)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return lane, plain
}
