package audit

import (
	"strings"
	"testing"

	"depot/internal/config"
	"depot/internal/outbound"
)

// TestOutbound: every destination depot serve recorded must be one the
// configuration asks for; the resolver is named when names resolve
// locally.
func TestOutbound(t *testing.T) {
	configured := func(s *setup) {
		s.cfg.Mirror = []config.Mirror{{Name: "m", URL: "https://mirror.example.net/q/", Onion: "http://mirrorabc.onion/q/"}}
		s.cfg.Stats.Fetch = true
		s.cfg.Proxy = config.Proxy{Listen: "127.0.0.1:8082", Allow: []string{"yum.qubes-os.org", "*.debian.org"}, Upstream: "socks5://127.0.0.1:9050"}
	}
	direct := func(s *setup) {
		s.cfg.Proxy = config.Proxy{Listen: "127.0.0.1:8082", Allow: []string{"yum.qubes-os.org", "*.debian.org"}}
	}
	acme := func(s *setup) {
		s.cfg.Site[0].Hosts = []string{"www.example.org"}
		s.cfg.Site[0].ACME = true
		s.cfg.ACME.CA = config.DefaultACMECA
	}
	follower := func(s *setup) {
		no := false
		s.cfg.Mirror = []config.Mirror{{Name: "m", URL: "https://mirror.example.net/q/"}}
		s.cfg.Mirrors = config.MirrorChecks{Checker: &no, StateFrom: "https://eu1.example.org/mirrors/status.json"}
	}
	followerOverTor := func(s *setup) {
		follower(s)
		s.cfg.Mirrors.StateFrom = "http://eu1abc.onion/mirrors/status.json"
		s.cfg.Mirrors.StateVia = "socks5://127.0.0.1:9050"
	}
	followerLoopback := func(s *setup) {
		follower(s)
		s.cfg.Mirrors.StateFrom = "http://127.0.0.1:8080/mirrors/status.json"
	}
	dest := func(host, port, purpose string) string {
		return `{"host": "` + host + `", "port": "` + port + `", "purpose": "` + purpose + `", "first": "2026-11-01T00:00:00Z", "last": "2026-11-19T00:00:00Z", "count": 3}`
	}
	record := func(resolver string, ds ...string) string {
		return `{"version": 1, "destinations": [` + strings.Join(ds, ", ") + `], "resolver": "` + resolver + `"}`
	}
	tests := []struct {
		name   string
		config func(*setup)
		record string // "" for no file
		status Status
		want   string
	}{
		{"no record", func(*setup) {}, "", Pass, "has recorded no outbound connection"},
		{"no record, configured", configured, "", Pass, "mirror checks, exit-list downloads, the updates proxy through socks5://127.0.0.1:9050"},
		{"explained", configured, record("local",
			dest("mirror.example.net", "443", "mirror-check"), dest("mirror.example.net", "80", "mirror-check"),
			dest("collector.torproject.org", "443", "exit-lists"), dest("127.0.0.1", "9050", "proxy-upstream"),
			dest("127.0.0.53", "53", "dns")), Pass, "collector.torproject.org:443 for [stats] fetch = true"},
		{"resolver listed", configured, record("local", dest("mirror.example.net", "443", "mirror-check")), Pass, "names are resolved locally, by "},
		{"proxy direct", direct, record("local", dest("deb.debian.org", "443", "proxy-direct"), dest("yum.qubes-os.org", "80", "proxy-direct")), Pass, "deb.debian.org:443 for [proxy] allow"},
		{"a mirror nobody configured", configured, record("local", dest("evil.example", "443", "mirror-check")), Fail, "evil.example:443 (mirror-check, 3 connections"},
		{"exit lists without fetch", func(*setup) {}, record("local", dest("collector.torproject.org", "443", "exit-lists")), Fail, "collector.torproject.org:443 (exit-lists"},
		{"proxy direct past its allowlist", direct, record("local", dest("tracker.example", "443", "proxy-direct")), Fail, "tracker.example:443"},
		{"proxy direct with an upstream", configured, record("none", dest("deb.debian.org", "443", "proxy-direct")), Fail, "deb.debian.org:443"},
		{"another upstream", configured, record("none", dest("203.0.113.50", "9050", "proxy-upstream")), Fail, "203.0.113.50:9050"},
		{"dns with nothing to resolve", func(*setup) {}, record("local", dest("127.0.0.53", "53", "dns")), Fail, "127.0.0.53:53 (dns"},
		{"acme with no CA configured", func(*setup) {}, record("local", dest("acme-v02.api.letsencrypt.org", "443", "acme")), Fail, "acme-v02.api.letsencrypt.org:443"},
		{"acme", acme, record("local", dest("acme-v02.api.letsencrypt.org", "443", "acme"), dest("127.0.0.53", "53", "dns")), Pass,
			"acme-v02.api.letsencrypt.org:443 for [acme] ca, certificates of www.example.org"},
		{"acme at another CA", acme, record("local", dest("ca.example", "443", "acme")), Fail, "ca.example:443 (acme"},
		{"an unknown purpose", configured, record("none", dest("mirror.example.net", "443", "telemetry")), Fail, "telemetry"},
		{"follower, no record", follower, "", Pass, "the configuration allows the checking node's mirror state ([mirrors] state_from)"},
		{"follower over tor, no record", followerOverTor, "", Pass, "the checking node's mirror state through socks5://127.0.0.1:9050"},
		{"follower", follower, record("local", dest("eu1.example.org", "443", "mirror-state"), dest("127.0.0.53", "53", "dns")), Pass,
			"eu1.example.org:443 for [mirrors] state_from https://eu1.example.org/mirrors/status.json"},
		{"follower over tor", followerOverTor, record("none", dest("127.0.0.1", "9050", "mirror-state")), Pass,
			"127.0.0.1:9050 for [mirrors] state_via, to fetch state_from http://eu1abc.onion/"},
		{"follower over tor, yet direct", followerOverTor, record("local", dest("eu1abc.onion", "80", "mirror-state")), Fail, "eu1abc.onion:80 (mirror-state"},
		{"follower of another node", follower, record("local", dest("us1.example.org", "443", "mirror-state")), Fail, "us1.example.org:443 (mirror-state"},
		{"mirror state on the checker", configured, record("local", dest("eu1.example.org", "443", "mirror-state")), Fail, "eu1.example.org:443 (mirror-state"},
		{"dns to a server resolv.conf does not name", configured, record("local", dest("mirror.example.net", "443", "mirror-check"), dest("8.8.8.8", "53", "dns")), Fail, "8.8.8.8:53 (dns"},
		{"dns to a resolver on another port", configured, record("local", dest("mirror.example.net", "443", "mirror-check"), dest("127.0.0.53", "5353", "dns")), Fail, "127.0.0.53:5353 (dns"},
		{"follower by IP resolves nothing", followerLoopback, record("local", dest("127.0.0.1", "8080", "mirror-state"), dest("127.0.0.53", "53", "dns")), Fail, "127.0.0.53:53 (dns"},
		{"an unknown version", func(*setup) {}, `{"version": 2}`, Fail, "version 2"},
		{"an unknown resolver", func(*setup) {}, `{"version": 1, "resolver": "remote"}`, Fail, "resolver \"remote\""},
		{"a broken record", func(*setup) {}, `{"version": 1,`, Fail, "cannot read the record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			tt.config(s)
			if tt.record != "" {
				writeFiles(t, s.cfg.DataDir, map[string]string{outbound.FileName: tt.record})
			}
			expect(t, s.run(t), "outbound", tt.status, policyShare, tt.want)
		})
	}
}

func TestNameservers(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"resolv.conf": "# x\nnameserver 127.0.0.53\noptions edns0\nnameserver 9.9.9.9\nnameserver 127.0.0.53\n", "empty": ""})
	if got := strings.Join(nameservers(dir+"/resolv.conf"), "; "); got != "nameserver 127.0.0.53 ("+dir+"/resolv.conf); nameserver 9.9.9.9 ("+dir+"/resolv.conf)" {
		t.Errorf("got %q", got)
	}
	if got := nameservers(dir + "/empty"); !strings.Contains(got[0], "names no nameserver") {
		t.Errorf("got %q", got)
	}
	if got := nameservers(dir + "/missing"); !strings.Contains(got[0], "the system resolver") {
		t.Errorf("got %q", got)
	}
}
