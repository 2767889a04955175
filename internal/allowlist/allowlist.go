// Package allowlist is the grammar of the updates proxy's allowlist (the
// [proxy] allow patterns, which config validates) and of a proxy
// request's authority (host and port), and decides whether a destination
// is allowed.
//
// It is pure and imports nothing of depot: it never resolves a name, never
// dials and never logs. A destination is judged by the name the client
// sent, before anything touches the network, so a denied name is not even
// looked up.
package allowlist

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPorts are the ports a pattern without a port allows: HTTP and
// HTTPS (through CONNECT).
var defaultPorts = [...]uint16{80, 443}

// Pattern is one allowlist entry: an exact host name, a wildcard "*.suffix"
// that matches every name below suffix (not suffix itself), or an IP
// literal; with a port, only that port, else ports 80 and 443.
type Pattern struct {
	// Host is the lower-cased name without a trailing dot, or for a
	// wildcard the suffix after "*.". Empty for an IP pattern.
	Host     string
	Wildcard bool
	// Addr is the address of an IP-literal pattern.
	Addr netip.Addr
	// Port is 0 for the default ports.
	Port uint16
}

// ParsePattern parses "yum.qubes-os.org", "*.debian.org",
// "deb.debian.org:8080", "127.0.0.1", "[::1]:8080".
func ParsePattern(s string) (Pattern, error) {
	var p Pattern
	if s == "" {
		return p, errors.New("empty pattern")
	}
	host, port, err := splitHostPort(s, false)
	if err != nil {
		return p, err
	}
	p.Port = port
	if strings.HasPrefix(host, "*.") {
		p.Wildcard = true
		host = host[2:]
	}
	if a, err := netip.ParseAddr(host); err == nil && !strings.Contains(host, "%") {
		if p.Wildcard {
			return Pattern{}, fmt.Errorf("%q: a wildcard needs a domain name, not an IP address", s)
		}
		p.Addr = a.Unmap()
		return p, nil
	}
	name, err := normalizeName(host)
	if err != nil {
		return Pattern{}, fmt.Errorf("%q: %w", s, err)
	}
	if p.Wildcard && !strings.Contains(name, ".") {
		// "*.org" would open a whole top-level domain.
		return Pattern{}, fmt.Errorf("%q: a wildcard needs at least two labels after \"*.\", as in \"*.debian.org\"", s)
	}
	p.Host = name
	return p, nil
}

// String formats p so that ParsePattern(p.String()) == p.
func (p Pattern) String() string {
	var h string
	switch {
	case p.Addr.IsValid() && p.Addr.Is6():
		h = "[" + p.Addr.String() + "]"
	case p.Addr.IsValid():
		h = p.Addr.String()
	case p.Wildcard:
		h = "*." + p.Host
	default:
		h = p.Host
	}
	if p.Port != 0 {
		h += ":" + strconv.Itoa(int(p.Port))
	}
	return h
}

// Matches reports whether p allows t.
func (p Pattern) Matches(t Target) bool {
	if p.Port == 0 {
		if t.Port != defaultPorts[0] && t.Port != defaultPorts[1] {
			return false
		}
	} else if t.Port != p.Port {
		return false
	}
	if p.Addr.IsValid() {
		return t.Addr.IsValid() && t.Addr == p.Addr
	}
	if t.Addr.IsValid() {
		return false // a name pattern never allows an address
	}
	if p.Wildcard {
		return len(t.Host) > len(p.Host)+1 && strings.HasSuffix(t.Host, p.Host) && t.Host[len(t.Host)-len(p.Host)-1] == '.'
	}
	return t.Host == p.Host
}

// List is an allowlist. The zero List allows nothing: a closed proxy.
type List []Pattern

// ParseList parses every pattern; the error names each bad one by index.
func ParseList(patterns []string) (List, error) {
	l := make(List, 0, len(patterns))
	var errs []error
	for i, s := range patterns {
		p, err := ParsePattern(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d]: %w", i, err))
			continue
		}
		l = append(l, p)
	}
	return l, errors.Join(errs...)
}

// Allows reports whether some pattern matches t.
func (l List) Allows(t Target) bool {
	for _, p := range l {
		if p.Matches(t) {
			return true
		}
	}
	return false
}

// Target is a destination as a client asked for it: a name, never
// resolved, or an IP literal.
type Target struct {
	Host string     // lower-cased name without trailing dot; "" for an address
	Addr netip.Addr // set for an IP literal
	Port uint16
}

// HostPort is the "host:port" to dial, with the name as the client gave
// it so that a SOCKS upstream receives the name, not an address.
func (t Target) HostPort() string {
	h := t.Host
	if t.Addr.IsValid() {
		h = t.Addr.String()
		if t.Addr.Is6() {
			h = "[" + h + "]"
		}
	}
	return h + ":" + strconv.Itoa(int(t.Port))
}

// ParseAuthority parses a request's authority, "host:port" or "host" (then
// defaultPort applies; 0 means the port is required, as for CONNECT per
// RFC 9110 §9.3.6).
func ParseAuthority(s string, defaultPort uint16) (Target, error) {
	var t Target
	if s == "" {
		return t, errors.New("empty host")
	}
	host, port, err := splitHostPort(s, true)
	if err != nil {
		return t, err
	}
	if port == 0 {
		if defaultPort == 0 {
			return t, fmt.Errorf("%q has no port", s)
		}
		port = defaultPort
	}
	t.Port = port
	if a, err := netip.ParseAddr(host); err == nil && !strings.Contains(host, "%") {
		t.Addr = a.Unmap()
		return t, nil
	}
	name, err := normalizeName(host)
	if err != nil {
		return Target{}, fmt.Errorf("%q: %w", s, err)
	}
	t.Host = name
	return t, nil
}

// splitHostPort splits "host", "host:port", "[v6]" and "[v6]:port". A
// bare IPv6 address without brackets is accepted only when strict is
// false (patterns), where "::1" cannot be mistaken for host and port.
func splitHostPort(s string, strict bool) (host string, port uint16, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%q: missing ']'", s)
		}
		host, rest := s[1:end], s[end+1:]
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("%q: brackets hold an IPv6 address only", s)
		}
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("%q: unexpected text after ']'", s)
		}
		port, err := parsePort(s, rest[1:])
		return host, port, err
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0, nil
	}
	if strings.Count(s, ":") > 1 {
		if !strict {
			if _, err := netip.ParseAddr(s); err == nil {
				return s, 0, nil
			}
		}
		return "", 0, fmt.Errorf("%q: put an IPv6 address in brackets, as in [::1]:80", s)
	}
	port, err = parsePort(s, s[i+1:])
	return s[:i], port, err
}

func parsePort(s, p string) (uint16, error) {
	if p == "" || len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" || p[0] == '0' {
		return 0, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	n, _ := strconv.Atoi(p)
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// normalizeName lower-cases a DNS name and drops one trailing dot; it
// accepts letters, digits, '-' and '_' in labels of 1 to 63 bytes.
func normalizeName(h string) (string, error) {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return "", errors.New("not a host name")
	}
	b := []byte(h)
	label := 0
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c == '-':
			if label == 0 || i+1 == len(b) || b[i+1] == '.' {
				return "", errors.New("a label may not start or end with '-'")
			}
		case c == '.':
			if label == 0 {
				return "", errors.New("empty label in host name")
			}
			label = 0
			continue
		default:
			return "", fmt.Errorf("character %q is not allowed in a host name", c)
		}
		label++
		if label > 63 {
			return "", errors.New("a label is longer than 63 bytes")
		}
	}
	// "127.1" or "2130706433" is an address to inet_aton and to some
	// resolvers: never let a name sneak an address past the list.
	last := b[strings.LastIndexByte(h, '.')+1:]
	if strings.TrimLeft(string(last), "0123456789") == "" || strings.HasPrefix(string(last), "0x") {
		return "", errors.New("the last label looks like an IP address part")
	}
	return string(b), nil
}
