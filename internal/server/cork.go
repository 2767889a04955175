package server

import (
	"context"
	"net"
	"net/http"
	"syscall"

	"golang.org/x/sys/unix"
)

// connKey holds a request's TCP connection in its context.
type connKey struct{}

// withConn is the http.Server's ConnContext: it keeps TCP connections
// where a handler can cork them.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if w, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = w.NetConn() // a recordingConn, or tls.Conn (whose flushes are its own)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			return context.WithValue(ctx, connKey{}, rc)
		}
	}
	return ctx
}

// corked writes a small response with TCP_CORK set, so that its headers
// and body leave in one segment (what nginx's tcp_nopush does): net/http
// buffers 4 KiB per connection and would otherwise send a 4 KiB file as
// two segments, which costs the peer a second wake-up. write must produce
// the whole response; it is flushed before the cork is removed. Without a
// TCP connection (unix sockets, tests) write simply runs.
func corked(w http.ResponseWriter, r *http.Request, write func()) {
	rc, ok := r.Context().Value(connKey{}).(syscall.RawConn)
	if !ok || r.ProtoMajor != 1 {
		write()
		return
	}
	setCork(rc, 1)
	write()
	_ = http.NewResponseController(w).Flush()
	setCork(rc, 0)
}

func setCork(rc syscall.RawConn, on int) {
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, on)
	})
}
