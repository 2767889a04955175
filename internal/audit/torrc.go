package audit

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"depot/internal/config"
	"depot/internal/torrc"
)

// listenerFor returns the index of the listener that a torrc target
// reaches, or -1.
func listenerFor(cfg *config.Config, target string) int {
	for i, l := range cfg.Listen {
		if reaches(target, l) {
			return i
		}
	}
	return -1
}

func reaches(target string, l config.Listen) bool {
	if path, ok := strings.CutPrefix(target, "unix:"); ok {
		return l.IsUnix() && config.Resolve(path) == config.Resolve(l.SocketPath())
	}
	if l.IsUnix() {
		return false
	}
	th, tp, err1 := net.SplitHostPort(target)
	lh, lp, err2 := net.SplitHostPort(l.Address)
	if err1 != nil || err2 != nil || tp != lp {
		return false
	}
	ta, lt := hostAddr(th), hostAddr(lh)
	switch {
	case lh == "" || lt.IsValid() && lt.IsUnspecified():
		return true // a wildcard listener takes every local address
	case ta.IsValid() && lt.IsValid():
		return ta.Unmap() == lt.Unmap()
	}
	return strings.EqualFold(th, lh)
}

func hostAddr(h string) netip.Addr {
	if h == "localhost" {
		return netip.MustParseAddr("127.0.0.1")
	}
	a, _ := netip.ParseAddr(h)
	return a
}

// checkTorrc reads tor's configuration and fails when an onion service
// forwards to a clearnet (logged) listener, or when no onion listener has
// an onion service.
func checkTorrc(cfg *config.Config, path string) Result {
	r := Result{ID: "torrc", Policy: policyOnion}
	if path == "" {
		path = cfg.Torrc
	}
	if path == "" {
		r.Status, r.Detail = Skip, "no torrc to read: pass --torrc /etc/tor/torrc or set torrc in the configuration"
		return r
	}
	ports, err := torrc.Read(path)
	if err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read tor's configuration: %v", err)
		return r
	}
	served := map[int]bool{}
	var bad, good []string
	for _, p := range ports {
		i := listenerFor(cfg, p.Target)
		switch {
		case i < 0:
			continue // another service of this machine
		case !cfg.Listen[i].Onion:
			bad = append(bad, fmt.Sprintf("%s: HiddenServicePort %d %s (HiddenServiceDir %s) forwards onion visitors to listen[%d] %s, a clearnet listener that logs them; point it at an onion listener ('depot onion torrc' prints the lines)",
				p.Where, p.Virt, p.Target, p.Dir, i, cfg.Listen[i].Address))
		default:
			served[i] = true
			good = append(good, fmt.Sprintf("%s → listen[%d]", p.Dir, i))
		}
	}
	var onions, unserved []string
	for i, l := range cfg.Listen {
		if l.Onion {
			onions = append(onions, l.Address)
			if !served[i] {
				unserved = append(unserved, fmt.Sprintf("listen[%d] %s", i, l.Address))
			}
		}
	}
	switch {
	case len(bad) > 0:
		r.Status, r.Detail = Fail, strings.Join(bad, "; ")
	case len(onions) > 0 && len(served) == 0:
		r.Status, r.Detail = Fail, fmt.Sprintf("%s has no HiddenServicePort that reaches an onion listener (%s): no onion service serves depot; add the lines 'depot onion torrc' prints", path, strings.Join(onions, ", "))
	case len(onions) == 0:
		r.Status, r.Detail = Fail, "no onion listener for tor to forward to"
	case len(unserved) > 0:
		r.Status, r.Detail = Warn, fmt.Sprintf("%s: %s; no onion service reaches %s", path, strings.Join(good, ", "), strings.Join(unserved, ", "))
	default:
		r.Status, r.Detail = Pass, fmt.Sprintf("%s: %s; no onion service reaches a clearnet listener", path, strings.Join(good, ", "))
	}
	return r
}
