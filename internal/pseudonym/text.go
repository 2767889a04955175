package pseudonym

import "net/netip"

// ParseText reads a pseudonym from a log field without allocating: ok is
// false for anything that is not the text of a pseudonym (IPv4 addresses,
// host names, other IPv6 addresses). Any valid spelling of the address is
// accepted, not only the canonical one depot writes.
func ParseText(b []byte) (p Pseudonym, a netip.Addr, ok bool) {
	// Cheap rejections first: every pseudonym starts with "1" or "3"
	// (100::/64, 3fff:6::/32 in any spelling, leading zeros included, start
	// with "0", "1" or "3") and holds a colon.
	if len(b) < 2 || (b[0] != '1' && b[0] != '3' && b[0] != '0') {
		return p, a, false
	}
	ip, ok := parse16(b)
	if !ok {
		return p, a, false
	}
	if p, ok = from16(ip); !ok {
		return p, a, false
	}
	return p, netip.AddrFrom16(ip), true
}

// parse16 reads an IPv6 address written as hexadecimal groups, with at
// most one "::", and no zone and no embedded dotted IPv4 (those are never
// pseudonyms). It accepts exactly what netip.ParseAddr accepts of that
// form, which fuzz_test.go checks.
func parse16(s []byte) (ip [16]byte, ok bool) {
	if len(s) < 2 || len(s) > 39 {
		return ip, false
	}
	ellipsis := -1 // byte offset where "::" stands
	i, n := 0, 0
	if s[0] == ':' {
		if s[1] != ':' {
			return ip, false
		}
		ellipsis, i = 0, 2
	}
	for i < len(s) {
		v, d := 0, 0
		for i < len(s) && d <= 4 {
			h := unhex(s[i])
			if h < 0 {
				break
			}
			v = v<<4 | h
			i++
			d++
		}
		if d == 0 || d > 4 || n == 16 {
			return ip, false
		}
		ip[n], ip[n+1] = byte(v>>8), byte(v)
		n += 2
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) {
			return ip, false
		}
		i++
		if s[i] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = n
			i++
		}
	}
	switch {
	case ellipsis < 0 && n != 16:
		return ip, false
	case ellipsis >= 0:
		if n == 16 {
			return ip, false // "::" must stand for at least one group
		}
		gap := 16 - n
		copy(ip[ellipsis+gap:], ip[ellipsis:n])
		clear(ip[ellipsis : ellipsis+gap])
	}
	return ip, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
