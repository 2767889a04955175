package audit

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzScan: whatever the published bytes, every match is a client
// address of the set in the form it names, at an offset inside the text.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"seen from 203.0.113.7.", "3405803783", "0xcb007107", "::ffff:203.0.113.7", "[::ffff:cb00:7107]:80",
		"2001:db8:aa:bb::1234", "2001:db8:aa::/48", "prefix 2001:db8:aa:bb, seen", "1.203.0.113.7.9",
		`{"2026-10": {"any": {"plain": 3397}}, "meta": {"t": "04:00:00"}}`, "::", ":::", "0x", "...",
		`"\u003e203.0.113.7"`, "?ip=2001%3Adb8%3Aaa%3Abb%3A%3A1", "2001&#58;db8&#x3a;aa&colon;bb::1", "0313.0.0161.07", "a203.000.113.007b",
	} {
		f.Add([]byte(s))
	}
	c := clientsOf("203.0.113.7", "2001:db8:aa:bb::5", "0.0.0.1")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range c.scan(b) {
			if m.Offset < 0 || m.Offset >= len(b) {
				t.Fatalf("match %v outside the %d bytes", m, len(b))
			}
			if !isAddrByte(b[m.Offset]) && !(m.Escaped && strings.IndexByte(`\%&`, b[m.Offset]) >= 0) {
				t.Fatalf("match %v starts at %q, not in an address", m, b[m.Offset])
			}
			switch m.Form {
			case "dotted", "integer", "hex", "IPv4-mapped":
				if m.Masked != "203.0.x.x" && m.Masked != "0.0.x.x" {
					t.Fatalf("match %v: not a client", m)
				}
			case "IPv6 /64", "IPv6 /48":
				if m.Masked != netip.MustParsePrefix("2001:db8:aa::/48").String() {
					t.Fatalf("match %v: not a client prefix", m)
				}
			default:
				t.Fatalf("match %v: unknown form", m)
			}
		}
	})
}
