package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileRequests sends, over a raw connection so that no client
// cleans them first, request targets that try to leave the site's root,
// and checks that none of them gets a byte from outside it.
func TestHostileRequests(t *testing.T) {
	outside := t.TempDir()
	const secret = "secret-outside-the-root"
	writeFile(t, filepath.Join(outside, "secret.txt"), []byte(secret))
	www := filepath.Join(t.TempDir(), "www")
	writeFile(t, filepath.Join(www, "index.html"), []byte("<!DOCTYPE html><title>t</title>\n"))
	writeFile(t, filepath.Join(www, ".git", "config"), []byte(secret))
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(www, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(www, "linkdir")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(www, filepath.Join(outside, "secret.txt"))
	if err != nil {
		t.Fatal(err)
	}
	d := startDepot(t, serveConfig(t, www))

	for _, target := range []string{
		"/" + rel,
		"/" + strings.ReplaceAll(rel, "..", "%2e%2e"),
		"/" + strings.ReplaceAll(rel, "/", "%2f"),
		"/" + strings.ReplaceAll(strings.ReplaceAll(rel, ".", "%2E"), "/", "%2F"),
		"/./" + rel,
		"/link.txt",
		"/linkdir/secret.txt",
		"/.git/config",
		"/%2egit/config",
	} {
		status, body := rawGet(t, d.Addr, target)
		if status == 200 || strings.Contains(body, secret) {
			t.Errorf("GET %s = %d with body %q; want an error status and nothing from outside the root", target, status, body)
		} else if status != 400 && status != 403 && status != 404 {
			t.Errorf("GET %s = %d, want 400, 403 or 404", target, status)
		}
	}
	// The server still answers normally afterwards.
	if status, _ := get(t, http.DefaultClient, d.URL("/")); status != 200 {
		t.Errorf("GET / after the hostile requests = %d, want 200", status)
	}
}

// rawGet sends target verbatim in a request line and returns the status
// and the start of the body.
func rawGet(t testing.TB, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://localhost/", nil)
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("GET %s: reading the response: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}
