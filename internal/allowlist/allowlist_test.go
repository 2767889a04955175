package allowlist

import (
	"net/netip"
	"testing"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		name, in string
		want     Pattern
		wantErr  bool
	}{
		{"name", "yum.qubes-os.org", Pattern{Host: "yum.qubes-os.org"}, false},
		{"upper case and trailing dot", "Deb.Debian.ORG.", Pattern{Host: "deb.debian.org"}, false},
		{"wildcard", "*.debian.org", Pattern{Host: "debian.org", Wildcard: true}, false},
		{"port", "localhost:8080", Pattern{Host: "localhost", Port: 8080}, false},
		{"ipv4", "127.0.0.1", Pattern{Addr: netip.MustParseAddr("127.0.0.1")}, false},
		{"ipv6 bracketed with port", "[::1]:8080", Pattern{Addr: netip.MustParseAddr("::1"), Port: 8080}, false},
		{"ipv6 bare", "::1", Pattern{Addr: netip.MustParseAddr("::1")}, false},
		{"empty", "", Pattern{}, true},
		{"bare star", "*", Pattern{}, true},
		{"wildcard tld", "*.org", Pattern{}, true},
		{"wildcard ip", "*.127.0.0.1", Pattern{}, true},
		{"star inside", "a.*.org", Pattern{}, true},
		{"port zero", "a.org:0", Pattern{}, true},
		{"port too big", "a.org:65536", Pattern{}, true},
		{"port leading zero", "a.org:080", Pattern{}, true},
		{"port empty", "a.org:", Pattern{}, true},
		{"scheme", "http://a.org", Pattern{}, true},
		{"path", "a.org/x", Pattern{}, true},
		{"empty label", "a..org", Pattern{}, true},
		{"dash edge", "-a.org", Pattern{}, true},
		{"numeric name", "127.1", Pattern{}, true},
		{"zone", "[fe80::1%eth0]", Pattern{}, true},
		{"long label", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", Pattern{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePattern(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePattern(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParsePattern(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if err == nil {
				if again, err := ParsePattern(got.String()); err != nil || again != got {
					t.Errorf("ParsePattern(%q) = %+v, %v; want %+v", got.String(), again, err, got)
				}
			}
		})
	}
}

func TestAllows(t *testing.T) {
	list, err := ParseList([]string{"yum.qubes-os.org", "*.debian.org", "localhost:8080", "127.0.0.1:9999", "[::1]"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, authority string
		defaultPort     uint16
		want            bool
	}{
		{"exact name, http", "yum.qubes-os.org", 80, true},
		{"exact name, connect 443", "yum.qubes-os.org:443", 0, true},
		{"exact name, other port", "yum.qubes-os.org:22", 0, false},
		{"exact name, case and dot", "YUM.Qubes-OS.org.", 80, true},
		{"subdomain of exact", "x.yum.qubes-os.org", 80, false},
		{"suffix trick", "evilyum.qubes-os.org", 80, false},
		{"wildcard", "deb.debian.org", 80, true},
		{"wildcard deep", "a.b.debian.org:443", 0, true},
		{"wildcard apex", "debian.org", 80, false},
		{"wildcard suffix trick", "evildebian.org", 80, false},
		{"wildcard ports", "deb.debian.org:8080", 0, false},
		{"port pattern", "localhost:8080", 0, true},
		{"port pattern default port", "localhost", 80, false},
		{"ip pattern", "127.0.0.1:9999", 0, true},
		{"ip pattern wrong port", "127.0.0.1:80", 0, false},
		{"ipv6", "[::1]:443", 0, true},
		{"mapped ipv4", "[::ffff:127.0.0.1]:9999", 0, true},
		{"unlisted", "example.com", 80, false},
		{"unlisted ip", "10.0.0.1:443", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := ParseAuthority(tt.authority, tt.defaultPort)
			if err != nil {
				t.Fatalf("ParseAuthority(%q): %v", tt.authority, err)
			}
			if got := list.Allows(target); got != tt.want {
				t.Errorf("Allows(%q) = %v, want %v", tt.authority, got, tt.want)
			}
		})
	}
	if (List{}).Allows(Target{Host: "deb.debian.org", Port: 80}) {
		t.Error("the empty list allows deb.debian.org, want a closed proxy")
	}
}

func TestParseAuthority(t *testing.T) {
	tests := []struct {
		name, in    string
		defaultPort uint16
		want        string // HostPort, or "" for an error
	}{
		{"name and port", "deb.debian.org:443", 0, "deb.debian.org:443"},
		{"name default port", "deb.debian.org", 80, "deb.debian.org:80"},
		{"connect needs port", "deb.debian.org", 0, ""},
		{"ipv6", "[2001:db8::1]:443", 0, "[2001:db8::1]:443"},
		{"bare ipv6", "2001:db8::1", 80, ""},
		{"userinfo", "user@host:80", 0, ""},
		{"space", "a b:80", 0, ""},
		{"empty", "", 80, ""},
		{"bad port", "a.org:http", 0, ""},
		{"percent", "a%2eorg:80", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthority(tt.in, tt.defaultPort)
			if tt.want == "" {
				if err == nil {
					t.Errorf("ParseAuthority(%q) = %q, want an error", tt.in, got.HostPort())
				}
				return
			}
			if err != nil || got.HostPort() != tt.want {
				t.Errorf("ParseAuthority(%q) = %q, %v; want %q", tt.in, got.HostPort(), err, tt.want)
			}
		})
	}
}
