// Package stats estimates a project's monthly userbase from its access logs
// the way stats-method.md says: distinct clearnet IPv4 addresses that check
// for updates, per release, plus Tor users estimated from exit lists. It
// writes the JSON data file, and serves the statistics page.
//
// It must never publish an address: only aggregate counts leave this
// package. It never touches the network unless Options.Fetch is set.
package stats
