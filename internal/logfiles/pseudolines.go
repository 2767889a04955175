package logfiles

import (
	"bytes"
	"net/netip"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
	"depot/internal/logaddr"
	"depot/internal/month"
	"depot/internal/pseudonym"
	"depot/internal/torexit"
)

// What pseudonymisation replaces in a line (docs/pseudonyms.md):
//
//   - in an access line, $remote_addr, the only field that is the client's
//     address; the request, Referer and User-Agent are what the client
//     sent, and the statistics read the request;
//   - in an error line, every address after the time: the client field,
//     and addresses inside the message (net/http writes "TLS handshake
//     error from 203.0.113.7:51234"), the request and the Host. Nothing
//     counts error lines, so this changes no figure.
//
// Addresses already pseudonyms, the unspecified addresses and text that
// does not parse as an address are left as they are.

// addrSpan is one real address in a line: line[from:to] is its text.
type addrSpan struct {
	from, to int
	addr     netip.Addr
}

// lineScan is what scanLine found in one line.
type lineScan struct {
	unix  int64 // Unix seconds, UTC; 0 when undated
	spans []addrSpan
}

// lineScanner finds client addresses in log lines. It keeps scratch space:
// one per goroutine.
type lineScanner struct {
	al accesslog.Line
}

// scan fills s with line's time and its real addresses.
func (sc *lineScanner) scan(line []byte, s *lineScan) {
	s.unix, s.spans = 0, s.spans[:0]
	if isErrorLine(line) {
		if t, ok := errorlog.ParseTime(line[:19]); ok {
			s.unix = t
		}
		s.spans = appendAddrTokens(s.spans, line, 19)
		return
	}
	// The time as the statistics read it (accesslog.Parse sets Unix even
	// when a later field is malformed), so that a line's Tor flag is
	// decided at the very time the counting uses; lineTime for lines that
	// break before their time.
	_ = accesslog.Parse(line, &sc.al)
	s.unix = sc.al.Unix
	if s.unix == 0 {
		s.unix, _ = lineTime(line)
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return
	}
	if a, ok := parseClientAddr(line[:sp]); ok {
		s.spans = append(s.spans, addrSpan{0, sp, a})
	}
}

// parseClientAddr reads an access line's $remote_addr as the statistics
// do (logaddr: a dotted IPv4 address or an IPv6 address, its zone
// dropped). A pseudonym, a host name or junk is no client address.
func parseClientAddr(b []byte) (netip.Addr, bool) {
	if v, ok := logaddr.ParseIPv4(b); ok {
		return logaddr.V4(v), true
	}
	if _, _, ok := pseudonym.ParseText(b); ok {
		return netip.Addr{}, false
	}
	a, ok := logaddr.Parse(b)
	if !ok || pseudonym.Is(a) {
		return netip.Addr{}, false
	}
	return a, true
}

// appendAddrTokens appends the real addresses found in line[from:]: each
// maximal run of hexadecimal digits, '.' and ':' that is an address, or an
// address followed by ":port", or either followed by sentence punctuation.
func appendAddrTokens(spans []addrSpan, line []byte, from int) []addrSpan {
	for i := from; i < len(line); {
		if !isAddrByte(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isAddrByte(line[j]) {
			j++
		}
		if a, end, ok := addrToken(line[i:j]); ok {
			spans = append(spans, addrSpan{i, i + end, a})
		}
		i = j
	}
	return spans
}

func isAddrByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':'
}

// addrToken reads a run of address bytes; end is where the address ends
// within it. A pseudonym followed by ":port" is a pseudonym, although the
// two together may spell another IPv6 address: rewriting stays
// idempotent.
func addrToken(tok []byte) (netip.Addr, int, bool) {
	if bytes.IndexByte(tok, '.') < 0 && bytes.IndexByte(tok, ':') < 0 {
		return netip.Addr{}, 0, false // a number or a hex word
	}
	tok = bytes.TrimRight(tok, ".:")
	host := tok // tok without a ":port"
	if c := bytes.LastIndexByte(tok, ':'); c > 0 && c < len(tok)-1 && allDigits(tok[c+1:]) {
		host = tok[:c]
	}
	for _, t := range [2][]byte{tok, host} {
		if _, _, ok := pseudonym.ParseText(t); ok {
			return netip.Addr{}, 0, false
		}
	}
	for _, t := range [2][]byte{tok, host} {
		a, err := netip.ParseAddr(string(t))
		if err != nil {
			continue
		}
		if a.IsUnspecified() || pseudonym.Is(a) {
			return netip.Addr{}, 0, false
		}
		return a, len(t), true
	}
	return netip.Addr{}, 0, false
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// pseudoMonth is one month being pseudonymised: lines dated in [from, to)
// get m's pseudonyms.
type pseudoMonth struct {
	month    month.Month
	from, to int64
	m        *pseudonym.Mapper
}

// lineRewriter replaces the real addresses of the lines of some months.
// It is safe for concurrent use (the Mappers are); each goroutine has its
// own lineScanner.
type lineRewriter struct {
	months []pseudoMonth
	// undated maps the addresses of lines with no readable time, which no
	// month counts; nil leaves such lines as they are.
	undated *pseudonym.Mapper
	exits   *torexit.Set // decides the IPv4 pseudonyms' Tor flag
}

// mapper returns the Mapper for a line's time, or nil when the line's
// month is not being pseudonymised.
func (r *lineRewriter) mapper(unix int64) *pseudonym.Mapper {
	if unix == 0 {
		return r.undated
	}
	for i := range r.months {
		if m := &r.months[i]; unix >= m.from && unix < m.to {
			return m.m
		}
	}
	return nil
}

// rewrite appends line to dst with each address of s replaced by its
// pseudonym under m.
func (r *lineRewriter) rewrite(dst, line []byte, s *lineScan, m *pseudonym.Mapper) ([]byte, error) {
	prev := 0
	for _, sp := range s.spans {
		tor := false
		if a := sp.addr.Unmap(); a.Is4() && s.unix != 0 && r.exits != nil {
			b := a.As4()
			tor = r.exits.IsTorV4(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]), s.unix)
		}
		p, err := m.Map(sp.addr, tor)
		if err != nil {
			return dst, err
		}
		dst = append(dst, line[prev:sp.from]...)
		dst = p.AppendTo(dst)
		prev = sp.to
	}
	return append(dst, line[prev:]...), nil
}

// HasRealAddress reports whether a log line still holds an address that
// Pseudonymise replaces and that is no pseudonym: an access line's
// $remote_addr, any address after an error line's time. It does not
// allocate for access lines with an IPv4 address or a pseudonym.
func HasRealAddress(line []byte) bool {
	if isErrorLine(line) {
		return len(appendAddrTokens(nil, line, 19)) > 0
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	_, ok := parseClientAddr(line[:sp])
	return ok
}
