package stats

// addrSet is a set of IPv4 addresses as uint32, an open-addressing hash
// table with linear probing. It takes 4 bytes per slot and stays at most
// half full, so a million addresses cost 8 MiB at most; Go's map would take
// several times that.
//
// Slot value 0 means empty; the address 0.0.0.0 is tracked by hasZero.
type addrSet struct {
	slots   []uint32
	n       int
	hasZero bool
}

// add inserts a and reports whether it was new. It allocates only when the
// table grows.
func (s *addrSet) add(a uint32) bool {
	if a == 0 {
		if s.hasZero {
			return false
		}
		s.hasZero = true
		return true
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint32(len(s.slots) - 1)
	for i := hash32(a) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case a:
			return false
		case 0:
			s.slots[i] = a
			s.n++
			return true
		}
	}
}

func (s *addrSet) grow() {
	old := s.slots
	size := max(64, 2*len(old))
	s.slots = make([]uint32, size)
	s.n = 0
	for _, a := range old {
		if a != 0 {
			s.add(a)
		}
	}
}

// len is the number of distinct addresses.
func (s *addrSet) len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

// union adds every address of o.
func (s *addrSet) union(o *addrSet) {
	if o.hasZero {
		s.hasZero = true
	}
	for _, a := range o.slots {
		if a != 0 {
			s.add(a)
		}
	}
}

// hash32 mixes the bits of an address (the finaliser of MurmurHash3), so
// that addresses of one /24 spread over the table.
func hash32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
