package server

import "net/http"

// This file holds the whole onion handler chain. It imports nothing that
// can write (TestOnionChainHasNoWriter checks that), and its handler holds
// nothing but the site table.

// newOnion returns the handler chain of an onion listener. It takes no log
// writer and can reach none: the privacy policy promises that onion access
// is not logged, and this constructor makes that a property of the code
// rather than of a setting. Responses are the same as on clearnet, except
// that they never carry an Onion-Location header.
func newOnion(t *table) http.Handler {
	return onionHandler{t}
}

type onionHandler struct{ t *table }

func (h onionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.t.Load().lookup(r.Host)
	if s == nil {
		writeError(w, http.StatusNotFound)
		return
	}
	_ = s.serve(w, r, true) // the error detail is dropped: nothing here can write it
}
