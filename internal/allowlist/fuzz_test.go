package allowlist

import (
	"strings"
	"testing"
)

// FuzzParsePattern checks that every accepted pattern formats to a string
// that parses back to it, and that a wildcard never matches an address or
// its own apex.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"yum.qubes-os.org", "*.debian.org", "localhost:8080", "127.0.0.1", "[::1]:8080", "::1", "*", "*.org", "a..b", "127.1", "[fe80::1%eth0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		again, err := ParsePattern(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePattern(%q) = %+v; its String %q parses to %+v, %v", s, p, p.String(), again, err)
		}
		if p.Wildcard {
			if p.Matches(Target{Host: p.Host, Port: 443}) {
				t.Fatalf("%q matches its apex %q", s, p.Host)
			}
			if p.Addr.IsValid() {
				t.Fatalf("%q is a wildcard with an address", s)
			}
		}
	})
}

// FuzzParseAuthority checks that an accepted authority's HostPort parses
// back to the same target, and that it holds nothing a dialer or SOCKS
// server could read as more than a host and a port.
func FuzzParseAuthority(f *testing.F) {
	for _, s := range []string{"deb.debian.org:443", "deb.debian.org", "[2001:db8::1]:443", "user@host:80", "a b:80", "a.org:http", "127.0.0.1:80", "Deb.Debian.Org.:80"} {
		f.Add(s, uint16(0))
		f.Add(s, uint16(80))
	}
	f.Fuzz(func(t *testing.T, s string, def uint16) {
		tg, err := ParseAuthority(s, def)
		if err != nil {
			return
		}
		if tg.Port == 0 {
			t.Fatalf("ParseAuthority(%q, %d) has port 0", s, def)
		}
		hp := tg.HostPort()
		if strings.ContainsAny(hp, "@/?#% \t\r\n\x00") {
			t.Fatalf("ParseAuthority(%q) = %q holds a delimiter", s, hp)
		}
		again, err := ParseAuthority(hp, 0)
		if err != nil || again != tg {
			t.Fatalf("ParseAuthority(%q) = %+v; HostPort %q parses to %+v, %v", s, tg, hp, again, err)
		}
	})
}
