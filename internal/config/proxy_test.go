package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProxyTable(t *testing.T) {
	tests := []struct {
		name  string
		proxy string
		want  []string // substrings of the error; none means valid
	}{
		{"none", "", nil},
		{"loopback with tor", "[proxy]\nlisten = \"127.0.0.1:8082\"\nallow = [\"yum.qubes-os.org\", \"*.debian.org\", \"localhost:8080\"]\nupstream = \"socks5://127.0.0.1:9050\"\n", nil},
		{"closed proxy is valid", "[proxy]\nlisten = \"[::1]:8082\"\n", nil},
		{"public address refused", "[proxy]\nlisten = \"0.0.0.0:8082\"\n", []string{"proxy.listen", "remote_clients = true"}},
		{"public address allowed", "[proxy]\nlisten = \"0.0.0.0:8082\"\nremote_clients = true\n", nil},
		{"relative socket", "[proxy]\nlisten = \"unix:proxy.sock\"\n", []string{"proxy.listen", "absolute"}},
		{"open proxy", "[proxy]\nlisten = \"127.0.0.1:8082\"\nallow = [\"*\"]\n", []string{"proxy.allow[0]", "open proxy"}},
		{"bad patterns", "[proxy]\nlisten = \"127.0.0.1:8082\"\nallow = [\"ok.org\", \"http://a.org\", \"*.org\"]\n", []string{"proxy.allow[1]", "proxy.allow[2]"}},
		{"upstream http", "[proxy]\nlisten = \"127.0.0.1:8082\"\nupstream = \"http://127.0.0.1:3128\"\n", []string{"proxy.upstream", "socks5://"}},
		{"upstream by name", "[proxy]\nlisten = \"127.0.0.1:8082\"\nupstream = \"socks5://localhost:9050\"\n", []string{"proxy.upstream", "IP address"}},
		{"negative timeout", "[proxy]\nlisten = \"127.0.0.1:8082\"\nidle_timeout = \"-1s\"\n", []string{"proxy.idle_timeout"}},
		{"tiny header limit", "[proxy]\nlisten = \"127.0.0.1:8082\"\nmax_header_bytes = \"10\"\n", []string{"proxy.max_header_bytes"}},
		{"settings without listen", "[proxy]\nallow = [\"a.org\"]\n", []string{"proxy.listen", "no effect"}},
		{"loop to itself", "[proxy]\nlisten = \"127.0.0.1:8082\"\nallow = [\"localhost:8082\", \"127.0.0.1:8082\", \"localhost:8080\"]\n", []string{"proxy.allow[0]", "proxy.allow[1]", "own listen address"}},
		{"unknown key", "[proxy]\nlisten = \"127.0.0.1:8082\"\nallowed = []\n", []string{`unknown key "proxy.allowed"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLoad(t, minimal+tc.proxy, tc.want)
		})
	}
}

func TestProxyDefaultsAndValidateProxy(t *testing.T) {
	c, err := Parse("/etc/depot/proxy.toml", []byte("[proxy]\nlisten = \"127.0.0.1:8082\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateProxy(); err != nil {
		t.Errorf("ValidateProxy of a proxy-only file: got %v, want nil", err)
	}
	p := c.Proxy
	if time.Duration(p.HeaderTimeout) != 10*time.Second || time.Duration(p.IdleTimeout) != 2*time.Minute || p.MaxConnections != 256 || p.MaxHeaderBytes != 16<<10 || p.Log {
		t.Errorf("defaults: got %+v", p)
	}
	c, err = Parse("/etc/depot/none.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateProxy(); err == nil || !strings.Contains(err.Error(), "proxy.listen") {
		t.Errorf("ValidateProxy without [proxy]: got %v, want a proxy.listen problem", err)
	}
}

// TestLoadCheckAndLoadProxy: depot check validates a file with only a
// [proxy] table as depot proxy does, and anything else as depot serve does;
// an error returns no configuration.
func TestLoadCheckAndLoadProxy(t *testing.T) {
	proxyOnly := "[proxy]\nlisten = \"127.0.0.1:8082\"\n"
	tests := []struct {
		name      string
		body      string
		proxyOnly bool
		want      string // a substring of LoadCheck's error; empty means valid
	}{
		{"serve file", minimal, false, ""},
		{"serve file with a proxy", minimal + proxyOnly, false, ""},
		{"proxy-only file", proxyOnly, true, ""},
		{"proxy-only file, open proxy", proxyOnly + "allow = [\"*\"]\n", true, "proxy.allow[0]"},
		{"neither", "log_dir = \"logs\"\n", false, "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			c, only, err := LoadCheck(path)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("LoadCheck: got %v, want an error with %q", err, tc.want)
				}
				if c != nil || only {
					t.Errorf("LoadCheck failed but returned %v, %v", c, only)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCheck: got %v, want valid", err)
			}
			if only != tc.proxyOnly {
				t.Errorf("LoadCheck proxyOnly: got %v, want %v", only, tc.proxyOnly)
			}
			if tc.proxyOnly {
				if _, err := LoadProxy(path); err != nil {
					t.Errorf("LoadProxy of a file LoadCheck found proxy-only: %v", err)
				}
			}
		})
	}
	if _, err := LoadProxy(writeConfig(t, minimal)); err == nil || !strings.Contains(err.Error(), "proxy.listen") {
		t.Errorf("LoadProxy of a file without [proxy]: got %v, want a proxy.listen problem", err)
	}
	if _, _, err := LoadCheck(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "reading configuration") {
		t.Errorf("LoadCheck of a missing file: got %v", err)
	}
}
