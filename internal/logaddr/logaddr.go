// Package logaddr reads client addresses as logs write them (nginx's
// $remote_addr: dotted-quad IPv4 or textual IPv6), for statistics and
// search, without allocating for IPv4.
//
// It never resolves names: anything that is not an address literal is
// refused.
package logaddr

import (
	"bytes"
	"net/netip"
)

// ParseIPv4 reads a dotted-quad IPv4 address ("203.0.113.7") as a number,
// most significant octet first. As netip does, it refuses leading zeros
// ("010.0.0.1"), octets over 255 and anything else.
func ParseIPv4(b []byte) (uint32, bool) {
	if len(b) < len("0.0.0.0") || len(b) > len("255.255.255.255") {
		return 0, false
	}
	var a, part uint32
	digits, dots := 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || part > 255 {
				return 0, false
			}
			a = a<<8 | part
			if i < len(b) {
				dots++
			}
			part, digits = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits == 1 && part == 0) || digits == 3 {
			return 0, false
		}
		part = part*10 + uint32(c-'0')
		digits++
	}
	return a, dots == 3
}

// V4 is the IPv4 address of a ParseIPv4 result.
func V4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// Uint32 is the number of an IPv4 address (or IPv4-mapped IPv6 address),
// as ParseIPv4 returns it.
func Uint32(a netip.Addr) uint32 {
	b := a.Unmap().As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Parse reads an IPv4 or IPv6 address, without a zone. It allocates only
// for IPv6.
func Parse(b []byte) (netip.Addr, bool) {
	if a, ok := ParseIPv4(b); ok {
		return V4(a), true
	}
	if len(b) > 64 || bytes.IndexByte(b, ':') < 0 {
		return netip.Addr{}, false // a host name (HostnameLookups) or junk
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}
