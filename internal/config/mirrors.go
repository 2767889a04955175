package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MirrorChecks is the [mirrors] table: how mirrors are checked. Zero
// values mean the mirrors package's defaults (15m, 30s, 48h).
type MirrorChecks struct {
	// CheckInterval is the time between check rounds inside serve.
	CheckInterval Duration `toml:"check_interval" example:"15m"`
	// Timeout bounds one mirror's whole check.
	Timeout Duration `toml:"timeout" example:"30s"`
	// AlternatesWindow is how long a superseded repomd.xml stays an
	// alternate in metalinks (a mirror holding it is "behind", not stale).
	AlternatesWindow Duration `toml:"alternates_window" example:"48h"`
	// Checker says whether this node checks the mirrors itself. It is
	// the one boolean whose default (nil) is true, because a single node
	// must check: of several nodes, all but one set it to false and take
	// the checking node's results from StateFrom, so that volunteers see
	// one checker rather than one per node.
	Checker *bool `toml:"checker" example:"false"`
	// StateFrom, required when Checker is false and refused otherwise, is
	// the checking node's status JSON (a site's mirror_status_path +
	// "status.json"), fetched every CheckInterval: an https URL, an
	// http://…onion URL (with StateVia), or http on a loopback IP.
	// Results older than two check intervals are not used: metalinks then
	// list the site's base_url only.
	StateFrom string `toml:"state_from" example:"https://www.example.org/mirrors/status.json"`
	// StateVia is "" (connect to StateFrom directly) or
	// "socks5://IP:port", tor's SocksPort, which then receives the host
	// name unresolved; an .onion StateFrom needs it.
	StateVia string `toml:"state_via" example:"socks5://127.0.0.1:9050"`
}

// IsChecker reports whether this node checks the mirrors itself
// (checker unset or true).
func (m MirrorChecks) IsChecker() bool { return m.Checker == nil || *m.Checker }

// Mirror is one volunteer mirror. A mirror holds the origin's tree (the
// roots of the sites with metalinks or redirect) below URL: the origin
// file "r4.2/x/repodata/repomd.xml" is at URL + "r4.2/x/repodata/repomd.xml".
type Mirror struct {
	// Name identifies the mirror in state, status pages and logs; unique.
	Name string `toml:"name" example:"mirror.example.net"`
	// URL is the http(s) base URL of the mirror's copy of the tree; it
	// ends with "/" (Load adds it when missing).
	URL string `toml:"url" example:"https://mirror.example.net/project/"`
	// Subdir, for a partial mirror, is the only part of the tree it holds
	// ("r4.2/" or "iso/"), relative to the tree's top and at the same place
	// below URL. Empty means the whole tree.
	Subdir string `toml:"subdir" example:"r4.2/"`
	// Country is an ISO 3166-1 alpha-2 code ("DE"); empty if unknown.
	Country string `toml:"country" example:"DE"`
	// Continent is a two-letter continent code (AF AN AS EU NA OC SA).
	Continent string `toml:"continent" example:"EU"`
	// Content lists what the mirror carries: "yum" (repodata/repomd.xml),
	// "deb" (dists/*/InRelease), "iso" (*.iso). Empty means all three.
	Content []string `toml:"content" example:"yum"`
	// Onion is the mirror's onion base URL, if any; requests that arrive
	// over an onion address are only ever sent there.
	Onion string `toml:"onion" example:"http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/project/"`
}

// MirrorContents are the values Mirror.Content accepts.
var MirrorContents = []string{"yum", "deb", "iso"}

var continents = []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"}

// Carries reports whether the mirror carries content kind ("yum", "deb",
// "iso").
func (m Mirror) Carries(kind string) bool {
	return len(m.Content) == 0 || slices.Contains(m.Content, kind)
}

// Holds reports whether the mirror's part of the tree contains the
// slash-separated relative path name.
func (m Mirror) Holds(name string) bool {
	sub := strings.Trim(m.Subdir, "/")
	return sub == "" || name == sub || strings.HasPrefix(name, sub+"/")
}

// normalizeMirrors is part of applying defaults: base URLs end with "/",
// codes are upper case.
func (c *Config) normalizeMirrors() {
	for i := range c.Mirror {
		m := &c.Mirror[i]
		if m.URL != "" && !strings.HasSuffix(m.URL, "/") {
			m.URL += "/"
		}
		if m.Onion != "" && !strings.HasSuffix(m.Onion, "/") {
			m.Onion += "/"
		}
		m.Country = strings.ToUpper(m.Country)
		m.Continent = strings.ToUpper(m.Continent)
	}
}

// validateMirrors checks the [[mirror]] tables.
func (c *Config) validateMirrors(p *Problems) {
	for _, d := range []struct {
		key string
		v   Duration
	}{{"mirrors.check_interval", c.Mirrors.CheckInterval}, {"mirrors.timeout", c.Mirrors.Timeout}, {"mirrors.alternates_window", c.Mirrors.AlternatesWindow}} {
		if d.v < 0 {
			p.add(d.key, "must not be negative")
		}
	}
	if c.Mirrors.CheckInterval != 0 && c.Mirrors.CheckInterval < Duration(time.Minute) {
		p.add("mirrors.check_interval", "%s is less than a minute; mirrors are volunteers, be gentle", time.Duration(c.Mirrors.CheckInterval))
	}
	c.validateMirrorState(p)
	names := map[string]int{}
	urls := map[string]int{}
	for i, m := range c.Mirror {
		key := fmt.Sprintf("mirror[%d]", i)
		if m.Name == "" {
			p.add(key+".name", "missing; give each mirror a unique name, e.g. its host name")
		} else if strings.ContainsAny(m.Name, "\x00\r\n\t") {
			p.add(key+".name", "%q contains control characters", m.Name)
		} else if j, dup := names[m.Name]; dup {
			p.add(key+".name", "%q is also mirror[%d]'s name; names must be unique", m.Name, j)
		} else {
			names[m.Name] = i
		}
		if m.URL == "" {
			p.add(key+".url", "missing; set the mirror's base URL, e.g. \"https://mirror.example.net/project/\"")
		} else if err := checkMirrorURL(m.URL, false); err != "" {
			p.add(key+".url", "%q %s", m.URL, err)
		} else if j, dup := urls[m.URL]; dup {
			p.add(key+".url", "%q is also mirror[%d]'s URL", m.URL, j)
		} else {
			urls[m.URL] = i
		}
		if m.Onion != "" {
			if err := checkMirrorURL(m.Onion, true); err != "" {
				p.add(key+".onion", "%q %s", m.Onion, err)
			}
		}
		if m.Subdir != "" {
			clean := path.Clean("/" + m.Subdir)
			if strings.HasPrefix(m.Subdir, "/") || clean != "/"+strings.TrimSuffix(m.Subdir, "/") || strings.Contains(m.Subdir, "\\") {
				p.add(key+".subdir", "%q must be a relative path inside the tree, like \"r4.2/\", without . or .. segments", m.Subdir)
			}
		}
		if m.Country != "" && !isAlpha2(m.Country) {
			p.add(key+".country", "%q must be a two-letter ISO 3166 code such as \"DE\"", m.Country)
		}
		if m.Continent != "" && !slices.Contains(continents, m.Continent) {
			p.add(key+".continent", "%q must be one of %s", m.Continent, strings.Join(continents, ", "))
		}
		for _, ct := range m.Content {
			if !slices.Contains(MirrorContents, ct) {
				p.add(key+".content", "%q is not a known content; use any of %q", ct, MirrorContents)
			}
		}
	}
}

// validateMirrorState checks checker, state_from and state_via together.
func (c *Config) validateMirrorState(p *Problems) {
	m := c.Mirrors
	switch {
	case m.IsChecker() && m.StateFrom != "":
		p.add("mirrors.state_from", "is set, but mirrors.checker is not false: a node either checks the mirrors or takes the checking node's state; set checker = false, or remove state_from on the checking node")
	case !m.IsChecker() && m.StateFrom == "":
		p.add("mirrors.checker", "is false, but mirrors.state_from is missing; set it to the checking node's status JSON, e.g. \"https://www.example.org/mirrors/status.json\"")
	}
	if m.StateVia != "" {
		if _, err := ParseUpstream(m.StateVia); err != nil {
			p.add("mirrors.state_via", "%v", err)
		}
		if m.StateFrom == "" {
			p.add("mirrors.state_via", "is set, but mirrors.state_from is not: it is only used to fetch state_from")
		}
	}
	if m.StateFrom == "" {
		return
	}
	u, err := url.Parse(m.StateFrom)
	if err != nil {
		p.add("mirrors.state_from", "%q is not a URL: %v", m.StateFrom, err)
		return
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	onion := strings.HasSuffix(host, ".onion")
	a, ipErr := netip.ParseAddr(host)
	switch {
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		p.add("mirrors.state_from", "%q must be an absolute https URL, e.g. \"https://www.example.org/mirrors/status.json\"", m.StateFrom)
	case URLHostProblem(u) != "":
		p.add("mirrors.state_from", "%q %s", m.StateFrom, URLHostProblem(u))
	case u.User != nil || u.Fragment != "":
		p.add("mirrors.state_from", "%q must not carry a user name, password or fragment", m.StateFrom)
	case u.Scheme == "http" && !onion && !(ipErr == nil && a.IsLoopback()):
		p.add("mirrors.state_from", "%q is plain http to another machine, which anyone on the way can alter; use https, an .onion address (with state_via), or a loopback IP address", m.StateFrom)
	case onion && m.StateVia == "":
		p.add("mirrors.state_from", "%q is an onion address; set mirrors.state_via to tor's SOCKS port, e.g. \"socks5://127.0.0.1:9050\"", m.StateFrom)
	}
}

// checkMirrorURL returns what is wrong with a mirror base URL, or "".
func checkMirrorURL(raw string, onion bool) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL: " + err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http or https URL"
	case u.Host == "":
		return "has no host"
	case URLHostProblem(u) != "":
		return URLHostProblem(u)
	case u.User != nil:
		return "must not carry a user name or password"
	case u.RawQuery != "" || u.Fragment != "":
		return "must not have a query or fragment: it is a base URL"
	case onion && !strings.HasSuffix(u.Hostname(), ".onion"):
		return "must be an .onion address"
	}
	return ""
}

// URLHostProblem returns what is wrong with the host and port of an
// absolute URL as a mirror's, or "": the host must be a DNS name or an IP
// address written as such (IPv6 in brackets), with no percent-escape,
// which would decode to another name or to bytes that are no name at all
// and not survive a round trip; the port, if any, 1 to 65535.
func URLHostProblem(u *url.URL) string {
	// url.Parse has decoded escapes in the host already: below %80 it
	// refuses them (but %25), so an escape shows as a '%' or a non-ASCII
	// byte.
	host, port := u.Hostname(), u.Port()
	switch {
	case strings.ContainsFunc(u.Host, func(r rune) bool { return r == '%' || r >= 0x80 }):
		return fmt.Sprintf("host %q has a percent-escape or a non-ASCII character; write the host name as it is, an internationalised name in its xn-- form", u.Host)
	case port != "":
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q must be from 1 to 65535", port)
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is6() != strings.HasPrefix(u.Host, "[") {
			return fmt.Sprintf("host %q: an IPv6 address goes in brackets, an IPv4 address does not", u.Host)
		}
		return ""
	}
	if strings.HasPrefix(u.Host, "[") {
		return fmt.Sprintf("host %q is not an IPv6 address", u.Host)
	}
	if !isHostName(strings.TrimSuffix(host, ".")) {
		return fmt.Sprintf("host %q is not a host name (letters, digits and hyphens, in dot-separated labels of 1 to 63)", host)
	}
	return ""
}

// isHostName reports whether s is a DNS host name (RFC 1123 §2.1).
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
