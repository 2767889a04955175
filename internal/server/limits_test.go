package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"depot/internal/config"
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
	ts := startServer(t, "", Options{Responders: func(config.Site) []Responder {
		return []Responder{Mount("/statistics/", page)}
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
