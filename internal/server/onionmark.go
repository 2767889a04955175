package server

import (
	"context"
	"net"

	"depot/internal/responder"
)

// markOnion wraps an onion listener's ConnContext: every request on its
// connections is onion (responder.IsOnion), whatever its Host header says.
func markOnion(next func(context.Context, net.Conn) context.Context) func(context.Context, net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		if next != nil {
			ctx = next(ctx, c)
		}
		return responder.MarkOnion(ctx)
	}
}
