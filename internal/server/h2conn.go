package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"

	"depot/internal/h2"
)

// HTTP/2 over TLS is served by depot's own HTTP/2 server (internal/h2)
// on an h2Conn, so that what it writes reaches the client in large TLS
// records and few system calls: the server writes each frame with its
// own Write, and a TLS record and a system call per frame would cost
// more than the frame. nginx, for comparison, fills 16 KiB records
// (ssl_buffer_size) before it writes.

// h2Pending is how much an h2Conn gathers before Write waits for the
// writer: four full TLS records.
const h2Pending = 64 << 10

// h2Conn gathers the HTTP/2 server's writes and sends them from one
// writer goroutine, which runs while there is something to send: every
// write that arrives while it sends goes out with the next, in one TLS
// Write (16 KiB records) and as few system calls. Write returns once its
// bytes are gathered, as a socket's write returns once they are in the
// kernel's buffer; past h2Pending it waits, so a client that reads
// nothing holds at most that (and the send timeout of the connection
// below still cuts it off). A write error is returned by every later
// Write, and closes the connection so that its reader stops too.
type h2Conn struct {
	*tls.Conn

	mu      sync.Mutex
	cond    sync.Cond // the writer took pending, or stopped
	pending *[]byte   // gathered, not yet taken by the writer; nil for none
	writing bool      // the writer goroutine runs
	err     error     // the first write error, or net.ErrClosed
}

func newH2Conn(c *tls.Conn) *h2Conn {
	h := &h2Conn{Conn: c}
	h.cond.L = &h.mu
	return h
}

var h2BufPool = sync.Pool{New: func() any { b := make([]byte, 0, h2Pending+16<<10); return &b }}

func (c *h2Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && c.writing && c.pending != nil && len(*c.pending) >= h2Pending {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.pending == nil {
		c.pending = h2BufPool.Get().(*[]byte)
	}
	*c.pending = append(*c.pending, p...)
	if !c.writing {
		c.writing = true
		go c.send()
	}
	return len(p), nil
}

// send is the writer: it writes what is pending until nothing is, then
// gives the buffers back (an idle connection holds none).
func (c *h2Conn) send() {
	var out *[]byte // being written; emptied, it takes pending's place
	c.mu.Lock()
	for c.pending != nil && len(*c.pending) > 0 && c.err == nil {
		if out != nil {
			*out = (*out)[:0]
		}
		out, c.pending = c.pending, out
		c.cond.Broadcast()
		c.mu.Unlock()
		_, err := c.Conn.Write(*out)
		c.mu.Lock()
		if err != nil {
			c.err = err
			c.Conn.Close()
		}
	}
	for _, b := range [2]*[]byte{out, c.pending} {
		if b != nil && cap(*b) <= 2*h2Pending {
			*b = (*b)[:0]
			h2BufPool.Put(b)
		}
	}
	c.pending = nil
	c.writing = false
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Close sends what was gathered (the server's last frames: the end of a
// response, a GOAWAY), then closes the connection. The send timeout of
// the connection below bounds the wait for a client that reads nothing.
func (c *h2Conn) Close() error {
	c.mu.Lock()
	for c.writing {
		c.cond.Wait()
	}
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// serveH2 makes srv serve HTTP/2 over TLS with depot's own HTTP/2 server
// (internal/h2) on an h2Conn, with srv's limits and hooks: its header
// size, idle timeout, ConnState and ErrorLog, MaxConcurrentStreams, and
// the send timeout of its guardHandler for each stream; logs, the
// listener's clearnet handler (a TLS listener is never an onion one),
// logs the requests refused before any handler. srv.Shutdown
// sends every HTTP/2 connection a GOAWAY; each closes once its streams
// are answered, and Shutdown waits for that.
func serveH2(srv *http.Server, logs *clearnetHandler) error {
	h := &h2.Server{
		Handler:              srv.Handler,
		MaxConcurrentStreams: MaxConcurrentStreams,
		MaxHeaderBytes:       srv.MaxHeaderBytes,
		IdleTimeout:          srv.IdleTimeout,
		ConnState:            srv.ConnState,
		ErrorLog:             srv.ErrorLog,
		Refused:              logs.logRefusedH2,
	}
	if srv.HTTP2 != nil && srv.HTTP2.MaxConcurrentStreams > 0 {
		h.MaxConcurrentStreams = uint32(srv.HTTP2.MaxConcurrentStreams)
	}
	if g, ok := srv.Handler.(guardHandler); ok {
		h.SendTimeout = g.sendTimeout
	}
	if srv.TLSNextProto == nil {
		srv.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
	}
	srv.RegisterOnShutdown(h.Shutdown)
	srv.TLSNextProto["h2"] = func(hs *http.Server, c *tls.Conn, alpn http.Handler) {
		// net/http passes a connection's context to its HTTP/2 server
		// through the handler it gives (the one that sets each request's
		// TLS and RemoteAddr, which h2 sets itself).
		ctx := context.Background()
		if bc, ok := alpn.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		state := c.ConnectionState()
		h.ServeConn(ctx, newH2Conn(c), &state)
	}
	return nil
}
