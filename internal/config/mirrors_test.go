package config

import (
	"strings"
	"testing"
)

func TestValidateMirrors(t *testing.T) {
	cases := []struct {
		name string
		m    []Mirror
		want []string // substrings of the problems, in order; nil: valid
	}{
		{"valid", []Mirror{{Name: "a", URL: "https://a.example/q", Country: "de", Continent: "eu", Content: []string{"yum", "iso"}, Onion: "http://x.onion/"}}, nil},
		{"missing", []Mirror{{}}, []string{"mirror[0].name: missing", "mirror[0].url: missing"}},
		{"duplicates", []Mirror{{Name: "a", URL: "https://a/"}, {Name: "a", URL: "https://a/"}}, []string{"mirror[1].name: \"a\" is also mirror[0]", "mirror[1].url: \"https://a/\" is also mirror[0]"}},
		{"relative url", []Mirror{{Name: "a", URL: "mirror.example/"}}, []string{"mirror[0].url: \"mirror.example/\" must be an absolute http or https URL"}},
		{"ftp", []Mirror{{Name: "a", URL: "ftp://a/"}}, []string{"must be an absolute http or https URL"}},
		{"query", []Mirror{{Name: "a", URL: "https://a/?x=1"}}, []string{"must not have a query"}},
		{"escape in host", []Mirror{{Name: "a", URL: "https://ftp.q%80x.example/"}}, []string{"mirror[0].url: \"https://ftp.q%80x.example/\" host \"ftp.q\\x80x.example\" has a percent-escape"}},
		{"zone", []Mirror{{Name: "a", URL: "https://[fe80::1%25eth0]/"}}, []string{"has a percent-escape"}},
		{"bad host name", []Mirror{{Name: "a", URL: "https://a_b.example/"}}, []string{"is not a host name"}},
		{"port 0", []Mirror{{Name: "a", URL: "https://a.example:0/"}}, []string{"port \"0\" must be from 1 to 65535"}},
		{"country", []Mirror{{Name: "a", URL: "https://a/", Country: "DEU"}}, []string{"mirror[0].country"}},
		{"continent", []Mirror{{Name: "a", URL: "https://a/", Continent: "XX"}}, []string{"mirror[0].continent"}},
		{"content", []Mirror{{Name: "a", URL: "https://a/", Content: []string{"rpm"}}}, []string{"mirror[0].content: \"rpm\" is not a known content"}},
		{"subdir", []Mirror{{Name: "a", URL: "https://a/", Subdir: "../x"}}, []string{"mirror[0].subdir"}},
		{"onion", []Mirror{{Name: "a", URL: "https://a/", Onion: "http://a.example/"}}, []string{"mirror[0].onion"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Mirror: tc.m}
			c.normalizeMirrors() // as Parse does
			p := &Problems{}
			c.validateMirrors(p)
			if len(p.List) != len(tc.want) {
				t.Fatalf("got %d problems %q, want %d", len(p.List), p.List, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(p.List[i], w) {
					t.Errorf("problem %d: got %q, want it to contain %q", i, p.List[i], w)
				}
			}
		})
	}
}

func TestNormalizeMirrors(t *testing.T) {
	c := &Config{Mirror: []Mirror{{Name: "a", URL: "https://a/q", Country: "de", Continent: "eu"}}}
	c.applyDefaults()
	if m := c.Mirror[0]; m.URL != "https://a/q/" || m.Country != "DE" || m.Continent != "EU" {
		t.Errorf("got %+v", m)
	}
}

func TestMirrorChecksTable(t *testing.T) {
	body := minimal + "[mirrors]\ncheck_interval = \"10m\"\ntimeout = \"5s\"\nalternates_window = \"72h\"\n"
	c, err := Load(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mirrors.CheckInterval != Duration(10*60e9) || c.Mirrors.Timeout != Duration(5e9) || c.Mirrors.AlternatesWindow != Duration(72*3600e9) {
		t.Errorf("got %+v", c.Mirrors)
	}
	for _, bad := range []string{"check_interval = \"10s\"", "timeout = \"-1s\"", "timeout = \"soon\""} {
		if _, err := Load(writeConfig(t, minimal+"[mirrors]\n"+bad+"\n")); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
