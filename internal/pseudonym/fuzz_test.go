package pseudonym

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzParseText: ParseText agrees with netip.ParseAddr and FromAddr on
// every input, and parse16 accepts exactly netip's plain IPv6 spellings.
func FuzzParseText(f *testing.F) {
	for _, tc := range textCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := parse16([]byte(s))
		want, err := netip.ParseAddr(s)
		plainV6 := err == nil && want.Is6() && want.Zone() == "" && !bytes.ContainsAny([]byte(s), ".%")
		if ok != plainV6 {
			t.Fatalf("parse16(%q) ok = %v; netip says %v, %v", s, ok, want, err)
		}
		if ok && netip.AddrFrom16(ip) != want {
			t.Fatalf("parse16(%q) = %s, netip says %s", s, netip.AddrFrom16(ip), want)
		}
		p, a, pok := ParseText([]byte(s))
		wp, wok := Pseudonym{}, false
		if plainV6 {
			wp, wok = FromAddr(want)
		}
		if pok != wok || p != wp || (pok && a != want) {
			t.Fatalf("ParseText(%q) = %+v %s %v; want %+v %v", s, p, a, pok, wp, wok)
		}
	})
}

// FuzzMap: whatever the address, its pseudonym is in a pseudonym range,
// reads back as what it records, and is stable.
func FuzzMap(f *testing.F) {
	f.Add([]byte{203, 0, 113, 7}, false)
	f.Add(netip.MustParseAddr("2001:db8::1").AsSlice(), true)
	f.Add(netip.MustParseAddr("::ffff:1.2.3.4").AsSlice(), true)
	m, err := NewMapper(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, tor bool) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		p, err := m.Map(a, tor)
		if err != nil {
			t.Fatal(err)
		}
		if Is(a) {
			if p != a {
				t.Fatalf("Map(%s) = %s; a pseudonym must stay as it is", a, p)
			}
			return
		}
		got, ok := FromAddr(p)
		if !ok {
			t.Fatalf("Map(%s) = %s, which is no pseudonym", a, p)
		}
		v4 := a.Is4() || a.Is4In6()
		if got.IPv6 == v4 || (v4 && got.Tor != tor) || (!v4 && got.Tor) {
			t.Fatalf("Map(%s, %v) = %s records %+v", a, tor, p, got)
		}
		if pt, at, ok := ParseText(p.AppendTo(nil)); !ok || pt != got || at != p {
			t.Fatalf("ParseText(%s) = %+v %s %v", p, pt, at, ok)
		}
		if again, _ := m.Map(a, tor); again != p {
			t.Fatalf("Map(%s) gave %s then %s", a, p, again)
		}
	})
}
