package logaddr

import (
	"net/netip"
	"testing"
)

// FuzzParseIPv4 checks ParseIPv4 against netip: the same inputs are IPv4
// addresses, with the same value.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.1.1.1", "1.2.3", "::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseIPv4([]byte(s))
		ref, err := netip.ParseAddr(s)
		refOK := err == nil && ref.Is4()
		if ok != refOK || ok && V4(a) != ref {
			t.Fatalf("ParseIPv4(%q) = %v, %v; netip: %v, %v", s, V4(a), ok, ref, err)
		}
		if ok && Uint32(ref) != a {
			t.Fatalf("Uint32(%v) = %d, want %d", ref, Uint32(ref), a)
		}
		if p, ok := Parse([]byte(s)); ok && err == nil && p != ref.WithZone("") {
			t.Fatalf("Parse(%q) = %v, netip %v", s, p, ref)
		}
	})
}
