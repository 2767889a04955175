package audit

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"depot/internal/config"
)

// TestConfigurationChecks: each configuration check passes on the kept
// policy and fails (or warns, where the policy allows) on the broken one.
func TestConfigurationChecks(t *testing.T) {
	tests := []struct {
		name   string
		change func(*setup)
		id     string
		status Status
		policy string
		detail string
	}{
		{"three months", func(*setup) {}, "retention-months", Pass, policyRetention, "retention_months = 3"},
		{"six months", func(s *setup) { s.cfg.RetentionMonths = 6 }, "retention-months", Fail, policyRetention, "longer than three months"},
		{"two months", func(s *setup) { s.cfg.RetentionMonths = 2 }, "retention-months", Fail, policyRetention, "cannot re-calculate"},
		{"onion listener", func(*setup) {}, "onion-service", Pass, policyOnion, "onion listeners: 127.0.0.1:2"},
		{"no onion listener", func(s *setup) { s.cfg.Listen = s.cfg.Listen[:1] }, "onion-service", Fail, policyOnion, "onion = true"},
		{"no onion location", func(s *setup) { s.cfg.Site[0].OnionLocation = "" }, "onion-service", Warn, policyOnion, "onion_location"},
		{"loopback plain http", func(*setup) {}, "tls", Pass, policyMITM, ""},
		{"public plain http only", func(s *setup) { s.cfg.Listen[0].Address = "0.0.0.0:80" }, "tls", Fail, policyMITM, "plain HTTP only (0.0.0.0:80)"},
		{"public plain http beside tls", func(s *setup) {
			s.cfg.Listen[0].Address = "0.0.0.0:80"
			s.cfg.Listen = append(s.cfg.Listen, config.Listen{Address: "0.0.0.0:443", TLSCert: "c", TLSKey: "k"})
		}, "tls", Warn, policyMITM, "beside TLS on 0.0.0.0:443"},
		{"public plain http redirecting to tls", func(s *setup) {
			s.cfg.Listen[0] = config.Listen{Address: "0.0.0.0:80", RedirectHTTPS: true}
			s.cfg.Listen = append(s.cfg.Listen, config.Listen{Address: "0.0.0.0:443", ACME: true})
		}, "tls", Pass, policyMITM, "every public clearnet listener has TLS"},
		{"public tls", func(s *setup) { s.cfg.Listen[0] = config.Listen{Address: "[::]:443", TLSCert: "c", TLSKey: "k"} }, "tls", Pass, policyMITM, "every public clearnet listener has TLS"},
		{"logs outside the root", func(*setup) {}, "logs-not-published", Pass, policyShare, "outside every site root"},
		{"logs inside the root", func(s *setup) { s.cfg.LogDir = filepath.Join(s.root, "logs") }, "logs-not-published", Fail, policyShare, "log_dir: "},
		{"data inside the root", func(s *setup) { s.cfg.DataDir = filepath.Join(s.root, "data") }, "logs-not-published", Fail, policyShare, "data_dir: "},
		{"stats logs inside the root", func(s *setup) { s.cfg.Stats.Logs = []string{filepath.Join(s.root, "old", "*.log")} }, "logs-not-published", Fail, policyShare, "stats.logs[0]: "},
		{"root symlinked over the logs later", func(s *setup) {
			if err := os.RemoveAll(s.root); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(s.dir, s.root); err != nil {
				t.Fatal(err)
			}
		}, "logs-not-published", Fail, policyShare, "after following symlinks"},
		{"no torrc", func(*setup) {}, "torrc", Skip, policyOnion, "--torrc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			tt.change(s)
			expect(t, s.run(t), tt.id, tt.status, tt.policy, tt.detail)
		})
	}
}

// TestStatisticsComputed: a month of the logs that retention will delete
// must have been computed after it ended.
func TestStatisticsComputed(t *testing.T) {
	computed := func(at string) string {
		return `{"2026-09": {"any": {"plain": 1, "tor": 0}}, "2026-10": {"any": {"plain": 1, "tor": 0}},
"meta": {"months": {"2026-09": {"computed_at": "2026-10-01T04:00:00Z"}, "2026-10": {"computed_at": "` + at + `"}}}}`
	}
	tests := []struct {
		name   string
		data   string // the data file, "" for none
		now    time.Time
		status Status
		detail string
	}{
		{"computed after the months ended", computed("2026-11-01T04:00:00Z"), testNow, Pass, "2026-09, 2026-10 computed after the month ended"},
		{"no data file", "", testNow, Fail, "2026-09"},
		{"October computed before it ended", computed("2026-10-30T04:00:00Z"), testNow, Fail, "2026-10, whose statistics were not computed"},
		{"the first of the month: the last one may wait", computed("2026-10-30T04:00:00Z"), time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), Pass, "2026-09"},
		{"a broken data file", "{", testNow, Fail, "2026-09 ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			s.cfg.Stats.Logs = []string{filepath.Join(s.cfg.LogDir, "access.log*")}
			writeFiles(t, s.cfg.LogDir, map[string]string{
				"access.log-20260930": accessLine("198.51.100.1", day("2026-09-30")),
				"access.log-20261031": accessLine("198.51.100.1", day("2026-10-31")),
				"access.log":          accessLine("198.51.100.1", day("2026-11-01")),
			})
			if tt.data != "" {
				writeFiles(t, s.cfg.DataDir, map[string]string{"stats.json": tt.data})
			}
			rs := Run(context.Background(), Options{Config: s.cfg, Now: func() time.Time { return tt.now }})
			expect(t, rs, "statistics", tt.status, policyStats, tt.detail)
		})
	}
	t.Run("stats logs do not cover log_dir", func(t *testing.T) {
		s := newSetup(t)
		s.cfg.Stats.Logs = []string{filepath.Join(s.dir, "elsewhere", "*.log")}
		expect(t, s.run(t), "statistics", Warn, policyStats, "do not include")
	})
	t.Run("no statistics", func(t *testing.T) {
		expect(t, newSetup(t).run(t), "statistics", Warn, policyStats, "incident response only")
	})
}

// TestSiteResources runs depot site audit's rules through the audit.
func TestSiteResources(t *testing.T) {
	s := newSetup(t)
	expect(t, s.run(t), "site[0]-local-resources", Pass, policyLocal, "every resource is local")

	writeFiles(t, s.root, map[string]string{"index.html": `<!DOCTYPE html><title>x</title><script src="https://cdn.example.net/x.js"></script>`})
	expect(t, s.run(t), "site[0]-local-resources", Fail, policyLocal, "cdn.example.net")

	s.cfg.Site[0].Root = filepath.Join(s.dir, "missing")
	expect(t, s.run(t), "site[0]-local-resources", Fail, policyLocal, "missing")
}

// TestWarningsAreReported: the configuration's file warnings (ops's
// permission checks) are listed as warnings, never as failures.
func TestWarningsAreReported(t *testing.T) {
	s := newSetup(t)
	rs := Run(context.Background(), Options{Config: s.cfg, Now: func() time.Time { return testNow },
		Warnings: func(*config.Config) []string { return []string{"log_dir is world-writable"} }})
	expect(t, rs, "files", Warn, policyShare, "world-writable")

	// By default, what depot check and serve warn about.
	if err := os.Chmod(s.cfg.LogDir, 0o777); err != nil {
		t.Fatal(err)
	}
	expect(t, s.run(t), "files", Warn, policyShare, "log_dir: "+s.cfg.LogDir+" is writable by every user")
}

// TestNotRunning: without a running server the audit says so once, skips
// the live checks and runs the offline ones; it does not call the policy
// broken for it.
func TestNotRunning(t *testing.T) {
	s := newSetup(t)
	s.cfg.Listen[0].Address = freePort(t)
	s.cfg.Listen[1].Address = freePort(t)
	rs := Run(context.Background(), Options{Config: s.cfg, Live: true, Now: func() time.Time { return testNow }})
	r := result(t, rs, "server")
	if r.Status != Warn || !strings.Contains(r.Detail, "depot serve is not running") || !strings.Contains(r.Detail, s.cfg.Listen[1].Address) {
		t.Errorf("server: %s %q, want a warning that depot serve is not running", r.Status, r.Detail)
	}
	all := fmt.Sprint(rs)
	if n := strings.Count(all, "not running"); n != 1 {
		t.Errorf("%d mentions that the server is not running, want one:\n%s", n, all)
	}
	if n := strings.Count(all, "connection refused"); n != 0 {
		t.Errorf("%d mentions of connection refused; want the one sentence that the server is not running:\n%s", n, all)
	}
	for _, id := range []string{"clearnet-logged", "onion-not-logged", "onion-reachable", "onion-answers-onion-only"} {
		expect(t, rs, id, Skip, result(t, rs, id).Policy, "no request sent (see server)")
	}
	expect(t, rs, "retention-enforced", Pass, policyRetention)
	if Failed(rs) {
		t.Errorf("a stopped server with a kept policy failed: %v", ids(rs))
	}

	rs = Run(context.Background(), Options{Config: s.cfg, Now: func() time.Time { return testNow }})
	for _, r := range rs {
		if r.ID == "server" {
			t.Errorf("--offline: %+v; want no word about the server", r)
		}
	}
	expect(t, rs, "clearnet-logged", Skip, policyLogs, "--offline")
}

// TestAuditChangesNothing: names, sizes, modes and mtimes under log_dir
// and data_dir are the same after an audit, whatever it found there.
func TestAuditChangesNothing(t *testing.T) {
	s := newSetup(t)
	s.cfg.Stats.Logs = []string{filepath.Join(s.cfg.LogDir, "access.log*")}
	writeFiles(t, s.cfg.LogDir, map[string]string{
		"access.log":                 accessLine("198.51.100.1", day("2026-11-02")),
		"access.log-20260815":        accessLine("198.51.100.1", day("2026-08-15")),
		"access.log-20261130.gz.tmp": "partial",
		"archive/access.log.old":     accessLine("198.51.100.1", day("2026-07-15")),
	})
	writeFiles(t, s.cfg.DataDir, map[string]string{"stats.json": `{"meta": {}}`, "outbound.json": `{"version": 1, "destinations": []}`})
	before := snapshot(t, s.cfg.LogDir, s.cfg.DataDir)
	rs := s.run(t)
	if !Failed(rs) {
		t.Fatalf("the setup breaks retention, want a failure: %v", ids(rs))
	}
	after := snapshot(t, s.cfg.LogDir, s.cfg.DataDir)
	if !maps.Equal(before, after) {
		t.Errorf("the audit changed the disk:\nbefore %v\nafter  %v", before, after)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
