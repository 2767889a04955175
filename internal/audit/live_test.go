package audit

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"depot/internal/certs/certstest"
	"depot/internal/config"
	"depot/internal/mirrors"
	"depot/internal/mirrors/mirrorstest"
	"depot/internal/responder"
	"depot/internal/stats"
)

const repomdPath = "r4.2/current/host/fc37/repodata/repomd.xml"

// liveSetup is a setup with a repository, metalinks, a checked mirror
// that has an onion address, published statistics, and depot's server
// running it in-process with the responders depot serve gives it.
func liveSetup(t *testing.T) *setup {
	t.Helper()
	s := newSetup(t)
	writeFiles(t, s.root, map[string]string{repomdPath: `<?xml version="1.0"?><repomd><revision>1</revision></repomd>`})
	m := mirrorstest.Dir(t, s.root)
	s.cfg.Mirror = []config.Mirror{{Name: "m", URL: m.URL, Onion: "http://aibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibejsqd.onion/"}}
	site := &s.cfg.Site[0]
	site.BaseURL, site.Metalinks, site.Redirect, site.StatsPath, site.MirrorStatusPath = "https://www.example.org/", true, true, "/statistics/", "/mirrors/"
	site.OnionBaseURL = "http://" + onionName56 + "/"
	writeFiles(t, s.cfg.DataDir, map[string]string{"stats.json": `{"2026-10": {"any": {"plain": 3397, "tor": 737}}, "meta": {}}`})
	return s
}

// depotResponders are the responders depot serve mounts: statistics, then
// the mirror service's.
func depotResponders(t *testing.T, cfg *config.Config) func(config.Site) []responder.Responder {
	t.Helper()
	svc, err := mirrors.New(cfg, mirrors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if _, err := svc.Check(context.Background()); err != nil {
		t.Fatalf("mirror check: %v", err)
	}
	return func(site config.Site) []responder.Responder {
		var rs []responder.Responder
		if site.StatsPath != "" {
			rs = append(rs, responder.Mount(site.StatsPath, stats.NewPage(stats.PageOptions{DataFile: cfg.Stats.Data, Prefix: site.StatsPath})))
		}
		return append(rs, svc.Responders(site)...)
	}
}

// TestLiveChecksPass: on a running server that keeps the policy every
// live check passes.
func TestLiveChecksPass(t *testing.T) {
	s := liveSetup(t)
	s.startServer(t, depotResponders(t, s.cfg))
	rs := s.live(t)
	expect(t, rs, "clearnet-logged", Pass, policyLogs, "combined-format lines with the client address")
	expect(t, rs, "onion-not-logged", Pass, policyOnion, "no trace in any file")
	expect(t, rs, "onion-reachable", Pass, policyOnion, "200 for http://"+onionName56+"/ on listen[1]")
	expect(t, rs, "onion-answers-onion-only", Pass, policyOnion, ".metalink on listen[1]: 2 onion URLs", ".meta4 on listen[1]: 2 onion URLs")
	expect(t, rs, "content-security-policy", Pass, policyLocal, "default-src 'self'")
	expect(t, rs, "published-no-address", Pass, policyShare, "site[0] /statistics/stats.svg", "site[0] /mirrors/status.json")
	for _, r := range rs {
		if r.Status == Fail {
			t.Errorf("%s failed on a kept policy: %s", r.ID, r.Detail)
		}
	}
}

// TestLiveChecksPassBehindRedirect: the first clearnet listener only
// redirects to HTTPS (redirect_https, as README "HTTPS" sets up ACME), so
// the checks that read the sites' pages must read them on the TLS
// listener, not take the redirect for the page.
func TestLiveChecksPassBehindRedirect(t *testing.T) {
	s := liveSetup(t)
	cert := certstest.Write(t, s.dir, "tls", certstest.Options{Names: []string{"www.example.org"}})
	s.cfg.Listen[0].RedirectHTTPS = true
	s.cfg.Listen = append(s.cfg.Listen, config.Listen{Address: "127.0.0.1:3", TLSCert: cert.CertFile, TLSKey: cert.KeyFile})
	s.startServer(t, depotResponders(t, s.cfg))
	rs := s.live(t)
	expect(t, rs, "content-security-policy", Pass, policyLocal, "default-src 'self'")
	expect(t, rs, "published-no-address", Pass, policyShare, "site[0] /statistics/stats.svg", "site[0] /mirrors/status.json")
	expect(t, rs, "tls", Pass, policyMITM, "every public clearnet listener has TLS")
	for _, r := range rs {
		if r.Status == Fail {
			t.Errorf("%s failed on a kept policy: %s", r.ID, r.Detail)
		}
	}
}

// TestLiveChecksFail breaks one promise at a time on a running server.
func TestLiveChecksFail(t *testing.T) {
	t.Parallel()
	t.Run("an onion listener that logs", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.startServer(t, nil)
		// The audited configuration calls the logged listener onion.
		s.cfg.Listen[0].Onion, s.cfg.Listen[1].Onion = true, false
		expect(t, s.live(t), "onion-not-logged", Fail, policyOnion, "onion requests were logged in "+filepath.Join(s.cfg.LogDir, "access.log"))
	})
	t.Run("a clearnet listener that does not log", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.startServer(t, nil)
		s.cfg.Listen[1].Onion = false
		expect(t, s.live(t), "clearnet-logged", Fail, policyLogs, "sent 4 requests to clearnet listeners, found 2 lines")
	})
	t.Run("a clearnet listener that is down", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.startServer(t, nil)
		s.cfg.Listen = append(s.cfg.Listen, config.Listen{Address: freePort(t)})
		expect(t, s.live(t), "clearnet-logged", Fail, policyLogs, "listen[2] "+s.cfg.Listen[2].Address)
	})
	t.Run("the onion name in no site's hosts", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.cfg.Site[0].Hosts = []string{"www.example.org"}
		s.startServer(t, nil)
		expect(t, s.live(t), "onion-reachable", Fail, policyOnion, "answers 404, want 200; add \""+onionName56+"\" to site[0].hosts")
	})
	t.Run("the onion name answered by another site", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.cfg.Site[0].Hosts = []string{"www.example.org"}
		other := filepath.Join(s.dir, "other")
		writeFiles(t, other, map[string]string{"index.html": "another site's front page"})
		s.cfg.Site = append(s.cfg.Site, config.Site{Hosts: []string{"*"}, Root: other})
		s.startServer(t, nil)
		expect(t, s.live(t), "onion-reachable", Fail, policyOnion, "answers another site's file")
	})
	t.Run("metalinks that trust the Host header", func(t *testing.T) {
		t.Parallel()
		s := liveSetup(t)
		real := depotResponders(t, s.cfg)
		// The responders as they were: onion decided by Host, so an onion
		// listener asked for a clearnet host answers clearnet URLs.
		s.startServer(t, func(site config.Site) []responder.Responder {
			return []responder.Responder{hostDecides{real(site)}}
		})
		expect(t, s.live(t), "onion-answers-onion-only", Fail, policyOnion, "names clearnet URLs to an onion client: "+s.cfg.Mirror[0].URL)
	})
	t.Run("no Content-Security-Policy", func(t *testing.T) {
		t.Parallel()
		s := newSetup(t)
		s.startServer(t, nil)
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) }))
		defer bare.Close()
		s.cfg.Listen[0].Address = strings.TrimPrefix(bare.URL, "http://")
		expect(t, s.live(t), "content-security-policy", Fail, policyLocal, "without a same-origin Content-Security-Policy")
	})
	t.Run("a published page with an address", func(t *testing.T) {
		t.Parallel()
		s := liveSetup(t)
		s.startServer(t, depotResponders(t, s.cfg))
		// A data file the page renders a client's address from. (The
		// audit's own address, 127.0.0.1, is also the test mirror's, which
		// the status page names on purpose.)
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log-20261119": accessLine("203.0.113.7", day("2026-11-19"))})
		writeFiles(t, s.cfg.DataDir, map[string]string{"stats.json": `{"2026-10": {"any": {"plain": 1, "tor": 0}}, "meta": {"title": "from 203.0.113.7"}}`})
		expect(t, s.live(t), "published-no-address", Fail, policyShare, "site[0] /statistics/ holds", "203.0.x.x (dotted)")
	})
}

// hostDecides wraps responders as if onion were decided by the Host
// header: requests on an onion listener naming a clearnet host are
// answered as clearnet ones.
type hostDecides struct{ rs []responder.Responder }

func (h hostDecides) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if responder.IsOnion(r) && !strings.HasSuffix(r.Host, ".onion") {
		r = r.WithContext(context.Background())
	}
	for _, resp := range h.rs {
		if handled, err := resp.Respond(w, r); handled {
			return true, err
		}
	}
	return false, nil
}

// TestLiveAuditChangesOnlyTheLogs: a live audit adds its own request
// lines to access.log and error.log and changes nothing else under
// log_dir and data_dir.
func TestLiveAuditChangesOnlyTheLogs(t *testing.T) {
	s := newSetup(t)
	s.startServer(t, nil)
	// Let the server create its files first.
	before := snapshot(t, s.cfg.LogDir, s.cfg.DataDir)
	rs := s.live(t)
	expect(t, rs, "clearnet-logged", Pass, policyLogs)
	after := snapshot(t, s.cfg.LogDir, s.cfg.DataDir)
	for _, name := range []string{"access.log", "error.log"} {
		p := filepath.Join(s.cfg.LogDir, name)
		if after[p].size <= before[p].size {
			t.Errorf("%s did not grow: %d → %d bytes", name, before[p].size, after[p].size)
		}
		delete(before, p)
		delete(after, p)
	}
	if !maps.Equal(before, after) {
		t.Errorf("the audit changed more than the logs:\nbefore %v\nafter  %v", before, after)
	}
}

func TestProbeFor(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"index.html": "12345", "b.txt": "x", ".hidden": "x", "a dir/x": "x",
		"deep/.git/config": "secret", "deep/r4.2/a b/repomd.xml": "xml"})
	tests := []struct {
		name string
		site config.Site
		want probe
		ok   bool
	}{
		{"index", config.Site{Root: dir}, probe{"/", 5}, true},
		{"listing", config.Site{Root: filepath.Join(dir, "a dir"), Autoindex: true}, probe{"/", -1}, true},
		{"first file", config.Site{Root: filepath.Join(dir, "a dir")}, probe{"/x", 1}, true},
		{"first file below", config.Site{Root: filepath.Join(dir, "deep")}, probe{"/r4.2/a%20b/repomd.xml", 3}, true},
		{"nothing", config.Site{Root: filepath.Join(dir, "missing")}, probe{}, false},
	}
	for _, tt := range tests {
		if got, ok := probeFor(tt.site); got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
