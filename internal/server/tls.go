package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"depot/internal/certs"
	"depot/internal/config"
)

// listenerTLS is what one TLS listener presents: its configuration (the
// profile of package certs) and, when it has certificate files, the
// certificate that ReloadCertificates reads again.
type listenerTLS struct {
	cfg  *tls.Config
	file *certs.File // nil on a listener with acme = true
}

// newListenerTLS builds the TLS side of listener l: certificates from its
// files, from ACME for the names ACME manages (all of them with acme =
// true), and session tickets unless turned off.
func (s *Server) newListenerTLS(l config.Listen) (*listenerTLS, error) {
	lt := &listenerTLS{}
	if l.TLSCert != "" {
		f, err := certs.OpenFile(l.TLSCert, l.TLSKey, s.opts.Now())
		if err != nil {
			return nil, err
		}
		lt.file = f
	}
	a := s.opts.ACME
	if l.ACME && a == nil {
		return nil, errors.New("acme = true, but no ACME manager was given")
	}
	get := func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if a != nil && (lt.file == nil || certs.IsALPNChallenge(hello) || a.Manages(hello.ServerName)) {
			c, err := a.GetCertificate(hello)
			if err == nil || lt.file == nil || certs.IsALPNChallenge(hello) {
				return c, err
			}
			// Not obtained yet: the file's certificate until it is.
		}
		return lt.file.GetCertificate(hello)
	}
	lt.cfg = certs.ServerConfig(get, a != nil)
	if l.Tickets() {
		s.tickets.Enable(lt.cfg)
	}
	return lt, nil
}

// ReloadCertificates reads every listener's certificate files again. A
// pair that does not load, does not match or is not valid now is refused
// and its listener keeps the certificate it had; the error says which and
// why. notes name the certificates that changed.
func (s *Server) ReloadCertificates() (notes []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, lt := range s.tls {
		if lt == nil || lt.file == nil {
			continue
		}
		l := s.cfg.Listen[i]
		changed, err := lt.file.Reload(s.opts.Now())
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("listen[%d] %s: new certificate refused, still serving %s: %w", i, l.Address, certs.Describe(lt.file.Certificate()), err))
		case changed:
			notes = append(notes, fmt.Sprintf("listen[%d] %s: now serving %s", i, l.Address, certs.Describe(lt.file.Certificate())))
		}
	}
	return notes, errors.Join(errs...)
}

// edge is what a clearnet listener does before its sites: HSTS on a TLS
// listener; HTTP-01 challenges and the redirect to HTTPS on a plain one.
// Onion listeners have none of it (their chain is onion.go alone).
type edge struct {
	hsts      []string    // Strict-Transport-Security value, shared and never changed; nil for none
	acme      *certs.ACME // answers HTTP-01 challenges; nil for none
	redirect  bool        // redirect_https
	httpsPort string      // the port redirects go to; "" for 443
}

// edgeFor is listener l's edge; httpsPort is the bound port of the first
// clearnet TLS listener.
func (s *Server) edgeFor(l config.Listen, httpsPort string) edge {
	e := edge{redirect: l.RedirectHTTPS}
	if v := l.HSTS(); v != "" {
		e.hsts = []string{v}
	}
	if !l.TLS() {
		e.acme = s.opts.ACME
	}
	if httpsPort != "443" {
		e.httpsPort = httpsPort
	}
	return e
}

// httpsPort is the bound port of the first clearnet TCP TLS listener
// (after Listen), or "443".
func (s *Server) httpsPort() string {
	for i, l := range s.cfg.Listen {
		if l.TLS() && !l.Onion && !l.IsUnix() {
			if _, port, err := net.SplitHostPort(s.listeners[i].Addr().String()); err == nil {
				return port
			}
		}
	}
	return "443"
}

// redirectHTTPS answers r with a 301 to the same URL over HTTPS (the
// request's host, the TLS listener's port).
func (e *edge) redirectHTTPS(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if e.httpsPort != "" {
		host = net.JoinHostPort(host, e.httpsPort)
	} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
		host = "[" + host + "]"
	}
	uri := r.URL.RequestURI()
	if len(uri) == 0 || uri[0] != '/' {
		uri = "/"
	}
	http.Redirect(w, r, "https://"+host+uri, http.StatusMovedPermanently)
}
