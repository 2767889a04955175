package audit

import (
	"context"
	"strings"
	"testing"

	"depot/internal/config"
)

func TestFindAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`{"2026-10": {"any": {"plain": 3397, "tor": 737}}, "meta": {"last-updated": "2026-11-29T04:00:00Z"}}`, 0},
		{`{"v": "4.2.1", "r4.2": {"plain": 1}}`, 0},
		{`{"note": "seen from 203.0.113.7"}`, 1},
		{`{"x": "2001:db8::1", "y": "::ffff:198.51.100.2"}`, 2},
		{`{"time": "04:00:00"}`, 0},
	}
	for _, tt := range tests {
		if got := findAddresses([]byte(tt.in)); len(got) != tt.want {
			t.Errorf("findAddresses(%s) = %v, want %d address(es)", tt.in, got, tt.want)
		}
	}
}

func TestOfflineChecks(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{
			LogDir: t.TempDir(), DataDir: t.TempDir(), RetentionMonths: 3,
			Listen: []config.Listen{{Address: "0.0.0.0:80"}, {Address: "unix:/run/x.sock", Onion: true}},
			Site:   []config.Site{{Hosts: []string{"*"}, Root: t.TempDir(), OnionLocation: "http://x.onion"}},
		}
	}
	tests := []struct {
		name   string
		change func(*config.Config)
		id     string
		status Status
		detail string
	}{
		{"three months", func(*config.Config) {}, "retention-months", Pass, ""},
		{"six months", func(c *config.Config) { c.RetentionMonths = 6 }, "retention-months", Fail, "longer than three months"},
		{"two months", func(c *config.Config) { c.RetentionMonths = 2 }, "retention-months", Fail, "cannot re-calculate"},
		{"no onion listener", func(c *config.Config) { c.Listen = c.Listen[:1] }, "onion-service", Fail, "onion = true"},
		{"no onion location", func(c *config.Config) { c.Site[0].OnionLocation = "" }, "onion-service", Warn, "onion_location"},
		{"public plain http", func(*config.Config) {}, "tls", Warn, "0.0.0.0:80"},
		{"loopback plain http", func(c *config.Config) { c.Listen[0].Address = "127.0.0.1:80" }, "tls", Pass, ""},
		{"no mirrors, no fetch", func(*config.Config) {}, "outbound", Pass, "contacts nothing"},
		{"mirror and fetch", func(c *config.Config) {
			c.Mirror = []config.Mirror{{Name: "m", URL: "https://m.example/x/"}}
			c.Stats.Fetch = true
		}, "outbound", Pass, "m.example (mirror checks), collector.torproject.org"},
		{"mirror follower", func(c *config.Config) {
			no := false
			c.Mirror = []config.Mirror{{Name: "m", URL: "https://m.example/x/"}}
			c.Mirrors = config.MirrorChecks{Checker: &no, StateFrom: "https://www.example.org:8443/mirrors/status.json"}
		}, "outbound", Pass, "contacts only: www.example.org:8443 (the checking node's mirror state, [mirrors] state_from)"},
		{"mirror follower over tor", func(c *config.Config) {
			no := false
			c.Mirrors = config.MirrorChecks{Checker: &no, StateFrom: "http://x.onion/mirrors/status.json", StateVia: "socks5://127.0.0.1:9050"}
		}, "outbound", Pass, "x.onion (the checking node's mirror state, [mirrors] state_from, through socks5://127.0.0.1:9050)"},
		{"proxy over tor", func(c *config.Config) {
			c.Proxy = config.Proxy{Listen: "127.0.0.1:8082", Allow: []string{"yum.qubes-os.org"}, Upstream: "socks5://127.0.0.1:9050"}
		}, "outbound", Pass, "yum.qubes-os.org (the updates proxy, for its clients, through socks5://127.0.0.1:9050)"},
		{"live checks skipped offline", func(*config.Config) {}, "onion-not-logged", Skip, "--offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(c)
			rs := Run(context.Background(), Options{Config: c})
			for _, r := range rs {
				if r.ID != tt.id {
					continue
				}
				if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
					t.Errorf("%s: %s %q; want %s containing %q", r.ID, r.Status, r.Detail, tt.status, tt.detail)
				}
				return
			}
			t.Errorf("no check %s in %+v", tt.id, rs)
		})
	}
}
