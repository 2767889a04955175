// Package responder is the contract between depot's server and what
// answers some of a site's requests before its files do (live metalinks,
// redirects to mirrors, the statistics and mirror status pages): the
// Responder interface, Mount, and the mark by which a request says it
// arrived on an onion listener.
//
// Responders sit below the onion chain too, so nothing here logs or
// imports a logging package, and the onion mark is set only by the
// listener a request arrived on, never from anything the client sends.
package responder

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// A Responder answers some requests of a site before its files do. It
// returns handled=false for requests that are not its own. It never logs:
// it returns an error for the error log instead, and the server's chain
// decides whether anyone sees it (on an onion listener, no one).
type Responder interface {
	Respond(w http.ResponseWriter, r *http.Request) (handled bool, err error)
}

// Mount answers every request whose path starts with prefix with h, and
// redirects the prefix without its trailing slash to the prefix (same
// origin: the Location is a path). The handler must not log: it sits below
// the onion chain too.
func Mount(prefix string, h http.Handler) Responder {
	return mount{prefix: prefix, h: h}
}

type mount struct {
	prefix string
	h      http.Handler
}

func (m mount) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if RedirectToSlash(w, r, m.prefix) {
		return true, nil
	}
	if !strings.HasPrefix(r.URL.Path, m.prefix) {
		return false, nil
	}
	m.h.ServeHTTP(w, r)
	return true, nil
}

// RedirectToSlash answers a request for prefix without its trailing slash
// with a redirect to prefix, query kept, and reports whether it did. prefix
// must start with a single "/" and end with "/" (config validates the paths
// it is given), so the Location is a path on the request's own origin: an
// onion client stays on the onion address it asked.
func RedirectToSlash(w http.ResponseWriter, r *http.Request, prefix string) bool {
	if r.URL.Path+"/" != prefix {
		return false
	}
	// As for a directory: "/statistics" → "/statistics/" (RFC 9110
	// §15.4.2, 301 Moved Permanently).
	target := (&url.URL{Path: prefix, RawQuery: r.URL.RawQuery}).String()
	http.Redirect(w, r, target, http.StatusMovedPermanently)
	return true
}

// onionKey marks, in a connection's context, that it arrived on an onion
// listener.
type onionKey struct{}

// MarkOnion returns ctx marked as the context of a connection that arrived
// on an onion listener. Only the server's onion listeners call it (from
// their ConnContext), for every connection they accept.
func MarkOnion(ctx context.Context) context.Context {
	return context.WithValue(ctx, onionKey{}, true)
}

// IsOnion reports whether r arrived on an onion listener. Responders use
// it to answer onion clients with onion addresses only; the Host header
// cannot decide it, since any client sets it as it likes.
func IsOnion(r *http.Request) bool {
	on, _ := r.Context().Value(onionKey{}).(bool)
	return on
}

// WithOnion returns r marked as arrived on an onion listener, as an onion
// listener's connections mark their requests: for responders' tests and
// for rendering an onion answer in-process.
func WithOnion(r *http.Request) *http.Request {
	return r.WithContext(MarkOnion(r.Context()))
}
