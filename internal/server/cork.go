package server

import (
	"net/http"
	"syscall"

	"golang.org/x/sys/unix"
)

// corked writes a small response with TCP_CORK set, so that its headers
// and body leave in one segment (what nginx's tcp_nopush does): net/http
// buffers 4 KiB per connection and would otherwise send a 4 KiB file as
// two segments, which costs the peer a second wake-up. write must produce
// the whole response; it is flushed before the cork is removed. Without a
// TCP connection (unix sockets, tests) write simply runs.
func corked(w http.ResponseWriter, r *http.Request, write func()) {
	ci := infoOf(r.Context())
	if ci == nil || ci.raw == nil || r.ProtoMajor != 1 {
		write()
		return
	}
	setCork(ci.raw, 1)
	write()
	_ = http.NewResponseController(w).Flush()
	setCork(ci.raw, 0)
}

func setCork(rc syscall.RawConn, on int) {
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, on)
	})
}
