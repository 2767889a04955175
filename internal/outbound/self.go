package outbound

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// DialSelf connects to one of depot's own listeners: a unix socket
// (network "unix"), or a TCP address whose host is "localhost" or an IP
// address of this machine (loopback, unspecified, or an interface's). It
// refuses anything else, so it cannot reach another machine, resolves no
// name, and records nothing.
func DialSelf(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	d.Timeout = DefaultTimeout
	if network == "unix" {
		return d.DialContext(ctx, network, address)
	}
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("outbound: DialSelf over %q: only unix and tcp", network)
	}
	host, port, err := splitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip, err := selfAddr(host)
	if err != nil {
		return nil, err
	}
	return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}

// selfAddr is the address to dial for a listener's host, or an error if
// the host is not this machine's.
func selfAddr(host string) (netip.Addr, error) {
	if host == "localhost" || host == "" {
		return netip.MustParseAddr("127.0.0.1"), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("outbound: %q is not an IP address; depot reaches its own listeners by address only (a name would need a lookup)", host)
	}
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return a, nil
	case a.IsUnspecified():
		// A listener on 0.0.0.0 or :: is reached on loopback.
		if a.Is4() {
			return netip.MustParseAddr("127.0.0.1"), nil
		}
		return netip.IPv6Loopback(), nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("outbound: listing this machine's addresses: %w", err)
	}
	for _, ia := range addrs {
		if p, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap() == a.WithZone("") {
				return a, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("outbound: %s is not an address of this machine; DialSelf reaches depot's own listeners only", a)
}

// SelfTransport returns an http.Transport that sends every request to the
// listener at network and address (through DialSelf), whatever the
// request's URL says, with no proxy and no kept connections. Callers set
// TLSClientConfig for a TLS listener.
func SelfTransport(network, address string) *http.Transport {
	return &http.Transport{
		Proxy: nil, // straight to depot, whatever the environment says
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return DialSelf(ctx, network, address)
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableKeepAlives:     true,
	}
}
