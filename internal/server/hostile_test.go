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
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}
