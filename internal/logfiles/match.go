package logfiles

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
	"depot/internal/logaddr"
)

// Query selects log lines. Zero fields match everything.
type Query struct {
	// IPs are client addresses or networks; a line matches if its client is
	// in any of them. An address is a /32 or /128 prefix.
	IPs   []netip.Prefix
	Since time.Time      // lines at or after
	Until time.Time      // lines before (exclusive)
	Path  *regexp.Regexp // matched against the request target as logged (escaped)
	// Status is an exact status (404), or a class 1..5 for "4xx". It
	// selects access lines only: error lines carry no status.
	Status int
	// Errors adds the error logs to the search. Their lines are selected
	// by IPs, time and Path (against their request's target), whatever
	// Status says.
	Errors bool
}

// matcher decides for one line, cheapest test first.
type matcher struct {
	q            Query
	since, until int64
	// prefixes are texts one of which every matching access line starts
	// with; nil when the IPs cannot be checked that way.
	prefixes [][]byte
}

func newMatcher(q Query) *matcher {
	m := &matcher{q: q, since: math.MinInt64, until: math.MaxInt64}
	if !q.Since.IsZero() {
		m.since = q.Since.Unix()
	}
	if !q.Until.IsZero() {
		m.until = q.Until.Unix()
	}
	for _, p := range q.IPs {
		texts, ok := textPrefixes(p)
		if !ok {
			m.prefixes = nil
			break
		}
		m.prefixes = append(m.prefixes, texts...)
	}
	return m
}

// textPrefixes returns the texts that every address of p, as nginx writes
// it, starts with: "203.0.113.7 " for an address, "203.0.113." for a /24.
// IPv4 addresses may be logged in IPv4-mapped form ("::ffff:203.0.113.7")
// on dual-stack sockets, so both forms are given.
func textPrefixes(p netip.Prefix) ([][]byte, bool) {
	a := p.Addr()
	if p.IsSingleIP() {
		if a.Is4() {
			return [][]byte{[]byte(a.String() + " "), []byte("::ffff:" + a.String() + " ")}, true
		}
		return [][]byte{[]byte(a.String() + " ")}, true
	}
	if !a.Is4() || p.Bits() < 8 {
		return nil, false
	}
	b := a.As4()
	var s []byte
	for i := 0; i < p.Bits()/8; i++ {
		s = strconv.AppendUint(s, uint64(b[i]), 10)
		s = append(s, '.')
	}
	return [][]byte{s, append([]byte("::ffff:"), s...)}, true
}

// timeMayMatch reports whether [lo, hi] overlaps the query's time range.
func (m *matcher) timeMayMatch(lo, hi int64) bool {
	return hi >= m.since && lo < m.until
}

// memberMayMatch uses an indexed member's header to rule it out.
func (m *matcher) memberMayMatch(mb *member) bool {
	if mb.dated == 0 || !m.timeMayMatch(mb.min, mb.max) {
		return false
	}
	if len(m.q.IPs) == 0 {
		return true
	}
	for _, p := range m.q.IPs {
		a := p.Addr().Unmap()
		switch {
		case p.IsSingleIP():
			k := exactKey(a)
			if bloomHas(mb.bloom, mb.k, &k) {
				return true
			}
		case a.Is4() && p.Bits() >= 24, !a.Is4() && p.Bits() >= 48:
			k := prefixKey(a)
			if bloomHas(mb.bloom, mb.k, &k) {
				return true
			}
		default:
			return true // the filter cannot tell
		}
	}
	return false
}

func (m *matcher) hasIP(b []byte) bool {
	a, ok := logaddr.Parse(b)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range m.q.IPs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// scratch is per-worker parse state, so that matching does not allocate.
type scratch struct {
	al accesslog.Line
	el errorlog.Line
}

// match reports whether line matches, and its time.
func (m *matcher) match(kind Kind, line []byte, s *scratch) (int64, bool) {
	if kind == ErrorLog {
		return m.matchError(line, s)
	}
	if m.prefixes != nil && !hasAnyPrefix(line, m.prefixes) {
		return 0, false
	}
	if len(m.q.IPs) == 0 && (m.since != math.MinInt64 || m.until != math.MaxInt64) {
		if t, ok := lineTime(line); !ok || t < m.since || t >= m.until {
			return 0, false
		}
	}
	l := &s.al
	if accesslog.Parse(line, l) != nil {
		return 0, false
	}
	if l.Unix < m.since || l.Unix >= m.until || !m.statusMatches(l.Status) {
		return 0, false
	}
	if len(m.q.IPs) > 0 && !m.hasIP(l.Addr) {
		return 0, false
	}
	if m.q.Path != nil && !m.q.Path.Match(l.Target) {
		return 0, false
	}
	return l.Unix, true
}

func (m *matcher) matchError(line []byte, s *scratch) (int64, bool) {
	l := &s.el
	if errorlog.Parse(line, l) != nil || l.Unix < m.since || l.Unix >= m.until {
		return 0, false
	}
	if len(m.q.IPs) > 0 && !m.hasIP(l.Client) {
		return 0, false
	}
	if m.q.Path != nil && !m.q.Path.Match(requestTarget(l.Request)) {
		return 0, false
	}
	return l.Unix, true
}

func (m *matcher) statusMatches(status int) bool {
	switch q := m.q.Status; {
	case q == 0:
		return true
	case q < 10:
		return status/100 == q
	default:
		return status == q
	}
}

// requestTarget returns the middle of "METHOD target PROTO".
func requestTarget(r []byte) []byte {
	sp := bytes.IndexByte(r, ' ')
	if sp < 0 {
		return r
	}
	r = r[sp+1:]
	if last := bytes.LastIndexByte(r, ' '); last >= 0 && bytes.HasPrefix(r[last+1:], []byte("HTTP/")) {
		return r[:last]
	}
	return r
}

func hasAnyPrefix(line []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// QueryText is a search as an operator writes it, on the command line of
// depot logs search: each field is the text of the flag of that name.
type QueryText struct {
	IPs []string // addresses or CIDR networks (ParseIPFilter)
	// Since and Until are RFC 3339 (2026-11-29T04:28:39Z) or a date
	// (2026-11-29, UTC). Since is inclusive; Until of a date includes that
	// whole day, and Until of a time that whole second.
	Since, Until string
	Path         string // a Go regular expression
	Status       string // a status ("404") or a class ("4xx")
	Errors       bool
}

// QueryError says which field of a QueryText cannot be read ("ip",
// "since", "until", "path", "status") and why.
type QueryError struct {
	Field string
	Err   error
}

func (e *QueryError) Error() string { return e.Field + ": " + e.Err.Error() }

// ParseQuery reads a search written as text. Its errors are *QueryError.
func ParseQuery(t QueryText) (Query, error) {
	q := Query{Errors: t.Errors}
	for _, s := range t.IPs {
		p, err := ParseIPFilter(s)
		if err != nil {
			return Query{}, &QueryError{"ip", fmt.Errorf("%w; give an address (203.0.113.7, 2001:db8::1) or a network (203.0.113.0/24)", err)}
		}
		q.IPs = append(q.IPs, p)
	}
	var err error
	if q.Since, err = parseQueryTime(t.Since, false); err != nil {
		return Query{}, &QueryError{"since", err}
	}
	if q.Until, err = parseQueryTime(t.Until, true); err != nil {
		return Query{}, &QueryError{"until", err}
	}
	if t.Path != "" {
		if q.Path, err = regexp.Compile(t.Path); err != nil {
			return Query{}, &QueryError{"path", err}
		}
	}
	if q.Status, err = parseStatus(t.Status); err != nil {
		return Query{}, &QueryError{"status", err}
	}
	return q, nil
}

// parseQueryTime reads RFC 3339 or YYYY-MM-DD, or "" (no bound). For an
// upper bound the result is exclusive: the next day after a date, the
// next second after a time.
func parseQueryTime(s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if upper {
			t = t.Truncate(time.Second).Add(time.Second)
		}
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-29T04:28:39Z) or a date (2026-11-29)", s)
	}
	if upper {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// parseStatus reads "404" (an exact status) or "4xx" (a class, as 4), or
// "" (any status).
func parseStatus(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") && s[0] >= '1' && s[0] <= '5' {
		return int(s[0] - '0'), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 999 {
		return 0, fmt.Errorf("%q: want a status such as 404 or a class such as 4xx", s)
	}
	return n, nil
}

// ParseIPFilter reads an address ("203.0.113.7", "2001:db8::1") or a
// network ("203.0.113.0/24") for Query.IPs.
func ParseIPFilter(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR network", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
