package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"depot/internal/pseudonym"
)

// clients is the set of client addresses found in the logs, kept in the
// forms that published bytes are matched against: IPv4 addresses as
// numbers (which covers dotted, integer, hex and IPv4-mapped spellings),
// IPv6 addresses by their /64 and /48 prefixes.
//
// IPv4 addresses, one per log line, are appended to a slice that is
// sorted and deduplicated (radix sort, linear) whenever it has doubled: a
// hash set of a million addresses spends its time in cache misses.
type clients struct {
	v4     []uint32 // v4[:sorted] is sorted and unique
	sorted int
	v64    map[[8]byte]struct{}
	v48    map[[6]byte]struct{}
	seen   map[string]struct{} // IPv6 and other address texts already added
}

func newClients() *clients {
	return &clients{v64: map[[8]byte]struct{}{}, v48: map[[6]byte]struct{}{}, seen: map[string]struct{}{}}
}

// minCompact is the size below which the IPv4 slice is never compacted.
const minCompact = 1 << 16

// add4 adds an IPv4 address.
func (c *clients) add4(v uint32) {
	c.v4 = append(c.v4, v)
	if len(c.v4) >= 2*max(c.sorted, minCompact) {
		c.compact()
	}
}

// compact sorts and deduplicates the IPv4 addresses.
func (c *clients) compact() {
	if c.sorted == len(c.v4) {
		return
	}
	radixSort(c.v4)
	c.v4 = slices.Compact(c.v4)
	c.sorted = len(c.v4)
}

// has4 reports whether v is a client; the set must be compacted.
func (c *clients) has4(v uint32) bool {
	_, ok := slices.BinarySearch(c.v4[:c.sorted], v)
	return ok
}

// radixSort sorts s in two passes of 16 bits.
func radixSort(s []uint32) {
	buf := make([]uint32, len(s))
	src, dst := s, buf
	for shift := 0; shift < 32; shift += 16 {
		var count [1 << 16]int
		for _, v := range src {
			count[v>>shift&0xffff]++
		}
		pos := 0
		for i, n := range count {
			count[i] = pos
			pos += n
		}
		for _, v := range src {
			k := v >> shift & 0xffff
			dst[count[k]] = v
			count[k]++
		}
		src, dst = dst, src
	}
	// Two passes: the result is back in s.
}

// addText adds the address written as text, if it is one. A dotted IPv4
// address (nearly every line) costs a parse and an append, no allocation;
// other texts are remembered once seen.
func (c *clients) addText(b []byte) {
	if v, ok := parseDotted(b); ok {
		c.add4(v)
		return
	}
	if _, ok := c.seen[string(b)]; ok {
		return
	}
	if _, _, ok := pseudonym.ParseText(b); ok {
		return // no client's address (docs/pseudonyms.md)
	}
	s := string(b)
	c.seen[s] = struct{}{}
	if a, err := netip.ParseAddr(s); err == nil {
		c.add(a)
	}
}

func (c *clients) add(a netip.Addr) {
	a = a.Unmap()
	if a.Is4() {
		c.add4(v4num(a))
		return
	}
	b := a.As16()
	c.v64[[8]byte(b[:8])] = struct{}{}
	c.v48[[6]byte(b[:6])] = struct{}{}
}

// remove takes an address out of the set: one the configuration itself
// names (a mirror, a listener), which is not client data.
func (c *clients) remove(a netip.Addr) {
	a = a.Unmap()
	if !a.Is4() {
		return
	}
	c.compact()
	if i, ok := slices.BinarySearch(c.v4, v4num(a)); ok {
		c.v4 = slices.Delete(c.v4, i, i+1)
		c.sorted--
	}
}

// merge adds every address of o.
func (c *clients) merge(o *clients) {
	for _, v := range o.v4 {
		c.add4(v)
	}
	for k := range o.v64 {
		c.v64[k] = struct{}{}
	}
	for k := range o.v48 {
		c.v48[k] = struct{}{}
	}
}

// len is how many IPv4 addresses and IPv6 /64 prefixes the set holds.
func (c *clients) len() int {
	c.compact()
	return len(c.v4) + len(c.v64)
}

func v4num(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// match is one client address found in published bytes.
type match struct {
	Offset  int    // byte offset of the text
	Form    string // "dotted", "integer", "hex", "IPv4-mapped", "IPv6 /64", "IPv6 /48"
	Masked  string // the address with its host part hidden, for the report
	Escaped bool   // written with escapes (\u002e, %3A, &#58;)
}

func (m match) String() string {
	if m.Escaped {
		return fmt.Sprintf("%s (%s, escaped) at byte %d", m.Masked, m.Form, m.Offset)
	}
	return fmt.Sprintf("%s (%s) at byte %d", m.Masked, m.Form, m.Offset)
}

// isAddrByte reports whether b can be part of an address token: hex
// digits, the separators, and the x of "0x".
func isAddrByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' || b == '.' || b == ':' || b == 'x' || b == 'X'
}

// scan returns every client address written in b, in any of the forms
// the clients set matches, with no limit on how many tokens it reads,
// also behind escapes: JSON's \uXXXX (Go escapes <, > and & so), a URL's
// %XX, HTML's character references.
func (c *clients) scan(b []byte) []match {
	out := c.scanRaw(b)
	if d, at := unescape(b); d != nil {
		for _, m := range c.scanRaw(d) {
			if !slices.ContainsFunc(out, func(o match) bool { return o.Form == m.Form && o.Masked == m.Masked }) {
				m.Offset, m.Escaped = at[m.Offset], true
				out = append(out, m)
			}
		}
	}
	return out
}

// unescape returns b with its escapes replaced by the bytes they stand
// for, and the offset in b of each byte of the result; nil when b has no
// escape. Escapes of anything but ASCII are kept as they are: addresses
// are ASCII.
func unescape(b []byte) ([]byte, []int) {
	if !bytes.Contains(b, []byte(`\u`)) && !bytes.ContainsRune(b, '%') && !bytes.ContainsRune(b, '&') {
		return nil, nil
	}
	out := make([]byte, 0, len(b))
	at := make([]int, 0, len(b))
	changed := false
	for i := 0; i < len(b); {
		v, n := escapeAt(b[i:])
		if n > 0 {
			changed = true
		} else {
			v, n = b[i], 1
		}
		out = append(out, v)
		at = append(at, i)
		i += n
	}
	if !changed {
		return nil, nil
	}
	return out, at
}

// escapeAt decodes the escape at the start of b: the ASCII byte and the
// escape's length, or 0.
func escapeAt(b []byte) (byte, int) {
	hex := func(s []byte) (byte, bool) {
		v, err := strconv.ParseUint(string(s), 16, 8)
		return byte(v), err == nil && v < 0x80
	}
	switch {
	case len(b) >= 6 && b[0] == '\\' && b[1] == 'u' && string(b[2:4]) == "00":
		if v, ok := hex(b[4:6]); ok {
			return v, 6
		}
	case len(b) >= 3 && b[0] == '%':
		if v, ok := hex(b[1:3]); ok {
			return v, 3
		}
	case len(b) >= 4 && b[0] == '&':
		end := bytes.IndexByte(b[:min(len(b), 10)], ';')
		if end < 0 {
			return 0, 0
		}
		ref := string(b[1:end])
		switch {
		case ref == "colon":
			return ':', end + 1
		case ref == "period":
			return '.', end + 1
		case len(ref) > 2 && (ref[:2] == "#x" || ref[:2] == "#X"):
			if v, err := strconv.ParseUint(ref[2:], 16, 8); err == nil && v < 0x80 {
				return byte(v), end + 1
			}
		case len(ref) > 1 && ref[0] == '#':
			if v, err := strconv.ParseUint(ref[1:], 10, 8); err == nil && v < 0x80 {
				return byte(v), end + 1
			}
		}
	}
	return 0, 0
}

// scanRaw is scan without unescaping.
func (c *clients) scanRaw(b []byte) []match {
	c.compact()
	var out []match
	for i := 0; i < len(b); {
		if !isAddrByte(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isAddrByte(b[j]) {
			j++
		}
		// A token glued to a letter or digit run is part of a word or a
		// hash ("sha256:..."): still checked, since an address can hide
		// anywhere, but only as the forms below recognise it.
		out = c.token(out, string(b[i:j]), i)
		i = j
	}
	return out
}

// token checks one address-shaped token starting at offset off.
func (c *clients) token(out []match, tok string, off int) []match {
	if len(tok) < 2 {
		return out
	}
	if strings.Contains(tok, ":") {
		return c.v6token(out, tok, off)
	}
	if strings.Contains(tok, ".") {
		// Runs of digits and dots: a letter glued to an address ("a" of
		// a hex run, a unit after it) is no part of it.
		for i := 0; i < len(tok); {
			j := i
			for j < len(tok) && (tok[j] >= '0' && tok[j] <= '9' || tok[j] == '.') {
				j++
			}
			if j > i {
				out = c.dotted(out, tok[i:j], off+i)
				i = j
			} else {
				i++
			}
		}
		return out
	}
	if len(tok) > 2 && (tok[:2] == "0x" || tok[:2] == "0X") {
		if v, err := strconv.ParseUint(tok[2:], 16, 32); err == nil && len(tok) > 4 {
			out = c.v4match(out, uint32(v), "hex", off)
		}
		return out
	}
	if len(tok) == 8 {
		if v, err := strconv.ParseUint(tok, 16, 32); err == nil {
			out = c.v4match(out, uint32(v), "hex", off)
		}
	}
	// An integer spelling: 1.0.0.0 is 16777216, eight digits at least.
	if len(tok) >= 8 && len(tok) <= 10 {
		if v, err := strconv.ParseUint(tok, 10, 32); err == nil {
			out = c.v4match(out, uint32(v), "integer", off)
		}
	}
	return out
}

// dotted checks a run of digits and dots for dotted quads, also inside
// longer dotted runs ("1.2.3.4.5" or a sentence's final period): every
// window of four numeric parts, read as decimal (zero padding allowed)
// and, when a part has a leading zero, as inet_aton reads it (octal).
func (c *clients) dotted(out []match, run string, off int) []match {
	parts := strings.Split(run, ".")
	starts := make([]int, len(parts))
	for k, pos := 0, off; k < len(parts); k++ {
		starts[k] = pos
		pos += len(parts[k]) + 1
	}
	for k := 0; k+4 <= len(parts); k++ {
		var dec, aton uint32
		decOK, atonOK, padded := true, true, false
		for _, p := range parts[k : k+4] {
			if p == "" || len(p) > 4 {
				decOK, atonOK = false, false
				break
			}
			n, err := strconv.ParseUint(p, 10, 8)
			decOK = decOK && err == nil && len(p) <= 3
			dec = dec<<8 | uint32(n)
			base := 10
			if len(p) > 1 && p[0] == '0' {
				base, padded = 8, true
			}
			n, err = strconv.ParseUint(p, base, 8)
			atonOK = atonOK && err == nil
			aton = aton<<8 | uint32(n)
		}
		if decOK {
			out = c.v4match(out, dec, "dotted", starts[k])
		}
		if atonOK && padded && (!decOK || aton != dec) {
			out = c.v4match(out, aton, "dotted", starts[k])
		}
	}
	return out
}

func (c *clients) v4match(out []match, v uint32, form string, off int) []match {
	if c.has4(v) {
		out = append(out, match{Offset: off, Form: form, Masked: fmt.Sprintf("%d.%d.x.x", v>>24, v>>16&255)})
	}
	return out
}

func (c *clients) v6token(out []match, tok string, off int) []match {
	s := strings.Trim(tok, ".")
	if strings.HasSuffix(s, ":") && !strings.HasSuffix(s, "::") {
		s = strings.TrimSuffix(s, ":") // "2001:db8:1:2:" ends a sentence or a prefix
	}
	a, err := netip.ParseAddr(s)
	if err != nil && !strings.Contains(s, "::") && strings.Count(s, ":") >= 2 && strings.Count(s, ":") <= 6 {
		// A prefix written without "::": "2001:db8:1:2" for a /64.
		a, err = netip.ParseAddr(s + "::")
	}
	if err != nil {
		// "198.51.100.7:443" and the like: check each part on its own.
		pos := off
		for _, part := range strings.Split(tok, ":") {
			if part != "" {
				out = c.token(out, part, pos)
			}
			pos += len(part) + 1
		}
		return out
	}
	if a.Is4In6() {
		return c.v4match(out, v4num(a.Unmap()), "IPv4-mapped", off)
	}
	if !a.Is6() {
		return out
	}
	b := a.As16()
	masked := netip.PrefixFrom(a, 48).Masked().String()
	if _, ok := c.v64[[8]byte(b[:8])]; ok {
		return append(out, match{Offset: off, Form: "IPv6 /64", Masked: masked})
	}
	if _, ok := c.v48[[6]byte(b[:6])]; ok {
		out = append(out, match{Offset: off, Form: "IPv6 /48", Masked: masked})
	}
	return out
}

// parseDotted parses a dotted-quad IPv4 address in its canonical form
// (no leading zeros) without allocating.
func parseDotted(b []byte) (uint32, bool) {
	var v uint32
	part, digits, dots := uint32(0), 0, 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && part == 0 {
				return 0, false // a leading zero
			}
			part = part*10 + uint32(c-'0')
			digits++
			if part > 255 {
				return 0, false
			}
		case c == '.' && digits > 0 && dots < 3 && i < len(b)-1:
			v = v<<8 | part
			part, digits = 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 || digits == 0 {
		return 0, false
	}
	return v<<8 | part, true
}
