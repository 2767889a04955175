package config

import (
	"fmt"
	"slices"
	"time"

	"depot/internal/certs"
)

// validateListenTLS checks one listener's TLS keys: certificate files (that
// they load, match and are valid now), acme, and what only TLS listeners
// or only plain ones may set.
func validateListenTLS(p *Problems, key string, l Listen) {
	switch {
	case (l.TLSCert == "") != (l.TLSKey == ""):
		p.add(key, "set both tls_cert and tls_key, or neither")
	case l.TLSCert != "" && l.ACME:
		p.add(key+".acme", "set acme = true or tls_cert and tls_key, not both (a site's own acme = true adds ACME names to a listener with files)")
	case l.TLS() && l.Onion:
		k := key + ".tls_cert"
		if l.ACME {
			k = key + ".acme"
		}
		p.add(k, "onion listeners serve plain HTTP: tor already encrypts and authenticates the connection")
	case l.TLSCert != "":
		if _, err := certs.LoadPair(l.TLSCert, l.TLSKey, time.Now()); err != nil {
			p.add(key+".tls_cert", "%v", err)
		}
	}
	if !l.TLS() || l.Onion {
		if l.HSTSMaxAge != nil {
			p.add(key+".hsts_max_age", "only TLS listeners send Strict-Transport-Security; remove it or give the listener tls_cert and tls_key or acme = true")
		}
		if l.SessionTickets != nil {
			p.add(key+".session_tickets", "only TLS listeners have session tickets; remove it")
		}
	}
	if l.HSTSMaxAge != nil && *l.HSTSMaxAge < 0 {
		p.add(key+".hsts_max_age", "must be 0 or more seconds (63072000 is two years; 0 tells browsers to forget the policy)")
	}
	if l.RedirectHTTPS && (l.TLS() || l.Onion) {
		p.add(key+".redirect_https", "only a plain clearnet listener redirects to HTTPS; remove it here")
	}
}

// validateRedirects checks that a listener with redirect_https has a TLS
// listener to send its clients to.
func (c *Config) validateRedirects(p *Problems) {
	if slices.ContainsFunc(c.Listen, func(l Listen) bool { return l.TLS() && !l.Onion }) {
		return
	}
	for i, l := range c.Listen {
		if l.RedirectHTTPS && !l.TLS() && !l.Onion {
			p.add(fmt.Sprintf("listen[%d].redirect_https", i), "no TLS listener to redirect to; add a [[listen]] with acme = true or with tls_cert and tls_key")
		}
	}
}
