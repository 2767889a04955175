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

func TestMirrorStateKeys(t *testing.T) {
	const onion = "http://" + "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz2345" + ".onion/mirrors/status.json"
	cases := []struct {
		name  string
		table string
		want  []string // substrings of the error; nil: valid
	}{
		{"default checks", "", nil},
		{"checker true", "checker = true", nil},
		{"follower over https", "checker = false\nstate_from = \"https://www.example.org/mirrors/status.json\"", nil},
		{"follower over loopback", "checker = false\nstate_from = \"http://127.0.0.1:8080/mirrors/status.json\"", nil},
		{"follower over ipv6 loopback", "checker = false\nstate_from = \"http://[::1]:8080/mirrors/status.json\"", nil},
		{"follower over onion", "checker = false\nstate_from = \"" + onion + "\"\nstate_via = \"socks5://127.0.0.1:9050\"", nil},
		{"follower https over tor", "checker = false\nstate_from = \"https://www.example.org/s.json\"\nstate_via = \"socks5://127.0.0.1:9050\"", nil},
		{"state_from on the checker", "state_from = \"https://www.example.org/mirrors/status.json\"", []string{"mirrors.state_from: is set, but mirrors.checker is not false"}},
		{"state_from with checker true", "checker = true\nstate_from = \"https://www.example.org/mirrors/status.json\"", []string{"mirrors.state_from: is set, but mirrors.checker is not false"}},
		{"follower without state_from", "checker = false", []string{"mirrors.checker: is false, but mirrors.state_from is missing"}},
		{"plain http to another machine", "checker = false\nstate_from = \"http://www.example.org/mirrors/status.json\"", []string{"mirrors.state_from:", "plain http to another machine"}},
		{"localhost by name", "checker = false\nstate_from = \"http://localhost:8080/s.json\"", []string{"mirrors.state_from:", "loopback IP address"}},
		{"onion without tor", "checker = false\nstate_from = \"" + onion + "\"", []string{"mirrors.state_from:", "set mirrors.state_via"}},
		{"ftp", "checker = false\nstate_from = \"ftp://www.example.org/s.json\"", []string{"mirrors.state_from:", "must be an absolute https URL"}},
		{"relative", "checker = false\nstate_from = \"/mirrors/status.json\"", []string{"mirrors.state_from:", "must be an absolute https URL"}},
		{"credentials", "checker = false\nstate_from = \"https://u:p@www.example.org/s.json\"", []string{"mirrors.state_from:", "must not carry a user name"}},
		{"bad host", "checker = false\nstate_from = \"https://a_b.example/s.json\"", []string{"mirrors.state_from:", "is not a host name"}},
		{"via without state_from", "state_via = \"socks5://127.0.0.1:9050\"", []string{"mirrors.state_via: is set, but mirrors.state_from is not"}},
		{"via by name", "checker = false\nstate_from = \"https://www.example.org/s.json\"\nstate_via = \"socks5://localhost:9050\"", []string{"mirrors.state_via:", "by IP address"}},
		{"not a bool", "checker = \"no\"", []string{"mirrors.checker: must be true or false, not a string; for example: checker = false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkLoad(t, minimal+"[mirrors]\n"+tc.table+"\n", tc.want)
		})
	}
}

func TestIsChecker(t *testing.T) {
	no, yes := false, true
	for _, tc := range []struct {
		v    *bool
		want bool
	}{{nil, true}, {&yes, true}, {&no, false}} {
		if got := (MirrorChecks{Checker: tc.v}).IsChecker(); got != tc.want {
			t.Errorf("Checker %v: got %v, want %v", tc.v, got, tc.want)
		}
	}
}
