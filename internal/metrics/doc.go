// Package metrics counts what an operator watches: requests by site,
// method and status class, bytes sent, request durations, log-file health,
// the last rotation, prune and statistics runs, mirror states and the
// updates proxy's decisions. It renders them in Prometheus text format for
// the admin listener, with /healthz beside.
//
// It never records a client address, a path, a query, a header or a user
// agent: every label value comes from a fixed set (methods, status classes,
// job names, states) or from the configuration (a site's first host, a
// mirror's name, a log file's name). Onion listeners never reach it: the
// onion handler chain is built without it.
package metrics
