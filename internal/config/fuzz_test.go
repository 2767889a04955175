package config

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the decoder and validator: neither may
// panic, an accepted configuration must have its defaults applied, and a
// refused one is explained in the operator's terms, never Go's.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("retention_months = 0\n[[listen]]\naddress = \"unix:/run/x\"\nonion = true\n"))
	f.Add([]byte("[[site]]\nhosts = [\"\"]\nredirect_min_size = \"1MiB\"\n[stats]\nlogs = [\"a*\"]\n"))
	f.Add([]byte("retention_months = \"3\"\n[[site]]\nhosts = \"a\"\n"))
	f.Add([]byte("[mirrors]\ntimeout = 30\n[[stats.rule]]\npath = 1\n"))
	f.Add([]byte("listen = 5\nmirrors = []\n"))
	f.Add([]byte("[[listen]]\naddress = \"127.0.0.1:80\"\nredirect_https = true\n[[listen]]\naddress = \"127.0.0.1:443\"\nacme = true\nhsts_max_age = 0\nsession_tickets = false\n[[site]]\nhosts = [\"www.example.org\", \"*\"]\nroot = \"/\"\nacme = true\n[acme]\nca = \"https://ca.example/dir\"\nemail = \"a@b.c\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/fuzz/depot.toml", data)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "struct field") || strings.Contains(msg, "config.") {
				t.Fatalf("the error shows Go's internals: %v", err)
			}
			return
		}
		if c.LogDir == "" || c.DataDir == "" || c.RetentionMonths == 0 {
			t.Fatalf("defaults not applied: %+v", c)
		}
		_ = c.Validate()
	})
}
