package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "depot.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// minimal is a valid configuration; its log_dir and data_dir are created
// beside it (so that any user can validate it).
const minimal = `
log_dir = "logs"
data_dir = "data"
[[listen]]
address = "127.0.0.1:8080"
[[site]]
hosts = ["*"]
root = "www"
`

// minimalNoDirs leaves log_dir and data_dir to their defaults.
const minimalNoDirs = `
[[listen]]
address = "127.0.0.1:8080"
[[site]]
hosts = ["*"]
root = "www"
`

func TestLoadMinimalAppliesDefaults(t *testing.T) {
	if _, err := Load(writeConfig(t, minimal)); err != nil {
		t.Fatal(err)
	}
	p := writeConfig(t, minimalNoDirs)
	c, err := Parse(p, []byte(minimalNoDirs))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogDir != DefaultLogDir || c.DataDir != DefaultDataDir || c.RetentionMonths != 3 {
		t.Errorf("defaults: log_dir %q data_dir %q retention %d", c.LogDir, c.DataDir, c.RetentionMonths)
	}
	if want := filepath.Join(filepath.Dir(p), "www"); c.Site[0].Root != want {
		t.Errorf("relative root resolved to %q, want %q", c.Site[0].Root, want)
	}
	if c.Site[0].RedirectMinSize != 1<<20 {
		t.Errorf("redirect_min_size default %d", c.Site[0].RedirectMinSize)
	}
	if c.Pseudonymise || c.PseudonymiseAfter != DefaultPseudonymiseAfter {
		t.Errorf("pseudonymise %v after %v; want false after 168h", c.Pseudonymise, c.PseudonymiseAfter)
	}
	if c.Stats.Data != filepath.Join(DefaultDataDir, "stats.json") {
		t.Errorf("stats data default %q", c.Stats.Data)
	}
	if c.SendTimeout != Duration(60*time.Second) || c.MaxResponses != 1024 {
		t.Errorf("send_timeout %v, max_responses %d; want 60s and 1024", time.Duration(c.SendTimeout), c.MaxResponses)
	}
}

func TestLoadSendTimeoutAndMaxResponses(t *testing.T) {
	c, err := Load(writeConfig(t, "send_timeout = \"2m\"\nmax_responses = 4096\n"+minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.SendTimeout != Duration(2*time.Minute) || c.MaxResponses != 4096 {
		t.Errorf("send_timeout %v, max_responses %d; want 2m and 4096", time.Duration(c.SendTimeout), c.MaxResponses)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // every one must appear in the error
	}{
		{"unknown top-level key", "logdir = \"/x\"\n" + minimal, []string{"depot.toml:", `unknown key "logdir"`}},
		{"unknown site key", strings.Replace(minimal, `root = "www"`, "root = \"www\"\nautoindx = true", 1), []string{`unknown key "site.autoindx"`}},
		{"wrong type", strings.Replace(minimal, `hosts = ["*"]`, `hosts = "*"`, 1), []string{"depot.toml:"}},
		{"no listener, missing root, bad retention", "retention_months = -1\n[[site]]\nhosts = [\"a\"]\nroot = \"nope\"\n",
			[]string{"3 problems", "retention_months: must be at least 1", "listen: no [[listen]] table", "site[0].root:", "no such file or directory"}},
		{"bad address", strings.Replace(minimal, "127.0.0.1:8080", "localhost", 1), []string{"listen[0].address", "not host:port"}},
		{"public onion listener", minimal + "[[listen]]\naddress = \"0.0.0.0:8081\"\nonion = true\n", []string{"listen[1].onion", "loopback"}},
		{"relative unix socket", minimal + "[[listen]]\naddress = \"unix:run/x.sock\"\nonion = true\n", []string{"listen[1].address", "must be absolute"}},
		{"half tls", strings.Replace(minimal, `address = "127.0.0.1:8080"`, "address = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"", 1), []string{"set both tls_cert and tls_key"}},
		{"missing cert", strings.Replace(minimal, `address = "127.0.0.1:8080"`, "address = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"", 1), []string{"listen[0].tls_cert", "cannot read", "c.pem: no such file or directory"}},
		{"duplicate host", minimal + "[[site]]\nhosts = [\"*\"]\nroot = \"www\"\n", []string{"site[1].hosts", "also a host of site[0]"}},
		{"duplicate address", minimal + "[[listen]]\naddress = \"127.0.0.1:8080\"\n", []string{"listen[1].address", "also listen[0]"}},
		{"bad onion location", strings.Replace(minimal, `root = "www"`, "root = \"www\"\nonion_location = \"http://example.org\"", 1), []string{"site[0].onion_location"}},
		{"metalinks need base_url", strings.Replace(minimal, `root = "www"`, "root = \"www\"\nmetalinks = true", 1), []string{"site[0].base_url", "required with metalinks"}},
		{"short pseudonymisation grace", "pseudonymise = true\npseudonymise_after = \"12h\"\n" + minimal, []string{"pseudonymise_after: 12h0m0s is less than 24h"}},
		{"pseudonymise not a bool", "pseudonymise = \"yes\"\n" + minimal, []string{"depot.toml:"}},
		{"pseudonymise with nodes", "pseudonymise = true\n" + minimal + "[stats]\nlogs = [\"/srv/logs/*/access.log*\"]\nnodes = { eu1 = \"/srv/logs/eu1\" }\n", []string{"pseudonymise: not with [stats] nodes yet"}},
		{"bad error_log_detail", "error_log_detail = \"none\"\n" + minimal, []string{`error_log_detail: "none" is neither "full" nor "minimal"`}},
		{"negative min_count", minimal + "[stats]\nmin_count = -1\n", []string{"stats.min_count: -1 is negative"}},
		{"send timeout too short", "send_timeout = \"100ms\"\n" + minimal, []string{"send_timeout: 100ms is less than a second"}},
		{"send timeout negative", "send_timeout = \"-5s\"\n" + minimal, []string{"send_timeout: -5s is less than a second"}},
		{"send timeout not a duration", "send_timeout = 60\n" + minimal, []string{"depot.toml:"}},
		{"max responses negative", "max_responses = -1\n" + minimal, []string{"max_responses: must be at least 1, got -1"}},
		{"max responses written as 0", "max_responses = 0\n" + minimal, []string{"max_responses: must be at least 1, got 0", "leave it out"}},
		{"send timeout written as 0", "send_timeout = \"0s\"\n" + minimal, []string{"send_timeout: 0s is less than a second", "leave it out"}},
		{"bad size", strings.Replace(minimal, `root = "www"`, "root = \"www\"\nredirect_min_size = \"lots\"", 1), []string{"depot.toml:", "not a size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoad(t, tt.body, tt.want)
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "512": 512, "1MiB": 1 << 20, "64 KiB": 64 << 10, "2GB": 2e9, "3B": 3} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "99999999999TiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded; want an error", in)
		}
	}
}

// checkLoad loads body as a configuration file: with want empty it must be
// valid, otherwise the error must contain every string of want.
func checkLoad(t *testing.T, body string, want []string) {
	t.Helper()
	checkLoadWith(t, Load, body, want)
}

// checkLoadWith is checkLoad with another loader (LoadServe).
func checkLoadWith(t *testing.T, load func(string) (*Config, error), body string, want []string) {
	t.Helper()
	_, err := load(writeConfig(t, body))
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("got %v, want valid", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got valid, want an error with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %q, want it to contain %q", err, w)
		}
	}
}
