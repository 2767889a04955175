package server

import (
	"errors"
	"net"
	"strings"

	"depot/internal/config"
	"depot/internal/responder"
)

// sites is the virtual-host table: what a reload builds whole and swaps in.
type sites struct {
	byHost map[string]*site // lower-case host without port
	any    *site            // the site with host "*", if any
	all    []*site
}

func newSites(cfgs []config.Site, responders func(config.Site) []responder.Responder, g *gate) (*sites, error) {
	t := &sites{byHost: map[string]*site{}}
	for _, c := range cfgs {
		var rs []responder.Responder
		if responders != nil {
			rs = responders(c)
		}
		s, err := newSite(c, rs, g)
		if err != nil {
			t.close()
			return nil, err
		}
		t.all = append(t.all, s)
		for _, h := range c.Hosts {
			if h == "*" {
				t.any = s
				continue
			}
			t.byHost[strings.ToLower(h)] = s
		}
	}
	return t, nil
}

// lookup finds the site for a Host header value, or nil.
func (t *sites) lookup(host string) *site {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
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

func (t *sites) close() error {
	var errs []error
	for _, s := range t.all {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}
