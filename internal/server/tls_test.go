package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/config"
	"depot/internal/server/servertest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c := servertest.SelfSigned(t, dir)
	return c.CertFile, c.KeyFile, c.Pool
}

func TestTLSListenerSpeaksHTTP2AndLogs(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	writeTree(t, root, map[string]string{"index.html": "hello"})
	certFile, keyFile, pool := selfSigned(t, dir)
	cfg := &config.Config{
		LogDir: filepath.Join(dir, "logs"), DataDir: dir, RetentionMonths: 3, LogRotation: config.RotationDaily,
		SendTimeout: config.DefaultSendTimeout, MaxResponses: config.DefaultMaxResponses,
		Listen: []config.Listen{{Address: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile}},
		Site:   []config.Site{{Hosts: []string{"*"}, Root: root}},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + srv.Addrs()[0].String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("got %s %d, want HTTP/2.0 200", resp.Proto, resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(cfg.LogDir, "access.log"))
	if want := `"GET / HTTP/2.0" 200 5 `; !strings.Contains(string(b), want) {
		t.Errorf("access.log %q lacks %q", b, want)
	}
}
