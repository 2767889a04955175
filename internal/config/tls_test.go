package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"depot/internal/certs/certstest"
)

func TestTLSAndACMEKeys(t *testing.T) {
	dir := t.TempDir()
	good := certstest.Write(t, dir, "good", certstest.Options{})
	other := certstest.Write(t, dir, "other", certstest.Options{})
	expired := certstest.Write(t, dir, "expired", certstest.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	files := func(c, k *certstest.Cert) string {
		return "tls_cert = \"" + c.CertFile + "\"\ntls_key = \"" + k.KeyFile + "\"\n"
	}
	const site = "[[site]]\nhosts = [\"www.example.org\", \"*\"]\nroot = \"www\"\n"
	const plain = "[[listen]]\naddress = \"127.0.0.1:8080\"\n"
	const acmeTLS = "[[listen]]\naddress = \"127.0.0.1:8443\"\nacme = true\n"
	tests := []struct {
		name string
		body string
		want []string // nil: valid
	}{
		{"files", "[[listen]]\naddress = \"127.0.0.1:8443\"\n" + files(good, good) + site, nil},
		{"key of another certificate", "[[listen]]\naddress = \"127.0.0.1:8443\"\n" + files(good, other) + site,
			[]string{"listen[0].tls_cert", "does not match the key in", "point tls_key at"}},
		{"expired certificate", "[[listen]]\naddress = \"127.0.0.1:8443\"\n" + files(expired, expired) + site,
			[]string{"listen[0].tls_cert", "expired on", "renew it, then send SIGHUP"}},
		{"acme listener, redirecting plain listener, all TLS keys", plain + "redirect_https = true\n" + acmeTLS +
			"hsts_max_age = 31536000\nsession_tickets = false\n" + site + "[acme]\nemail = \"ops@example.org\"\n", nil},
		{"acme and files", "[[listen]]\naddress = \"127.0.0.1:8443\"\nacme = true\n" + files(good, good) + site,
			[]string{"listen[0].acme", "not both"}},
		{"acme onion listener", "[[listen]]\naddress = \"127.0.0.1:8081\"\nonion = true\nacme = true\n" + site,
			[]string{"listen[0].acme", "onion listeners serve plain HTTP"}},
		{"acme with no nameable host", acmeTLS + "[[site]]\nhosts = [\"*\", \"127.0.0.1\"]\nroot = \"www\"\n",
			[]string{"listen[0].acme", "no site has a host name"}},
		{"site acme without a TLS listener", plain + "[[site]]\nhosts = [\"www.example.org\"]\nroot = \"www\"\nacme = true\n",
			[]string{"site[0].acme", "no TLS listener"}},
		{"site acme with unnameable hosts", acmeTLS + "[[site]]\nhosts = [\"*\", \"192.0.2.1\", \"x.onion\", \"intranet\"]\nroot = \"www\"\nacme = true\n",
			[]string{"5 problems", `site[0].hosts: "*" cannot get a certificate by ACME: it matches any host`, `"192.0.2.1" cannot get a certificate by ACME: it is an IP address`,
				`"x.onion" cannot get a certificate by ACME: it is an onion address`, `"intranet" cannot get a certificate by ACME: it is not a fully qualified`}},
		{"redirect without a TLS listener", plain + "redirect_https = true\n" + site,
			[]string{"listen[0].redirect_https", "no TLS listener to redirect to"}},
		{"redirect on a TLS listener", acmeTLS + "redirect_https = true\n" + site,
			[]string{"listen[0].redirect_https", "only a plain clearnet listener"}},
		{"TLS keys on a plain listener", plain + "hsts_max_age = 10\nsession_tickets = true\n" + site,
			[]string{"listen[0].hsts_max_age: only TLS listeners", "listen[0].session_tickets: only TLS listeners"}},
		{"negative hsts", acmeTLS + "hsts_max_age = -1\n" + site, []string{"listen[0].hsts_max_age", "must be 0 or more"}},
		{"hsts as a string", acmeTLS + "hsts_max_age = \"2y\"\n" + site, []string{"depot.toml:", "listen.hsts_max_age: must be an integer, not a string; for example: hsts_max_age = 63072000"}},
		{"session tickets as a number", acmeTLS + "session_tickets = 0\n" + site, []string{"listen.session_tickets: must be true or false"}},
		{"plain http CA", acmeTLS + site + "[acme]\nca = \"http://ca.example.org/dir\"\n", []string{"acme.ca", "https URL of the CA's ACME directory"}},
		{"bad email", acmeTLS + site + "[acme]\nemail = \"Ops <ops@example.org>\"\n", []string{"acme.email", "not an email address"}},
		{"missing CA root", acmeTLS + site + "[acme]\nca_root = \"nope.pem\"\n", []string{"acme.ca_root", "nope.pem", "no such file"}},
		{"CA root that is no PEM", acmeTLS + site + "[acme]\nca_root = \"www\"\n", []string{"acme.ca_root"}},
		{"unknown acme key", acmeTLS + site + "[acme]\ndirectory = \"https://x/\"\n", []string{`unknown key "acme.directory"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLoad(t, tt.body, tt.want)
		})
	}
}

func TestACMEAccessors(t *testing.T) {
	body := `data_dir = "/var/lib/depot"
[[listen]]
address = "127.0.0.1:8080"
[[listen]]
address = "127.0.0.1:8443"
tls_cert = "c.pem"
tls_key = "k.pem"
[[site]]
hosts = ["WWW.example.org.", "*"]
root = "www"
acme = true
[[site]]
hosts = ["yum.example.org"]
root = "www"
`
	c, err := Parse("/etc/depot/depot.toml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.ACMEHosts(), []string{"www.example.org"}; !slices.Equal(got, want) {
		t.Errorf("ACMEHosts with site acme: got %q, want %q", got, want)
	}
	if got := c.ACMECA(); got != DefaultACMECA {
		t.Errorf("ACMECA: got %q, want Let's Encrypt's %q", got, DefaultACMECA)
	}
	if got, want := c.ACMEDir(), filepath.Join("/var/lib/depot", "acme", "acme-v02.api.letsencrypt.org_directory"); got != want {
		t.Errorf("ACMEDir: got %q, want %q", got, want)
	}
	if got := c.Listen[1].HSTS(); got != "max-age=63072000" {
		t.Errorf("HSTS default: got %q", got)
	}
	if !c.Listen[1].Tickets() || c.Listen[0].HSTS() != "" {
		t.Error("session tickets are off by default, or a plain listener has HSTS")
	}

	c.Site[0].ACME = false
	if c.ACMEEnabled() || c.ACMECA() != "" || len(c.ACMEHosts()) != 0 {
		t.Errorf("without acme = true: enabled %v, CA %q, hosts %q; want nothing", c.ACMEEnabled(), c.ACMECA(), c.ACMEHosts())
	}
	c.Listen[1] = Listen{Address: "127.0.0.1:8443", ACME: true}
	if got, want := c.ACMEHosts(), []string{"www.example.org", "yum.example.org"}; !slices.Equal(got, want) {
		t.Errorf("ACMEHosts with a listener's acme: got %q, want %q", got, want)
	}

	c2, _ := Parse("/etc/depot/depot.toml", []byte(strings.Replace(body, "[acme]", "", 1)+"[acme]\nca = \"https://127.0.0.1:14000/dir\"\n"))
	if got, want := c2.ACMEDir(), filepath.Join("/var/lib/depot", "acme", "127.0.0.1_14000_dir"); got != want {
		t.Errorf("ACMEDir of another CA: got %q, want %q", got, want)
	}
}

func TestListenEqualComparesValues(t *testing.T) {
	a, b := int64(10), int64(10)
	f := false
	l := Listen{Address: "x:1", ACME: true, HSTSMaxAge: &a}
	if !l.Equal(Listen{Address: "x:1", ACME: true, HSTSMaxAge: &b}) {
		t.Error("equal settings behind different pointers compare unequal")
	}
	if l.Equal(Listen{Address: "x:1", ACME: true, HSTSMaxAge: &a, SessionTickets: &f}) {
		t.Error("session_tickets = false compares equal to unset")
	}
}
