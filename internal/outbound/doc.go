// Package outbound is the one way depot opens a connection to another
// machine: mirror checks, the checking node's mirror state, exit-list
// downloads, the updates proxy's upstream and direct connections, ACME.
// Every connection has a purpose, and its destination (host, port,
// purpose) goes into a Record that `depot serve` keeps in
// <data_dir>/outbound.json for `depot audit`.
//
// It must never record a client address (only where depot itself
// connects to), never use proxy environment variables (HTTP_PROXY,
// HTTPS_PROXY, ALL_PROXY: depot connects through a proxy only when its
// configuration says so), and never dial without a purpose. A test in
// this package fails if code anywhere else in the module dials another
// way.
//
// The record is a summary, not a log: per destination and purpose, the
// first and last time and a count of connections. For the updates
// proxy's purposes ("proxy-upstream", "proxy-direct") the times are
// rounded down to the day (00:00 UTC), since the proxy promises to keep
// nothing about when its clients update; which repositories it reached is
// what an auditor needs, and no client ever appears.
//
// Connections to depot's own listeners (depot audit's requests, a probe
// of a unix socket left by a dead run) go through DialSelf, which refuses
// any address that is not this machine's, and are not recorded: they do
// not leave the machine.
package outbound
