package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"depot/internal/certs"
)

// tlsListener serves HTTPS on a clearnet listener. It does the TLS
// handshake itself, before net/http sees the connection, so that:
//
//   - an HTTP/1 connection reaches net/http as a recordingConn above TLS,
//     and what net/http refuses on it is logged as on a plain listener
//     (refused.go);
//   - an HTTP/2 one reaches it as the *tls.Conn that net/http hands to
//     TLSNextProto["h2"] (ALPN "h2"), whose server writes to it through
//     an h2Conn (h2conn.go);
//   - a failed handshake gets an error line with the client's address in
//     its client field, where `depot logs search --ip` finds it, and plain
//     HTTP sent to the port gets 400 and an access line, as in nginx.
//
// Handshakes run one goroutine each, bounded by timeout; Accept hands out
// connections whose handshake is done.
type tlsListener struct {
	queue
	config  *tls.Config
	timeout time.Duration
	h       *clearnetHandler
	lane    *lane // answers HTTP/1.1 first; nil: net/http answers all
}

// newTLSListener starts accepting from inner. newLane, if not nil, makes
// the lane that answers its HTTP/1.1 connections first; it is called
// before the first connection is accepted.
func newTLSListener(inner net.Listener, config *tls.Config, timeout time.Duration, h *clearnetHandler, newLane func(deliver func(net.Conn) bool) *lane) *tlsListener {
	l := &tlsListener{queue: newQueue(inner), config: config, timeout: timeout, h: h}
	if newLane != nil {
		l.lane = newLane(l.deliver)
	}
	go l.run(l.handshake)
	return l
}

func (l *tlsListener) handshake(c net.Conn) {
	g := guardOf(c)
	hello := &helloRecorder{Conn: c}
	tc := tls.Server(hello, l.config)
	// The client must finish its part within timeout (net/http bounds
	// handshakes by its header timeout too); what the server writes is
	// bounded by the send timeout.
	c.SetReadDeadline(time.Now().Add(l.timeout))
	err := tc.Handshake()
	first := hello.finish()
	if err != nil {
		l.failed(c, first, err)
		c.Close()
		if g != nil {
			g.finish() // it never reaches net/http
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	if g != nil {
		g.started.Store(false) // the handshake's bytes are no request
	}
	var out net.Conn = tc
	switch tc.ConnectionState().NegotiatedProtocol {
	case certs.ALPNProto:
		// A CA's TLS-ALPN-01 validation: the handshake was all of it
		// (RFC 8737, section 3), there is no request to serve.
		c.Close()
		if g != nil {
			g.finish()
		}
		return
	case "h2":
		if g != nil {
			g.h2.Store(true)
		}
	case "", "http/1.1":
		if l.lane != nil {
			l.lane.serve(tc) // hands the connection to deliver if it must
			return
		}
		out = &tlsRecordingConn{recordingConn{Conn: tc, guard: g}}
	}
	if !l.deliver(out) {
		c.Close()
		if g != nil {
			g.finish()
		}
	}
}

// deliver hands c to net/http, and reports false if the listener is
// closed first. An HTTP/1.1 connection the lane hands over gets the
// recording wrapper here.
func (l *tlsListener) deliver(c net.Conn) bool {
	if rc, ok := c.(*replayConn); ok {
		c = &tlsRecordingConn{recordingConn{Conn: rc, guard: guardOf(c)}}
	}
	return l.queue.deliver(c)
}

// plainHTTPReply is what a client speaking plain HTTP to the HTTPS port
// gets (net/http's words; nginx's status).
const plainHTTPReply = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// failed logs a failed handshake with nginx's messages, at info level as
// nginx logs a client's TLS errors. A client that connects and leaves
// without a byte is not logged (nginx does not either).
func (l *tlsListener) failed(c net.Conn, first []byte, err error) {
	var id uint64
	g := guardOf(c)
	if g != nil {
		id = g.id
	}
	var re tls.RecordHeaderError
	switch {
	case g != nil && g.evicted.Load():
		l.h.logConn(c.RemoteAddr(), id, nil, 0, 0, evictedMessage+" while SSL handshaking")
	case errors.As(err, &re) && looksLikeHTTP(first):
		io.WriteString(c, plainHTTPReply)
		line := first
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		body := int64(len(plainHTTPReply) - len("HTTP/1.0 400 Bad Request\r\n\r\n"))
		l.h.logConn(c.RemoteAddr(), id, line, 400, body, "client sent plain HTTP request to HTTPS port while reading client request headers")
	case len(first) == 0 && !errors.Is(err, os.ErrDeadlineExceeded):
		// connected and left
	case errors.Is(err, os.ErrDeadlineExceeded):
		l.h.logConn(c.RemoteAddr(), id, nil, 0, 0, "client timed out (110: Connection timed out) while SSL handshaking")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		l.h.logConn(c.RemoteAddr(), id, nil, 0, 0, "client closed connection while SSL handshaking")
	default:
		l.h.logConn(c.RemoteAddr(), id, nil, 0, 0, "SSL handshake failed ("+err.Error()+") while SSL handshaking")
	}
}

// looksLikeHTTP reports whether a connection's first bytes are an HTTP/1
// request line's start.
func looksLikeHTTP(b []byte) bool {
	for _, m := range []string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// helloRecorder keeps the first bytes a client sends until the handshake
// is over, to log plain HTTP sent to the HTTPS port.
type helloRecorder struct {
	net.Conn
	done atomic.Bool
	mu   sync.Mutex
	buf  []byte
}

func (h *helloRecorder) NetConn() net.Conn { return h.Conn }

func (h *helloRecorder) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	if n > 0 && !h.done.Load() {
		h.mu.Lock()
		if k := min(lineKeep-len(h.buf), n); k > 0 {
			h.buf = append(h.buf, p[:k]...)
		}
		h.mu.Unlock()
	}
	return n, err
}

// finish stops recording and returns what was kept.
func (h *helloRecorder) finish() []byte {
	h.done.Store(true)
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.buf
	h.buf = nil
	return b
}
