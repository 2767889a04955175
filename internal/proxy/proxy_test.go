package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"depot/internal/config"
	"depot/internal/proxy/proxytest"
)

func TestForwardStripsWhatLeaksTheClient(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "origin-hop")
		w.Header().Set("Keep-Alive", "timeout=5")
		io.WriteString(w, "repomd")
	})
	addr := startProxy(t, testConfig(o.Addr), Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET http://" + o.Addr + "/repodata/repomd.xml HTTP/1.1\r\n" +
		"Host: evil.example\r\n" +
		"Connection: X-Client-Secret, keep-alive\r\n" +
		"X-Client-Secret: 10.137.0.12\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n" +
		"X-Forwarded-For: 10.137.0.12\r\n" +
		"Forwarded: for=10.137.0.12\r\n" +
		"User-Agent: dnf/4.14\r\n\r\n"
	c.Write([]byte(req))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "repomd" {
		t.Fatalf("got %d %q, want 200 \"repomd\"", resp.StatusCode, body)
	}
	for _, h := range []string{"X-Hop", "Keep-Alive", "Via"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("response to the client has %s: %q, want none", h, v)
		}
	}
	reqs := o.requests()
	if len(reqs) != 1 {
		t.Fatalf("origin got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Host != o.Addr {
		t.Errorf("origin got Host %q, want the target's authority %q (RFC 9112 §3.2.2)", r.Host, o.Addr)
	}
	if r.RequestURI != "/repodata/repomd.xml" {
		t.Errorf("origin got request target %q, want origin-form /repodata/repomd.xml", r.RequestURI)
	}
	for _, h := range []string{"X-Client-Secret", "Proxy-Connection", "Proxy-Authorization", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "Via"} {
		if v, ok := r.Header[h]; ok {
			t.Errorf("origin got %s: %q, want none", h, v)
		}
	}
	if got := r.Header.Get("User-Agent"); got != "dnf/4.14" {
		t.Errorf("origin got User-Agent %q, want the client's dnf/4.14", got)
	}
}

func TestDeniedBeforeAnyLookupOrConnection(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	_, port, _ := net.SplitHostPort(o.Addr)
	var dns atomic.Int32
	var allowed, denied atomic.Int32
	cfg := testConfig("repo.example.org", "127.0.0.1:1")
	addr := startProxy(t, cfg, Options{Resolver: noDNS(t, &dns), Decision: func(ok bool) {
		if ok {
			allowed.Add(1)
		} else {
			denied.Add(1)
		}
	}})
	tests := []struct {
		name, req, wantStatus, wantBody string
	}{
		{"unlisted name", "GET http://other.example.org/x HTTP/1.1\r\nHost: other.example.org\r\n\r\n", "403", "other.example.org:80 is not allowed; add it to allow in the [proxy] table"},
		{"unlisted address", "GET http://" + o.Addr + "/x HTTP/1.1\r\nHost: x\r\n\r\n", "403", o.Addr + " is not allowed"},
		{"listed name, other port", "GET http://repo.example.org:" + port + "/x HTTP/1.1\r\nHost: x\r\n\r\n", "403", "repo.example.org:" + port},
		{"connect unlisted port", "CONNECT repo.example.org:22 HTTP/1.1\r\nHost: repo.example.org:22\r\n\r\n", "403", "repo.example.org:22 is not allowed"},
		{"connect to the origin", "CONNECT " + o.Addr + " HTTP/1.1\r\nHost: " + o.Addr + "\r\n\r\n", "403", "not allowed"},
		{"suffix trick", "GET http://repo.example.org.evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n", "403", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, rest := raw(t, addr, tt.req)
			if !strings.Contains(status, " "+tt.wantStatus+" ") {
				t.Errorf("got %q, want %s", status, tt.wantStatus)
			}
			if !strings.Contains(rest, tt.wantBody) {
				t.Errorf("got body %q, want it to contain %q", rest, tt.wantBody)
			}
		})
	}
	if n := dns.Load(); n != 0 {
		t.Errorf("%d DNS queries, want 0", n)
	}
	if n := o.accepts.Load(); n != 0 {
		t.Errorf("origin accepted %d connections, want 0", n)
	}
	if a, d := allowed.Load(), denied.Load(); a != 0 || d != int32(len(tests)) {
		t.Errorf("Decision counted %d allowed and %d denied, want 0 and %d", a, d, len(tests))
	}
}

func TestHostileRequests(t *testing.T) {
	cfg := testConfig("localhost")
	cfg.HeaderTimeout = config.Duration(300 * time.Millisecond)
	cfg.MaxHeaderBytes = 4 << 10
	addr := startProxy(t, cfg, Options{})
	tests := []struct {
		name, req, want string
	}{
		{"malformed request line", "GET\r\n\r\n", "400"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "400"},
		{"origin-form", "GET /etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"https absolute-form", "GET https://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"ftp", "GET ftp://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"userinfo", "GET http://user:pw@localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"post", "POST http://localhost/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", "405"},
		{"upgrade", "GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "400"},
		{"connect without port", "CONNECT localhost HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"connect with path", "CONNECT localhost:443/x HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"connect origin-form", "CONNECT / HTTP/1.1\r\nHost: localhost:443\r\n\r\n", "400"},
		{"bad host", "GET http://local_host!/ HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"numeric name", "GET http://2130706433/ HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"huge header", "GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\nX: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", "431"},
		{"slowloris", "GET http://localhost/ HTTP/1.1\r\nHost: local", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			status, _ := raw(t, addr, tt.req)
			if tt.want == "" {
				if status != "" {
					t.Errorf("got %q, want the connection closed without an answer", status)
				}
				// Unbounded, the connection would stay open until raw's
				// own 10 s deadline; anything well below shows the header
				// timeout closed it.
				if d := time.Since(start); d > 6*time.Second {
					t.Errorf("closed after %v, want about the header timeout", d)
				}
				return
			}
			if !strings.Contains(status, " "+tt.want+" ") {
				t.Errorf("got %q, want %s", status, tt.want)
			}
		})
	}
}

func TestConnectTunnelsTLS(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "InRelease")
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	addr := startProxy(t, testConfig(u.Host), Options{})
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr})
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(ts.URL + "/dists/bookworm/InRelease")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "InRelease" || resp.TLS == nil {
		t.Errorf("got %d %q (TLS %v), want 200 \"InRelease\" over TLS", resp.StatusCode, body, resp.TLS != nil)
	}
}

// TestSOCKSGetsNamesNotAddresses proves that with tor as upstream the host
// name goes to the SOCKS server as a domain name and no DNS query is made
// locally (repo.example.org resolves nowhere; the fake SOCKS server joins
// every request to the local origin).
func TestSOCKSGetsNamesNotAddresses(t *testing.T) {
	plainOrigin := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "via tor "+r.Host) })
	tlsOrigin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls via tor") }))
	defer tlsOrigin.Close()
	tlsAddr := strings.TrimPrefix(tlsOrigin.URL, "https://")

	for _, tt := range []struct {
		name, backend, url, want string
		port                     int
	}{
		{"plain GET", plainOrigin.Addr, "http://repo.example.org/repodata/repomd.xml", "via tor repo.example.org", 80},
		{"CONNECT", tlsAddr, "https://repo.example.org/repodata/repomd.xml", "tls via tor", 443},
	} {
		t.Run(tt.name, func(t *testing.T) {
			socks := proxytest.NewSOCKS5(t, tt.backend)
			cfg := testConfig("repo.example.org")
			cfg.Upstream = "socks5://" + socks.Addr
			var dns atomic.Int32
			addr := startProxy(t, cfg, Options{Resolver: noDNS(t, &dns)})
			tr := &http.Transport{
				Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: addr}),
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test origin's certificate names 127.0.0.1
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			reqs := socks.Requests()
			if len(reqs) != 1 {
				t.Fatalf("SOCKS server got %v, want one CONNECT", reqs)
			}
			if r := reqs[0]; r.AddrType != proxytest.ATypDomain || r.Host != "repo.example.org" || r.Port != tt.port {
				t.Errorf("SOCKS server got %v, want atyp %d (domain name) repo.example.org:%d", r, proxytest.ATypDomain, tt.port)
			}
			if n := dns.Load(); n != 0 {
				t.Errorf("%d local DNS queries, want 0", n)
			}
		})
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	addr := startProxy(t, testConfig(dead), Options{})
	for _, req := range []string{
		"GET http://" + dead + "/x HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT " + dead + " HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		status, body := raw(t, addr, req)
		if !strings.Contains(status, " 502 ") || strings.Contains(body, "refused") {
			t.Errorf("%q: got %q %q, want 502 without the error detail", req, status, body)
		}
	}
}

func TestIdleTunnelClosedBusyTunnelKept(t *testing.T) {
	// The destination sends a byte every 50ms for a while, then nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				for range 16 {
					if _, err := c.Write([]byte{'x'}); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				// then silence, with the connection left open
			}()
		}
	}()
	cfg := testConfig(ln.Addr().String())
	cfg.IdleTimeout = config.Duration(500 * time.Millisecond)
	addr := startProxy(t, cfg, Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT "+ln.Addr().String()+" HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	got, err := io.ReadAll(br) // the client sends nothing all along
	d := time.Since(start)
	if len(got) != 16 {
		t.Errorf("got %d bytes through the tunnel, want all 16 (the client's silence must not close a busy tunnel)", len(got))
	}
	if err != nil {
		t.Errorf("tunnel not closed by the proxy: %v", err)
	}
	if d < 1200*time.Millisecond || d > 6*time.Second {
		t.Errorf("tunnel closed after %v, want about 800ms of traffic plus 500ms idle", d)
	}
}

func TestMaxConnections(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	cfg := testConfig(o.Addr)
	cfg.MaxConnections = 1
	addr := startProxy(t, cfg, Options{})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// The first connection holds the only slot with an open tunnel (busy:
	// an idle one would give its slot up, see TestIdleClientsDoNotHoldSlots);
	// prove it is accepted.
	io.WriteString(first, "CONNECT "+o.Addr+" HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(first), &http.Request{Method: http.MethodConnect}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	io.WriteString(second, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	br := bufio.NewReader(second)
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a second connection was served while the first held the only slot")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(3 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 400 {
		t.Errorf("after the first closed: got %v, %v; want the 400 for origin-form", resp, err)
	}
}

func TestNothingLoggedByDefault(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	sink, errs := &countingWriter{}, &countingWriter{}
	addr := startProxy(t, testConfig(o.Addr), Options{Log: sink, Errors: errs})
	exercise(t, addr, o.Addr)
	if sink.writes() != 0 || errs.writes() != 0 {
		t.Errorf("log = false: got %d log and %d error writes, want none:\n%s%s", sink.writes(), errs.writes(), sink, errs)
	}
}

func TestLogHasNoClient(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	sink := &countingWriter{}
	cfg := testConfig(o.Addr)
	cfg.Log = true
	addr := startProxy(t, cfg, Options{Log: sink, Now: func() time.Time { return time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC) }})
	exercise(t, addr, o.Addr)
	lines := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	want := []string{
		`- - - [29/Nov/2026:06:00:00 +0000] "GET http://` + o.Addr + `/file HTTP/1.1" 200 5 "-" "-"`,
		`- - - [29/Nov/2026:06:00:00 +0000] "GET http://denied.example.org/file HTTP/1.1" 403 `,
		`- - - [29/Nov/2026:06:00:00 +0000] "GET /origin-form HTTP/1.1" 400 `,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), sink)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: got\n%s\nwant it to start with\n%s", i, lines[i], w)
		}
		if strings.Contains(lines[i], "secret-agent") {
			t.Errorf("line %d holds the client's user agent: %s", i, lines[i])
		}
	}
}

// exercise sends an allowed, a denied and a malformed request, each with
// a user agent that must not be logged.
func exercise(t *testing.T, addr, allowed string) {
	t.Helper()
	for _, req := range []string{
		"GET http://" + allowed + "/file HTTP/1.1\r\nHost: x\r\nUser-Agent: secret-agent\r\nConnection: close\r\n\r\n",
		"GET http://denied.example.org/file HTTP/1.1\r\nHost: x\r\nUser-Agent: secret-agent\r\nConnection: close\r\n\r\n",
		"GET /origin-form HTTP/1.1\r\nHost: x\r\nUser-Agent: secret-agent\r\nConnection: close\r\n\r\n",
	} {
		raw(t, addr, req)
	}
}

func TestShutdownLetsRequestsFinish(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	})
	s, err := New(testConfig(o.Addr), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	got := make(chan string, 1)
	go func() {
		resp, err := proxyClient(s.Addr().String()).Get("http://" + o.Addr + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	for len(o.requests()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the proxy still accepts connections 3s after shutdown began")
		}
	}
	close(release)
	if b := <-got; b != "done" {
		t.Errorf("request in flight got %q, want \"done\"", b)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v, want nil", err)
	}
}

func TestUnixListenerAndClose(t *testing.T) {
	dir, err := os.MkdirTemp("", "depot-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "proxy.sock")
	cfg := testConfig("localhost")
	cfg.Listen = "unix:" + path
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dialing the proxy's socket: %v", err)
	}
	c.Close()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket %s left after Close (%v)", path, err)
	}
}

// TestForwardsOnlyWhatAptAndDnfNeed: whatever a client (or a proxy in
// front of depot's, such as tinyproxy with its Via) adds, the destination
// receives only the headers apt and dnf use, and none that names a
// client, a machine or a hop.
func TestForwardsOnlyWhatAptAndDnfNeed(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	addr := startProxy(t, testConfig(o.Addr), Options{})
	keep := map[string]string{
		"User-Agent":        "Debian APT-HTTP/1.3 (2.6.1)",
		"Accept":            "text/*",
		"Accept-Encoding":   "gzip",
		"Range":             "bytes=100-",
		"If-Range":          "Tue, 03 Nov 2026 10:00:00 GMT",
		"If-Modified-Since": "Tue, 03 Nov 2026 10:00:00 GMT",
		"If-None-Match":     `"abc"`,
		"Cache-Control":     "max-age=0",
		"Pragma":            "no-cache",
		"Authorization":     "Basic dXNlcjpwYXNz", // a private repository's, meant for it
	}
	drop := []string{
		"Via: 1.1 sys-whonix (tinyproxy/1.11.1)",
		"X-Forwarded-For: 10.137.0.12",
		"X-Forwarded-Host: sys-whonix",
		"X-Forwarded-Proto: http",
		"X-Forwarded-Port: 8082",
		"Forwarded: for=10.137.0.12;by=sys-whonix",
		"True-Client-IP: 10.137.0.12",
		"Client-IP: 10.137.0.12",
		"CF-Connecting-IP: 10.137.0.12",
		"X-Real-IP: 10.137.0.12",
		"X-Client-IP: 10.137.0.12",
		"X-Originating-IP: 10.137.0.12",
		"X-Cluster-Client-IP: 10.137.0.12",
		"X-ProxyUser-Ip: 10.137.0.12",
		"Fastly-Client-IP: 10.137.0.12",
		"X-Tinyproxy: 10.137.0.12",
		"X-Qubes-VM: work",
		"Cookie: session=1",
		"Referer: http://sys-whonix/",
		"From: user@example.org",
		"Accept-Language: de-DE",
		"DNT: 1",
	}
	req := "GET http://" + o.Addr + "/dists/bookworm/InRelease HTTP/1.1\r\nHost: " + o.Addr + "\r\nConnection: close\r\n"
	for k, v := range keep {
		req += k + ": " + v + "\r\n"
	}
	req += strings.Join(drop, "\r\n") + "\r\n\r\n"
	if status, _ := raw(t, addr, req); !strings.Contains(status, " 200 ") && !strings.Contains(status, " 206 ") {
		t.Fatalf("got %q, want the file", status)
	}
	reqs := o.requests()
	if len(reqs) != 1 {
		t.Fatalf("origin got %d requests, want 1", len(reqs))
	}
	got := reqs[0].Header
	for k, v := range keep {
		if got.Get(k) != v {
			t.Errorf("origin got %s: %q, want the client's %q", k, got.Get(k), v)
		}
	}
	for k, v := range got {
		if _, ok := keep[k]; !ok {
			t.Errorf("origin got %s: %q, which apt and dnf do not need", k, v)
		}
	}
}
