package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"depot/internal/allowlist"
)

// Proxy is the [proxy] table: the updates proxy, an allowlisted forward
// proxy for apt and dnf that can reach the repositories through Tor. A
// configuration without listen runs no proxy.
type Proxy struct {
	// Listen is "host:port" or "unix:/absolute/path". Empty means no proxy.
	// It must be a loopback address or a unix socket unless RemoteClients
	// is set.
	Listen string `toml:"listen" example:"127.0.0.1:8082"`
	// RemoteClients lets Listen be a non-loopback address, e.g. the
	// address that Qubes' updates VMs or a LAN's machines reach. false
	// (the default) keeps the proxy to local clients.
	RemoteClients bool `toml:"remote_clients" example:"true"`
	// Allow lists the destinations clients may reach: "yum.qubes-os.org",
	// "*.debian.org" (every name below debian.org, not debian.org itself),
	// "deb.debian.org:8080", "127.0.0.1". A pattern without a port allows
	// ports 80 and 443. Empty (the default) allows nothing: a closed proxy.
	Allow []string `toml:"allow" example:"deb.debian.org"`
	// Upstream is "" (connect directly, resolving names locally) or
	// "socks5://127.0.0.1:9050", tor's SocksPort: host names are then
	// handed to tor unresolved, so no DNS query leaves this machine.
	Upstream string `toml:"upstream" example:"socks5://127.0.0.1:9050"`
	// Log writes one combined-format line per request, without the
	// client's address, to <log_dir>/proxy.log. false (the default) means
	// the proxy writes nothing about any request anywhere.
	Log bool `toml:"log" example:"true"`
	// HeaderTimeout bounds reading a request's header. 0 means 10s.
	HeaderTimeout Duration `toml:"header_timeout" example:"10s"`
	// IdleTimeout closes keep-alive connections and CONNECT tunnels with
	// no traffic in either direction for this long. 0 means 2m.
	IdleTimeout Duration `toml:"idle_timeout" example:"2m"`
	// DialTimeout bounds connecting to a destination (through tor,
	// building a circuit included). 0 means 60s.
	DialTimeout Duration `toml:"dial_timeout" example:"60s"`
	// MaxConnections caps client connections served at once. When all are
	// taken, a new connection takes the slot of the longest-idle one (it
	// sent nothing since it connected or since its last answer); with
	// none idle, new connections wait to be accepted. 0 means 256.
	MaxConnections int `toml:"max_connections" example:"256"`
	// MaxHeaderBytes caps a request's header. 0 means 16KiB.
	MaxHeaderBytes Size `toml:"max_header_bytes" example:"16KiB"`
}

// Proxy defaults.
const (
	DefaultProxyHeaderTimeout  = Duration(10 * time.Second)
	DefaultProxyIdleTimeout    = Duration(2 * time.Minute)
	DefaultProxyDialTimeout    = Duration(60 * time.Second)
	DefaultProxyMaxConnections = 256
	DefaultProxyMaxHeaderBytes = Size(16 << 10)
)

// Enabled reports whether the proxy is configured.
func (p *Proxy) Enabled() bool { return p.Listen != "" }

// ProxyLogPath is the proxy's own log file, written only with Log = true.
func (c *Config) ProxyLogPath() string { return filepath.Join(c.LogDir, "proxy.log") }

func (p *Proxy) applyDefaults() {
	if p.HeaderTimeout == 0 {
		p.HeaderTimeout = DefaultProxyHeaderTimeout
	}
	if p.IdleTimeout == 0 {
		p.IdleTimeout = DefaultProxyIdleTimeout
	}
	if p.DialTimeout == 0 {
		p.DialTimeout = DefaultProxyDialTimeout
	}
	if p.MaxConnections == 0 {
		p.MaxConnections = DefaultProxyMaxConnections
	}
	if p.MaxHeaderBytes == 0 {
		p.MaxHeaderBytes = DefaultProxyMaxHeaderBytes
	}
}

// ValidateProxy checks the [proxy] table alone, for `depot proxy`, which
// needs no site or listener of its own. A missing listen is a problem
// here: the command has nothing to run.
func (c *Config) ValidateProxy() error {
	p := &Problems{File: c.Path}
	if !c.Proxy.Enabled() {
		p.add("proxy.listen", "missing; add a [proxy] table with listen = \"127.0.0.1:8082\" and the allow list")
	}
	c.Proxy.validate(p)
	if c.Proxy.Enabled() && c.Proxy.Log {
		checkWritableDir(p, "log_dir", c.LogDir)
	}

	if len(p.List) > 0 {
		return p
	}
	return nil
}

func (p *Proxy) validate(pr *Problems) {
	if !p.Enabled() {
		if len(p.Allow) > 0 || p.Upstream != "" || p.Log {
			pr.add("proxy.listen", "missing, so the rest of [proxy] has no effect; set listen = \"127.0.0.1:8082\"")
		}
		return
	}
	switch {
	case strings.HasPrefix(p.Listen, "unix:"):
		if path := strings.TrimPrefix(p.Listen, "unix:"); !filepath.IsAbs(path) {
			pr.add("proxy.listen", "unix socket path %q must be absolute", path)
		} else if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			pr.add("proxy.listen", "directory of %q does not exist; create it first", path)
		}
	default:
		host, port, err := net.SplitHostPort(p.Listen)
		if err != nil {
			pr.add("proxy.listen", "%q is not host:port or unix:/path (%v)", p.Listen, err)
			break
		}
		if port == "" {
			pr.add("proxy.listen", "%q has no port", p.Listen)
		}
		if !p.RemoteClients && !isLoopback(host) {
			pr.add("proxy.listen", "%q is not a loopback address; the updates proxy serves local clients unless remote_clients = true", p.Listen)
		}
	}
	for i, a := range p.Allow {
		key := fmt.Sprintf("proxy.allow[%d]", i)
		if a == "*" || strings.HasPrefix(a, "*:") {
			pr.add(key, "%q would make an open proxy; list the repositories' host names, e.g. \"deb.debian.org\" or \"*.qubes-os.org\"", a)
		} else if pat, err := allowlist.ParsePattern(a); err != nil {
			pr.add(key, "%v; use a host name, \"*.domain\" or an IP address, optionally with :port", err)
		} else if p.isSelf(pat) {
			pr.add(key, "%q is the proxy's own listen address: a request to it would loop through the proxy until max_connections", a)
		}
	}
	if p.Upstream != "" {
		if _, err := ParseUpstream(p.Upstream); err != nil {
			pr.add("proxy.upstream", "%v", err)
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"header_timeout", p.HeaderTimeout}, {"idle_timeout", p.IdleTimeout}, {"dial_timeout", p.DialTimeout}} {
		if d.v < 0 {
			pr.add("proxy."+d.key, "must not be negative")
		}
	}
	if p.MaxConnections < 0 {
		pr.add("proxy.max_connections", "must not be negative")
	}
	if p.MaxHeaderBytes < 1024 || p.MaxHeaderBytes > 1<<20 {
		pr.add("proxy.max_header_bytes", "must be from 1KiB to 1MiB, got %d", p.MaxHeaderBytes)
	}
}

// ParseUpstream checks a [proxy] upstream, "socks5://IP:port", and
// returns the SOCKS server's address. The host must be an IP address:
// resolving the SOCKS server's own name would be a DNS query the operator
// did not ask for.
func ParseUpstream(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "socks5" && u.Scheme != "socks5h" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%q must be \"\" (direct) or socks5://IP:port, e.g. tor's socks5://127.0.0.1:9050", s)
	}
	if _, err := netip.ParseAddr(u.Hostname()); err != nil || u.Port() == "" {
		return "", fmt.Errorf("%q must name the SOCKS server by IP address and port, e.g. socks5://127.0.0.1:9050", s)
	}
	return u.Host, nil
}

// isSelf reports whether pat names the proxy's own loopback listener.
func (p *Proxy) isSelf(pat allowlist.Pattern) bool {
	host, port, err := net.SplitHostPort(p.Listen)
	if err != nil || pat.Port == 0 || strconv.Itoa(int(pat.Port)) != port {
		return false
	}
	if pat.Addr.IsValid() {
		a, err := netip.ParseAddr(host)
		return pat.Addr.IsLoopback() && (err != nil || a.IsLoopback() || a.IsUnspecified()) || err == nil && a.Unmap() == pat.Addr
	}
	return pat.Host == "localhost" && isLoopback(host)
}
