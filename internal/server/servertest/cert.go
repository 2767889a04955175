package servertest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"depot/internal/certs/certstest"
)

// Cert is a self-signed certificate for 127.0.0.1, written to files.
type Cert struct {
	CertFile, KeyFile string
	Pool              *x509.CertPool // trusts it
}

// ClientConfig trusts the certificate.
func (c *Cert) ClientConfig() *tls.Config { return &tls.Config{RootCAs: c.Pool} }

// SelfSigned writes a certificate for 127.0.0.1 (certstest's) in dir.
func SelfSigned(t testing.TB, dir string) *Cert {
	t.Helper()
	c := certstest.Write(t, dir, "cert", certstest.Options{Names: []string{"127.0.0.1"}})
	return &Cert{CertFile: c.CertFile, KeyFile: c.KeyFile, Pool: c.Pool}
}
