package audit

import (
	"path/filepath"
	"testing"

	"depot/internal/config"
)

// TestPseudonymised: with pseudonymise on, a real address in a line of a
// settled month fails the check, in an access or an error line; settled
// months holding pseudonyms only, and the month still in its grace, pass.
func TestPseudonymised(t *testing.T) {
	// testNow is 2026-11-20: with the default grace October is settled.
	pseudoLine := accessLine("100::4:0:ab12:cd34", day("2026-10-15"))
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		detail []string
	}{
		{"settled months hold pseudonyms", map[string]string{
			"access.log-20261015.gz": pseudoLine,
			"access.log":             accessLine("198.51.100.1", day("2026-11-19")),
		}, Pass, []string{"no real client address in the lines before 2026-11-01"}},
		{"a real address in October", map[string]string{
			"access.log-20261015": pseudoLine + accessLine("198.51.100.7", day("2026-10-16")),
		}, Fail, []string{"access.log-20261015: 1 lines of 2026-10", "depot logs pseudonymise"}},
		{"an address in an October error message", map[string]string{
			"error.log-20261015": "2026/10/15 10:00:00 [info] 1#0: http: TLS handshake error from 198.51.100.7:51234: EOF\n",
		}, Fail, []string{"error.log-20261015: 1 lines of 2026-10"}},
		{"a real address in a month still in its grace", map[string]string{
			"access.log-20261101": accessLine("198.51.100.7", day("2026-11-01")),
		}, Pass, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			s.cfg.Pseudonymise = true
			writeFiles(t, s.cfg.LogDir, tt.files)
			expect(t, s.run(t), "logs-pseudonymised", tt.status, policyRetention, tt.detail...)
		})
	}
	t.Run("off", func(t *testing.T) {
		s := newSetup(t)
		writeFiles(t, s.cfg.LogDir, map[string]string{"access.log-20261015": accessLine("198.51.100.7", day("2026-10-16"))})
		expect(t, s.run(t), "logs-pseudonymised", Skip, policyRetention, "pseudonymise = false")
	})
	t.Run("pseudonyms are no client addresses", func(t *testing.T) {
		c := newClients()
		c.addText([]byte("100::4:0:ab12:cd34"))
		c.addText([]byte("3fff:6:1:2:3:4:5:6"))
		if len(c.v64) != 0 || len(c.v48) != 0 {
			t.Errorf("pseudonyms were taken for client addresses: %v %v", c.v64, c.v48)
		}
	})
}

// TestMinCount: min_count = 0 warns; a published cell below min_count
// warns; min_count with every cell at or above it passes.
func TestMinCount(t *testing.T) {
	data := `{"2026-10": {"any": {"plain": 40, "tor": 3}, "r4.1": {"plain": 4, "tor": 0}, "r4.2": {"plain": 36, "tor": 3}}, "meta": {}}`
	tests := []struct {
		name     string
		minCount int
		data     string
		status   Status
		detail   string
	}{
		{"min_count 0", 0, data, Warn, "min_count = 0"},
		{"a cell below min_count", 10, data, Warn, "1 cell(s) below min_count = 10: 2026-10 r4.1 (4)"},
		{"every cell at or above it", 4, data, Pass, "min_count = 4: no published cell"},
		{"no data file yet", 10, "", Pass, "no data file to check yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			s.cfg.Stats.Logs = []string{filepath.Join(s.cfg.LogDir, "access.log*")}
			s.cfg.Stats.MinCount = tt.minCount
			if tt.data != "" {
				writeFiles(t, s.cfg.DataDir, map[string]string{"stats.json": tt.data})
			}
			expect(t, s.run(t), "published-min-count", tt.status, policyShare, tt.detail)
		})
	}
	t.Run("no statistics", func(t *testing.T) {
		s := newSetup(t)
		s.cfg.Site = []config.Site{{Hosts: []string{"*"}, Root: s.root}}
		expect(t, s.run(t), "published-min-count", Skip, policyShare, "no statistics")
	})
}
