package pseudonym

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// rounds is the number of Feistel rounds: FF1's count, ample for a
// balanced network whose round function is a PRF (AES).
const rounds = 10

// Domains keep the permutations made from one key independent: the round
// function's input starts with the domain.
const (
	domainV4     = 4 // IPv4 addresses
	domainPrefix = 6 // IPv6 /64 prefixes
	domainIID    = 7 // per-prefix interface numbers
)

// feistel is a family of keyed permutations: a balanced Feistel network
// whose round function is AES-128 under a secret key. A Feistel network is
// a bijection whatever its round function, which is what keeps distinct
// addresses distinct.
type feistel struct {
	b       cipher.Block
	in, out [aes.BlockSize]byte // scratch: a feistel is not safe for concurrent use
}

func newFeistel(key []byte) (*feistel, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &feistel{b: b}, nil
}

// f is the round function: AES of (domain, round, x), first 32 bits.
func (p *feistel) f(domain, round byte, x uint32) uint32 {
	p.in[0], p.in[1] = domain, round
	binary.BigEndian.PutUint32(p.in[12:], x)
	p.b.Encrypt(p.out[:], p.in[:])
	return binary.BigEndian.Uint32(p.out[:])
}

// perm32 permutes 32-bit values (two 16-bit halves).
func (p *feistel) perm32(domain byte, x uint32) uint32 {
	l, r := uint16(x>>16), uint16(x)
	for i := range byte(rounds) {
		l, r = r, l^uint16(p.f(domain, i, uint32(r)))
	}
	return uint32(l)<<16 | uint32(r)
}

// unperm32 inverts perm32. Only tests use it: depot never maps back.
func (p *feistel) unperm32(domain byte, y uint32) uint32 {
	l, r := uint16(y>>16), uint16(y)
	for i := byte(rounds); i > 0; i-- {
		l, r = r^uint16(p.f(domain, i-1, uint32(l))), l
	}
	return uint32(l)<<16 | uint32(r)
}

// perm64 permutes 64-bit values (two 32-bit halves).
func (p *feistel) perm64(domain byte, x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := range byte(rounds) {
		l, r = r, l^p.f(domain, i, r)
	}
	return uint64(l)<<32 | uint64(r)
}

// unperm64 inverts perm64 (tests only).
func (p *feistel) unperm64(domain byte, y uint64) uint64 {
	l, r := uint32(y>>32), uint32(y)
	for i := byte(rounds); i > 0; i-- {
		l, r = r^p.f(domain, i-1, l), l
	}
	return uint64(l)<<32 | uint64(r)
}

// table32 is perm32 of one domain with its round function tabulated: a
// 16-bit half has only 2¹⁶ values, so 10 × 2¹⁶ AES calls once per key
// (about 30 ms) make every later permutation ten table lookups. The table
// is key material: it lives and dies with its Mapper. Read-only once
// built, so safe for concurrent use.
type table32 [rounds][1 << 16]uint16

func newTable32(p *feistel, domain byte) *table32 {
	t := new(table32)
	for i := range byte(rounds) {
		for x := range 1 << 16 {
			t[i][x] = uint16(p.f(domain, i, uint32(x)))
		}
	}
	return t
}

func (t *table32) perm(x uint32) uint32 {
	l, r := uint16(x>>16), uint16(x)
	for i := range rounds {
		l, r = r, l^t[i][r]
	}
	return uint32(l)<<16 | uint32(r)
}

// unperm inverts perm (tests only).
func (t *table32) unperm(y uint32) uint32 {
	l, r := uint16(y>>16), uint16(y)
	for i := rounds; i > 0; i-- {
		l, r = r^t[i-1][l], l
	}
	return uint32(l)<<16 | uint32(r)
}
