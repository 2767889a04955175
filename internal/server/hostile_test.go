package server

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileRequests sends attacks over raw sockets, byte for byte as an
// attacker would (Go's client would clean the paths first).
func TestHostileRequests(t *testing.T) {
	ts := startServer(t, "autoindex = true", Options{ReadHeaderTimeout: 300 * time.Millisecond})
	secretDir := filepath.Dir(ts.root)
	if err := os.WriteFile(filepath.Join(secretDir, "secret.txt"), []byte("TOPSECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(secretDir, "secret.txt"), filepath.Join(ts.root, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretDir, filepath.Join(ts.root, "dir-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.html", filepath.Join(ts.root, "link-in")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		target string
		status string // status code expected in the status line
	}{
		{"/../secret.txt", "400"},
		{"/../../../../etc/passwd", "400"},
		{"/%2e%2e/secret.txt", "400"},
		{"/%2E%2E/secret.txt", "400"},
		{"/.%2e/secret.txt", "400"},
		{"/%2e%2e%2fsecret.txt", "400"},
		{"/listing/..%2f..%2fsecret.txt", "400"},
		{"/..%5csecret.txt", "400"},
		{"/..\\secret.txt", "400"},
		{"/%252e%252e/secret.txt", "404"},
		{"/%c0%ae%c0%ae/secret.txt", "404"}, // overlong UTF-8 dots are just bytes
		{"/link-out", "404"},
		{"/dir-out/secret.txt", "404"},
		{"/dir-out/", "404"},
		{"/.git/config", "404"},
		{"/%2egit/config", "404"},
		{"/sub/.htpasswd", "404"},
		{"/index.html%00.txt", "400"},
		{"/link-in", "200"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp := rawFull(t, ts.clearnet, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if strings.Contains(resp, "TOPSECRET") || strings.Contains(resp, "root:") || strings.Contains(resp, "secret.txt") {
				t.Fatalf("response leaks data from outside the root:\n%s", resp)
			}
			status, _, _ := strings.Cut(resp, "\r\n")
			if !strings.Contains(status, " "+tt.status+" ") {
				t.Errorf("status line %q, want %s", status, tt.status)
			}
		})
	}

	t.Run("huge header", func(t *testing.T) {
		status := raw(t, ts.clearnet, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
		if !strings.Contains(status, "431") {
			t.Errorf("status %q, want 431", status)
		}
	})
	t.Run("slow headers are cut off", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.clearnet)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("server kept a connection with unfinished headers open for 5s; want it closed after ReadHeaderTimeout")
		}
	})
	t.Run("garbage request line", func(t *testing.T) {
		if status := raw(t, ts.clearnet, "\x16\x03\x01\x02\x00\r\n\r\n"); !strings.Contains(status, "400") {
			t.Errorf("status %q, want 400", status)
		}
	})
}

// rawFull sends request on a fresh connection and returns the whole answer.
func rawFull(t testing.TB, addr, request string) string {
	t.Helper()
	return rawSend(t, addr, request, false)
}

// rawSend is rawFull, half-closing the connection after the request when
// closeWrite is set.
func rawSend(t testing.TB, addr, request string, closeWrite bool) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestRedirectsStayOnOrigin: the slash a directory needs is added by a
// redirect whose target is a path on the same origin. "//repo" must not
// become "Location: //repo/", which a browser reads as the host "repo".
func TestRedirectsStayOnOrigin(t *testing.T) {
	ts := startServer(t, "autoindex = true", Options{})
	tests := []struct{ target, location string }{
		{"/listing", "/listing/"},
		{"//listing", "/listing/"},
		{"///listing", "/listing/"},
		{"/%2flisting", "/listing/"},
		{"/%2F%2Flisting?a=b", "/listing/?a=b"},
		{"//listing/dir", "/listing/dir/"},
		{"/listing//dir", "/listing/dir/"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp := rawFull(t, ts.clearnet, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			status, rest, _ := strings.Cut(resp, "\r\n")
			if !strings.Contains(status, " 301 ") {
				t.Fatalf("status line %q, want 301", status)
			}
			var loc string
			for _, h := range strings.Split(rest, "\r\n") {
				if v, ok := strings.CutPrefix(h, "Location: "); ok {
					loc = v
				}
			}
			if loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
		})
	}
}

// TestUnservableNamesAre404: names the kernel refuses (a file used as a
// directory, a name longer than NAME_MAX, a symlink loop) and a file asked
// for as a directory are 404, as nginx answers them, with nginx's error
// line naming the errno; none is a 500.
func TestUnservableNamesAre404(t *testing.T) {
	ts := startServer(t, "", Options{})
	if err := os.Symlink("loop2", filepath.Join(ts.root, "loop1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1", filepath.Join(ts.root, "loop2")); err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("a", 300)
	tests := []struct{ target, errno string }{
		{"/index.html/x", "(20: Not a directory)"},
		{"/index.html/", "(20: Not a directory)"},
		{"/keys/KEY.gpg/", "(20: Not a directory)"},
		{long, "(36: File name too long)"},
		{long + "/x", "(36: File name too long)"},
		{"/loop1", "(40: Too many levels of symbolic links)"},
		{"/loop1/x", "(40: Too many levels of symbolic links)"},
	}
	for _, tt := range tests {
		status := raw(t, ts.clearnet, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if !strings.Contains(status, " 404 ") {
			t.Errorf("GET %.40s: status line %q, want 404", tt.target, status)
		}
	}
	errs := ts.readLog(t, "error.log")
	for _, tt := range tests {
		if !strings.Contains(errs, `request: "GET `+tt.target+` HTTP/1.1"`) {
			t.Errorf("error.log has no line for GET %.40s:\n%s", tt.target, errs)
		}
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != len(tests) {
		t.Errorf("error.log has %d lines for %d requests:\n%s", len(lines), len(tests), errs)
	}
	for i, l := range lines {
		if i < len(tests) && (!strings.Contains(l, "[error]") || !strings.Contains(l, tests[i].errno)) {
			t.Errorf("error line %d %q: want level error and %s, as nginx writes", i, l, tests[i].errno)
		}
	}
	if got := raw(t, ts.clearnet, "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.Contains(got, " 200 ") {
		t.Errorf("GET /index.html: %q, want 200", got)
	}
}
