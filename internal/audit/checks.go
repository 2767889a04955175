package audit

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"depot/internal/config"
	"depot/internal/logfiles"
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

func checkRetentionEnforced(ctx context.Context, o Options) Result {
	r := Result{ID: "retention-enforced", Policy: policyRetention}
	res, err := logfiles.Prune(ctx, logfiles.PruneOptions{Dir: o.Config.LogDir, RetentionMonths: o.Config.RetentionMonths, Now: o.Now, DryRun: true})
	if err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read %s: %v", o.Config.LogDir, err)
		return r
	}
	if len(res.Actions) > 0 {
		var files []string
		for _, a := range res.Actions {
			files = append(files, fmt.Sprintf("%s (%d lines of %s)", a.Path, a.Removed, strings.Join(a.Months, ", ")))
		}
		r.Status = Fail
		r.Detail = fmt.Sprintf("%d file(s) hold lines from before %s: %s; run 'depot logs prune'", len(files), res.Cutoff.Format("2006-01-02"), strings.Join(files, "; "))
		return r
	}
	r.Status, r.Detail = Pass, "no log line in "+o.Config.LogDir+" is older than "+res.Cutoff.Format("2006-01-02")
	return r
}

func checkStats(o Options) []Result {
	cfg := o.Config
	used := Result{ID: "statistics", Policy: policyStats}
	if len(cfg.Stats.Logs) == 0 {
		used.Status, used.Detail = Warn, "no [stats] logs: the logs serve incident response only"
		return []Result{used}
	}
	access := filepath.Join(cfg.LogDir, "access.log")
	covered := false
	for _, g := range cfg.Stats.Logs {
		if ok, _ := filepath.Match(g, access); ok {
			covered = true
		}
	}
	now := o.Now().UTC()
	var stale []string
	for _, m := range stats.DefaultMonths(now)[:2] { // the two months before the current one
		start, _ := time.Parse("2006-01", m)
		at, _, err := stats.MonthComputed(cfg.Stats.Data, m)
		if err != nil || at.Before(start.AddDate(0, 1, 0)) {
			stale = append(stale, m)
		}
	}
	switch {
	case !covered:
		used.Status, used.Detail = Warn, fmt.Sprintf("[stats] logs %q do not include %s", cfg.Stats.Logs, access)
	case len(stale) > 0:
		used.Status, used.Detail = Warn, fmt.Sprintf("%s not yet computed after the month ended; run 'depot stats update' (depot serve does daily)", strings.Join(stale, " and "))
	default:
		used.Status, used.Detail = Pass, "the previous two months are computed from "+access
	}

	published := Result{ID: "published-no-address", Policy: policyShare}
	b, err := os.ReadFile(cfg.Stats.Data)
	switch {
	case os.IsNotExist(err):
		published.Status, published.Detail = Skip, cfg.Stats.Data+" does not exist yet"
	case err != nil:
		published.Status, published.Detail = Fail, err.Error()
	default:
		if addrs := findAddresses(b); len(addrs) > 0 {
			published.Status, published.Detail = Fail, fmt.Sprintf("%s holds addresses: %s", cfg.Stats.Data, strings.Join(addrs, ", "))
		} else {
			published.Status, published.Detail = Pass, cfg.Stats.Data+" holds aggregates only"
		}
	}
	return []Result{used, published}
}

var addrShaped = regexp.MustCompile(`[0-9a-fA-F:.]{7,}`)

// findAddresses returns the IP addresses written anywhere in b.
func findAddresses(b []byte) []string {
	var found []string
	for _, m := range addrShaped.FindAll(b, 20) {
		s := strings.TrimLeft(strings.TrimRight(string(m), ".:"), ".") // "::1" starts with colons
		if a, err := netip.ParseAddr(s); err == nil && (strings.Count(s, ".") == 3 || strings.Count(s, ":") >= 2) {
			found = append(found, a.String())
		}
	}
	return found
}

func checkSites(ctx context.Context, o Options) []Result {
	var rs []Result
	for i, s := range o.Config.Site {
		r := Result{ID: fmt.Sprintf("site[%d]-local-resources", i), Policy: policyLocal}
		if o.SiteAudit == nil {
			r.Status, r.Detail = Skip, "no site auditor"
		} else if problems, err := o.SiteAudit(s.Root, origin(s.BaseURL)); err != nil {
			r.Status, r.Detail = Fail, err.Error()
		} else if len(problems) > 0 {
			r.Status = Fail
			r.Detail = fmt.Sprintf("%s: %d problem(s): %s", s.Root, len(problems), strings.Join(first(problems, 5), "; "))
		} else {
			r.Status, r.Detail = Pass, s.Root+": every resource is local, no script, no inline style"
		}
		rs = append(rs, r)
	}
	if o.Live {
		rs = append(rs, checkCSP(ctx, o.Config))
	}
	return rs
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

func checkOutbound(cfg *config.Config) Result {
	r := Result{ID: "outbound", Policy: policyShare, Status: Pass}
	var hosts []string
	for _, m := range cfg.Mirror {
		if u, err := url.Parse(m.URL); err == nil && cfg.Mirrors.IsChecker() {
			hosts = append(hosts, u.Host+" (mirror checks)")
		}
	}
	if from := cfg.Mirrors.StateFrom; from != "" {
		if u, err := url.Parse(from); err == nil {
			via := ""
			if cfg.Mirrors.StateVia != "" {
				via = ", through " + cfg.Mirrors.StateVia
			}
			hosts = append(hosts, u.Host+" (the checking node's mirror state, [mirrors] state_from"+via+")")
		}
	}
	if cfg.Stats.Fetch {
		hosts = append(hosts, "collector.torproject.org (exit lists, [stats] fetch = true)")
	}
	if cfg.Proxy.Enabled() {
		via := "directly"
		if cfg.Proxy.Upstream != "" {
			via = "through " + cfg.Proxy.Upstream
		}
		hosts = append(hosts, fmt.Sprintf("%s (the updates proxy, for its clients, %s)", strings.Join(cfg.Proxy.Allow, ", "), via))
	}
	if len(hosts) == 0 {
		r.Detail = "depot contacts nothing on its own"
	} else {
		r.Detail = "depot contacts only: " + strings.Join(hosts, ", ")
	}
	return r
}

func checkTLS(cfg *config.Config) Result {
	r := Result{ID: "tls", Policy: policyMITM, Status: Pass, Detail: "every public clearnet listener has TLS"}
	var plain []string
	for _, l := range cfg.Listen {
		if l.Onion || l.IsUnix() || l.TLS() {
			continue
		}
		host, _, _ := strings.Cut(l.Address, ":")
		if strings.HasPrefix(l.Address, "[") {
			host = strings.Trim(l.Address[:strings.LastIndex(l.Address, ":")], "[]")
		}
		if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() || host == "localhost" {
			continue
		}
		plain = append(plain, l.Address)
	}
	if len(plain) > 0 {
		r.Status, r.Detail = Warn, "plain HTTP on "+strings.Join(plain, ", ")+": fine for repositories with signed metadata, not for the website; add tls_cert and tls_key"
	}
	return r
}
