// Package proxy is depot's updates proxy: an allowlisted forward proxy for
// apt and dnf that forwards absolute-form GET and HEAD requests and tunnels
// CONNECT, directly or through tor's SOCKS port.
//
// It owns the decision of where a client may go, and makes it from the
// name the client sent, before any DNS lookup or connection. It must never
// resolve a name itself when an upstream is configured (a DNS query beside
// tor tells the local resolver what is being updated), never connect to a
// destination the allowlist does not name, and never tell a destination
// anything about the client: a destination receives only the request
// headers apt and dnf need (User-Agent, Accept, Accept-Encoding, Range,
// the conditional headers, Cache-Control, Pragma, Authorization); Via,
// Forwarded, X-Forwarded-*, X-Real-IP and every other header a client or a
// proxy in front of depot's adds are dropped, and no Via is added.
//
// Logging: by default the proxy writes nothing about any request,
// anywhere, stderr included; net/http's own messages, which name clients,
// are discarded (and depot's main discards the standard logger, where
// net/http's client writes a destination's stray bytes). An
// operator debugging an allowlist can set log = true, which writes one
// combined-format line per request with "-" in place of the client
// address, the referer and the user agent: the destination, status and
// size are what a proxy problem needs, and who asked (in Qubes, which VM
// updates which repository) is exactly what an updates proxy must not
// keep.
//
// Deliberate deviation: RFC 9110 §7.6.3 asks proxies to add Via. depot
// does not (as tinyproxy with DisableViaHeader): it would mark every
// request from a depot user as proxied, a fingerprint worth nothing to the
// repository.
package proxy
