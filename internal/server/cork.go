package server

import (
	"net/http"
	"syscall"

	"golang.org/x/sys/unix"
)

// corked writes a small response of size body bytes so that its headers
// and body leave together: net/http buffers 4 KiB per connection and
// would otherwise send a 4 KiB file in two writes, which costs two system
// calls and the peer a second wake-up. Up to holdBody bytes the guarded
// connection holds the writes and sends them in one (over TLS, two
// records in one call); a larger body is written under TCP_CORK (what
// nginx's tcp_nopush does), so that it leaves in full segments. write
// must produce the whole response; it is flushed before the end. Over
// HTTP/2, whose frames h2Conn gathers, write simply runs.
func corked(w http.ResponseWriter, r *http.Request, body int64, write func()) {
	ci := infoOf(r.Context())
	switch {
	case ci == nil || r.ProtoMajor != 1:
		write()
	case ci.lane && body <= holdBody:
		// The lane gathers the response and sends it in one write; the
		// flush is net/http's too (a body of unknown length goes chunked).
		// The write happens here, so its error (a send timeout) is the
		// response's, for the error log.
		write()
		writeFailed(w, http.NewResponseController(w).Flush())
	case ci.guard != nil && body <= holdBody:
		ci.guard.hold()
		write()
		_ = http.NewResponseController(w).Flush()
		writeFailed(w, ci.guard.release())
	case ci.raw != nil:
		setCork(ci.raw, 1)
		write()
		_ = http.NewResponseController(w).Flush()
		setCork(ci.raw, 0)
	default:
		write()
	}
}

// writeFailed records err, a write's failure that no Write of the handler
// returned, for the error log, as a failed Write.
func writeFailed(w http.ResponseWriter, err error) {
	if rec, ok := w.(*recorder); ok && err != nil && rec.werr == nil {
		rec.werr = err
	}
}

// holdBody is the largest body held whole, with room for its headers.
const holdBody = holdMax - 2<<10

func setCork(rc syscall.RawConn, on int) {
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, on)
	})
}
