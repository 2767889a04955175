package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/server/servertest"
)

// tlsServeConfig is a configuration with one HTTPS listener on a free port
// (Depot.Addr), one site for any host, top-level keys top and listeners
// more after the first.
func tlsServeConfig(t testing.TB, root string, cert *servertest.Cert, top, more string) string {
	t.Helper()
	logs := t.TempDir()
	return fmt.Sprintf(`log_dir = %q
data_dir = %q
%s
[[listen]]
address = %q
tls_cert = %q
tls_key = %q
%s
[[site]]
hosts = ["*"]
root = %q
`, logs, logs, top, freeAddr(t), cert.CertFile, cert.KeyFile, more, root)
}

// TestAttacksOnTLSLeaveATrace: on the production case, an HTTPS listener,
// requests that net/http refuses itself get their access lines with what
// was received as the request line, and a failed handshake's error line
// is found by `depot logs search --ip --errors`.
func TestAttacksOnTLSLeaveATrace(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("hello"))
	cert := servertest.SelfSigned(t, t.TempDir())
	d := startDepot(t, tlsServeConfig(t, root, cert, "", ""))

	exchange := func(c net.Conn, send string, answers int) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(c, send)
		br := bufio.NewReader(c)
		for range answers {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("%q: %v", send[:20], err)
				return
			}
			io.Copy(io.Discard, resp.Body)
		}
	}
	dialTLS := func() net.Conn {
		c, err := tls.Dial("tcp", d.Addr, &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", d.Addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	exchange(dialTLS(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("v", 64<<10)+"\r\n\r\n", 2)
	exchange(dialTLS(), "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2)
	exchange(dialTLS(), "G(T /c HTTP/1.1\r\nHost: x\r\n\r\n", 1)
	exchange(dial(), "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", 1)
	c := dial()
	c.Write([]byte("\x16\x03\x01\x00\x05hello")) // no ClientHello
	io.Copy(io.Discard, c)
	c.Close()
	d.Stop(t)

	got := map[string]string{} // request line -> "status size"
	for _, l := range readLog(t, d.AccessLog()) {
		if _, dup := got[l.Request]; dup {
			t.Errorf("two access lines for %q", l.Request)
		}
		got[l.Request] = l.Status + " " + l.Size
	}
	want := map[string]string{
		"GET /a HTTP/1.1":     "404 14",
		"GET /b HTTP/1.1":     "431 35", // not 2 KiB of the header's value
		"OPTIONS * HTTP/1.1":  "405 23",
		"GET / HTTP/1.1":      "200 5",
		"G(T /c HTTP/1.1":     "400 15",
		"GET /plain HTTP/1.1": "400 48",
	}
	for req, w := range want {
		if got[req] != w {
			t.Errorf("access line for %q: %q, want %q", req, got[req], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("access.log has lines for %v, want exactly %v", got, want)
	}

	out := runOK(t, ".", depotBin, "logs", "search", "--dir", d.Config.LogDir, "--ip", "127.0.0.1", "--errors")
	if !strings.Contains(out, "while SSL handshaking, client: 127.0.0.1") {
		t.Errorf("depot logs search --ip 127.0.0.1 --errors does not find the failed handshake:\n%s", out)
	}
}
