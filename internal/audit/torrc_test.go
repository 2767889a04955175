package audit

import (
	"path/filepath"
	"testing"

	"depot/internal/config"
)

// TestTorrc: every HiddenServicePort that reaches depot must reach an
// onion listener, and some onion listener must be reached.
func TestTorrc(t *testing.T) {
	tests := []struct {
		name   string
		torrc  map[string]string // files under a fresh directory; "torrc" is read
		status Status
		want   string
	}{
		{"onion listener", map[string]string{"torrc": "HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 127.0.0.1:2\n"}, Pass, "/var/lib/tor/depot/ → listen[1]"},
		{"default target", map[string]string{"torrc": "HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 2\n"}, Pass, "→ listen[1]"},
		{"port only", map[string]string{"torrc": "HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 2\n"}, Pass, "→ listen[1]"},
		{"keywords in any case, comments, continuation", map[string]string{"torrc": "# depot\nhiddenservicedir \"/var/lib/tor/depot/\"  # here\nHiddenServicePort 80 \\\n 127.0.0.1:2\n"}, Pass, "→ listen[1]"},
		{"through %include of a directory", map[string]string{"torrc": "%include torrc.d\n", "torrc.d/50-depot.conf": "HiddenServiceDir /x/\nHiddenServicePort 80 127.0.0.1:2\n", "torrc.d/.hidden": "HiddenServicePort 80 127.0.0.1:1\n"}, Pass, "/x/ → listen[1]"},
		{"another service of the machine is none of depot's business", map[string]string{"torrc": "HiddenServiceDir /a/\nHiddenServicePort 22 127.0.0.1:22\nHiddenServiceDir /b/\nHiddenServicePort 80 127.0.0.1:2\n"}, Pass, "/b/ → listen[1]"},
		{"a clearnet target", map[string]string{"torrc": "HiddenServiceDir /var/lib/tor/depot/\nHiddenServicePort 80 127.0.0.1:1\n"}, Fail, "torrc:2: HiddenServicePort 80 127.0.0.1:1 (HiddenServiceDir /var/lib/tor/depot/) forwards onion visitors to listen[0] 127.0.0.1:1, a clearnet listener"},
		{"a clearnet target beside a good one", map[string]string{"torrc": "HiddenServiceDir /a/\nHiddenServicePort 80 127.0.0.1:2\nHiddenServicePort 443 127.0.0.1:1\n"}, Fail, "listen[0] 127.0.0.1:1, a clearnet listener"},
		{"no onion listener reached", map[string]string{"torrc": "HiddenServiceDir /a/\nHiddenServicePort 22 127.0.0.1:22\n"}, Fail, "no HiddenServicePort that reaches an onion listener (127.0.0.1:2)"},
		{"an empty torrc", map[string]string{"torrc": ""}, Fail, "no HiddenServicePort"},
		{"a bad port", map[string]string{"torrc": "HiddenServicePort eighty\n"}, Fail, "torrc:1: HiddenServicePort eighty"},
		{"a missing include", map[string]string{"torrc": "%include /nonexistent/torrc.d\n"}, Fail, "torrc:1"},
		{"an include loop", map[string]string{"torrc": "%include torrc\n"}, Fail, "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			dir := t.TempDir()
			writeFiles(t, dir, tt.torrc)
			s.cfg.Torrc = filepath.Join(dir, "torrc")
			expect(t, s.run(t), "torrc", tt.status, policyOnion, tt.want)
		})
	}
	t.Run("unix sockets", func(t *testing.T) {
		s := newSetup(t)
		dir := t.TempDir()
		s.cfg.Listen = []config.Listen{{Address: "0.0.0.0:8080"}, {Address: "unix:" + filepath.Join(dir, "onion.sock"), Onion: true}}
		writeFiles(t, dir, map[string]string{
			"good":  "HiddenServiceDir /a/\nHiddenServicePort 80 unix:\"" + filepath.Join(dir, "onion.sock") + "\"\n",
			"wide":  "HiddenServiceDir /a/\nHiddenServicePort 80 127.0.0.1:8080\n",
			"other": "HiddenServiceDir /a/\nHiddenServicePort 80 unix:/run/other.sock\n",
		})
		run := func(name string) []Result {
			s.cfg.Torrc = filepath.Join(dir, name)
			return s.run(t)
		}
		expect(t, run("good"), "torrc", Pass, policyOnion, "→ listen[1]")
		expect(t, run("wide"), "torrc", Fail, policyOnion, "listen[0] 0.0.0.0:8080, a clearnet listener")
		expect(t, run("other"), "torrc", Fail, policyOnion, "no HiddenServicePort")
	})
	t.Run("an onion listener left without a service", func(t *testing.T) {
		s := newSetup(t)
		s.cfg.Listen = append(s.cfg.Listen, config.Listen{Address: "127.0.0.1:3", Onion: true})
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"torrc": "HiddenServiceDir /a/\nHiddenServicePort 80 127.0.0.1:2\n"})
		s.cfg.Torrc = filepath.Join(dir, "torrc")
		expect(t, s.run(t), "torrc", Warn, policyOnion, "no onion service reaches listen[2] 127.0.0.1:3")
	})
	t.Run("an unreadable torrc", func(t *testing.T) {
		s := newSetup(t)
		s.cfg.Torrc = filepath.Join(t.TempDir(), "missing")
		expect(t, s.run(t), "torrc", Fail, policyOnion, "cannot read tor's configuration")
	})
	t.Run("--torrc wins over the configured one", func(t *testing.T) {
		s := newSetup(t)
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"torrc": "HiddenServicePort 80 127.0.0.1:2\n"})
		s.cfg.Torrc = filepath.Join(dir, "missing")
		rs := Run(t.Context(), Options{Config: s.cfg, Torrc: filepath.Join(dir, "torrc"), Now: s.cfgNow})
		expect(t, rs, "torrc", Pass, policyOnion)
	})
}
