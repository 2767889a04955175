package config

import (
	"fmt"
	"net/url"
	"strings"
)

// validateOnion checks that each site's onion address reaches that site:
// the onion listener picks the site by the Host header, which Tor Browser
// sets to the onion name, so the name must be one of the site's hosts (or
// the site must be the "*" one that no other site's hosts take from it).
func (c *Config) validateOnion(p *Problems) {
	onion := false
	for _, l := range c.Listen {
		onion = onion || l.Onion
	}
	for i, s := range c.Site {
		key := fmt.Sprintf("site[%d]", i)
		if s.OnionBaseURL != "" {
			if u, err := url.Parse(s.OnionBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(strings.ToLower(u.Hostname()), ".onion") {
				p.add(key+".onion_base_url", "%q must be an http:// URL of a .onion host, e.g. \"http://<56 characters>.onion/\"", s.OnionBaseURL)
			}
		}
		if s.OnionLocation == "" {
			continue
		}
		u, err := url.Parse(s.OnionLocation)
		if err != nil || u.Hostname() == "" {
			continue // validateSite reports it
		}
		name := strings.ToLower(u.Hostname())
		switch j := c.SiteFor(name); {
		case !onion:
			p.add(key+".onion_location", "%q is served by no onion listener; add a [[listen]] table with onion = true (e.g. address = \"unix:/run/depot/onion.sock\")", s.OnionLocation)
		case j < 0:
			p.add(key+".onion_location", "%q is in no site's hosts, so onion visitors (whose Host is %s) get 404; add %q to %s.hosts", s.OnionLocation, name, name, key)
		case j != i:
			p.add(key+".onion_location", "onion visitors of %q (Host %s) get site[%d], not this site; add %q to %s.hosts", s.OnionLocation, name, j, name, key)
		}
	}
}

// SiteFor returns the index of the site that answers Host header host, as
// the server picks it (exact host, case-insensitive, else the "*" site),
// or -1.
func (c *Config) SiteFor(host string) int {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	any := -1
	for i, s := range c.Site {
		for _, h := range s.Hosts {
			if h == "*" {
				if any < 0 {
					any = i
				}
			} else if strings.ToLower(h) == host {
				return i
			}
		}
	}
	return any
}
