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
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
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

// TestStreamsAtTheLimitAreNeverRefused: a client that keeps exactly
// MaxConcurrentStreams streams open, opening one as soon as another
// ends, never gets REFUSED_STREAM: a stream whose END_STREAM the client
// has read no longer counts, neither as open nor as a running handler.
func TestStreamsAtTheLimitAreNeverRefused(t *testing.T) {
	const limit, total = 100, 20000
	s := &Server{MaxConcurrentStreams: limit, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})}
	cc := serveLoopback(t, s)
	fr := http2.NewFramer(cc, cc)
	block := encodeRequest(t, "GET", "/")
	if _, err := io.WriteString(cc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr.WriteSettings()
	next := uint32(1)
	open := func() {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: next, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		next += 2
	}
	for range limit {
		open()
	}
	cc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for done := 0; done < total; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d answers: %v", done, err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			t.Fatalf("after %d answers: stream %d reset with %v", done, f.StreamID, f.ErrCode)
		case *http2.DataFrame:
			if f.StreamEnded() {
				done++
				if int(next/2)+1 <= total {
					open()
				}
			}
		}
	}
}

// serveLoopback serves s on one end of a loopback TCP connection and
// returns the other; the server ends with the test.
func serveLoopback(t *testing.T, s *Server) net.Conn {
	t.Helper()
	cc, sc := loopbackPair(t)
	done := make(chan struct{})
	go func() {
		s.ServeConn(context.Background(), sc, nil)
		close(done)
	}()
	t.Cleanup(func() { cc.Close(); <-done })
	return cc
}

// encodeRequest is the HPACK block of a request to example.org.
func encodeRequest(t *testing.T, method, path string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range [][2]string{{":method", method}, {":scheme", "https"}, {":authority", "example.org"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return b.Bytes()
}
