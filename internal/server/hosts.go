package server

import (
	"net"
	"strings"

	"depot/internal/config"
	"depot/internal/docroot"
	"depot/internal/responder"
)

// sites is the virtual-host table: what a reload builds whole and swaps in.
type sites struct {
	byHost map[string]*site // lower-case host without port
	any    *site            // the site with host "*", if any
	all    []*site
	// minimalErrors: error_log_detail = "minimal", error lines without
	// the request line and Host.
	minimalErrors bool
}

// newSites builds the table of cfgs. roots holds the opened root of every
// site's root path (see Server.openRoots), cache is the server's.
func newSites(cfgs []config.Site, responders func(config.Site) []responder.Responder, g *gate, roots map[string]*docroot.Root, cache *fileCache) *sites {
	t := &sites{byHost: map[string]*site{}}
	for _, c := range cfgs {
		var rs []responder.Responder
		if responders != nil {
			rs = responders(c)
		}
		s := newSite(c, rs, g, roots[c.Root], cache)
		t.all = append(t.all, s)
		for _, h := range c.Hosts {
			if h == "*" {
				t.any = s
				continue
			}
			t.byHost[strings.ToLower(h)] = s
		}
	}
	return t
}

// lookup finds the site for a Host header value, or nil.
func (t *sites) lookup(host string) *site {
	if strings.IndexByte(host, ':') >= 0 {
		// Only then: SplitHostPort allocates its error for a host
		// without a port, which is most of them.
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(host, ".")
	if s, ok := t.byHost[host]; ok {
		return s
	}
	if s, ok := t.byHost[strings.ToLower(host)]; ok {
		return s
	}
	return t.any
}
