package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"depot/examples/examplestest"
	"depot/internal/config"
)

// optional matches a commented-out setting: '#' then TOML (a key, a table
// or an array element), no space.
var optional = regexp.MustCompile(`(?m)^#([\["a-z])`)

func load(t *testing.T, text string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "depot.toml")
	if err := os.WriteFile(file, []byte(examplestest.Sandbox(t, text, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(file)
	if err != nil {
		t.Fatalf("depot check refuses the example:\n%v", err)
	}
	return c
}

// TestExampleIsValid is `depot check` on examples/depot.toml as shipped,
// and again with every optional "#key = value" line turned on: both must
// pass, so that no line of the example misleads.
func TestExampleIsValid(t *testing.T) {
	c := load(t, DepotTOML)
	if len(c.Site) != 3 || !c.Site[1].Metalinks || len(c.Mirror) == 0 || !c.Proxy.Enabled() || !c.Admin.Enabled() || len(c.Stats.Logs) == 0 {
		t.Errorf("the example lacks a part it should show: %d sites, metalinks %v, %d mirrors, proxy %v, admin %v, stats logs %v",
			len(c.Site), c.Site[1].Metalinks, len(c.Mirror), c.Proxy.Enabled(), c.Admin.Enabled(), c.Stats.Logs)
	}
	onion := false
	for _, l := range c.Listen {
		onion = onion || l.Onion
	}
	if !onion {
		t.Error("the example has no onion listener")
	}

	all := optional.ReplaceAllString(DepotTOML, "$1")
	if all == DepotTOML {
		t.Fatal("no optional line found; the test would prove nothing")
	}
	c = load(t, all)
	tls := false
	for _, l := range c.Listen {
		tls = tls || l.TLS()
	}
	if !tls || c.Site[0].OnionLocation == "" || len(c.Stats.Rules) != 2 {
		t.Errorf("with every optional line on: TLS listener %v, onion_location %q, %d stats rules", tls, c.Site[0].OnionLocation, len(c.Stats.Rules))
	}
}
