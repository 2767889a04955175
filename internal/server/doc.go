// Package server serves a project's static sites and repository trees per
// virtual host, on clearnet listeners that write nginx-compatible access and
// error logs and on onion listeners that have no logger at all.
//
// Its one promise above all: the handler chain built by NewOnion is given no
// log writer, so no request on an onion listener has any path to a log. The
// site handlers below both chains never log; they return what went wrong,
// and only the clearnet chain writes it down. What bounds hostile clients
// on every listener (conn.go: the send timeout, a graceful stop; limits.go:
// responses in flight, HTTP/2 streams) holds no logger either.
//
// Clearnet HTTP/1.1 requests of the common kind (GET or HEAD of a plain
// path, no body) are answered by the lane (lane.go) without net/http's
// per-request work, through the same handler chain and with the same
// bytes; net/http serves everything else. Onion listeners never use the
// lane.
package server
