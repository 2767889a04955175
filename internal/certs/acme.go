package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"depot/internal/atomicfile"
	"depot/internal/outbound"
)

// ACMEOptions configure an ACME manager.
type ACMEOptions struct {
	// CA is the directory URL of an RFC 8555 certificate authority.
	CA string
	// Email is the account's contact address; "" for none.
	Email string
	// CARoot is a PEM file of roots trusted for the CA's HTTPS besides the
	// system's; "" for none.
	CARoot string
	// Dir keeps the account key and the certificates. Run creates it and
	// its parent with mode 0700 (and their parent, data_dir, if missing);
	// every file in it has mode 0600.
	Dir string
	// Hosts are the names to get certificates for.
	Hosts []string
	// HTTP01 offers the CA HTTP-01 challenges (answered by ServeChallenge on
	// a plain listener on port 80) as well as TLS-ALPN-01.
	HTTP01 bool
	// Logf reports what the manager does and what fails; it never sees a
	// client's request.
	Logf func(format string, args ...any)
	// Outbound records the connections to the CA (purpose "acme") for
	// depot audit; nil records nothing.
	Outbound *outbound.Record
}

// ACME gets certificates from a CA for a fixed set of host names, keeps
// them on disk and renews them in the background well before they expire
// (when a third of their lifetime is left; autocert's schedule). It is
// built on golang.org/x/crypto/acme/autocert.
//
// Handshakes are only ever answered with what was already obtained: a
// client cannot make depot contact the CA, and while the CA is down the
// certificate obtained last is served.
type ACME struct {
	opts      ACMEOptions
	m         *autocert.Manager
	challenge http.Handler // HTTP-01 responses; nil without HTTP01

	mu    sync.RWMutex
	certs map[string]*tls.Certificate // by host name
}

// NewACME builds the manager. It contacts nobody and creates nothing: Run
// does.
func NewACME(opts ACMEOptions) (*ACME, error) {
	client, err := caClient(opts.CARoot, opts.Outbound, opts.Logf)
	if err != nil {
		return nil, err
	}
	a := &ACME{opts: opts, certs: map[string]*tls.Certificate{}}
	a.m = &autocert.Manager{
		Prompt:     autocert.AcceptTOS, // enabling ACME is agreeing to the CA's terms; the README says so
		Cache:      diskCache{dir: opts.Dir, onPut: a.stored},
		HostPolicy: autocert.HostWhitelist(opts.Hosts...),
		Client:     &acme.Client{DirectoryURL: opts.CA, HTTPClient: client, UserAgent: "depot"},
		Email:      opts.Email,
	}
	if opts.HTTP01 {
		a.challenge = a.m.HTTPHandler(http.NotFoundHandler())
	}
	return a, nil
}

// Manages reports whether host (a TLS server name) is one of the manager's.
func (a *ACME) Manages(host string) bool {
	return slices.Contains(a.opts.Hosts, normalName(host))
}

func normalName(host string) string { return strings.ToLower(strings.TrimSuffix(host, ".")) }

// GetCertificate answers a TLS handshake: a TLS-ALPN-01 challenge of the
// CA with its token certificate, any other with the certificate obtained
// for the server name. It never starts an order.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if IsALPNChallenge(hello) {
		return a.m.GetCertificate(hello) // only looks up tokens of orders in flight
	}
	a.mu.RLock()
	c := a.certs[normalName(hello.ServerName)]
	a.mu.RUnlock()
	if c == nil {
		return nil, errors.New("no certificate for this name yet")
	}
	return c, nil
}

// ALPNProto is the protocol a CA's TLS-ALPN-01 validation negotiates.
const ALPNProto = acme.ALPNProto

// IsALPNChallenge reports whether hello is a CA's TLS-ALPN-01 validation
// (RFC 8737, section 3: it offers acme-tls/1 and nothing else).
func IsALPNChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// IsChallenge reports whether r asks for an HTTP-01 challenge response
// (RFC 8555, section 8.3) that ServeChallenge answers.
func (a *ACME) IsChallenge(r *http.Request) bool {
	return a.challenge != nil && strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/")
}

// ServeChallenge answers an HTTP-01 challenge request: the key
// authorization of an order in flight, or 404.
func (a *ACME) ServeChallenge(w http.ResponseWriter, r *http.Request) {
	// autocert checks the Host header against the names as it is; a port
	// in it (the CA's validation on a port other than 80, or a client that
	// spells out :80) is not part of the name.
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		r = r.Clone(r.Context())
		r.Host = host
	}
	a.challenge.ServeHTTP(w, r)
}

// stored is the cache's onPut: a certificate that autocert obtained or
// renewed is served from now on.
func (a *ACME) stored(name string, data []byte) {
	if strings.Contains(name, "+") || !a.Manages(name) { // account key, tokens, RSA variants
		return
	}
	c, err := tls.X509KeyPair(data, data)
	if err != nil {
		a.opts.Logf("acme: %s: the stored certificate does not load: %v", name, err)
		return
	}
	a.serve(name, &c, "obtained from the CA")
}

func (a *ACME) serve(host string, c *tls.Certificate, how string) {
	a.mu.Lock()
	old := a.certs[host]
	a.certs[host] = c
	a.mu.Unlock()
	if old == nil || !sameChain(old, c) {
		a.opts.Logf("acme: %s: serving %s, %s", host, Describe(c), how)
	}
}

// Run creates the storage directory and gets a certificate for every host,
// from disk when a valid one is there, else from the CA, retrying with
// backoff (1 minute, doubling up to an hour) while the CA cannot be
// reached or refuses. Renewals then run in the background. Run returns
// when ctx is done, without waiting for an order in flight.
func (a *ACME) Run(ctx context.Context) {
	if err := makePrivateDir(a.opts.Dir); err != nil {
		a.opts.Logf("acme: %v; no certificate can be stored, so none is requested", err)
		return
	}
	var wg sync.WaitGroup
	for _, h := range a.opts.Hosts {
		wg.Go(func() { a.obtain(ctx, h) })
	}
	wg.Wait()
}

func (a *ACME) obtain(ctx context.Context, host string) {
	// A hello as an ECDSA-capable client sends it, so that autocert gets
	// (or loads) the host's ECDSA P-256 certificate, and never an RSA one.
	hello := &tls.ClientHelloInfo{
		ServerName:       host,
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedCurves:  []tls.CurveID{tls.CurveP256},
		CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	}
	wait := time.Minute
	for {
		type result struct {
			c   *tls.Certificate
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := a.m.GetCertificate(hello)
			done <- result{c, err}
		}()
		select {
		case <-ctx.Done():
			return
		case r := <-done:
			if r.err == nil {
				// Just obtained, stored() has served it already; this
				// one was on disk.
				a.serve(host, r.c, "loaded from "+a.opts.Dir)
				return
			}
			a.opts.Logf("acme: %s: no certificate: %v; trying again in %s", host, r.err, wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Hour)
	}
}

// makePrivateDir creates dir and its parent, each with mode 0700 (an
// existing one is made 0700), and the parent's parent (data_dir) if it is
// missing, as its last element only.
func makePrivateDir(dir string) error {
	parent := filepath.Dir(dir)
	if err := atomicfile.MakeDir(filepath.Dir(parent), 0o755); err != nil {
		return err
	}
	for _, d := range []string{parent, dir} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}
