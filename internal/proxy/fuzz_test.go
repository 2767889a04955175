package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"depot/internal/allowlist"
)

// recordingDialer records every address the proxy tries to reach.
type recordingDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) DialContext(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	return nil, errors.New("no network in the fuzz test")
}

// FuzzRequest feeds arbitrary request bytes, as net/http parses them, to
// the proxy's handler and checks the invariant that matters: whatever the
// request line and headers say, no dial is ever attempted to a
// destination outside the allowlist.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET http://repo.example.org/repodata/repomd.xml HTTP/1.1\r\nHost: repo.example.org\r\n\r\n",
		"CONNECT repo.example.org:443 HTTP/1.1\r\nHost: repo.example.org:443\r\n\r\n",
		"CONNECT evil.example:443 HTTP/1.1\r\nHost: repo.example.org:443\r\n\r\n",
		"GET http://evil.example/ HTTP/1.1\r\nHost: repo.example.org\r\n\r\n",
		"GET http://repo.example.org@evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://repo.example.org.evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: repo.example.org\r\n\r\n",
		"GET http://[::1]:80/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://REPO.example.org.:80/ HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add(s)
	}
	list, _ := allowlist.ParseList([]string{"repo.example.org", "*.debian.org"})
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		s, err := New(testConfig("repo.example.org", "*.debian.org"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := &recordingDialer{}
		s.dialer = d
		s.handle(httptest.NewRecorder(), req)
		for _, a := range d.addrs {
			tg, err := allowlist.ParseAuthority(a, 0)
			if err != nil || !list.Allows(tg) {
				t.Fatalf("request %q made the proxy dial %q", raw, a)
			}
		}
	})
}
