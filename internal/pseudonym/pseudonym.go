package pseudonym

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
)

// The ranges pseudonyms live in. No client can have an address in either:
// 100::/64 is RFC 6666's discard-only prefix and 3fff::/20 is RFC 9637's
// documentation prefix.
var (
	// V4Range holds the pseudonyms of IPv4 addresses: 100::4:F:XXXX:XXXX,
	// F the flags (FlagTor), XXXX:XXXX the permuted address.
	V4Range = netip.MustParsePrefix("100::4:0:0:0/95")
	// V6Range holds the pseudonyms of IPv6 addresses:
	// 3fff:6:PPPP:PPPP:PPPP:PPPP:IIII:IIII, P the permuted /64 prefix and
	// I the permuted number of the address within that prefix.
	V6Range = netip.MustParsePrefix("3fff:6::/32")
)

// FlagTor, in the flags group of an IPv4 pseudonym, marks a line whose
// address was a Tor exit at the line's time under the counting method's
// window (the caller decides; see torexit.Set.IsTorV4).
const FlagTor = 1

// Pseudonym is what a pseudonym records.
type Pseudonym struct {
	// IPv6 is true for a pseudonym of an IPv6 address, false for IPv4
	// (IPv4-mapped IPv6 addresses are IPv4).
	IPv6 bool
	// Tor is true when an IPv4 address was a Tor exit at the line's time.
	// Always false for IPv6.
	Tor bool
	// ID is an IPv4 pseudonym's permuted address: equal IDs in one month
	// mean one address.
	ID uint32
	// Prefix is an IPv6 pseudonym's permuted /64: equal prefixes in one
	// month mean one /64. Distinct addresses of one month have distinct
	// pseudonyms.
	Prefix uint64
}

// v4Head and v6Head are the fixed leading bytes of each kind.
var (
	v4Head = [10]byte{0x01, 0x00, 0, 0, 0, 0, 0, 0, 0x00, 0x04}
	v6Head = [4]byte{0x3f, 0xff, 0x00, 0x06}
)

// FromAddr reports whether a is a pseudonym and what it records. Zones are
// ignored.
func FromAddr(a netip.Addr) (Pseudonym, bool) {
	if !a.Is6() || a.Is4In6() {
		return Pseudonym{}, false
	}
	return from16(a.As16())
}

func from16(b [16]byte) (Pseudonym, bool) {
	switch {
	case [10]byte(b[:10]) == v4Head:
		if b[10] != 0 || b[11]&^FlagTor != 0 {
			return Pseudonym{}, false // a flag this version does not know
		}
		return Pseudonym{Tor: b[11]&FlagTor != 0, ID: binary.BigEndian.Uint32(b[12:])}, true
	case [4]byte(b[:4]) == v6Head:
		return Pseudonym{IPv6: true, Prefix: binary.BigEndian.Uint64(b[4:12])}, true
	}
	return Pseudonym{}, false
}

// Is reports whether a is a pseudonym.
func Is(a netip.Addr) bool {
	_, ok := FromAddr(a)
	return ok
}

// Mapper maps the addresses of one month to pseudonyms with its own random
// key. It is safe for concurrent use. Dropping it forgets the key; Forget
// also overwrites what Mapper keeps of it.
type Mapper struct {
	v4     *table32 // read-only once built
	v4Once sync.Once

	mu   sync.Mutex
	key  [16]byte
	p    *feistel                  // guarded by mu (it has scratch space)
	v6   map[netip.Addr]netip.Addr // address (with zone) → pseudonym
	next map[uint64]uint32         // permuted prefix → addresses numbered so far
}

// NewMapper returns a Mapper with a fresh key read from random (nil means
// crypto/rand).
func NewMapper(random io.Reader) (*Mapper, error) {
	if random == nil {
		random = rand.Reader
	}
	m := &Mapper{v6: map[netip.Addr]netip.Addr{}, next: map[uint64]uint32{}}
	if _, err := io.ReadFull(random, m.key[:]); err != nil {
		return nil, fmt.Errorf("pseudonym: drawing a key: %w", err)
	}
	p, err := newFeistel(m.key[:])
	if err != nil {
		return nil, err
	}
	m.p = p
	return m, nil
}

// Forget overwrites the key; the Mapper must not be used afterwards. The
// cipher's expanded key is garbage once the Mapper is dropped.
func (m *Mapper) Forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.key[:])
	m.v4Once.Do(func() {}) // a table never built stays unbuilt
	if m.v4 != nil {
		*m.v4 = table32{}
	}
	m.p = nil
	clear(m.v6)
	clear(m.next)
}

// MapV4 returns the pseudonym of the IPv4 address a (as a big-endian
// uint32), with the Tor flag set when tor is true. The first call
// tabulates the permutation (about 30 ms); later ones do not allocate and
// take no lock.
func (m *Mapper) MapV4(a uint32, tor bool) netip.Addr {
	m.v4Once.Do(func() {
		// Its own cipher: m.p's scratch space belongs to Map, under m.mu.
		p, _ := newFeistel(m.key[:])
		m.v4 = newTable32(p, domainV4)
	})
	var b [16]byte
	copy(b[:], v4Head[:])
	if tor {
		b[11] = FlagTor
	}
	binary.BigEndian.PutUint32(b[12:], m.v4.perm(a))
	return netip.AddrFrom16(b)
}

// ErrPrefixFull is returned when one /64 has had 2³² distinct addresses in
// one month, which a pseudonym cannot tell apart.
var ErrPrefixFull = errors.New("pseudonym: more than 2^32 distinct addresses in one /64")

// Map returns the pseudonym of a. IPv4 and IPv4-mapped addresses become
// IPv4 pseudonyms (tor sets their Tor flag); IPv6 addresses become IPv6
// pseudonyms, whatever tor says: the counting method never counts IPv6 as
// Tor. Two distinct addresses (zones included) never share a pseudonym.
// A pseudonym given to Map is returned unchanged.
func (m *Mapper) Map(a netip.Addr, tor bool) (netip.Addr, error) {
	if !a.IsValid() {
		return netip.Addr{}, errors.New("pseudonym: invalid address")
	}
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return m.MapV4(binary.BigEndian.Uint32(b[:]), tor), nil
	}
	if Is(a) {
		return a, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.v6[a]; ok {
		return p, nil
	}
	b := a.As16()
	prefix := m.p.perm64(domainPrefix, binary.BigEndian.Uint64(b[:8]))
	n, ok := m.next[prefix]
	if ok && n == 0 {
		return netip.Addr{}, ErrPrefixFull // wrapped around
	}
	m.next[prefix] = n + 1
	var out [16]byte
	copy(out[:], v6Head[:])
	binary.BigEndian.PutUint64(out[4:], prefix)
	binary.BigEndian.PutUint32(out[12:], m.p.perm32(domainIID, n))
	p := netip.AddrFrom16(out)
	m.v6[a] = p
	return p, nil
}
