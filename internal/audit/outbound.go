package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"depot/internal/allowlist"
	"depot/internal/config"
	"depot/internal/outbound"
	"depot/internal/torexit"
)

// describe is a destination as the audit reports it.
func describe(d outbound.Destination) string {
	return fmt.Sprintf("%s (%s, %d connections, last %s)", net.JoinHostPort(d.Host, d.Port), d.Purpose, d.Count, d.Last.UTC().Format(time.RFC3339))
}

// explain returns why the configuration asks depot to connect to d, or
// "" when nothing in it does. resolvConf names the resolvers that DNS
// destinations must be.
func explain(cfg *config.Config, d outbound.Destination, resolvConf string) string {
	host := strings.TrimSuffix(strings.ToLower(d.Host), ".")
	switch d.Purpose {
	case outbound.MirrorCheck:
		for i, m := range cfg.Mirror {
			for _, raw := range []string{m.URL, m.Onion} {
				// A check follows redirects within the mirror's host, from
				// http to https too.
				if h, p := urlHostPort(raw); h != "" && h == host && (p == d.Port || d.Port == "80" || d.Port == "443") {
					return fmt.Sprintf("mirror[%d] %s", i, m.Name)
				}
			}
		}
	case outbound.MirrorState:
		if cfg.Mirrors.IsChecker() || cfg.Mirrors.StateFrom == "" {
			return ""
		}
		if cfg.Mirrors.StateVia != "" {
			if h, p := urlHostPort(cfg.Mirrors.StateVia); h == host && p == d.Port {
				return "[mirrors] state_via, to fetch state_from " + cfg.Mirrors.StateFrom
			}
			return ""
		}
		// The fetch follows redirects within state_from's host, from
		// http to https too.
		if h, p := urlHostPort(cfg.Mirrors.StateFrom); h == host && (p == d.Port || d.Port == "80" || d.Port == "443") {
			return "[mirrors] state_from " + cfg.Mirrors.StateFrom
		}
	case outbound.ExitLists:
		if h, p := urlHostPort(torexit.CollecTorURL); cfg.Stats.Fetch && h == host && p == d.Port {
			return "[stats] fetch = true"
		}
	case outbound.ProxyUpstream:
		if h, p := urlHostPort(cfg.Proxy.Upstream); cfg.Proxy.Enabled() && h == host && p == d.Port {
			return "[proxy] upstream"
		}
	case outbound.ProxyDirect:
		if !cfg.Proxy.Enabled() || cfg.Proxy.Upstream != "" {
			return ""
		}
		list, err := allowlist.ParseList(cfg.Proxy.Allow)
		if err != nil {
			return ""
		}
		if t, err := allowlist.ParseAuthority(net.JoinHostPort(d.Host, d.Port), 0); err == nil && list.Allows(t) {
			return "[proxy] allow"
		}
	case outbound.ACME:
		// Every URL of a CA's directory is on its host (RFC 8555,
		// section 7.1.1, as the CAs run them).
		if h, p := urlHostPort(cfg.ACMECA()); h != "" && h == host && p == d.Port {
			return "[acme] ca, certificates of " + strings.Join(cfg.ACMEHosts(), ", ")
		}
	case outbound.DNS:
		// The system resolver, on its port: a "dns" destination anywhere
		// else is a connection that only claims the purpose.
		if d.Port != "53" || !slices.Contains(outbound.Resolvers(resolvConf), host) {
			return ""
		}
		if r := directNeeds(cfg); len(r) > 0 {
			return "names of " + strings.Join(r, ", ") + " resolved locally"
		}
	}
	return ""
}

// directNeeds lists what the configuration asks depot to reach by name
// without Tor, so that it resolves names locally.
func directNeeds(cfg *config.Config) []string {
	var out []string
	if len(cfg.Mirror) > 0 && cfg.Mirrors.IsChecker() {
		out = append(out, "mirror checks")
	}
	if h, _ := urlHostPort(cfg.Mirrors.StateFrom); h != "" && cfg.Mirrors.StateVia == "" && !isIP(h) {
		out = append(out, "the checking node's mirror state ([mirrors] state_from)")
	}
	if cfg.Stats.Fetch {
		out = append(out, "exit-list downloads")
	}
	if cfg.Proxy.Enabled() && cfg.Proxy.Upstream == "" {
		out = append(out, "the updates proxy (no upstream)")
	}
	if cfg.ACMECA() != "" {
		out = append(out, "the ACME CA")
	}
	return out
}

// urlHostPort is the lower-case host and the port (the scheme's default
// when none) of a URL, or "".
func urlHostPort(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", ""
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		}
	}
	return strings.ToLower(u.Hostname()), port
}

// checkOutbound reads what depot serve recorded of its own outbound
// connections and fails on any destination the configuration does not
// explain; resolvConf names the system resolvers.
func checkOutbound(cfg *config.Config, resolvConf string) Result {
	r := Result{ID: "outbound", Policy: policyShare}
	path := outbound.Path(cfg.DataDir)
	rec, err := outbound.ReadRecord(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rec = nil
	case err != nil:
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read the record of outbound connections: %v", err)
		return r
	}
	if rec == nil || len(rec.Destinations) == 0 {
		r.Status, r.Detail = Pass, path+": depot has recorded no outbound connection"
		if rec == nil {
			r.Detail = "no " + path + ": depot serve has recorded no outbound connection"
		}
		if may := directNeeds(cfg); len(may) > 0 || len(upstreamNote(cfg)) > 0 {
			r.Detail += "; the configuration allows " + strings.Join(append(may, upstreamNote(cfg)...), ", ")
		}
		return r
	}
	var explained, unexplained []string
	for _, d := range rec.Destinations {
		if why := explain(cfg, d, resolvConf); why != "" {
			explained = append(explained, fmt.Sprintf("%s for %s", net.JoinHostPort(d.Host, d.Port), why))
		} else {
			unexplained = append(unexplained, describe(d))
		}
	}
	resolver := ""
	if rec.Resolver == outbound.ResolverLocal {
		resolver = "; names are resolved locally, by " + strings.Join(nameservers(resolvConf), ", ")
	}
	if len(unexplained) > 0 {
		r.Status = Fail
		r.Detail = fmt.Sprintf("depot connected to what its configuration does not ask for: %s; find what made these connections (%s) and remove it%s",
			strings.Join(unexplained, "; "), path, resolver)
		return r
	}
	r.Status = Pass
	r.Detail = "depot connected only to " + strings.Join(explained, "; ") + resolver
	return r
}

// upstreamNote lists what the configuration asks depot to reach through
// a SOCKS server, which resolves the names.
func upstreamNote(cfg *config.Config) []string {
	var out []string
	if cfg.Proxy.Enabled() && cfg.Proxy.Upstream != "" {
		out = append(out, "the updates proxy through "+cfg.Proxy.Upstream)
	}
	if !cfg.Mirrors.IsChecker() && cfg.Mirrors.StateVia != "" {
		out = append(out, "the checking node's mirror state through "+cfg.Mirrors.StateVia)
	}
	return out
}

// isIP reports whether host is an IP address, which is not resolved.
func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// nameservers lists the resolvers of a resolv.conf, or says it has none.
func nameservers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{"the system resolver (" + path + ": " + err.Error() + ")"}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "nameserver" && !slices.Contains(out, fs[1]) {
			out = append(out, fs[1])
		}
	}
	if len(out) == 0 {
		return []string{"the system resolver (" + path + " names no nameserver)"}
	}
	for i := range out {
		out[i] = "nameserver " + out[i] + " (" + path + ")"
	}
	return out
}
