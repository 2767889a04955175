// Package audit checks a depot configuration, and the server running it,
// against the privacy policy: every check quotes the sentence it proves and
// can fail.
//
// It never changes a file and contacts nothing but depot's own configured
// listeners, with requests that carry a random marker so that their log
// lines (or their absence) can be found.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"depot/internal/config"
)

// Status is the outcome of one check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail" // the policy is not kept: act on it
	Warn Status = "warn" // kept, but weakly, or not checkable here
	Skip Status = "skip" // not run (e.g. --offline)
)

// Result is one check.
type Result struct {
	ID     string `json:"id"`
	Policy string `json:"policy"` // the sentence of the privacy policy it proves
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Options say what to audit.
type Options struct {
	Config *config.Config
	// Live sends requests to the running server's listeners. When no
	// listener accepts a connection, Run says once that depot serve is not
	// running and runs the offline checks.
	Live bool
	// Torrc is tor's configuration file to check; "" means Config.Torrc,
	// and no torrc check when that is empty too.
	Torrc string
	// FlushWait bounds the wait for the audit's own requests to reach the
	// log files; 0 means 5 s (depot flushes at least once a second).
	FlushWait time.Duration
	// SiteAudit lists third-party resources, scripts and inline styles
	// under a site's root ("file:line: problem"); origin is the site's own
	// scheme and host from base_url, or "". nil means depot site audit's
	// rules (site.Audit).
	SiteAudit func(root, origin string) ([]string, error)
	// Warnings returns weaknesses of the configuration's files
	// (permissions, ownership, symlinks), each reported as a warning. nil
	// means what depot check and serve warn about
	// (config.PermissionWarnings for the user the audit runs as).
	Warnings func(*config.Config) []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResolvConf names this machine's resolvers, the only DNS servers
	// depot may have asked; "" means /etc/resolv.conf.
	ResolvConf string
}

// Failed reports whether any result failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Run runs every check, in a fixed order. It changes nothing on disk and
// contacts nothing but the configuration's own listeners.
func Run(ctx context.Context, o Options) []Result {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushWait == 0 {
		o.FlushWait = 5 * time.Second
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.SiteAudit == nil {
		o.SiteAudit = siteFindings
	}
	if o.Warnings == nil {
		o.Warnings = permissionWarnings
	}
	cfg := o.Config
	var rs []Result
	live, why := o.Live, "--offline: no request sent"
	if live {
		if down := notRunning(ctx, cfg); down != "" {
			rs = append(rs, Result{ID: "server", Status: Warn, Detail: down})
			live, why = false, "no request sent (see server)"
		}
	}
	for _, w := range o.Warnings(cfg) {
		rs = append(rs, Result{ID: "files", Policy: policyShare, Status: Warn, Detail: w})
	}
	rs = append(rs, checkOnionService(cfg), checkTorrc(cfg, o.Torrc))
	if live {
		rs = append(rs, checkLogging(ctx, o)...)
		rs = append(rs, checkOnionReachable(ctx, cfg), checkOnionOnly(ctx, cfg))
	} else {
		for _, c := range []struct{ id, policy string }{
			{"clearnet-logged", policyLogs}, {"onion-not-logged", policyOnion},
			{"onion-reachable", policyOnion}, {"onion-answers-onion-only", policyOnion},
		} {
			rs = append(rs, Result{ID: c.id, Policy: c.policy, Status: Skip, Detail: why})
		}
	}
	scan := scanLogs(ctx, cfg, o.Now())
	rs = append(rs, checkRetention(cfg), checkRetentionEnforced(scan), checkStats(cfg, scan, o.Now()))
	rs = append(rs, checkPseudonymised(cfg, scan), checkMinCount(cfg))
	rs = append(rs, checkExposed(cfg), checkPublished(ctx, cfg, live, scan.clients))
	rs = append(rs, checkSites(ctx, o, live)...)
	rs = append(rs, checkOutbound(cfg, o.ResolvConf), checkTLS(cfg))
	return rs
}

// permissionWarnings are depot check's warnings about who can change or
// read depot's files, for the user the audit runs as.
func permissionWarnings(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.PermissionWarnings(os.Geteuid()) {
		out = append(out, w.String())
	}
	return out
}

// The policy's sentences, as the checks quote them.
const (
	policyLogs      = "We collect and store standard server access and error logs, which include IP addresses."
	policyOnion     = "We provide an onion service for the website and onion service mirrors of the repositories. Access to these servers is not logged."
	policyRetention = "The data is retained for up to three months so that we can re-calculate the previous two months' statistics in case anything goes wrong. After that, the data is deleted."
	policyStats     = "We use this data for generating Qubes userbase statistics and for incident response."
	policyShare     = "We never sell the data to anyone or share it with any third party."
	policyLocal     = "We host all resources locally (no third-party CDNs) so that you only have to connect to one domain. This site should be easy to browse using Tor Browser and with scripts blocked."
	policyMITM      = "This is still a public website, so man-in-the-middle attacks and such are always a possibility."
)

// marker returns a random token that no real request carries.
func marker() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "depot-audit-" + hex.EncodeToString(b)
}
