// Package torexit reads Tor exit lists (TorDNSEL, as CollecTor publishes
// them) and answers whether an address was a Tor exit at a given time.
//
// It owns exit-list parsing, the ±24h membership rule and exit-list
// coverage. It never contacts the network except through Fetch, which a
// caller invokes only when the operator asked for it (--fetch).
package torexit
