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
	// Live sends requests to the running server's listeners.
	Live bool
	// FlushWait is how long to wait for log lines to reach the files;
	// 0 means 1.5 s (depot flushes at least once a second).
	FlushWait time.Duration
	// SiteAudit, if set, lists third-party resources, scripts and inline
	// styles under a site's root ("file:line: problem"); origin is the
	// site's own scheme and host from base_url, or "".
	SiteAudit func(root, origin string) ([]string, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
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

// Run runs every check, in a fixed order.
func Run(ctx context.Context, o Options) []Result {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushWait == 0 {
		o.FlushWait = 1500 * time.Millisecond
	}
	var rs []Result
	rs = append(rs, checkOnionService(o.Config))
	if o.Live {
		rs = append(rs, checkLogging(ctx, o)...)
	} else {
		rs = append(rs,
			Result{ID: "clearnet-logged", Policy: policyLogs, Status: Skip, Detail: "--offline: no request sent"},
			Result{ID: "onion-not-logged", Policy: policyOnion, Status: Skip, Detail: "--offline: no request sent"})
	}
	rs = append(rs, checkRetention(o.Config), checkRetentionEnforced(ctx, o))
	rs = append(rs, checkStats(o)...)
	rs = append(rs, checkSites(ctx, o)...)
	rs = append(rs, checkOutbound(o.Config), checkTLS(o.Config))
	return rs
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
