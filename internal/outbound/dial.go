package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	xproxy "golang.org/x/net/proxy"
)

// DefaultTimeout bounds connecting, the TLS handshake and waiting for a
// response's header when a caller gives no timeout.
const DefaultTimeout = 30 * time.Second

// Dialer opens TCP connections for one purpose and records each
// destination before connecting (an attempt that fails was still an
// attempt to reach it). The zero Dialer refuses to dial: it has no
// purpose.
type Dialer struct {
	Purpose Purpose
	// Record receives each destination; nil records nothing (tests).
	Record *Record
	// Timeout bounds connecting, name resolution included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Resolver resolves host names; nil means the system's. It is never
	// asked anything for an IP address.
	Resolver *net.Resolver
}

// DialContext connects to address ("host:port") over network (tcp, tcp4
// or tcp6).
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if !d.Purpose.Valid() || d.Purpose == DNS {
		return nil, fmt.Errorf("outbound: dialing %s with purpose %q: every connection needs one of %q", address, d.Purpose, purposes[:len(purposes)-1])
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("outbound: %s: network %q; only TCP leaves depot", address, network)
	}
	host, port, err := splitHostPort(address)
	if err != nil {
		return nil, err
	}
	_, ipErr := netip.ParseAddr(host)
	d.Record.note(host, port, d.Purpose, ipErr != nil)
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	nd := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Resolver: d.Resolver}
	return nd.DialContext(ctx, network, address)
}

// Dial is DialContext without a context, for golang.org/x/net/proxy.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// ContextDialer is what SOCKS5 returns: something that dials with a
// context.
type ContextDialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// SOCKS5 returns a dialer that reaches every destination through the
// SOCKS5 server at addr (tor's SocksPort, "IP:port"). Host names go to
// the server unresolved (RFC 1928 ATYP 3), so this machine resolves
// nothing; the only connection depot opens is to addr, through forward,
// whose purpose is normally ProxyUpstream and which records it.
func SOCKS5(addr string, forward *Dialer) (ContextDialer, error) {
	if forward == nil {
		return nil, errors.New("outbound: SOCKS5 needs a forward Dialer")
	}
	d, err := xproxy.SOCKS5("tcp", addr, nil, forward)
	if err != nil {
		return nil, fmt.Errorf("outbound: SOCKS5 %s: %w", addr, err)
	}
	cd, ok := d.(xproxy.ContextDialer)
	if !ok {
		return nil, errors.New("outbound: the SOCKS dialer cannot take a context")
	}
	return cd, nil
}

// NewTransport returns an http.Transport for purpose p whose connections
// go through a Dialer recording them in rec. It never uses a proxy from
// the environment (Proxy is nil), and bounds connecting, the TLS handshake
// and the wait for a response's header by timeout (0 means
// DefaultTimeout), response headers to 64 KiB, and keeps idle connections
// 90 s. Callers bound whole exchanges (bodies) with a context or
// http.Client.Timeout, and may adjust fields before first use.
func NewTransport(p Purpose, rec *Record, timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &Dialer{Purpose: p, Record: rec, Timeout: timeout}
	return &http.Transport{
		Proxy:                  nil, // never HTTP_PROXY and friends
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
	}
}

// NewClient returns an http.Client over NewTransport(p, rec, timeout).
// It follows redirects as http.Client does (ten at most); callers that
// must stay on one host set CheckRedirect.
func NewClient(p Purpose, rec *Record, timeout time.Duration) *http.Client {
	return &http.Client{Transport: NewTransport(p, rec, timeout)}
}
