package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Problems is every validation problem of one configuration, each with its
// key path ("site[2].root: ...").
type Problems struct {
	File string
	List []string
}

func (p *Problems) Error() string {
	prefix := p.File
	if prefix == "" {
		prefix = "configuration"
	}
	if len(p.List) == 1 {
		return prefix + ": " + p.List[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", prefix, len(p.List))
	for _, s := range p.List {
		b.WriteString("\n  ")
		b.WriteString(s)
	}
	return b.String()
}

func (p *Problems) add(key, format string, args ...any) {
	p.List = append(p.List, key+": "+fmt.Sprintf(format, args...))
}

// Validate checks the whole configuration and returns every problem at
// once as *Problems, or nil. It reads files (certificates, roots) but opens
// no socket and writes nothing.
func (c *Config) Validate() error {
	p := &Problems{File: c.Path}
	if c.RetentionMonths < 1 {
		p.add("retention_months", "must be at least 1 (the current month), got %d", c.RetentionMonths)
	}
	if c.PseudonymiseAfter < Duration(24*time.Hour) {
		p.add("pseudonymise_after", "%s is less than 24h; the exit lists of a month's last day are published up to a day after it ends", time.Duration(c.PseudonymiseAfter))
	}
	if c.ErrorLogDetail != ErrorLogFull && c.ErrorLogDetail != ErrorLogMinimal {
		p.add("error_log_detail", "%q is neither \"full\" nor \"minimal\"", c.ErrorLogDetail)
	}
	if c.LogRotation != RotationDaily && c.LogRotation != RotationExternal {
		p.add("log_rotation", "%q is neither \"daily\" nor \"external\"", c.LogRotation)
	}
	if len(c.Listen) == 0 {
		p.add("listen", "no [[listen]] table; add one with address = \"127.0.0.1:8080\"")
	}
	seen := map[string]int{}
	for i, l := range c.Listen {
		key := fmt.Sprintf("listen[%d]", i)
		if j, dup := seen[l.Address]; dup {
			p.add(key+".address", "%q is also listen[%d]'s address", l.Address, j)
		}
		seen[l.Address] = i
		validateListen(p, key, l)
	}
	if len(c.Site) == 0 {
		p.add("site", "no [[site]] table; add one with hosts = [\"*\"] and root = \"/srv/www\"")
	}
	hosts := map[string]int{}
	for i, s := range c.Site {
		key := fmt.Sprintf("site[%d]", i)
		for _, h := range s.Hosts {
			h = strings.ToLower(h)
			if j, dup := hosts[h]; dup {
				p.add(key+".hosts", "%q is also a host of site[%d]; each host belongs to one site", h, j)
			}
			hosts[h] = i
		}
		validateSite(p, key, s)
	}
	c.validateMirrors(p)
	c.Stats.validate(p, c)
	c.Proxy.validate(p)
	if len(p.List) > 0 {
		return p
	}
	return nil
}

func validateListen(p *Problems, key string, l Listen) {
	switch {
	case l.Address == "":
		p.add(key+".address", "missing; use \"host:port\" or \"unix:/path\"")
	case l.IsUnix():
		if path := l.SocketPath(); !filepath.IsAbs(path) {
			p.add(key+".address", "unix socket path %q must be absolute", path)
		} else if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			p.add(key+".address", "directory of %q does not exist; create it first", path)
		}
	default:
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil {
			p.add(key+".address", "%q is not host:port or unix:/path (%v)", l.Address, err)
			break
		}
		if port == "" {
			p.add(key+".address", "%q has no port", l.Address)
		}
		if l.Onion && !isLoopback(host) {
			p.add(key+".onion", "onion listener %q must be a unix socket or a loopback address, so that only the local tor can reach it", l.Address)
		}
	}
	if (l.TLSCert == "") != (l.TLSKey == "") {
		p.add(key, "set both tls_cert and tls_key, or neither")
	} else if l.TLSCert != "" {
		if l.Onion {
			p.add(key+".tls_cert", "onion listeners serve plain HTTP: tor already encrypts and authenticates the connection")
		} else if _, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey); err != nil {
			p.add(key+".tls_cert", "cannot load the key pair: %v", err)
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func validateSite(p *Problems, key string, s Site) {
	if len(s.Hosts) == 0 {
		p.add(key+".hosts", "missing; list the host names this site answers, or [\"*\"] for any")
	}
	for _, h := range s.Hosts {
		if h == "" || strings.ContainsAny(h, "/ \t") {
			p.add(key+".hosts", "%q is not a host name", h)
		}
	}
	if s.Root == "" {
		p.add(key+".root", "missing; set the directory to serve")
	} else if st, err := os.Stat(s.Root); err != nil {
		p.add(key+".root", "%v; create the directory or fix the path", unwrapPath(err))
	} else if !st.IsDir() {
		p.add(key+".root", "%q is not a directory", s.Root)
	}
	if s.OnionLocation != "" {
		u, err := url.Parse(s.OnionLocation)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(u.Hostname(), ".onion") || (u.Path != "" && u.Path != "/") {
			p.add(key+".onion_location", "%q must be http://<address>.onion with no path", s.OnionLocation)
		}
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(key+".base_url", "%q must be an absolute http or https URL", s.BaseURL)
		}
	}
	if s.Metalinks && s.BaseURL == "" {
		p.add(key+".base_url", "required with metalinks = true: it is the URL every metalink ends with")
	}
	if s.RedirectMinSize < 0 {
		p.add(key+".redirect_min_size", "must not be negative")
	}
	for _, kv := range [][2]string{{"stats_path", s.StatsPath}, {"mirror_status_path", s.MirrorStatusPath}} {
		if kv[1] != "" && (!strings.HasPrefix(kv[1], "/") || !strings.HasSuffix(kv[1], "/")) {
			p.add(key+"."+kv[0], "%q must start and end with /", kv[1])
		}
	}
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
