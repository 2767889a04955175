package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/responder"
	"depot/internal/server/servertest"
)

// TestHeaderLimitIs16KiB: the request line and headers together may take
// 16 KiB, as the README says, and not a byte more (net/http adds 4 KiB of
// slack to MaxHeaderBytes, which made the real limit 20 KiB).
func TestHeaderLimitIs16KiB(t *testing.T) {
	ts := startServer(t, "", Options{})
	request := func(size int) string {
		head := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
		pad := size - len(head) - len("\r\n\r\n")
		return head + strings.Repeat("a", pad) + "\r\n\r\n"
	}
	for _, tt := range []struct {
		size int
		want string
	}{
		{4 << 10, "200"},
		{16 << 10, "200"},
		{16<<10 + 1, "431"},
		{20 << 10, "431"},
	} {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			if status := raw(t, ts.clearnet, request(tt.size)); !strings.Contains(status, " "+tt.want+" ") {
				t.Errorf("a request of %d bytes: status %q, want %s", tt.size, status, tt.want)
			}
		})
	}
}

// TestMountRedirectsWithoutSlash: "/statistics" answered 404; it now
// redirects to "/statistics/" on the same origin, query kept, on clearnet
// and onion listeners alike.
func TestMountRedirectsWithoutSlash(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "stats page") })
	ts := startServer(t, "", Options{Responders: func(config.Site) []responder.Responder {
		return []responder.Responder{responder.Mount("/statistics/", page)}
	}})
	for _, addr := range []string{ts.clearnet, ts.onion} {
		for _, tt := range []struct{ path, location string }{
			{"/statistics", "/statistics/"},
			{"/statistics?lang=en", "/statistics/?lang=en"},
		} {
			resp := get(t, addr, tt.path)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != tt.location {
				t.Errorf("GET %s = %d Location %q; want 301 to %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.location)
			}
		}
		resp := get(t, addr, "/statistics/")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "stats page" {
			t.Errorf("GET /statistics/ = %d %q, want the page", resp.StatusCode, body)
		}
	}
}

const bigSize = 64 << 20

// addBig adds a sparse 64 MiB /big.iso to the test server's root: more
// than every socket buffer between a client that reads nothing and us.
func addBig(t *testing.T, ts *testServer) {
	t.Helper()
	f, err := os.Create(filepath.Join(ts.root, "big.iso"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(bigSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// dialSmall connects with a 4 KiB receive buffer, so that a client that
// does not read stops the server's writes quickly.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or 20s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (ts *testServer) openConns() int {
	cs := ts.srv.conns.Load()
	if cs == nil {
		return -1
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

// TestSendTimeoutClosesSlowReaders: an HTTP/1.1 client that asks for a
// large file and reads nothing is cut off once it has accepted no byte
// for the send timeout, on clearnet (logged, with nginx's info line) and
// onion (nothing logged); one that reads slowly but steadily gets the
// whole file.
func TestSendTimeoutClosesSlowReaders(t *testing.T) {
	ts := startServer(t, "", Options{SendTimeout: time.Second})
	addBig(t, ts)

	inFlight := func() bool { return ts.srv.gate.n.Load() == 1 }
	c := dialSmall(t, ts.clearnet)
	io.WriteString(c, "GET /big.iso HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the response to be in flight", inFlight)
	waitFor(t, "the clearnet slow reader to be cut off", func() bool { return ts.openConns() == 0 })
	access, errs := ts.readLog(t, "access.log"), ts.readLog(t, "error.log")
	if !strings.Contains(access, `"GET /big.iso HTTP/1.1" 200 `) || strings.Contains(access, ` 200 67108864 `) {
		t.Errorf("access.log should show a 200 cut short:\n%s", access)
	}
	if !strings.Contains(errs, "[info]") || !strings.Contains(errs, "client timed out (110: Connection timed out) while sending response to client, client: 127.0.0.1") {
		t.Errorf("error.log lacks nginx's send timeout line:\n%s", errs)
	}

	before := snapshot(t, ts.logDir)
	o := dialSmall(t, ts.onion)
	io.WriteString(o, "GET /big.iso HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the response to be in flight", inFlight)
	waitFor(t, "the onion slow reader to be cut off", func() bool { return ts.openConns() == 0 })
	ts.readLog(t, "access.log") // flush
	if after := snapshot(t, ts.logDir); len(after) != len(before) || after[filepath.Join(ts.logDir, "access.log")] != before[filepath.Join(ts.logDir, "access.log")] ||
		after[filepath.Join(ts.logDir, "error.log")] != before[filepath.Join(ts.logDir, "error.log")] {
		t.Errorf("an onion send timeout changed the logs")
	}

	// Slow but steady: 64 KiB every 100ms, 2 MiB in all, longer than the
	// timeout several times over.
	if err := os.WriteFile(filepath.Join(ts.root, "four.iso"), make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	s := dialSmall(t, ts.clearnet)
	io.WriteString(s, "GET /four.iso HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReaderSize(s, 64<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	for {
		n, err := io.CopyN(io.Discard, resp.Body, 64<<10)
		got += n
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // pacing of a slow link, not a wait
	}
	if got != 2<<20 {
		t.Errorf("a slow, steady reader got %d of %d bytes", got, 2<<20)
	}
}

// startTLS runs a server with an HTTPS listener (ts.clearnet), an onion
// listener (ts.onion) and a plain clearnet one (returned).
func startTLS(t *testing.T, opts Options) (*testServer, string, *tls.Config) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startListeners(t, []string{`address = "127.0.0.1:0"
tls_cert = "` + certFile + `"
tls_key = "` + keyFile + `"`, "address = \"127.0.0.1:0\"\nonion = true", `address = "127.0.0.1:0"`}, "", opts)
	return ts, ts.srv.Addrs()[2].String(), &tls.Config{RootCAs: pool}
}

// TestStopDrainsHTTP2: a stop sends GOAWAY on every HTTP/2 connection,
// idle or not, and a stream in flight still ends by its own send timeout
// (its client reads nothing), which x/net arms from the base server that
// serveH2 gives it; then the server stops.
func TestStopDrainsHTTP2(t *testing.T) {
	ts, _, tc := startTLS(t, Options{SendTimeout: time.Second})
	addBig(t, ts)
	idle, err := servertest.DialStalledH2(ts.clearnet, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// The client's TLS 1.3 handshake ends before the server's does: wait
	// for the server's SETTINGS, sent once its HTTP/2 server has the
	// connection. (A connection whose handshake the stop overtakes is
	// closed before any stream, without a GOAWAY.)
	if !idle.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.MaxStreams > 0 }) {
		t.Fatalf("no SETTINGS on the idle connection: %+v", idle.State())
	}
	busy, err := servertest.DialStalledH2(ts.clearnet, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := busy.Open("x", "/big.iso"); err != nil {
		t.Fatal(err)
	}
	if !busy.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.Status[200] == 1 }) {
		t.Fatalf("no headers for the stream: %+v", busy.State())
	}
	ts.stop(t)
	for name, c := range map[string]*servertest.StalledH2{"idle": idle, "busy": busy} {
		if !c.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.Err != nil }) {
			t.Errorf("%s connection still open after the stop: %+v", name, c.State())
		}
		if !c.State().GoAway {
			t.Errorf("%s connection closed without GOAWAY: %+v", name, c.State())
		}
	}
	if st := busy.State(); st.Reset != 1 {
		t.Errorf("the stalled stream was not reset (by the send timeout): %+v", st)
	}
	if n := strings.Count(ts.readLogAfterStop(t, "error.log"), "client timed out"); n != 1 {
		t.Errorf("error.log has %d send timeout lines, want 1", n)
	}
}

func h2Client(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
}

// TestHTTP2StalledStreamsAreReset: an HTTP/2 client that opens streams
// with a window of 0 gets each one reset after the send timeout, while the
// connection, and other clients, go on; the server caps streams per
// connection at 128 (nginx's default).
func TestHTTP2StalledStreamsAreReset(t *testing.T) {
	ts, _, tc := startTLS(t, Options{SendTimeout: time.Second})
	addBig(t, ts)
	c, err := servertest.DialStalledH2(ts.clearnet, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.Open("x", "/big.iso"); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.Reset == 3 }) {
		t.Fatalf("stalled streams not reset: %+v", c.State())
	}
	st := c.State()
	if st.MaxStreams != MaxConcurrentStreams || st.Status[200] != 3 || st.Err != nil {
		t.Errorf("state %+v: want SETTINGS_MAX_CONCURRENT_STREAMS %d, 3 answers of 200 reset, the connection open", st, MaxConcurrentStreams)
	}
	// The connection still serves.
	id, err := c.Open("x", "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	_ = id
	if !c.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.Status[200] == 4 }) {
		t.Errorf("a new stream on the connection got no answer: %+v", c.State())
	}
	resp, err := h2Client(tc.RootCAs).Get("https://" + ts.clearnet + "/")
	if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("another client: %v %v", resp, err)
	}
	resp.Body.Close()
	ts.stop(t)
	access := ts.readLogAfterStop(t, "access.log")
	if n := strings.Count(access, `"GET /big.iso HTTP/2.0" 200 0 `); n != 3 {
		t.Errorf("access.log has %d lines for the stalled streams, want 3:\n%s", n, access)
	}
	if n := strings.Count(ts.readLogAfterStop(t, "error.log"), "client timed out (110: Connection timed out) while sending response to client"); n != 3 {
		t.Errorf("error.log has %d send timeout lines, want 3", n)
	}
}

// TestResponsesInFlightAreCapped: past max_responses a request gets 503
// with Retry-After and no body, logged on clearnet and not on onion; past
// half of it, a connection that already has a response in flight gets 503
// while a new connection is still served.
func TestResponsesInFlightAreCapped(t *testing.T) {
	ts, plain, tc := startTLS(t, Options{MaxResponses: 4, SendTimeout: time.Minute})
	addBig(t, ts)
	inFlight := func(n int64) func() bool { return func() bool { return ts.srv.gate.n.Load() == n } }

	stall := func(addr string) {
		c := dialSmall(t, addr)
		io.WriteString(c, "GET /big.iso HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	stall(plain)
	stall(plain)
	waitFor(t, "2 responses in flight", inFlight(2))

	h2, err := servertest.DialStalledH2(ts.clearnet, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	h2.Open("x", "/big.iso") // the connection's first: admitted (3 of 4)
	waitFor(t, "3 responses in flight", inFlight(3))
	h2.Open("x", "/big.iso") // its second, past half the cap: refused
	if !h2.Wait(time.Now().Add(20*time.Second), func(s servertest.State) bool { return s.Status[503] == 1 }) {
		t.Fatalf("the second stream of a busy connection was not refused: %+v", h2.State())
	}
	if r := get(t, plain, "/index.html"); r.StatusCode != 200 {
		t.Errorf("a new connection past half the cap: %d, want 200", r.StatusCode)
	} else {
		body(t, r)
	}
	// The whole answer can arrive before its handler has returned: wait
	// for it to leave, or it would count as the fourth below.
	waitFor(t, "3 responses in flight", inFlight(3))

	stall(plain) // 4 of 4
	waitFor(t, "4 responses in flight", inFlight(4))
	r := get(t, plain, "/index.html")
	if b := body(t, r); r.StatusCode != 503 || r.Header.Get("Retry-After") != retryAfter || b != "" {
		t.Errorf("past the cap: %d, Retry-After %q, body %q; want 503, %q, none", r.StatusCode, r.Header.Get("Retry-After"), b, retryAfter)
	}

	ts.readLog(t, "access.log")
	before := snapshot(t, ts.logDir)
	if r := get(t, ts.onion, "/index.html"); r.StatusCode != 503 {
		t.Errorf("onion past the cap: %d, want 503 (the cap is global)", r.StatusCode)
	}
	ts.readLog(t, "access.log")
	after := snapshot(t, ts.logDir)
	for p, content := range before {
		if after[p] != content {
			t.Errorf("an onion 503 changed %s", p)
		}
	}

	access, errs := ts.readLog(t, "access.log"), ts.readLog(t, "error.log")
	if n := strings.Count(access, `" 503 0 "`); n != 2 {
		t.Errorf("access.log has %d lines of 503, want 2 (HTTP/2 and HTTP/1.1):\n%s", n, access)
	}
	for _, want := range []string{`"GET /big.iso HTTP/2.0" 503 0 "-" "-"`, `"GET /index.html HTTP/1.1" 503 0 `} {
		if !strings.Contains(access, want) {
			t.Errorf("access.log lacks %s:\n%s", want, access)
		}
	}
	if n := strings.Count(errs, "responses in flight at their limit (4), request refused, client: 127.0.0.1"); n != 2 {
		t.Errorf("error.log has %d lines about the cap, want 2:\n%s", n, errs)
	}
	if !strings.Contains(errs, `request refused, client: 127.0.0.1, server: *, request: "GET /big.iso HTTP/2.0", host: "x"`) {
		t.Errorf("error.log lacks the HTTP/2 request refused:\n%s", errs)
	}
}
