package stats

import (
	"bytes"
	"net/netip"

	"depot/internal/accesslog"
	"depot/internal/logaddr"
	"depot/internal/pseudonym"
)

// verdict is what classify made of one line.
type verdict uint8

const (
	notCounted verdict = iota // a valid line that is no update check
	malformed                 // does not parse as combined format
	countedV4                 // an update check from an IPv4 address
	countedV6                 // an update check from a (non-mapped) IPv6 address
)

// classifier turns log lines into verdicts. It owns a scratch buffer for the
// decoded path, so it is not safe for concurrent use: one per worker.
type classifier struct {
	rules []Rule
	line  accesslog.Line
	path  []byte
}

// classified is the part of a counted line that counting needs. release
// aliases the classifier's scratch buffer: valid until the next call.
//
// A pseudonym (see internal/pseudonym) counts as the address it stands
// for: v4 is its ID and tor its recorded Tor flag, which replaces the exit
// lists; v6 is the pseudonym and p64 its permuted /64.
type classified struct {
	unix    int64
	release []byte
	v4      uint32
	v6      netip.Addr
	p64     uint64 // v6's /64 prefix
	pseudo  bool   // the address is a pseudonym
	tor     bool   // the pseudonym's Tor flag
}

func newClassifier(rules []Rule) *classifier {
	if len(rules) == 0 {
		rules = []Rule{{}}
	}
	return &classifier{rules: rules, path: make([]byte, 0, 512)}
}

var methodGET = []byte("GET")

// classify applies stats-method.md rules 1 to 7 to one line. unix is set
// whenever the line's time could be read, even for malformed lines. It does
// not allocate for IPv4 lines under the default rule.
func (c *classifier) classify(raw []byte, out *classified) verdict {
	l := &c.line
	err := accesslog.Parse(raw, l)
	out.unix = l.Unix
	if err != nil {
		return malformed
	}
	if !bytes.Equal(l.Method, methodGET) || l.Status < 200 || l.Status > 399 {
		return notCounted
	}
	c.path = decodeTarget(c.path[:0], l.Target)
	var rel []byte
	ok := false
	for i := range c.rules {
		if rel, ok = c.rules[i].Release(c.path); ok {
			break
		}
	}
	if !ok {
		return notCounted
	}
	out.release = rel
	out.pseudo, out.tor = false, false
	if a, ok := logaddr.ParseIPv4(l.Addr); ok {
		out.v4 = a
		return countedV4
	}
	if p, a, ok := pseudonym.ParseText(l.Addr); ok {
		return out.setPseudonym(p, a)
	}
	a, ok := logaddr.Parse(l.Addr)
	if !ok {
		return notCounted // a host name (HostnameLookups) or junk
	}
	if a.Is4In6() {
		out.v4 = logaddr.Uint32(a)
		return countedV4
	}
	if p, ok := pseudonym.FromAddr(a); ok { // an unusual spelling, or a zone
		return out.setPseudonym(p, a)
	}
	out.v6, out.p64 = a, prefix64(a)
	return countedV6
}

func (out *classified) setPseudonym(p pseudonym.Pseudonym, a netip.Addr) verdict {
	out.pseudo = true
	if p.IPv6 {
		out.v6, out.p64 = a, p.Prefix
		return countedV6
	}
	out.v4, out.tor = p.ID, p.Tor
	return countedV4
}

// decodeTarget appends to dst the request target without its query string
// (rule 4: strip, then decode), with nginx's \xHH log escapes undone and
// percent-escapes decoded. An invalid %-escape is kept as it is, as
// Python's urllib.parse.unquote does; "+" stays "+".
func decodeTarget(dst, t []byte) []byte {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		t = t[:q]
	}
	for i := 0; i < len(t); i++ {
		b := t[i]
		switch {
		case b == '%' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			dst = append(dst, unhex(t[i+1])<<4|unhex(t[i+2]))
			i += 2
		case b == '\\' && i+3 < len(t) && t[i+1] == 'x' && isHex(t[i+2]) && isHex(t[i+3]):
			dst = append(dst, unhex(t[i+2])<<4|unhex(t[i+3]))
			i += 3
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b >= 'a':
		return b - 'a' + 10
	case b >= 'A':
		return b - 'A' + 10
	}
	return b - '0'
}
