package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"depot/internal/certs/certstest"
	"depot/internal/server/servertest"
)

// servedCertificate is the leaf certificate a TLS listener presents for
// serverName (not verified: the test compares it).
func servedCertificate(t testing.TB, addr, serverName string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestSIGHUPReloadsCertificates plays a certbot deploy hook: the renewed
// certificate is copied over the files and depot gets SIGHUP. A renewal
// gone wrong (the new certificate with the old key, an expired one) is
// refused, said so, and the running certificate kept.
func TestSIGHUPReloadsCertificates(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), []byte("hello"))
	certFile, keyFile := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	first := certstest.Write(t, dir, "first", certstest.Options{})
	first.Install(t, certFile, keyFile)
	d := startDepot(t, tlsServeConfig(t, root, &servertest.Cert{CertFile: certFile, KeyFile: keyFile}, "", ""))
	addr := d.Addr
	serial := func() string { return servedCertificate(t, addr, "localhost").SerialNumber.Text(16) }
	if got, want := serial(), first.Leaf.SerialNumber.Text(16); got != want {
		t.Fatalf("at start serving serial %s, want %s", got, want)
	}

	renewed := certstest.Write(t, dir, "renewed", certstest.Options{})
	renewed.Install(t, certFile, keyFile)
	signal(t, d, syscall.SIGHUP, "now serving")
	if got, want := serial(), renewed.Leaf.SerialNumber.Text(16); got != want {
		t.Fatalf("after SIGHUP serving serial %s, want the renewed %s\noutput:\n%s", got, want, d.Output())
	}

	mismatched := certstest.Write(t, dir, "mismatched", certstest.Options{})
	mismatched.Install(t, certFile, filepath.Join(dir, "not-installed.pem"))
	signal(t, d, syscall.SIGHUP, "reload failed")
	if got, want := serial(), renewed.Leaf.SerialNumber.Text(16); got != want {
		t.Errorf("after a mismatched pair serving serial %s, want the previous %s", got, want)
	}
	if out := d.Output(); !strings.Contains(out, "listen[0].tls_cert: the certificate in "+certFile+" does not match the key in "+keyFile) {
		t.Errorf("the refusal does not name the mismatch; output:\n%s", out)
	}

	expired := certstest.Write(t, dir, "expired", certstest.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	expired.Install(t, certFile, keyFile)
	signal(t, d, syscall.SIGHUP, "expired on")
	if got, want := serial(), renewed.Leaf.SerialNumber.Text(16); got != want {
		t.Errorf("after an expired pair serving serial %s, want the previous %s", got, want)
	}
	if out := d.Output(); !strings.Contains(out, "still serving the previous configuration and certificates") {
		t.Errorf("the refusal does not say the running certificate is kept; output:\n%s", out)
	}
}
