package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/acme/autocert"
)

// countingCA is an HTTP server that counts the requests it gets and
// answers none of them usefully.
func countingCA(t *testing.T) (url string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/directory", hits
}

func TestHandshakesAndChallengesNeverContactTheCA(t *testing.T) {
	ca, hits := countingCA(t)
	a, err := NewACME(ACMEOptions{CA: ca, Dir: filepath.Join(t.TempDir(), "acme", "ca"), Hosts: []string{"www.example.org"},
		HTTP01: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"www.example.org", "WWW.Example.org.", "other.example.org", ""} {
		if c, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: name}); c != nil || err == nil {
			t.Errorf("handshake for %q before any certificate: got %v, %v; want an error", name, c, err)
		}
	}
	// A TLS-ALPN-01 probe with no order in flight.
	if c, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.example.org", SupportedProtos: []string{"acme-tls/1"}}); c != nil || err == nil {
		t.Errorf("TLS-ALPN-01 probe without an order: got %v, %v; want an error", c, err)
	}
	r := httptest.NewRequest("GET", "http://www.example.org/.well-known/acme-challenge/sometoken", nil)
	if !a.IsChallenge(r) {
		t.Fatal("IsChallenge is false for an HTTP-01 path")
	}
	for _, host := range []string{"www.example.org", "www.example.org:80", "www.example.org:8080"} {
		r.Host = host
		w := httptest.NewRecorder()
		a.ServeChallenge(w, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("HTTP-01 request for %s with no order in flight: got %d, want 404", host, w.Code)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the CA got %d requests from handshakes and challenge requests, want 0", n)
	}
	if !a.Manages("WWW.EXAMPLE.ORG.") || a.Manages("example.org") {
		t.Error("Manages does not match names case-insensitively and exactly")
	}
}

func TestRunStoresPrivatelyAndReportsAnUnreachableCA(t *testing.T) {
	ca, hits := countingCA(t)
	dir := filepath.Join(t.TempDir(), "acme", "ca")
	reports := make(chan string, 16)
	a, err := NewACME(ACMEOptions{CA: ca, Dir: dir, Hosts: []string{"www.example.org"},
		Logf: func(f string, args ...any) {
			select {
			case reports <- f:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	<-reports // the CA's 503, or the failed order
	cancel()
	<-done
	if hits.Load() == 0 {
		t.Error("Run did not contact the CA")
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	// The account key was generated and kept before the CA was asked.
	st, err := os.Stat(filepath.Join(dir, "acme_account+key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("account key has mode %v, want 0600", st.Mode().Perm())
	}
}

func TestCacheRefusesNamesThatAreNotPlainFileNames(t *testing.T) {
	dir := t.TempDir()
	c := diskCache{dir: filepath.Join(dir, "cache")}
	os.Mkdir(c.dir, 0o700)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("outside"), 0o600)
	for _, name := range []string{"../secret", "..", ".", "", "a/b", `a\b`, ".hidden", "x\x00y"} {
		if _, err := c.Get(context.Background(), name); !errors.Is(err, autocert.ErrCacheMiss) {
			t.Errorf("Get(%q): got %v, want a cache miss", name, err)
		}
		if err := c.Put(context.Background(), name, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an error", name)
		}
	}
	if err := c.Put(context.Background(), "www.example.org", []byte("pem")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(c.dir, "www.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("stored entry has mode %v, want 0600", st.Mode().Perm())
	}
	if b, err := c.Get(context.Background(), "www.example.org"); err != nil || string(b) != "pem" {
		t.Errorf("Get after Put: %q, %v", b, err)
	}
}
