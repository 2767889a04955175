package config

// Mirror is one volunteer mirror.
type Mirror struct {
	Name      string   `toml:"name"`
	URL       string   `toml:"url"`       // base URL; the origin's tree is below it
	Subdir    string   `toml:"subdir"`    // only this part of the tree is mirrored
	Country   string   `toml:"country"`   // ISO 3166 code, e.g. "DE"
	Continent string   `toml:"continent"` // e.g. "EU"
	Content   []string `toml:"content"`   // "yum", "deb", "iso"
	Onion     string   `toml:"onion"`     // the mirror's onion URL, if any
}

// validateMirrors checks the [[mirror]] tables.
func (c *Config) validateMirrors(p *Problems) {
	_ = p
}
