package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/config"
)

// testConfig is a [proxy] table with defaults on a free loopback port.
func testConfig(allow ...string) config.Proxy {
	return config.Proxy{
		Listen:         "127.0.0.1:0",
		Allow:          allow,
		HeaderTimeout:  config.Duration(2 * time.Second),
		IdleTimeout:    config.Duration(5 * time.Second),
		DialTimeout:    config.Duration(5 * time.Second),
		MaxConnections: 64,
		MaxHeaderBytes: 16 << 10,
	}
}

// startProxy runs a proxy until the test ends and returns its address.
func startProxy(t testing.TB, cfg config.Proxy, opts Options) string {
	t.Helper()
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s.Addr().String()
}

// noDNS is a resolver that fails the test if anything asks it a question
// (names in /etc/hosts, such as localhost, never reach it).
func noDNS(t testing.TB, calls *atomic.Int32) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			calls.Add(1)
			t.Errorf("a DNS query was made (%s %s)", network, address)
			return nil, errors.New("DNS is forbidden in this test")
		},
	}
}

// proxyClient is an http.Client that uses the proxy at addr.
func proxyClient(addr string) *http.Client {
	u := &url.URL{Scheme: "http", Host: addr}
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(u), DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
}

// raw sends req on a new connection and returns the status line and the
// rest of the answer, read until the proxy closes or 3s pass.
func raw(t testing.TB, addr, req string) (status, rest string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang shows as this whole wait
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	status, _ = br.ReadString('\n')
	var b strings.Builder
	br.WriteTo(&b)
	return strings.TrimSpace(status), b.String()
}

// origin is a plain HTTP server that records the requests it receives.
type origin struct {
	Addr    string
	mu      sync.Mutex
	reqs    []*http.Request
	accepts atomic.Int32
}

func newOrigin(t testing.TB, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.reqs = append(o.reqs, r)
		o.mu.Unlock()
		h(w, r)
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			o.accepts.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

func (o *origin) requests() []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*http.Request(nil), o.reqs...)
}

// countingWriter counts writes, for proving that nothing is logged.
type countingWriter struct {
	mu sync.Mutex
	n  int
	b  strings.Builder
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.b.Write(p)
	return len(p), nil
}

func (c *countingWriter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

func (c *countingWriter) writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
