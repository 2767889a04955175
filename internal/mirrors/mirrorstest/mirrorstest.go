// Package mirrorstest runs fake mirrors for tests: honest ones that serve a
// directory and count requests, and hostile ones (slow, dripping, endless,
// lying, looping). It is for tests only and never listens beyond loopback.
package mirrorstest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mirror is a fake mirror on a loopback port.
type Mirror struct {
	// URL is the base URL, ending with "/".
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	requests map[string]int
	dir      string
}

// Requests is how many requests asked for the URL path p ("/x/repomd.xml").
func (m *Mirror) Requests(p string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[p]
}

// Matching is how many requests asked for a URL path containing substr.
func (m *Mirror) Matching(substr string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p, c := range m.requests {
		if strings.Contains(p, substr) {
			n += c
		}
	}
	return n
}

// Total is how many requests the mirror received.
func (m *Mirror) Total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.requests {
		n += c
	}
	return n
}

// SetDir makes the mirror serve another directory from now on (a sync).
func (m *Mirror) SetDir(dir string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dir = dir
}

// Close stops the mirror: from now on its address refuses connections.
func (m *Mirror) Close() { m.srv.Close() }

func start(t testing.TB, h func(m *Mirror, w http.ResponseWriter, r *http.Request)) *Mirror {
	t.Helper()
	m := &Mirror{requests: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests[r.URL.Path]++
		m.mu.Unlock()
		h(m, w, r)
	}))
	m.URL = m.srv.URL + "/"
	t.Cleanup(m.srv.Close)
	return m
}

// Dir serves the files below dir, as an honest mirror.
func Dir(t testing.TB, dir string) *Mirror {
	t.Helper()
	m := start(t, func(m *Mirror, w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		d := m.dir
		m.mu.Unlock()
		http.FileServer(http.Dir(d)).ServeHTTP(w, r)
	})
	m.dir = dir
	return m
}

// Handler serves h, for cases the others do not cover.
func Handler(t testing.TB, h http.HandlerFunc) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) { h(w, r) })
}

// Slow answers every request after delay (or when the client gives up).
func Slow(t testing.TB, delay time.Duration) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
			http.Error(w, "late", http.StatusOK)
		case <-r.Context().Done():
		}
	})
}

// Drip sends headers at once, then one byte of body every interval,
// forever (until the client gives up).
func Drip(t testing.TB, interval time.Duration) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			<-r.Context().Done() // a HEAD has no body to drip: never answer
			return
		}
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			fl.Flush()
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			}
		}
	})
}

// Endless sends a body that never ends, as fast as it can.
func Endless(t testing.TB) *Mirror {
	t.Helper()
	chunk := []byte(strings.Repeat("endless ", 4096))
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			<-r.Context().Done() // a HEAD has no body: never answer
			return
		}
		for {
			if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
				return
			}
		}
	})
}

// WrongSize claims every file is size bytes long and sends that many.
func WrongSize(t testing.TB, size int) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(strings.Repeat("w", size)))
		}
	})
}

// RedirectLoop redirects every request to itself with a new query.
func RedirectLoop(t testing.TB) *Mirror {
	t.Helper()
	n := 0
	var mu sync.Mutex
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		http.Redirect(w, r, fmt.Sprintf("%s?loop=%d", r.URL.Path, i), http.StatusFound)
	})
}

// RedirectTo redirects every request to target + path (another host, in
// tests of where depot may connect).
func RedirectTo(t testing.TB, target string) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimSuffix(target, "/")+r.URL.Path, http.StatusFound)
	})
}

// HugeHeaders sends response headers of about n bytes.
func HugeHeaders(t testing.TB, n int) *Mirror {
	t.Helper()
	return start(t, func(_ *Mirror, w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("h", 1000)
		for i := 0; i < n/1000; i++ {
			w.Header().Add(fmt.Sprintf("X-Huge-%d", i), v)
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Refusing returns a base URL on which nothing listens (a mirror that is
// down).
func Refusing(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// Silent accepts connections and never answers (a black hole); it
// returns the base URL.
func Silent(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}
