package server

import (
	"net"
	"strings"
	"testing"
	"time"
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
