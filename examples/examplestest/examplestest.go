// Package examplestest makes the example configuration checkable in a
// test: its absolute directories moved into a temporary one, with what
// depot check expects there.
package examplestest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sandbox rewrites the example's absolute directories into dir, creates
// what `depot check` expects to exist there (site roots, the exit-lists
// and socket directories, a certificate pair), and returns the text. The
// Debian package creates the same directories (postinst).
func Sandbox(t testing.TB, text, dir string) string {
	t.Helper()
	for _, d := range []string{"/var/www/depot", "/var/log/depot", "/var/lib/depot", "/run/depot", "/etc/depot"} {
		text = strings.ReplaceAll(text, `"`+d, `"`+filepath.Join(dir, d))
		text = strings.ReplaceAll(text, `"unix:`+d, `"unix:`+filepath.Join(dir, d))
	}
	for _, d := range []string{"/var/www/depot/www", "/var/www/depot/yum", "/var/www/depot/deb", "/var/lib/depot/exit-lists", "/run/depot", "/etc/depot/tls"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeCert(t, filepath.Join(dir, "/etc/depot/tls/fullchain.pem"), filepath.Join(dir, "/etc/depot/tls/privkey.pem"))
	return text
}

func writeCert(t testing.TB, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "www.example.org"},
		DNSNames: []string{"www.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
