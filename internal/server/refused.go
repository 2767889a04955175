package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
	"depot/internal/metrics"
)

// net/http answers some requests itself, before any handler runs: a
// malformed request line or method gets 400, oversized headers 431, and a
// client that goes silent mid-request is cut off. nginx logs those too,
// and incident response needs them most, so every HTTP/1 connection of a
// clearnet listener, plain or TLS, is a recordingConn: it follows the
// request stream as net/http reads it (requestScan), and when net/http
// closes a connection whose next request never reached a handler, that
// request gets its one access line, with the request line as received
// (never a header value: the scan knows where each request starts), the
// status net/http sent and the size of the body alone. Onion listeners
// are never wrapped this way (see Serve).

// recordingListener wraps a plain-HTTP clearnet listener (of guarded
// connections).
type recordingListener struct{ net.Listener }

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, guard: guardOf(c)}, nil
}

// recordingConn follows an HTTP/1 connection's requests and what net/http
// writes back outside of handlers. It keeps the connection below reachable
// (NetConn, ReadFrom) so that corking and sendfile still work.
type recordingConn struct {
	net.Conn            // a guardConn, or a tls.Conn over one
	guard    *guardConn // for a graceful stop; may be nil in tests

	mu        sync.Mutex
	scan      requestScan
	answering bool   // a handler is answering: what is written is its own
	ended     bool   // net/http closes the connection after that answer
	reply     []byte // what net/http wrote itself since the last answer, up to replyKeep
	wrote     int64
	stopped   bool // the lane handed it over after the listener closed (laneRefused)
}

func (c *recordingConn) NetConn() net.Conn { return c.Conn }

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.ended {
			c.scan.feed(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if !c.answering {
		if k := min(replyKeep-len(c.reply), n); k > 0 {
			c.reply = append(c.reply, p[:k]...)
		}
		c.wrote += int64(n)
	}
	c.mu.Unlock()
	return n, err
}

// ReadFrom is only used by handlers' responses (net/http's own answers are
// plain writes), so nothing here is recorded.
func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) { return readFromBelow(c, c.Conn, r) }

func (c *recordingConn) CloseWrite() error { return closeWrite(c.Conn) }

// readFromBelow is the ReadFrom of a wrapper c over conn: conn's own
// (sendfile, for a socket), or a copy through c's Write.
func readFromBelow(c io.Writer, conn net.Conn, r io.Reader) (int64, error) {
	if rf, ok := conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	return io.CopyBuffer(plainWriter{c}, r, *bp)
}

// closeWrite half-closes conn if it can.
func closeWrite(conn net.Conn) error {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tlsRecordingConn is a recordingConn over TLS: net/http reads its
// ConnectionState for Request.TLS.
type tlsRecordingConn struct{ recordingConn }

func (c *tlsRecordingConn) ConnectionState() tls.ConnectionState {
	for nc := c.Conn; nc != nil; {
		if tc, ok := nc.(*tls.Conn); ok {
			return tc.ConnectionState()
		}
		w, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = w.NetConn()
	}
	return tls.ConnectionState{}
}

func recordingOf(c net.Conn) *recordingConn {
	switch c := c.(type) {
	case *recordingConn:
		return c
	case *tlsRecordingConn:
		return &c.recordingConn
	}
	return nil
}

// markHandled records that r, whose request line is reqLine, reached the
// handler, which logs it. (net/http's StateActive cannot say so: it is set
// as soon as any byte arrives, malformed or not.) It reports whether the
// answer must close the connection: a request with a body does, so that
// the scan never mistakes a body for the next request (depot serves only
// GET and HEAD, which have none).
func markHandled(r *http.Request, reqLine requestLine) (closeAfter bool) {
	ci := infoOf(r.Context())
	if ci == nil || ci.rec == nil {
		return false
	}
	c := ci.rec
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answering = true
	c.reply, c.wrote = c.reply[:0], 0
	if f, line := c.scan.front(); f == nil || !f.done || !sameLine(line, reqLine) {
		c.scan.lost = true // net/http read something else than the scan saw
	}
	c.scan.pop()
	if r.Close || r.ContentLength != 0 {
		c.ended = true
	}
	return r.ContentLength != 0
}

// sameLine compares a kept request line with the one net/http parsed.
func sameLine(kept []byte, line requestLine) bool {
	if len(kept) >= lineKeep-1 { // cut at lineKeep (maybe before its '\r')
		return line.len() >= len(kept) && line.hasPrefix(kept)
	}
	return line.len() == len(kept) && line.hasPrefix(kept)
}

// connIdle is the ConnState of onion listeners: the guard learns when a
// connection turns idle, for a graceful stop, and when it is finished.
func connIdle(nc net.Conn, state http.ConnState) {
	g := guardOf(nc)
	if g == nil {
		return
	}
	switch state {
	case http.StateIdle:
		g.idle(false)
	case http.StateClosed:
		g.finish()
	}
}

// connState is the clearnet http.Server's ConnState: a request that reached
// a handler is logged there; one that net/http refused, or that its client
// left unfinished, is logged here when the connection closes.
func (h *clearnetHandler) connState(nc net.Conn, state http.ConnState) {
	c := recordingOf(nc)
	if c == nil {
		connIdle(nc, state) // HTTP/2
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if state == http.StateClosed && c.guard != nil {
		defer c.guard.finish() // after the line below is written
	}
	switch state {
	case http.StateIdle:
		c.answering = false
		c.reply, c.wrote = c.reply[:0], 0
		if c.guard != nil {
			// A pipelined request already here (in net/http's buffer)
			// is answered even during a stop.
			f, _ := c.scan.front()
			c.guard.idle(f != nil)
		}
	case http.StateClosed:
		if c.answering || c.ended {
			return // net/http read nothing after the last answer
		}
		f, line := c.scan.front()
		if f == nil && len(c.reply) == 0 {
			return // nothing was sent: not a request
		}
		if len(c.reply) == 0 && c.guard != nil && c.guard.forced.Load() {
			return // a stop that waited long enough cut it: not the client's doing
		}
		if f == nil || c.scan.lost || len(bytes.TrimSpace(line)) == 0 {
			line = nil // nothing parseable: logged as "-"
		}
		h.logRefused(c, line)
	}
}

// logRefused writes the access and error lines of a request net/http
// refused. The status is the one it sent, or 400 when it sent nothing
// (the client went silent or away mid-request, as nginx logs it).
func (h *clearnetHandler) logRefused(c *recordingConn, line []byte) {
	status, body := 400, int64(0)
	if len(c.reply) >= 12 && bytes.HasPrefix(c.reply, []byte("HTTP/1.")) {
		if n, ok := atoi3(c.reply[9:12]); ok {
			status = n
		}
		if i := bytes.Index(c.reply, []byte("\r\n\r\n")); i >= 0 {
			body = c.wrote - int64(i+4)
		}
	}
	msg := "client sent invalid request"
	switch {
	case c.stopped:
		msg = "closed by the server's stop before the request was read"
	case len(c.reply) == 0 && c.guard != nil && c.guard.evicted.Load():
		msg = evictedMessage + " while reading client request headers"
	case len(c.reply) == 0:
		msg = "client closed or timed out while sending the request"
	}
	var id uint64
	if c.guard != nil {
		id = c.guard.id
	}
	h.logConn(c.RemoteAddr(), id, line, status, body, msg)
}

// logRefusedH2 is the HTTP/2 server's Refused: the access and error
// lines of a request it refused before any handler, as logRefused writes
// them for HTTP/1. The request line is built of the pseudo-header fields
// as received; the access log escapes what they hold.
func (h *clearnetHandler) logRefusedH2(ctx context.Context, remote net.Addr, method, path string, status int, body int64) {
	var line []byte
	if method != "" || path != "" {
		line = append(append(append(append(line, method...), ' '), path...), " HTTP/2.0"...)
	}
	msg := "client sent invalid request"
	if status == http.StatusRequestHeaderFieldsTooLarge {
		msg = "client sent too large request headers"
	}
	var id uint64
	if ci := infoOf(ctx); ci != nil {
		id = ci.id
	}
	h.logConn(remote, id, line, status, body, msg)
}

// logConn writes an access line (unless line is nil and status 0) and an
// info error line about a connection whose request no handler saw.
func (h *clearnetHandler) logConn(remote net.Addr, id uint64, line []byte, status int, body int64, msg string) {
	addr := remote.String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	reqLine := "-"
	if line != nil {
		reqLine = string(line)
	}
	now := h.now()
	var buf []byte
	if status != 0 {
		e := accesslog.Entry{RemoteAddr: addr, Time: now, Request: reqLine, Status: status, BodyBytes: body}
		buf = accesslog.AppendCombined(buf, &e)
		_, _ = h.access.Write(buf)
		if h.metrics != nil {
			method, _, _ := strings.Cut(reqLine, " ")
			h.metrics.Site(metrics.NoSite).Count(method, status, body)
		}
	}
	ee := errorlog.Entry{Time: now, Level: errorlog.Info, PID: h.pid, ConnID: id, Message: msg, Client: addr}
	if line != nil && !h.t.Load().minimalErrors {
		ee.Request = reqLine
	}
	_, _ = h.errors.Write(errorlog.Append(buf[:0], &ee))
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

// clearnetContext is the ConnContext of a clearnet listener: it keeps the
// connection's number and its recordingConn where the handler finds them.
func (s *Server) clearnetContext(ctx context.Context, c net.Conn) context.Context {
	ci := newConnInfo(c)
	if g := guardOf(c); g != nil {
		ci.id = g.id
	} else {
		ci.id = s.connIDs.Add(1)
	}
	ci.rec = recordingOf(c)
	return context.WithValue(ctx, connKey{}, ci)
}

// laneRefused logs, as connState does when net/http closes such a
// connection, the request the lane was receiving on c and did not hand to
// net/http: the listener had closed (a stop), or the client went silent
// or away (err) after fewer bytes than net/http waits for between
// requests. pending is what it received of the request.
func (h *clearnetHandler) laneRefused(c net.Conn, pending []byte, err error) {
	rc := &recordingConn{Conn: c, guard: guardOf(c), stopped: err == nil}
	rc.scan.feed(pending)
	h.connState(rc, http.StateClosed)
}
