package config

import "path/filepath"

// Stats is the [stats] table: where the userbase statistics read from and
// write to.
type Stats struct {
	Title     string   `toml:"title"`
	Comment   string   `toml:"comment"`
	Logs      []string `toml:"logs"`       // paths or globs, plain or .gz
	ExitLists string   `toml:"exit_lists"` // directory of TorDNSEL files and archives
	// Data is the JSON data file. Empty means <data_dir>/stats.json.
	Data string `toml:"data"`
}

func (s *Stats) resolvePaths(abs func(*string)) {
	for i := range s.Logs {
		abs(&s.Logs[i])
	}
	abs(&s.ExitLists)
	abs(&s.Data)
}

func (s *Stats) applyDefaults(c *Config) {
	if s.Data == "" {
		s.Data = filepath.Join(c.DataDir, "stats.json")
	}
}

func (s *Stats) validate(p *Problems, c *Config) {
	_, _ = p, c
}
