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

	"depot/internal/certs"
	"depot/internal/certs/certstest"
	"depot/internal/config"
	"depot/internal/server/servertest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c := servertest.SelfSigned(t, dir)
	return c.CertFile, c.KeyFile, c.Pool
}

// startTLSServer runs a server over a site at a fresh root (hosts "*")
// with the given [[listen]] tables, every address 127.0.0.1:0. It returns
// the bound addresses in order.
func startTLSServer(t *testing.T, dir, listenTOML string, opts Options) (*Server, []string) {
	t.Helper()
	root := filepath.Join(dir, "root")
	writeTree(t, root, map[string]string{"index.html": "hello"})
	toml := `log_dir = "` + filepath.Join(dir, "logs") + `"
data_dir = "` + filepath.Join(dir, "data") + `"
` + listenTOML + `
[[site]]
hosts = ["*"]
root = "` + root + `"
`
	cfg, err := config.Parse(filepath.Join(dir, "depot.toml"), []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	var addrs []string
	for _, a := range srv.Addrs() {
		addrs = append(addrs, a.String())
	}
	return srv, addrs
}

func tlsListen(c *certstest.Cert, extra string) string {
	return "[[listen]]\naddress = \"127.0.0.1:0\"\ntls_cert = \"" + c.CertFile + "\"\ntls_key = \"" + c.KeyFile + "\"\n" + extra
}

func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestTLSListenerSpeaksHTTP2AndLogs(t *testing.T) {
	dir := t.TempDir()
	cert := certstest.Write(t, dir, "cert", certstest.Options{})
	srv, addrs := startTLSServer(t, dir, tlsListen(cert, ""), Options{})
	resp, err := tlsClient(cert.Pool).Get("https://" + addrs[0] + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("got %s %d, want HTTP/2.0 200", resp.Proto, resp.StatusCode)
	}
	srv.access.Flush()
	b, _ := os.ReadFile(filepath.Join(dir, "logs", "access.log"))
	if want := `"GET / HTTP/2.0" 200 5 `; !strings.Contains(string(b), want) {
		t.Errorf("access.log %q lacks %q", b, want)
	}
}

func TestHSTSOnTLSResponsesOnly(t *testing.T) {
	dir := t.TempDir()
	cert := certstest.Write(t, dir, "cert", certstest.Options{})
	_, addrs := startTLSServer(t, dir, tlsListen(cert, "")+tlsListen(cert, "hsts_max_age = 0\n")+
		"[[listen]]\naddress = \"127.0.0.1:0\"\n[[listen]]\naddress = \"127.0.0.1:0\"\nonion = true\n", Options{})
	tests := []struct {
		name, url, want string
	}{
		{"TLS, default", "https://" + addrs[0] + "/", "max-age=63072000"},
		{"TLS, a 404 too", "https://" + addrs[0] + "/nothing-here", "max-age=63072000"},
		{"TLS, hsts_max_age = 0", "https://" + addrs[1] + "/", "max-age=0"},
		{"plain", "http://" + addrs[2] + "/", ""},
		{"onion", "http://" + addrs[3] + "/", ""},
	}
	client := tlsClient(cert.Pool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("Strict-Transport-Security: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedirectHTTPSExceptACMEChallenges(t *testing.T) {
	dir := t.TempDir()
	cert := certstest.Write(t, dir, "cert", certstest.Options{})
	acme, err := certs.NewACME(certs.ACMEOptions{CA: "https://127.0.0.1:9/never-contacted", Dir: filepath.Join(dir, "data", "acme", "x"),
		Hosts: []string{"www.example.org"}, HTTP01: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	srv, addrs := startTLSServer(t, dir, "[[listen]]\naddress = \"127.0.0.1:0\"\nredirect_https = true\n"+tlsListen(cert, "")+
		"[[listen]]\naddress = \"127.0.0.1:0\"\nonion = true\n", Options{ACME: acme})
	_, tlsPort, _ := strings.Cut(addrs[1], ":")
	client := tlsClient(cert.Pool)
	tests := []struct {
		name, addr, host, path string
		status                 int
		location               string
	}{
		{"page", addrs[0], "www.example.org", "/a/b%20c?x=1&y", 301, "https://www.example.org:" + tlsPort + "/a/b%20c?x=1&y"},
		{"host with port", addrs[0], "www.example.org:80", "/", 301, "https://www.example.org:" + tlsPort + "/"},
		{"ACME HTTP-01 challenge", addrs[0], "www.example.org", "/.well-known/acme-challenge/token", 404, ""},
		{"onion listener", addrs[2], "www.example.org", "/", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+tt.addr+tt.path, nil)
			req.Host = tt.host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Errorf("got %d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
			}
		})
	}
	srv.access.Flush()
	b, _ := os.ReadFile(filepath.Join(dir, "logs", "access.log"))
	for _, want := range []string{`"GET /a/b%20c?x=1&y HTTP/1.1" 301 `, `"GET /.well-known/acme-challenge/token HTTP/1.1" 404 `} {
		if !strings.Contains(string(b), want) {
			t.Errorf("access.log lacks %q; it holds:\n%s", want, b)
		}
	}
}

func TestReloadCertificates(t *testing.T) {
	dir := t.TempDir()
	first := certstest.Write(t, dir, "first", certstest.Options{})
	live := &certstest.Cert{CertFile: filepath.Join(dir, "live.pem"), KeyFile: filepath.Join(dir, "live.key.pem")}
	first.Install(t, live.CertFile, live.KeyFile)
	srv, addrs := startTLSServer(t, dir, tlsListen(live, ""), Options{})
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", addrs[0], &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}

	second := certstest.Write(t, dir, "second", certstest.Options{})
	second.Install(t, live.CertFile, live.KeyFile)
	notes, err := srv.ReloadCertificates()
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "now serving") {
		t.Fatalf("reload of a renewed pair: notes %q, err %v", notes, err)
	}
	if got := served().SerialNumber; got.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Fatalf("after reload serving serial %x, want %x", got, second.Leaf.SerialNumber)
	}

	third := certstest.Write(t, dir, "third", certstest.Options{})
	third.Install(t, live.CertFile, filepath.Join(dir, "elsewhere.pem")) // the key stays second's
	notes, err = srv.ReloadCertificates()
	if err == nil || len(notes) != 0 || !strings.Contains(err.Error(), "refused, still serving") || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("reload of a mismatched pair: notes %q, err %v; want a refusal", notes, err)
	}
	if got := served().SerialNumber; got.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Errorf("after a refused reload serving serial %x, want the previous %x", got, second.Leaf.SerialNumber)
	}
}

// TestFilesListenerServesItsFileUntilACMEHasOne: a listener with
// certificate files and a site with acme = true answers the site's name
// with the file until ACME has obtained a certificate (and never contacts
// the CA on a handshake).
func TestFilesListenerServesItsFileUntilACMEHasOne(t *testing.T) {
	dir := t.TempDir()
	cert := certstest.Write(t, dir, "cert", certstest.Options{Names: []string{"www.example.org", "other.example.org"}})
	acme, err := certs.NewACME(certs.ACMEOptions{CA: "https://127.0.0.1:9/never-contacted", Dir: filepath.Join(dir, "data", "acme", "x"),
		Hosts: []string{"www.example.org"}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	_, addrs := startTLSServer(t, dir, tlsListen(cert, ""), Options{ACME: acme})
	for _, name := range []string{"www.example.org", "other.example.org"} {
		c, err := tls.Dial("tcp", addrs[0], &tls.Config{ServerName: name, RootCAs: cert.Pool})
		if err != nil {
			t.Errorf("handshake for %s: %v, want the file's certificate", name, err)
			continue
		}
		c.Close()
	}
}
