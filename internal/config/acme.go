package config

import (
	"crypto/x509"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ACME is the [acme] table: the certificate authority that listeners and
// sites with acme = true get their certificates from. The table alone turns
// nothing on: without acme = true somewhere, depot contacts no CA.
type ACME struct {
	// CA is the directory URL of an RFC 8555 certificate authority. Empty
	// means Let's Encrypt (DefaultACMECA).
	CA string `toml:"ca" example:"https://acme-v02.api.letsencrypt.org/directory"`
	// Email is the contact address given to the CA, which may write to it
	// about expiring or revoked certificates. Empty means none.
	Email string `toml:"email" example:"ops@example.org"`
	// CARoot is a PEM file of root certificates trusted for the CA's own
	// HTTPS, in addition to the system's (a private or test CA). Empty
	// means the system's roots only.
	CARoot string `toml:"ca_root" example:"/etc/depot/ca-root.pem"`
}

// DefaultACMECA is Let's Encrypt's production directory.
const DefaultACMECA = "https://acme-v02.api.letsencrypt.org/directory"

func (a *ACME) applyDefaults() {
	if a.CA == "" {
		a.CA = DefaultACMECA
	}
}

// ACMEEnabled reports whether any listener or site gets certificates by
// ACME, that is whether depot contacts the CA.
func (c *Config) ACMEEnabled() bool {
	return slices.ContainsFunc(c.Listen, func(l Listen) bool { return l.ACME }) ||
		slices.ContainsFunc(c.Site, func(s Site) bool { return s.ACME })
}

// ACMECA is the directory URL of the CA depot contacts, or "" when no
// listener or site uses ACME. `depot audit` lists its host.
func (c *Config) ACMECA() string {
	if !c.ACMEEnabled() {
		return ""
	}
	return c.ACME.CA
}

// ACMEHosts are the host names depot gets certificates for, sorted: every
// site's names when a listener has acme = true, else the names of the sites
// with acme = true. "*", IP addresses and .onion names are never among them.
func (c *Config) ACMEHosts() []string {
	all := slices.ContainsFunc(c.Listen, func(l Listen) bool { return l.ACME })
	var hosts []string
	for _, s := range c.Site {
		if !all && !s.ACME {
			continue
		}
		for _, h := range s.Hosts {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if acmeNameProblem(h) == "" && !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	slices.Sort(hosts)
	return hosts
}

// ACMEDir is where the account key and the certificates of the configured
// CA are kept: one directory per CA under <data_dir>/acme, so that a test
// CA's certificates are never served after switching to a real one.
func (c *Config) ACMEDir() string {
	name := c.ACME.CA
	if u, err := url.Parse(c.ACME.CA); err == nil && u.Host != "" {
		name = u.Host + u.Path
	}
	name = strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, name), "._")
	return filepath.Join(c.DataDir, "acme", name)
}

// acmeNameProblem says why a CA cannot issue a certificate for host, or "".
func acmeNameProblem(host string) string {
	switch {
	case host == "*":
		return "it matches any host, and a CA certifies names"
	case strings.HasSuffix(host, ".onion"):
		return "it is an onion address, which onion listeners serve without TLS"
	case !strings.Contains(host, "."):
		return "it is not a fully qualified domain name"
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return "it is an IP address"
	}
	return ""
}

func (c *Config) validateACME(p *Problems) {
	var tlsListener bool
	for _, l := range c.Listen {
		tlsListener = tlsListener || (l.TLS() && !l.Onion)
	}
	for i, s := range c.Site {
		if !s.ACME {
			continue
		}
		key := fmt.Sprintf("site[%d]", i)
		if !tlsListener {
			p.add(key+".acme", "no TLS listener serves the certificates; add a [[listen]] with acme = true or with tls_cert and tls_key")
		}
		for _, h := range s.Hosts {
			if why := acmeNameProblem(strings.ToLower(h)); why != "" {
				p.add(key+".hosts", "%q cannot get a certificate by ACME: %s; move it to a site without acme = true", h, why)
			}
		}
	}
	for i, l := range c.Listen {
		if l.ACME && len(c.ACMEHosts()) == 0 {
			p.add(fmt.Sprintf("listen[%d].acme", i), "no site has a host name to get a certificate for; list the names in site.hosts (\"*\", IP addresses and .onion names cannot be certified)")
		}
	}
	if c.ACME.CA == "" && !c.ACMEEnabled() {
		return // a configuration built without Parse, with no ACME
	}
	if u, err := url.Parse(c.ACME.CA); err != nil || u.Scheme != "https" || u.Host == "" {
		p.add("acme.ca", "%q must be the https URL of the CA's ACME directory, such as %q", c.ACME.CA, DefaultACMECA)
	}
	if c.ACME.Email != "" {
		if a, err := mail.ParseAddress(c.ACME.Email); err != nil || a.Name != "" || a.Address != c.ACME.Email {
			p.add("acme.email", "%q is not an email address; write it as name@example.org", c.ACME.Email)
		}
	}
	if c.ACME.CARoot != "" {
		if _, err := LoadRoots(c.ACME.CARoot); err != nil {
			p.add("acme.ca_root", "%v", err)
		}
	}
}

// LoadRoots reads a PEM file of root certificates.
func LoadRoots(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%v; point it at a readable PEM file of the CA's root certificate", unwrapPath(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate; point it at the CA's root certificate", file)
	}
	return pool, nil
}
