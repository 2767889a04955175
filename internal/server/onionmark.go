package server

import (
	"context"
	"net"
	"net/http"
)

// onionKey marks, in a connection's context, that it arrived on an onion
// listener.
type onionKey struct{}

// markOnion wraps an onion listener's ConnContext: every request on its
// connections is onion, whatever its Host header says.
func markOnion(next func(context.Context, net.Conn) context.Context) func(context.Context, net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		if next != nil {
			ctx = next(ctx, c)
		}
		return context.WithValue(ctx, onionKey{}, true)
	}
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
	return r.WithContext(context.WithValue(r.Context(), onionKey{}, true))
}
