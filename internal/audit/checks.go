package audit

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"depot/internal/config"
	"depot/internal/month"
	"depot/internal/site"
	"depot/internal/stats"
)

func checkOnionService(cfg *config.Config) Result {
	r := Result{ID: "onion-service", Policy: policyOnion}
	var onions []string
	for _, l := range cfg.Listen {
		if l.Onion {
			onions = append(onions, l.Address)
		}
	}
	if len(onions) == 0 {
		r.Status, r.Detail = Fail, "no [[listen]] table has onion = true; add one (e.g. address = \"unix:/run/depot/onion.sock\") and point tor at it with 'depot onion torrc'"
		return r
	}
	var noLocation []string
	for i, s := range cfg.Site {
		if s.OnionLocation == "" {
			noLocation = append(noLocation, fmt.Sprintf("site[%d] %v", i, s.Hosts))
		}
	}
	r.Status, r.Detail = Pass, "onion listeners: "+strings.Join(onions, ", ")
	if len(noLocation) > 0 {
		r.Status = Warn
		r.Detail += "; without onion_location, so Tor Browser is not offered the onion address: " + strings.Join(noLocation, ", ")
	}
	return r
}

func checkRetention(cfg *config.Config) Result {
	r := Result{ID: "retention-months", Policy: policyRetention}
	switch n := cfg.RetentionMonths; {
	case n > 3:
		r.Status, r.Detail = Fail, fmt.Sprintf("retention_months = %d keeps logs longer than three months; set 3", n)
	case n < 3:
		r.Status, r.Detail = Fail, fmt.Sprintf("retention_months = %d cannot re-calculate the previous two months' statistics; set 3", n)
	default:
		r.Status, r.Detail = Pass, "retention_months = 3: the current month and the two before it"
	}
	return r
}

// checkStats fails when a month that the logs hold lines of, and that
// retention will delete, has not had its statistics computed after it
// ended. The month just ended has until the 2nd, 00:00 UTC (depot serve
// computes it at 04:00 on the 1st).
func checkStats(cfg *config.Config, ls *logScan, now time.Time) Result {
	r := Result{ID: "statistics", Policy: policyStats}
	if len(cfg.Stats.Logs) == 0 {
		r.Status, r.Detail = Warn, "no [stats] logs: the logs serve incident response only"
		return r
	}
	current := month.Of(now)
	var missing, done []string
	for _, m := range ls.months {
		if !m.Before(current) || m == current.Prev() && now.Before(current.Start().AddDate(0, 0, 1)) {
			continue // the current month, or the last one on its first day
		}
		at, _, err := stats.MonthComputed(cfg.Stats.Data, m)
		switch {
		case err != nil:
			missing = append(missing, fmt.Sprintf("%s (%v)", m, err))
		case at.Before(m.End()):
			missing = append(missing, m.String())
		default:
			done = append(done, m.String())
		}
	}
	access := filepath.Join(cfg.LogDir, "access.log")
	covered := false
	for _, g := range cfg.Stats.Logs {
		if ok, _ := filepath.Match(g, access); ok {
			covered = true
		}
	}
	switch {
	case len(missing) > 0:
		r.Status = Fail
		r.Detail = fmt.Sprintf("the logs hold lines of %s, whose statistics were not computed after the month ended (%s); run 'depot stats update --config FILE' (depot serve does it daily)", strings.Join(missing, ", "), cfg.Stats.Data)
	case !covered:
		r.Status, r.Detail = Warn, fmt.Sprintf("[stats] logs %q do not include %s", cfg.Stats.Logs, access)
	case len(done) == 0:
		r.Status, r.Detail = Pass, "no ended month in the logs yet"
	default:
		r.Status, r.Detail = Pass, strings.Join(done, ", ")+" computed after the month ended, in "+cfg.Stats.Data
	}
	return r
}

func checkSites(ctx context.Context, o Options, live bool) []Result {
	var rs []Result
	for i, s := range o.Config.Site {
		r := Result{ID: fmt.Sprintf("site[%d]-local-resources", i), Policy: policyLocal}
		if problems, err := o.SiteAudit(s.Root, origin(s.BaseURL)); err != nil {
			r.Status, r.Detail = Fail, err.Error()
		} else if len(problems) > 0 {
			r.Status = Fail
			r.Detail = fmt.Sprintf("%s: %d problem(s): %s", s.Root, len(problems), strings.Join(first(problems, 5), "; "))
		} else {
			r.Status, r.Detail = Pass, s.Root+": every resource is local, no script, no inline style"
		}
		rs = append(rs, r)
	}
	if live {
		rs = append(rs, checkCSP(ctx, o.Config))
	}
	return rs
}

// siteFindings applies depot site audit's rules to a site root, one line
// per finding.
func siteFindings(root, origin string) ([]string, error) {
	rep, err := site.Audit(root, site.AuditOptions{Origin: origin})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range rep.Findings {
		out = append(out, f.String())
	}
	return out, nil
}

// origin is the scheme and host of a base URL, or "".
func origin(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// checkTLS fails when the only clearnet listeners on public addresses
// speak plain HTTP, and warns when plain HTTP is beside TLS.
func checkTLS(cfg *config.Config) Result {
	r := Result{ID: "tls", Policy: policyMITM, Status: Pass, Detail: "every public clearnet listener has TLS"}
	var plain, secure []string
	for _, l := range cfg.Listen {
		if l.Onion || l.IsUnix() {
			continue
		}
		if l.TLS() {
			secure = append(secure, l.Address)
			continue
		}
		if l.RedirectHTTPS {
			continue // serves nothing in plain HTTP but ACME challenges
		}
		host, _, err := net.SplitHostPort(l.Address)
		if err != nil {
			host = l.Address
		}
		if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() || host == "localhost" {
			continue
		}
		plain = append(plain, l.Address)
	}
	switch {
	case len(plain) > 0 && len(secure) == 0:
		r.Status, r.Detail = Fail, "the sites are public over plain HTTP only ("+strings.Join(plain, ", ")+"): anyone on the path can read and change every page; add a listener with tls_cert and tls_key or acme = true, and redirect_https = true on the plain one"
	case len(plain) > 0:
		r.Status, r.Detail = Warn, "plain HTTP on "+strings.Join(plain, ", ")+" beside TLS on "+strings.Join(secure, ", ")+": fine for repositories with signed metadata, not for the website"
	case len(secure) == 0:
		r.Detail = "no public clearnet listener"
	}
	return r
}

// checkExposed fails when a site root holds the logs, the data directory
// or a [stats] logs path: they would be served to anyone. It compares
// paths, then identities: a bind mount or a hard link has a path of its
// own.
func checkExposed(cfg *config.Config) Result {
	r := Result{ID: "logs-not-published", Policy: policyShare}
	ex := cfg.Exposed()
	if len(ex) == 0 {
		ex = exposedByIdentity(cfg)
	}
	if len(ex) > 0 {
		r.Status, r.Detail = Fail, strings.Join(ex, "; ")
		return r
	}
	r.Status, r.Detail = Pass, "log_dir, data_dir and every [stats] logs path lie outside every site root (symlinks followed), and no site root holds them by a bind mount or a hard link"
	return r
}
