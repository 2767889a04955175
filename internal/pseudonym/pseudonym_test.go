package pseudonym

import (
	"bytes"
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"
)

func newTestMapper(t testing.TB) *Mapper {
	t.Helper()
	m, err := NewMapper(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustMap(t testing.TB, m *Mapper, s string, tor bool) netip.Addr {
	t.Helper()
	p, err := m.Map(netip.MustParseAddr(s), tor)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// What each kind of address becomes, and what its pseudonym records.
func TestMapRecords(t *testing.T) {
	m := newTestMapper(t)
	tests := []struct {
		name  string
		addr  string
		tor   bool
		want  Pseudonym // ID and Prefix not compared
		inRng netip.Prefix
		text  string // prefix of the text form
	}{
		{"ipv4", "203.0.113.7", false, Pseudonym{}, V4Range, "100::4:0:"},
		{"ipv4 tor", "203.0.113.7", true, Pseudonym{Tor: true}, V4Range, "100::4:1:"},
		{"ipv4-mapped", "::ffff:203.0.113.7", false, Pseudonym{}, V4Range, "100::4:0:"},
		{"ipv4 zero", "0.0.0.0", false, Pseudonym{}, V4Range, "100::4:0:"},
		{"ipv6", "2001:db8:1:2::7", false, Pseudonym{IPv6: true}, V6Range, "3fff:6:"},
		{"ipv6 tor is not recorded", "2001:db8:1:2::7", true, Pseudonym{IPv6: true}, V6Range, "3fff:6:"},
		{"ipv6 loopback", "::1", false, Pseudonym{IPv6: true}, V6Range, "3fff:6:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustMap(t, m, tc.addr, tc.tor)
			if !tc.inRng.Contains(p) {
				t.Fatalf("pseudonym %s is outside %s", p, tc.inRng)
			}
			if !strings.HasPrefix(p.String(), tc.text) {
				t.Fatalf("pseudonym %s: want text starting %q", p, tc.text)
			}
			got, ok := FromAddr(p)
			if !ok {
				t.Fatalf("FromAddr(%s) says it is no pseudonym", p)
			}
			if got.IPv6 != tc.want.IPv6 || got.Tor != tc.want.Tor {
				t.Fatalf("FromAddr(%s) = %+v, want IPv6 %v Tor %v", p, got, tc.want.IPv6, tc.want.Tor)
			}
			if again := mustMap(t, m, tc.addr, tc.tor); again != p {
				t.Fatalf("mapping %s twice gave %s then %s", tc.addr, p, again)
			}
			if again := mustMap(t, m, p.String(), tc.tor); again != p {
				t.Fatalf("mapping the pseudonym %s gave %s; want it unchanged", p, again)
			}
		})
	}
}

// The same address with and without the Tor flag keeps its ID: only the
// flag differs. A mapped IPv4 address is the IPv4 address.
func TestMapV4Consistent(t *testing.T) {
	m := newTestMapper(t)
	plain, _ := FromAddr(mustMap(t, m, "198.51.100.9", false))
	tor, _ := FromAddr(mustMap(t, m, "198.51.100.9", true))
	mapped, _ := FromAddr(mustMap(t, m, "::ffff:198.51.100.9", false))
	if plain.ID != tor.ID || plain.ID != mapped.ID {
		t.Fatalf("IDs %#x (plain), %#x (tor), %#x (mapped); want one ID", plain.ID, tor.ID, mapped.ID)
	}
}

// IPv6: one /64 keeps one prefix, a different /64 another; distinct
// addresses (zones included) stay distinct.
func TestMapV6Prefixes(t *testing.T) {
	m := newTestMapper(t)
	addrs := []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:3::1", "fe80::1", "fe80::1%eth0", "fe80::1%eth1"}
	seen := map[netip.Addr]string{}
	prefix := map[string]uint64{}
	for _, s := range addrs {
		p := mustMap(t, m, s, false)
		if prev, dup := seen[p]; dup {
			t.Fatalf("%s and %s share the pseudonym %s", prev, s, p)
		}
		seen[p] = s
		ps, _ := FromAddr(p)
		prefix[s] = ps.Prefix
	}
	if prefix["2001:db8:1:2::1"] != prefix["2001:db8:1:2::2"] || prefix["2001:db8:1:2::1"] != prefix["2001:db8:1:2:ffff:ffff:ffff:ffff"] {
		t.Fatalf("one /64 got several prefixes: %v", prefix)
	}
	if prefix["2001:db8:1:2::1"] == prefix["2001:db8:1:3::1"] {
		t.Fatalf("two /64s share a prefix: %v", prefix)
	}
	if prefix["fe80::1"] != prefix["fe80::1%eth0"] {
		t.Fatalf("a zone changed the /64: %v", prefix)
	}
}

// Two months have two keys: no address keeps its pseudonym.
func TestMonthsDiffer(t *testing.T) {
	a, b := newTestMapper(t), newTestMapper(t)
	for i := range 1000 {
		v4 := netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		for _, addr := range []netip.Addr{v4, v6} {
			pa, _ := a.Map(addr, false)
			pb, _ := b.Map(addr, false)
			if pa == pb {
				t.Fatalf("%s has the pseudonym %s in both months", addr, pa)
			}
		}
	}
}

// The key comes from the given source and nowhere else: two mappers from
// one source stream differ, and a short source is an error.
func TestNewMapperKey(t *testing.T) {
	if _, err := NewMapper(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Fatal("a 15-byte key source gave a mapper; want an error")
	}
	a, err := NewMapper(bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMapper(bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if a.MapV4(1, false) != b.MapV4(1, false) {
		t.Fatal("one key gave two permutations")
	}
	c, err := NewMapper(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if c.MapV4(1, false) == a.MapV4(1, false) {
		t.Fatal("a random key gave the fixed key's pseudonym")
	}
	c.Forget()
	if c.key != [16]byte{} {
		t.Fatal("Forget left the key in memory")
	}
}

// The per-prefix numbering refuses to wrap rather than reuse a pseudonym.
func TestMapPrefixFull(t *testing.T) {
	m := newTestMapper(t)
	a := netip.MustParseAddr("2001:db8::1")
	p := mustMap(t, m, a.String(), false)
	ps, _ := FromAddr(p)
	m.next[ps.Prefix] = 0 // as if 2³² addresses had been numbered
	if _, err := m.Map(netip.MustParseAddr("2001:db8::2"), false); err != ErrPrefixFull {
		t.Fatalf("Map on a full prefix: err %v, want ErrPrefixFull", err)
	}
}

func TestFromAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
		want Pseudonym
	}{
		{"100::4:0:c000:201", true, Pseudonym{ID: 0xc0000201}},
		{"100::4:1:0:0", true, Pseudonym{Tor: true}},
		{"100::4:2:0:1", false, Pseudonym{}},   // unknown flag
		{"100::4:100:0:1", false, Pseudonym{}}, // unknown flag byte
		{"100::5:0:0:1", false, Pseudonym{}},   // other tag
		{"100::1", false, Pseudonym{}},         // discard prefix, no pseudonym
		{"3fff:6:1:2:3:4:5:6", true, Pseudonym{IPv6: true, Prefix: 0x0001000200030004}},
		{"3fff:7::1", false, Pseudonym{}},
		{"2001:db8::1", false, Pseudonym{}},
		{"203.0.113.7", false, Pseudonym{}},
		{"::ffff:100.0.0.4", false, Pseudonym{}},
	}
	for _, tc := range tests {
		got, ok := FromAddr(netip.MustParseAddr(tc.addr))
		if ok != tc.ok || got != tc.want {
			t.Errorf("FromAddr(%s) = %+v, %v; want %+v, %v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}
}

var textCases = []struct {
	in string
	ok bool
}{
	{"100::4:0:c000:201", true},
	{"100::4:1:0:0", true},
	{"0100:0000:0000:0000:0004:0000:C000:0201", true}, // another spelling
	{"100:0:0:0:4:0:c000:201", true},
	{"3fff:6:1:2:3:4:5:6", true},
	{"3fff:6::6", true},
	{"3FFF:0006:0:0:0:0:0:0", true},
	{"100::4:0:c000:201%eth0", false}, // zones: not a pseudonym's text
	{"100::4:0:192.0.2.1", false},     // embedded IPv4: never written
	{"100::1", false},
	{"203.0.113.7", false},
	{"2001:db8::1", false},
	{"100::4:0:c000:201:", false},
	{"100:::4", false},
	{"100::4::1", false},
	{"100::4:0:c0000:201", false},
	{"1:2:3:4:5:6:7:8:9", false},
	{"", false},
	{"-", false},
	{"1", false},
}

func TestParseText(t *testing.T) {
	for _, tc := range textCases {
		p, a, ok := ParseText([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("ParseText(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, wok := FromAddr(netip.MustParseAddr(tc.in))
		if !wok || want != p || a != netip.MustParseAddr(tc.in) {
			t.Errorf("ParseText(%q) = %+v %s, want %+v %s", tc.in, p, a, want, tc.in)
		}
	}
}

func TestParseTextAllocs(t *testing.T) {
	b := []byte("100::4:1:c000:201")
	if n := testing.AllocsPerRun(100, func() { ParseText(b) }); n != 0 {
		t.Fatalf("ParseText allocates %v times, want 0", n)
	}
}
