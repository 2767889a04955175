package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
)

// net/http answers some requests itself, before any handler runs: a
// malformed request line gets 400, oversized headers 431, and a client
// that goes silent mid-request is cut off. nginx logs those too, and
// incident response needs them most, so plain-HTTP clearnet listeners keep
// the first bytes of each request until it reaches a handler, and log a
// request that never did when its connection closes. Onion listeners are
// never wrapped this way (see httpServer).

// headKeep is how much of an unhandled request is kept for its log line.
const headKeep = 2 << 10

// recordingListener wraps a plain-HTTP clearnet listener.
type recordingListener struct{ net.Listener }

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c}, nil
}

// recordingConn notes what a client sent since its last handled request
// and what net/http wrote back. It keeps the TCP connection reachable
// (NetConn, ReadFrom) so that corking and sendfile still work.
type recordingConn struct {
	net.Conn

	mu      sync.Mutex
	handled bool   // the current request reached a handler
	head    []byte // bytes read since the last handled request, up to headKeep
	reply   []byte // the first bytes written since then
	wrote   int64
}

func (c *recordingConn) NetConn() net.Conn { return c.Conn }

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.handled && len(c.head) < headKeep {
			c.head = append(c.head, p[:min(n, headKeep-len(c.head))]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if !c.handled {
		if len(c.reply) < 16 {
			c.reply = append(c.reply, p[:min(n, 16-len(c.reply))]...)
		}
		c.wrote += int64(n)
	}
	c.mu.Unlock()
	return n, err
}

func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// recordingKey holds a request's recordingConn in its context.
type recordingKey struct{}

// recordingContext is the ConnContext of a plain-HTTP clearnet listener.
func recordingContext(ctx context.Context, c net.Conn) context.Context {
	ctx = withConn(ctx, c)
	if rc, ok := c.(*recordingConn); ok {
		ctx = context.WithValue(ctx, recordingKey{}, rc)
	}
	return ctx
}

// markHandled records that the request reached the handler, which logs
// it. (net/http's StateActive cannot say so: it is set as soon as any byte
// arrives, malformed or not.)
func markHandled(r *http.Request) {
	if c, ok := r.Context().Value(recordingKey{}).(*recordingConn); ok {
		c.mu.Lock()
		c.handled = true
		c.mu.Unlock()
	}
}

// connState is the clearnet http.Server's ConnState: a request that reached
// a handler is logged there; one that closed its connection before that is
// logged here.
func (h *clearnetHandler) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*recordingConn)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateIdle:
		c.handled, c.head, c.reply, c.wrote = false, c.head[:0], c.reply[:0], 0
	case http.StateClosed:
		if !c.handled && len(bytes.TrimSpace(c.head)) > 0 {
			h.logRefused(c)
		}
	}
}

// logRefused writes the access and error lines of a request net/http
// refused. The status is the one it sent, or 400 when it sent nothing
// (the client went silent or away mid-request, as nginx logs it).
func (h *clearnetHandler) logRefused(c *recordingConn) {
	status := 400
	if len(c.reply) >= 12 && bytes.HasPrefix(c.reply, []byte("HTTP/1.")) {
		if n, ok := atoi3(c.reply[9:12]); ok {
			status = n
		}
	}
	reqLine := c.head
	if i := bytes.IndexAny(reqLine, "\r\n"); i >= 0 {
		reqLine = reqLine[:i]
	}
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	now := h.now()
	e := accesslog.Entry{RemoteAddr: addr, Time: now, Request: string(reqLine), Status: status, BodyBytes: c.wrote}
	line := accesslog.AppendCombined(nil, &e)
	_, _ = h.access.Write(line)
	msg := "client sent invalid request"
	if len(c.reply) == 0 {
		msg = "client closed or timed out while sending the request"
	}
	entry := errorlog.Entry{
		Time: now, Level: "info", PID: h.pid, ConnID: h.counter.Add(1), Message: msg,
		Client: addr, Request: string(reqLine),
	}
	if h.t.Load().minimalErrors {
		entry.Request = ""
	}
	_, _ = h.errors.Write(errorlog.Append(line[:0], &entry))
}

func atoi3(b []byte) (int, bool) {
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}
