package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// startServer serves h over TLS with ALPN h2 through s, and returns the
// server's address and a client that speaks HTTP/2 to it.
func startServer(t *testing.T, s *Server) (string, *http.Client) {
	t.Helper()
	cert := httptest.NewUnstartedServer(nil)
	cert.StartTLS() // only for its certificate
	tlsCfg := cert.TLS.Clone()
	cert.Close()
	tlsCfg.NextProtos = []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); s.Shutdown(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					c.Close()
					return
				}
				st := tc.ConnectionState()
				s.ServeConn(context.Background(), tc, &st)
			})
		}
	})
	tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return "https://" + ln.Addr().String(), &http.Client{Transport: tr}
}

func TestServesGetHeadPostAndLargeBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/big":
			w.Write(big)
		case "/echo":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(500)
				return
			}
			fmt.Fprintf(w, "%s %d %s", r.Method, len(b), r.Host)
		default:
			http.NotFound(w, r)
		}
	})}
	base, client := startServer(t, s)
	get := func(method, path string, body io.Reader) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, base+path, body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading: %v", method, path, err)
		}
		return resp, b
	}
	resp, b := get("GET", "/small", nil)
	if resp.StatusCode != 200 || string(b) != "hello" || resp.ProtoMajor != 2 || resp.ContentLength != 5 || resp.Header.Get("Date") == "" {
		t.Errorf("GET /small: %d %q proto %d length %d header %v", resp.StatusCode, b, resp.ProtoMajor, resp.ContentLength, resp.Header)
	}
	resp, b = get("HEAD", "/small", nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != 5 {
		t.Errorf("HEAD /small: %d %q length %d", resp.StatusCode, b, resp.ContentLength)
	}
	resp, b = get("GET", "/big", nil)
	if !bytes.Equal(b, big) {
		t.Errorf("GET /big: %d bytes, want %d", len(b), len(big))
	}
	resp, b = get("POST", "/echo", strings.NewReader(strings.Repeat("x", 300000)))
	if want := "POST 300000 " + strings.TrimPrefix(base, "https://"); string(b) != want {
		t.Errorf("POST /echo: %q, want %q", b, want)
	}
	resp, _ = get("GET", "/nothing", nil)
	if resp.StatusCode != 404 {
		t.Errorf("GET /nothing: %d", resp.StatusCode)
	}
	var wg sync.WaitGroup
	for range 300 {
		wg.Go(func() {
			resp, b := get("GET", "/small", nil)
			if resp.StatusCode != 200 || string(b) != "hello" {
				t.Errorf("concurrent GET: %d %q", resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	_ = net.ErrClosed
}
