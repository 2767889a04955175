package server

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// What one client may hold of the server, whatever listener it came in
// on. Nothing here logs or counts per client address: Tor exits carry
// many users, and every onion client comes from the same local address.

// connInfo is what the server keeps about one connection, in the context
// of its requests.
type connInfo struct {
	raw      syscall.RawConn // the TCP socket, for corking; nil otherwise
	guard    *guardConn      // for holding a small response (see corked) and the connection cap; nil in tests
	id       uint64          // the clearnet connection's number in the error log
	rec      *recordingConn  // clearnet HTTP/1: follows its requests
	inFlight atomic.Int32    // its responses in flight (HTTP/2 multiplexes)
	lane     bool            // served by the lane (lane.go), which sends each response in one write
}

// connKey holds a request's *connInfo in its context.
type connKey struct{}

func infoOf(ctx context.Context) *connInfo {
	ci, _ := ctx.Value(connKey{}).(*connInfo)
	return ci
}

// withConn is the ConnContext of onion listeners (clearnet ones add to it,
// see clearnetContext).
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, newConnInfo(c))
}

func newConnInfo(c net.Conn) *connInfo {
	ci := &connInfo{}
	for {
		// recordingConn, tls.Conn, guardConn... down to the socket.
		if g, ok := c.(*guardConn); ok {
			ci.guard = g
		}
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = w.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			ci.raw = rc
		}
	}
	if ci.guard != nil {
		ci.guard.info.Store(ci)
	}
	return ci
}

// gate caps the responses in flight over every listener (the
// configuration's max_responses), so that slow or stalled clients cannot
// hold every file descriptor or every byte of memory: past the cap a new
// request gets 503 at once, which costs nothing to send, rather than
// another client's request failing later. Past half the cap, a connection
// that already has a response in flight (HTTP/2 multiplexes up to
// MaxConcurrentStreams) is refused too, so that the other half stays for
// connections' first requests: one connection cannot take it all.
type gate struct {
	max, soft int64
	n         atomic.Int64
}

func newGate(limit int) *gate {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur/2 < uint64(limit) {
		// Below the process's limit, with room for the sockets.
		limit = int(rl.Cur / 2)
	}
	n := int64(max(limit, 1))
	return &gate{max: n, soft: n / 2}
}

// connReserve is what the connection cap leaves of the open-file limit,
// beside max_responses' files: log files, listeners, site roots, mirror
// checks, statistics runs.
const connReserve = 64

// connLimit is the most connections the server holds at once: the
// process's open-file limit (read at each call: it can change while
// depot runs) less what responses in flight and everything else need.
func (g *gate) connLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	cur := int64(rl.Cur)
	return int(max(cur-min(g.max, cur/2)-connReserve, 16))
}

// retryAfter is the Retry-After of a 503 (RFC 9110 §10.2.3), in seconds:
// most responses in flight end sooner, stalled ones within the send
// timeout.
const retryAfter = "5"

// enter admits a request, or answers it 503 and returns false. An admitted
// request must call leave.
func (g *gate) enter(w http.ResponseWriter, r *http.Request) (*connInfo, bool) {
	ci := infoOf(r.Context())
	n := g.n.Add(1)
	if n > g.max || n > g.soft && ci != nil && ci.inFlight.Load() > 0 {
		g.n.Add(-1)
		// No body: the answer is headers alone, so it leaves at once even
		// to a client that reads nothing (an HTTP/2 window of 0).
		h := w.Header()
		h.Set("Retry-After", retryAfter)
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		return nil, false
	}
	if ci != nil {
		ci.inFlight.Add(1)
	}
	return ci, true
}

func (g *gate) leave(ci *connInfo) {
	g.n.Add(-1)
	if ci != nil {
		ci.inFlight.Add(-1)
		if ci.guard != nil {
			// Served: the connection is new again to the connection cap.
			ci.guard.since.Store(ci.guard.set.now().UnixNano())
		}
	}
}

// refused is the error-log detail of a 503.
func (g *gate) refused() error {
	return &fileError{status: http.StatusServiceUnavailable,
		detail: "responses in flight at their limit (" + strconv.FormatInt(g.max, 10) + "), request refused"}
}

// guardHandler is the outermost handler of every listener, onion and
// clearnet. It holds no logger. During a stop an HTTP/1 answer says
// "Connection: close". (An HTTP/2 stream gets the send timeout from the
// HTTP/2 server, an HTTP/1 connection from its guardConn.)
type guardHandler struct {
	next        http.Handler
	sendTimeout time.Duration
	conns       *connSet
}

func (e guardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && e.conns != nil && e.conns.stopping.Load() {
		w.Header().Set("Connection", "close")
	}
	e.next.ServeHTTP(w, r)
}
