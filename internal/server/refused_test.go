package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestRefusedRequestsAreLogged: requests that net/http answers itself,
// before any handler, still get an access line and an error line on a
// clearnet listener, as nginx logs them; an idle connection that sends
// nothing gets none.
func TestRefusedRequestsAreLogged(t *testing.T) {
	ts := startServer(t, "", Options{ReadHeaderTimeout: 200 * time.Millisecond})
	raw(t, ts.clearnet, "\x16\x03\x01\x02\x00garbage\r\n\r\n")
	raw(t, ts.clearnet, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	if c, err := net.Dial("tcp", ts.clearnet); err == nil {
		c.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n")) // and then nothing
		time.Sleep(500 * time.Millisecond)
		c.Close()
	}
	if c, err := net.Dial("tcp", ts.clearnet); err == nil {
		c.Close() // connects, sends nothing: not a request
	}
	body(t, get(t, ts.clearnet, "/")) // an ordinary request, logged once
	ts.stop(t)                        // closes every connection, flushes

	access := ts.readLogAfterStop(t, "access.log")
	lines := strings.Split(strings.TrimSuffix(access, "\n"), "\n")
	wants := []string{
		`"\x16\x03\x01\x02\x00garbage" 400 `,
		`"GET / HTTP/1.1" 431 `,
		`"GET /slow HTTP/1.1" 400 0 `,
		`"GET / HTTP/1.1" 200 `,
	}
	if len(lines) != len(wants) {
		t.Fatalf("access.log has %d lines, want %d:\n%s", len(lines), len(wants), access)
	}
	for _, w := range wants {
		if !strings.Contains(access, w) {
			t.Errorf("access.log lacks %q:\n%s", w, access)
		}
	}
	errs := ts.readLogAfterStop(t, "error.log")
	if n := strings.Count(errs, "[info]"); n != 3 || !strings.Contains(errs, "client: 127.0.0.1") {
		t.Errorf("error.log should hold 3 info lines naming the client:\n%s", errs)
	}
}

// refusedCase is one connection's worth of bytes and the access lines it
// must leave, in order.
type refusedCase struct {
	name    string
	send    string
	answers int      // responses to read before closing our side
	want    []string // fragments of the access lines, in order
}

// pipelinedCases are requests that net/http refuses itself, alone and
// after a valid request on the same connection, and OPTIONS * on a
// keep-alive connection. Each refused request must leave exactly one line
// with what was received as its request line (never a header value), the
// status sent and the size of the body alone.
var pipelinedCases = []refusedCase{
	{"invalid method after a valid request", "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nG(T /p2 HTTP/1.1\r\nHost: x\r\n\r\n", 2,
		[]string{`"GET /p1 HTTP/1.1" 404 `, `"G(T /p2 HTTP/1.1" 400 15 "-" "-"`}},
	{"oversized headers after a valid request", "GET /p3 HTTP/1.1\r\nHost: x\r\n\r\nGET /p4 HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 2,
		[]string{`"GET /p3 HTTP/1.1" 404 `, `"GET /p4 HTTP/1.1" 431 35 "-" "-"`}},
	{"half-sent request after a valid one", "GET /p5 HTTP/1.1\r\nHost: x\r\n\r\nGET /p6 HTTP/1.1\r\nHost: x\r\n", 1,
		[]string{`"GET /p5 HTTP/1.1" 404 `, `"GET /p6 HTTP/1.1" 400 `}},
	{"garbage after a valid request", "GET /p7 HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage\r\n\r\n", 2,
		[]string{`"GET /p7 HTTP/1.1" 404 `, `"\x16\x03\x01garbage" 400 15 "-" "-"`}},
	{"OPTIONS * on a keep-alive connection", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nGET /p8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2,
		[]string{`"OPTIONS * HTTP/1.1" 405 `, `"GET /p8 HTTP/1.1" 404 `}},
	{"oversized headers", "GET /p9 HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 1,
		[]string{`"GET /p9 HTTP/1.1" 431 35 "-" "-"`}},
	{"invalid method", "G(T /p10 HTTP/1.1\r\nHost: x\r\n\r\n", 1,
		[]string{`"G(T /p10 HTTP/1.1" 400 15 "-" "-"`}},
	{"no Host header", "GET /p11 HTTP/1.1\r\n\r\n", 1,
		[]string{`"GET /p11 HTTP/1.1" 400 45 "-" "-"`}}, // "400 Bad Request: missing required Host header"
	{"request with a body, then garbage", "GET /p12 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloG(T /p13 HTTP/1.1\r\n\r\n", 1,
		[]string{`"GET /p12 HTTP/1.1" 404 `}}, // the connection ends after a request with a body
}

// playRefused sends each case on its own connection (made by dial) and
// reads what it says before closing.
func playRefused(t *testing.T, dial func() net.Conn, cases []refusedCase) {
	t.Helper()
	for _, c := range cases {
		conn := dial()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(conn, c.send) // the server may stop reading first
		br := bufio.NewReader(conn)
		for range c.answers {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("%s: reading an answer: %v", c.name, err)
				break
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		conn.Close()
	}
}

// checkRefusedLog finds each case's lines in the access log, in the case's
// order (cases close, and so log, at their own pace), and nothing else;
// and checks that the error lines name the client.
func checkRefusedLog(t *testing.T, access, errs string, cases []refusedCase) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(access, "\n"), "\n")
	used := make([]bool, len(lines))
	total := 0
	for _, c := range cases {
		prev := -1
		for _, w := range c.want {
			total++
			found := -1
			for i, l := range lines {
				if !used[i] && strings.Contains(l, w) {
					found = i
					break
				}
			}
			switch {
			case found < 0:
				t.Errorf("%s: no access line contains %q", c.name, w)
			case found < prev:
				t.Errorf("%s: the line with %q comes before the one above it", c.name, w)
			default:
				used[found], prev = true, found
			}
		}
	}
	if len(lines) != total {
		t.Errorf("access.log has %d lines, want %d:\n%s", len(lines), total, access)
	}
	for _, l := range strings.Split(strings.TrimSuffix(errs, "\n"), "\n") {
		if !strings.Contains(l, ", client: 127.0.0.1") {
			t.Errorf("error line without the client: %q", l)
		}
	}
}

func TestRefusedPipelinedRequestsAreLogged(t *testing.T) {
	ts := startServer(t, "", Options{})
	playRefused(t, func() net.Conn {
		c, err := net.Dial("tcp", ts.clearnet)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, pipelinedCases)
	ts.stop(t)
	checkRefusedLog(t, ts.readLogAfterStop(t, "access.log"), ts.readLogAfterStop(t, "error.log"), pipelinedCases)
}

// TestRefusedRequestsOnTLSAreLogged: the same over HTTPS, the production
// case, plus plain HTTP sent to the HTTPS port and a failed handshake,
// whose error line names the client in its client field.
func TestRefusedRequestsOnTLSAreLogged(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startListeners(t, []string{`address = "127.0.0.1:0"
tls_cert = "` + certFile + `"
tls_key = "` + keyFile + `"`}, "", Options{})
	dialTLS := func() net.Conn {
		c, err := tls.Dial("tcp", ts.clearnet, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	playRefused(t, dialTLS, pipelinedCases)
	plain := refusedCase{"plain HTTP to the HTTPS port", "GET /p20 HTTP/1.1\r\nHost: x\r\n\r\n", 1,
		[]string{`"GET /p20 HTTP/1.1" 400 48 "-" "-"`}}
	playRefused(t, func() net.Conn {
		c, err := net.Dial("tcp", ts.clearnet)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, []refusedCase{plain})
	if c, err := net.Dial("tcp", ts.clearnet); err == nil {
		c.Write([]byte("\x16\x03\x01\x00\x05hello")) // not a ClientHello
		io.Copy(io.Discard, c)
		c.Close()
	}
	ts.stop(t)
	errs := ts.readLogAfterStop(t, "error.log")
	checkRefusedLog(t, ts.readLogAfterStop(t, "access.log"), errs, append(pipelinedCases, plain))
	if !regexp.MustCompile(`\[info\] \d+#0: \*\d+ .*while SSL handshaking, client: 127\.0\.0\.1\n`).MatchString(errs) {
		t.Errorf("error.log has no handshake error line with the client field:\n%s", errs)
	}
}

// TestHTTP2RefusedRequestsAreLogged: the requests depot's HTTP/2 server
// refuses before any handler get their access and error lines, as
// net/http's refusals over HTTP/1 do: a header list past the limit (431,
// answered) and a malformed request (400 in the log, as nginx logs it;
// the stream is reset). The connection goes on serving.
func TestHTTP2RefusedRequestsAreLogged(t *testing.T) {
	ts, _, tc := startTLS(t, Options{Now: settledClock})
	conn, fr := rawH2(t, ts.clearnet, tc, time.Minute)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	send := func(id uint32, fields ...string) {
		t.Helper()
		hbuf.Reset()
		for i := 0; i < len(fields); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		block := hbuf.Bytes()
		first := block[:min(len(block), 16<<10)]
		rest := block[len(first):]
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: true, EndHeaders: len(rest) == 0}); err != nil {
			t.Fatal(err)
		}
		for len(rest) > 0 {
			n := min(len(rest), 16<<10)
			if err := fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
	}
	// Stream 1: a header list over the 16 KiB limit in one frame (600
	// copies of one field, each a byte once HPACK indexes it, each
	// counting 38 bytes; x/net's framer ends the connection if a
	// CONTINUATION comes after the limit). Stream 3: no :scheme. Stream
	// 5: an ordinary request.
	big := []string{":method", "GET", ":scheme", "https", ":authority", "x", ":path", "/too-big"}
	for range 600 {
		big = append(big, "x-pad", "v")
	}
	send(1, big...)
	send(3, ":method", "GET", ":authority", "x", ":path", "/malformed")
	send(5, ":method", "GET", ":scheme", "https", ":authority", "x", ":path", "/index.html")
	got := map[uint32]string{}
	for len(got) < 3 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			got[f.StreamID] = f.PseudoValue("status")
		case *http2.RSTStreamFrame:
			got[f.StreamID] = f.ErrCode.String()
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v after %v", f.ErrCode, got)
		}
	}
	if want := map[uint32]string{1: "431", 3: "PROTOCOL_ERROR", 5: "200"}; !maps.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	conn.Close()
	ts.stop(t)

	access := ts.readLogAfterStop(t, "access.log")
	for _, w := range []string{`"GET /too-big HTTP/2.0" 431 `, `"GET /malformed HTTP/2.0" 400 0 `, `"GET /index.html HTTP/2.0" 200 `} {
		if !strings.Contains(access, w) {
			t.Errorf("access.log lacks %q:\n%s", w, access)
		}
	}
	if n := strings.Count(access, "\n"); n != 3 {
		t.Errorf("access.log has %d lines, want 3:\n%s", n, access)
	}
	errs := ts.readLogAfterStop(t, "error.log")
	if n := strings.Count(errs, "[info]"); n != 2 || !strings.Contains(errs, "client: 127.0.0.1") {
		t.Errorf("error.log should hold 2 info lines naming the client:\n%s", errs)
	}
}
