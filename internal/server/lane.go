package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The lane answers, on clearnet HTTP/1.1 connections (plain and TLS), the
// requests that are nearly all of a repository's traffic: a GET or HEAD
// of a plain path, with well-formed headers and no body. It runs the
// listener's own handler chain (the same site lookup, cache, access and
// error lines) on the connection's goroutine, without net/http's
// per-request work: a request object and header map built anew, a
// background read and its cancellation, a context, the response header
// map cloned and sorted through a buffer. The lane reuses one of each per
// connection and sends each response in one write.
//
// Everything else it does not take: at the first request it does not
// understand whole (another method, a body, an Expect or Upgrade, a
// percent-escape, a bare LF, a header block over laneBuf, a client that
// goes silent or away mid-request), it hands the connection, with every
// byte it read and did not answer, to net/http, which serves it to its end
// as it would have from the start: its answers and refusals (400, 431,
// ...) and their log lines (refused.go) are unchanged. The lane never
// refuses anything itself.
//
// Invariant: for a request the lane takes, the client sees what net/http
// would have sent for the same handler, byte for byte but the Date
// (TestLaneAnswersAsNetHTTP), and the handler sees the request net/http
// would have parsed from the same bytes (FuzzLaneParse). Onion listeners
// never use the lane: it runs the clearnet chain, which logs.

// laneBuf is a connection's read buffer: a request's line and headers
// must fit it whole (net/http takes up to 16 KiB, and gets any larger).
const laneBuf = 4 << 10

// laneBodyBuffer is what a response's body is buffered up to when its
// length is not set: net/http's bufferBeforeChunkingSize. Within it the
// lane sets Content-Length; past it, it sends the body chunked, as
// net/http does.
const laneBodyBuffer = 2048

// laneOut is the most a response gathers before it writes.
const laneOut = holdMax

// idleRearm is how stale the idle deadline may be before it is set again:
// re-arming it before each request would cost a timer update each.
const idleRearm = time.Second

// lane serves the HTTP/1.1 connections of one clearnet listener.
type lane struct {
	handler     http.Handler // the listener's chain, as net/http runs it
	connContext func(context.Context, net.Conn) context.Context
	readHeader  time.Duration // net/http's ReadHeaderTimeout
	idle        time.Duration // net/http's IdleTimeout
	errorLog    *log.Logger   // a handler's panic, as net/http logs it
	// deliver gives a connection to net/http, and reports false when the
	// listener is closed.
	deliver func(net.Conn) bool
	// refused logs the request a connection was receiving when it could
	// not be handed over: its client had gone silent or away (err), or not
	// (nil, the listener had closed).
	refused func(c net.Conn, pending []byte, err error)
}

// newLane returns the lane of a clearnet listener served by srv.
func newLane(srv *http.Server, h *clearnetHandler, deliver func(net.Conn) bool) *lane {
	return &lane{
		refused:     h.laneRefused,
		handler:     srv.Handler,
		connContext: srv.ConnContext,
		readHeader:  srv.ReadHeaderTimeout,
		idle:        srv.IdleTimeout,
		errorLog:    srv.ErrorLog,
		deliver:     deliver,
	}
}

// laneConn is the lane's state of one connection, reused by each of its
// requests.
type laneConn struct {
	l   *lane
	c   net.Conn // a guardConn, or a tls.Conn over one
	g   *guardConn
	ctx context.Context

	buf  []byte // buf[r:w] is read and not answered
	r, w int

	base   *http.Request // empty but for the connection's context
	req    *http.Request // the request being answered
	url    url.URL
	header http.Header
	vals   []string // backing of header's values
	prev   []headerField
	uri    string // the last request's URI and Host, reused when equal
	host   string
	remote string

	rw laneWriter

	served  bool      // a request was answered
	armed   int       // what the read deadline in effect is for (armNone...)
	armedAt time.Time // when it was set
}

type headerField struct{ key, value string }

var laneBufPool = sync.Pool{New: func() any { b := make([]byte, laneBuf); return &b }}

// serve serves c until it closes, or hands it to net/http.
func (l *lane) serve(c net.Conn) {
	lc := &laneConn{l: l, c: c, g: guardOf(c), header: make(http.Header, 8), remote: c.RemoteAddr().String()}
	lc.ctx = l.connContext(context.Background(), c)
	if ci := infoOf(lc.ctx); ci != nil {
		ci.lane = true
	}
	lc.base = (&http.Request{}).WithContext(lc.ctx)
	if cs, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := cs.ConnectionState() // as net/http: once, for every request
		lc.base.TLS = &st
	}
	lc.req = new(http.Request)
	bp := laneBufPool.Get().(*[]byte)
	defer laneBufPool.Put(bp) // a replayConn holds a copy of what it needs
	lc.buf = *bp
	lc.rw.hdr = make(http.Header, 12)
	handedOff := false
	defer func() {
		// A fault of the lane's own ends this connection, not the server.
		if err := recover(); err != nil {
			lc.logPanic(err)
			handedOff = false
		}
		if !handedOff {
			c.Close()
			if lc.g != nil {
				lc.g.finish()
			}
		}
	}()
	handedOff = lc.loop()
}

// logPanic logs a panic on the connection as net/http logs a handler's.
func (lc *laneConn) logPanic(err any) {
	lc.l.errorLog.Printf("http: panic serving %v: %v\n%s", lc.remote, err, stack())
}

// stack is the calling goroutine's stack, for a panic's log line.
func stack() []byte {
	buf := make([]byte, 64<<10)
	return buf[:runtime.Stack(buf, false)]
}

// loop answers requests until the connection ends (false) or is handed
// off (true).
func (lc *laneConn) loop() (handedOff bool) {
	for {
		if lc.r == lc.w {
			lc.r, lc.w = 0, 0
		}
		n, ok := lc.parse(lc.buf[lc.r:lc.w])
		if n < 0 && !lc.peeking() {
			return lc.handoff(nil)
		}
		if ok {
			lc.r += n
			if lc.armed == armHeader {
				lc.armed = armNone // the next request gets its own
			}
			if lc.serveOne() {
				return false
			}
			continue
		}
		// Not whole yet: read more.
		if lc.w == len(lc.buf) {
			if lc.r == 0 {
				return lc.handoff(nil) // larger than the lane takes
			}
			lc.w = copy(lc.buf, lc.buf[lc.r:lc.w])
			lc.r = 0
		}
		lc.arm()
		k, err := lc.c.Read(lc.buf[lc.w:])
		lc.w += k
		if err != nil {
			if lc.r == lc.w {
				return false // between requests: a clean end
			}
			if lc.peeking() {
				// net/http closes without an answer, and logs it.
				lc.l.refused(lc.c, lc.buf[lc.r:lc.w], err)
				return false
			}
			return lc.handoff(err)
		}
	}
}

// peeking reports whether the connection is between requests as net/http
// sees it: after a request, it waits for 4 bytes of the next (Peek(4))
// under the idle timeout before it reads one, and closes without an
// answer if they do not come. So fewer bytes are not handed over yet.
func (lc *laneConn) peeking() bool {
	return lc.w-lc.r < 4 && (lc.served || lc.r == lc.w)
}

// What the read deadline in effect is for.
const (
	armNone   = iota // nothing: a request was just answered
	armIdle          // the wait between requests (net/http's IdleTimeout)
	armHeader        // a request's line and headers (ReadHeaderTimeout)
)

// arm sets the read deadline for the read ahead: the idle timeout between
// requests, and once bytes of a request are here (or for a connection's
// first request, as in net/http) the header timeout from its start. The
// idle deadline is moved at most once per idleRearm, so a busy connection
// costs no timer update per request.
func (lc *laneConn) arm() {
	now := time.Now()
	switch {
	case lc.served && lc.peeking():
		// Kept while the first bytes of the next request trickle in.
		if lc.armed == armIdle && (lc.r < lc.w || now.Sub(lc.armedAt) < idleRearm) {
			return
		}
		lc.armed, lc.armedAt = armIdle, now
		lc.c.SetReadDeadline(now.Add(lc.l.idle))
	case lc.armed != armHeader:
		lc.armed, lc.armedAt = armHeader, now
		lc.c.SetReadDeadline(now.Add(lc.l.readHeader))
	}
}

// handoff gives the connection to net/http with what was read and not
// answered, and err, the read error that stopped the lane midway through
// a request, if any, to return after it; and reports whether it did. If
// the listener has closed (a stop), the lane logs the request as
// net/http's closing of the connection would have.
func (lc *laneConn) handoff(err error) bool {
	pending := lc.buf[lc.r:lc.w]
	rc := &replayConn{Conn: lc.c, pending: append([]byte(nil), pending...), err: err}
	if lc.armed == armHeader {
		rc.deadline = lc.armedAt.Add(lc.l.readHeader)
	}
	if lc.l.deliver(rc) {
		return true
	}
	lc.l.refused(lc.c, pending, err)
	return false
}

// serveOne answers the parsed request and reports whether the connection
// is to close.
func (lc *laneConn) serveOne() (closeAfter bool) {
	lc.served = true
	w := &lc.rw
	w.reset(lc)
	if !lc.run(w) {
		return true // as net/http: a handler that panicked ends its connection
	}
	w.finish()
	if w.closeAfter || w.err != nil {
		return true
	}
	if lc.g != nil {
		lc.g.idle(lc.r < lc.w)
	}
	return false
}

// run runs the handler, and reports false if it panicked.
func (lc *laneConn) run(w *laneWriter) (ok bool) {
	defer func() {
		if err := recover(); err != nil {
			if err != http.ErrAbortHandler {
				lc.logPanic(err)
			}
			ok = false
		}
	}()
	lc.l.handler.ServeHTTP(w, lc.req)
	return true
}

// replayConn is a connection handed to net/http: it reads what the lane
// read and did not answer first, then err if the lane's read failed, then
// from the connection.
type replayConn struct {
	net.Conn
	pending []byte
	err     error
	// deadline, if set, is when the header of the request the lane began
	// to receive must be whole: net/http's first read deadline, the header
	// timeout from when it starts reading, may not run past it (else a
	// client that dribbles a request and makes the lane hand it over just
	// in time would get the header timeout twice).
	deadline time.Time
	clamped  atomic.Bool
}

func (c *replayConn) SetReadDeadline(t time.Time) error {
	if !c.deadline.IsZero() && c.clamped.CompareAndSwap(false, true) && (t.IsZero() || t.After(c.deadline)) {
		t = c.deadline
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *replayConn) NetConn() net.Conn { return c.Conn }

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

// ReadFrom keeps sendfile reachable below.
func (c *replayConn) ReadFrom(r io.Reader) (int64, error) { return readFromBelow(c, c.Conn, r) }

func (c *replayConn) CloseWrite() error { return closeWrite(c.Conn) }

// parse parses the request at the start of b. It returns the request's
// length and ok when it is whole and the lane takes it (lc.req is set);
// 0 and false when it is not whole yet and could still be taken; and -1
// when net/http is to have it. It never allocates for a request whose
// URI, Host and header values are those of the connection's previous one.
func (lc *laneConn) parse(b []byte) (n int, ok bool) {
	end := headEnd(b)
	if end == -2 {
		return -1, false
	}
	if end < 0 {
		// Refuse early what can never be taken, so that net/http answers
		// it at once rather than after the header timeout.
		if !plausibleStart(b) {
			return -1, false
		}
		return 0, false
	}
	head := b[:end+2] // lines, each ending in CRLF
	n = end + 4

	// The request line: METHOD SP target SP HTTP/1.1
	i := indexCRLF(head)
	line := head[:i]
	head = head[i+2:]
	var method string
	switch {
	case len(line) > 4 && string(line[:4]) == "GET ":
		method, line = http.MethodGet, line[4:]
	case len(line) > 5 && string(line[:5]) == "HEAD ":
		method, line = http.MethodHead, line[5:]
	default:
		return -1, false
	}
	const proto = " HTTP/1.1"
	if len(line) <= len(proto) || string(line[len(line)-len(proto):]) != proto {
		return -1, false
	}
	target := line[:len(line)-len(proto)]
	q, ok := plainTarget(target)
	if !ok {
		return -1, false
	}
	if string(target) != lc.uri {
		lc.uri = string(target)
	}
	uri := lc.uri

	clear(lc.header)
	lc.vals = lc.vals[:0]
	nf := 0
	host, hosts := "", 0
	closeConn := false
	for len(head) > 0 {
		i := indexCRLF(head)
		hl := head[:i]
		head = head[i+2:]
		colon := -1
		for j, c := range hl {
			if c == ':' {
				colon = j
				break
			}
			if !httpguts.IsTokenRune(rune(c)) {
				return -1, false // also a folded line's leading space
			}
		}
		if colon <= 0 {
			return -1, false
		}
		raw := hl[:colon]
		v := trimOWS(hl[colon+1:])
		for _, c := range v {
			if c < ' ' && c != '\t' || c == 0x7f {
				return -1, false
			}
		}
		key, known := commonHeaders[string(raw)]
		if !known {
			key = textproto.CanonicalMIMEHeaderKey(string(raw))
		}
		switch key {
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Trailer", "Te", "Http2-Settings":
			return -1, false
		case "Host":
			hosts++
			if hosts > 1 {
				return -1, false
			}
			if string(v) != lc.host {
				if !httpguts.ValidHostHeader(string(v)) {
					return -1, false
				}
				lc.host = string(v)
			}
			host = lc.host
			continue // net/http keeps Host out of the header map
		case "Connection":
			closeConn = closeConn || hasToken(v, "close")
		}
		// The value: the previous request's string when the bytes are the
		// same (clients send the same headers on each request).
		var value string
		if nf < len(lc.prev) && lc.prev[nf].key == key && lc.prev[nf].value == string(v) {
			value = lc.prev[nf].value
		} else {
			value = string(v)
			if nf < len(lc.prev) {
				lc.prev[nf] = headerField{key, value}
			} else if nf < 32 {
				lc.prev = append(lc.prev, headerField{key, value})
			}
		}
		nf++
		if old, dup := lc.header[key]; dup {
			lc.header[key] = append(old[:len(old):len(old)], value)
			continue
		}
		lc.vals = append(lc.vals, value)
		k := len(lc.vals)
		lc.header[key] = lc.vals[k-1 : k : k]
	}
	if hosts != 1 {
		return -1, false // net/http answers 400 for HTTP/1.1 without Host
	}
	// net/http's fixPragmaCacheControl.
	if pragma, ok := lc.header["Pragma"]; ok && len(pragma) > 0 && pragma[0] == "no-cache" {
		if _, ok := lc.header["Cache-Control"]; !ok {
			lc.header["Cache-Control"] = noCache
		}
	}

	path, query := uri, ""
	if q >= 0 {
		path, query = uri[:q], uri[q+1:]
	}
	lc.url = url.URL{Path: path, RawQuery: query}
	// A copy of the template keeps its context (which only WithContext
	// can set) and clears whatever the last handler left.
	r := lc.req
	*r = *lc.base
	r.Method = method
	r.URL = &lc.url
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header = lc.header
	r.Body = http.NoBody
	r.Close = closeConn
	r.Host = host
	r.RemoteAddr = lc.remote
	r.RequestURI = uri
	return n, true
}

var noCache = []string{"no-cache"}

// plainTarget reports whether a request target is a path (and query) that
// net/http's URL parsing leaves as it is: origin form, no percent-escape,
// and no character that its path escaping would change, so that URL.Path
// and RequestURI() are the target itself. q is the index of its '?', or
// -1.
func plainTarget(t []byte) (q int, ok bool) {
	if len(t) == 0 || t[0] != '/' {
		return -1, false
	}
	q = -1
	for i, c := range t {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '/':
		case c == '$' || c == '&' || c == '+' || c == ',' || c == ':' || c == ';' || c == '=' || c == '@':
		case c == '?' && q < 0:
			q = i
		default:
			return -1, false
		}
	}
	if q == len(t)-1 {
		return -1, false // an empty query: net/http's ForceQuery
	}
	return q, true
}

// plausibleStart reports whether b, not yet a whole request, may still
// become one the lane takes.
func plausibleStart(b []byte) bool {
	for _, m := range []string{"GET /", "HEAD /"} {
		k := min(len(b), len(m))
		if string(b[:k]) == m[:k] {
			return true
		}
	}
	return false
}

// headEnd returns the index of the CRLF CRLF that ends b's header block,
// -1 when b holds no end yet, and -2 when a line of b ends in a bare LF
// (which net/http reads, and the lane leaves to it).
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i == 0 || b[i-1] != '\r' {
			return -2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i - 1
		}
	}
	return -1
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return len(b)
}

// hasToken reports whether the comma-separated list v holds token
// (ASCII case-insensitive), as httpguts.HeaderValuesContainsToken.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if item = trimOWS(item); len(item) == len(token) && strings.EqualFold(string(item), token) {
			return true
		}
	}
	return false
}

// trimOWS trims the spaces and tabs around a header value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// commonHeaders maps the request header names clients send, as they send
// them (canonical or lower case), to their canonical form, so that a
// request's names cost no allocation.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Cookie", "Dnt", "From", "Host", "If-Match",
		"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Keep-Alive",
		"Origin", "Pragma", "Priority", "Range", "Referer", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Sec-Fetch-User", "Upgrade-Insecure-Requests", "User-Agent", "Via",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip", "Content-Length",
		"Transfer-Encoding", "Expect", "Upgrade", "Trailer", "Te", "Http2-Settings",
	} {
		m[k] = k
		m[lower(k)] = k
	}
	return m
}()

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// queue is a listener whose Accept hands out connections that someone
// else accepted from inner and prepared (a TLS handshake, the lane) in
// their own goroutine, and delivered.
type queue struct {
	inner net.Listener // guarded
	out   chan acceptResult
	done  chan struct{}
	once  sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newQueue(inner net.Listener) queue {
	return queue{inner: inner, out: make(chan acceptResult), done: make(chan struct{})}
}

// run accepts from inner and gives each connection to serve, in a
// goroutine of its own, until inner is closed.
func (q *queue) run(serve func(net.Conn)) {
	for {
		c, err := q.inner.Accept()
		if err != nil {
			// net/http's Serve backs off on temporary errors (too many
			// open files) before it asks again.
			select {
			case q.out <- acceptResult{err: err}:
			case <-q.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go serve(c)
	}
}

// deliver hands c to Accept, and reports false if the listener is closed
// first.
func (q *queue) deliver(c net.Conn) bool {
	select {
	case q.out <- acceptResult{c: c}:
		return true
	case <-q.done:
		return false
	}
}

func (q *queue) Accept() (net.Conn, error) {
	select {
	case r := <-q.out:
		return r.c, r.err
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *queue) Close() error {
	q.once.Do(func() { close(q.done) })
	return q.inner.Close()
}

func (q *queue) Addr() net.Addr { return q.inner.Addr() }

// laneListener serves a plain clearnet listener's connections in the lane;
// Accept hands out those the lane gives to net/http, wrapped to record
// what net/http refuses (refused.go).
type laneListener struct {
	queue
	lane *lane
}

func newLaneListener(inner net.Listener, newLane func(deliver func(net.Conn) bool) *lane) *laneListener {
	l := &laneListener{queue: newQueue(inner)}
	l.lane = newLane(l.deliver)
	go l.run(l.lane.serve)
	return l
}

func (l *laneListener) deliver(c net.Conn) bool {
	return l.queue.deliver(&recordingConn{Conn: c, guard: guardOf(c)})
}
