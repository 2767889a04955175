package config

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Admin is the [admin] table: the listener that serves /metrics
// (Prometheus text format) and /healthz to the operator's monitoring.
type Admin struct {
	// Address is a loopback "IP:port" (127.0.0.1:9180, [::1]:9180) or
	// "unix:/absolute/path". Empty (the default) means no admin listener.
	// Nothing else is accepted: the metrics are for this machine's
	// monitoring agent, never for the network.
	Address string `toml:"address" example:"127.0.0.1:9180"`
}

// Enabled reports whether the admin listener is configured.
func (a *Admin) Enabled() bool { return a.Address != "" }

// IsUnix reports whether the admin listener is a unix socket.
func (a *Admin) IsUnix() bool { return strings.HasPrefix(a.Address, "unix:") }

// SocketPath is the unix socket path of a unix admin listener.
func (a *Admin) SocketPath() string { return strings.TrimPrefix(a.Address, "unix:") }

func (c *Config) validateAdmin(p *Problems) {
	a := c.Admin
	if !a.Enabled() {
		return
	}
	const key = "admin.address"
	if a.IsUnix() {
		if path := a.SocketPath(); !filepath.IsAbs(path) {
			p.add(key, "unix socket path %q must be absolute", path)
		} else if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			p.add(key, "directory of %q does not exist; create it first", path)
		}
	} else {
		host, port, err := net.SplitHostPort(a.Address)
		ip, perr := netip.ParseAddr(host)
		switch {
		case err != nil || port == "":
			p.add(key, "%q is not IP:port or unix:/path; use \"127.0.0.1:9180\"", a.Address)
		case perr != nil || !ip.IsLoopback():
			p.add(key, "%q is not a loopback IP address: the admin listener serves this machine only; use \"127.0.0.1:%s\", \"[::1]:%s\" or a unix socket", a.Address, port, port)
		}
	}
	for i, l := range c.Listen {
		if l.Address == a.Address {
			p.add(key, "%q is also listen[%d]'s address", a.Address, i)
		}
	}
	if c.Proxy.Enabled() && c.Proxy.Listen == a.Address {
		p.add(key, "%q is also proxy.listen", a.Address)
	}
}
