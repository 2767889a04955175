package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// LoadPair reads a certificate chain and its private key from PEM files
// and checks that they match and that the certificate is valid at now. The
// error says what is wrong and what to do.
func LoadPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	var pems [2][]byte
	for i, f := range []string{certFile, keyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("cannot read %s: %v; check the path and that depot's user may read it", f, err)
		}
		pems[i] = b
	}
	c, err := tls.X509KeyPair(pems[0], pems[1])
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "tls: ")
		if strings.Contains(msg, "does not match") {
			return nil, fmt.Errorf("the certificate in %s does not match the key in %s; point tls_key at the key the certificate was issued for", certFile, keyFile)
		}
		return nil, fmt.Errorf("cannot load the key pair %s and %s: %s", certFile, keyFile, msg)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %v", certFile, err)
		}
		c.Leaf = leaf
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("the certificate in %s expired on %s; renew it, then send SIGHUP", certFile, leaf.NotAfter.UTC().Format(time.DateTime))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("the certificate in %s is not valid before %s; check the clock or the certificate", certFile, leaf.NotBefore.UTC().Format(time.DateTime))
	}
	return &c, nil
}

// Describe names a certificate for messages: its names, serial number and
// expiry.
func Describe(c *tls.Certificate) string {
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return "an unparsable certificate"
		}
	}
	names := leaf.DNSNames
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = []string{leaf.Subject.CommonName}
	}
	return fmt.Sprintf("%s (serial %x, valid until %s)", strings.Join(names, ", "), leaf.SerialNumber, leaf.NotAfter.UTC().Format(time.DateTime))
}

// File is a certificate read from PEM files. Reload reads them again and
// swaps the new certificate in only if it is good.
type File struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// OpenFile loads the pair (see LoadPair).
func OpenFile(certFile, keyFile string, now time.Time) (*File, error) {
	c, err := LoadPair(certFile, keyFile, now)
	if err != nil {
		return nil, err
	}
	f := &File{certFile: certFile, keyFile: keyFile}
	f.cur.Store(c)
	return f, nil
}

// Reload reads the files again. A pair that does not load, match or is not
// valid at now is refused with an error, and the current certificate
// stays. changed reports whether a different certificate is now served.
func (f *File) Reload(now time.Time) (changed bool, err error) {
	c, err := LoadPair(f.certFile, f.keyFile, now)
	if err != nil {
		return false, err
	}
	old := f.cur.Swap(c)
	return !sameChain(old, c), nil
}

// Certificate is the certificate served now.
func (f *File) Certificate() *tls.Certificate { return f.cur.Load() }

// GetCertificate serves the current certificate to every handshake.
func (f *File) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

func sameChain(a, b *tls.Certificate) bool {
	if len(a.Certificate) != len(b.Certificate) {
		return false
	}
	for i := range a.Certificate {
		if string(a.Certificate[i]) != string(b.Certificate[i]) {
			return false
		}
	}
	return true
}
