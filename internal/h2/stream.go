package h2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// stream is one request and its response. Its fields are under the
// connection's mu, except rw's, which are its handler's.
type stream struct {
	c      *conn
	id     uint32
	window int32 // the response's send window
	body   *pipe // the request's body; nil when it had none
	cancel context.CancelFunc

	// declared is the request's Content-Length (-1: none); received,
	// how much of its body came. Both are the serve goroutine's.
	declared, received int64

	gotEnd  bool  // the request is wholly received (or the stream reset)
	sentEnd bool  // the response is wholly sent (or the stream reset)
	reset   bool  // reset, by either side: writes fail with resetErr
	err     error // why it was reset
	// returned: its handler returned, panicked or sent its response's
	// end, and no longer counts in the connection's running.
	returned bool
	// deadline is when a response waiting for window gives up: set by
	// the handler (SetWriteDeadline), or else SendTimeout after waitSince.
	deadline time.Time
	// waitSince is when the response began waiting for window, since
	// its last DATA frame.
	waitSince time.Time

	rw responseWriter
}

// resetLocked marks st reset with err; its handler's next write fails.
func (st *stream) resetLocked(err error) {
	if st.reset {
		return
	}
	st.reset, st.err = true, err
	st.gotEnd, st.sentEnd = true, true
	if st.body != nil {
		st.body.fail(err)
	}
	st.cancel()
	st.c.cond.Broadcast()
}

// processHeaders opens a stream (or ends one with trailers).
func (c *conn) processHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		defer c.mu.Unlock()
		c.trailersLocked(st, f)
		return nil
	}
	if isNew, err := c.newStreamIDLocked(id); !isNew {
		c.mu.Unlock()
		return err
	}
	if c.goingAway {
		c.mu.Unlock()
		return nil // past the GOAWAY: ignored (RFC 9113 §6.8)
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		// RFC 9113 §5.3.1: a stream cannot depend on itself.
		c.writeLocked(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeProtocol) })
		c.mu.Unlock()
		return nil
	}
	if c.open >= int(c.maxStreams) || c.running >= int(c.maxStreams) {
		c.writeLocked(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
		c.mu.Unlock()
		return nil
	}
	// The stream is counted open from here, while its request is made
	// outside the lock: the idle timeout, or a Shutdown, must not close
	// the connection under a stream that a GOAWAY would name as taken.
	c.open++
	c.running++
	if c.open == 1 {
		c.setState(http.StateActive)
		if c.idle != nil {
			c.idle.Stop()
		}
	}
	c.mu.Unlock()

	st := &stream{c: c, id: id}
	ctx, cancel := context.WithCancel(c.ctx)
	st.cancel = cancel
	var h http.Handler = c.srv.Handler
	req, code := c.newRequest(ctx, f)
	switch {
	case code != http2.ErrCodeNo:
		cancel()
		c.mu.Lock()
		c.writeLocked(func() error { return c.fr.WriteRSTStream(id, code) })
		c.running--
		if c.open--; c.open == 0 {
			c.becameIdleLocked()
		}
		c.mu.Unlock()
		if c.srv.Refused != nil {
			c.srv.Refused(c.ctx, c.nc.RemoteAddr(), f.PseudoValue("method"), f.PseudoValue("path"), http.StatusBadRequest, 0)
		}
		return nil
	case f.Truncated:
		h = headersTooLarge{c}
	}
	st.declared = req.ContentLength
	if !f.StreamEnded() {
		st.body = &pipe{st: st, window: initialWindow}
		st.body.cond.L = &st.body.mu
		req.Body = st.body
	}
	st.rw = responseWriter{st: st, head: req.Method == http.MethodHead, header: make(http.Header, 8)}

	c.mu.Lock()
	st.window = c.initial
	st.gotEnd = f.StreamEnded()
	c.streams[id] = st
	c.mu.Unlock()
	c.handlers.Add(1)
	startStream(streamTask{c, st, req, h})
	return nil
}

// trailersLocked handles a HEADERS frame on st, open: the request's
// trailers, which must end it, and are not kept.
func (c *conn) trailersLocked(st *stream, f *http2.MetaHeadersFrame) {
	switch {
	case st.gotEnd:
		// Half-closed (remote): RFC 9113 §5.1.
		c.refuseStreamLocked(st.id, http2.ErrCodeStreamClosed)
		return
	case !f.StreamEnded() || len(f.PseudoFields()) > 0 || !st.bodyFits(0, true):
		c.refuseStreamLocked(st.id, http2.ErrCodeProtocol)
		return
	}
	if st.body != nil {
		st.body.end()
	}
	c.endRequestLocked(st)
}

// bodyFits counts n more bytes of st's request body, and reports whether
// the body still agrees with its Content-Length, if it had one: never
// longer, and as long once ended (end). Else the request is malformed
// (RFC 9113 §8.1.1).
func (st *stream) bodyFits(n int, end bool) bool {
	st.received += int64(n)
	if st.declared < 0 {
		return true
	}
	return st.received <= st.declared && (!end || st.received == st.declared)
}

// A stream's handler runs on a worker goroutine: an idle one if there is
// one, else a new one. A worker that has run a handler waits for the
// next stream (up to maxIdleWorkers of them wait, over all connections),
// keeping the stack that handler grew: a new goroutine's stack starts
// small, and growing it to what a handler needs (copying it each time
// it doubles) cost a tenth of a small response.
type streamTask struct {
	c   *conn
	st  *stream
	req *http.Request
	h   http.Handler
}

var (
	streamTasks = make(chan streamTask) // to an idle worker
	idleWorkers atomic.Int32
)

// maxIdleWorkers bounds the workers that wait for a stream: their stacks
// are what idle costs (a few KiB each, shrunk by the garbage collector
// while they wait). A connection's HEADERS frames are read in batches,
// and a batch's handlers start before any of them returns: under
// h2load's 4 connections of 100 streams, a cap of 64 kept a third of the
// stack growth, 512 none (bench/h2cpu.sh: 12% of CPU per request).
const maxIdleWorkers = 512

func startStream(t streamTask) {
	select {
	case streamTasks <- t:
	default:
		go worker(t)
	}
}

func worker(t streamTask) {
	for {
		t.c.runStream(t.st, t.req, t.h)
		t = streamTask{} // hold nothing of it while idle
		if idleWorkers.Add(1) > maxIdleWorkers {
			idleWorkers.Add(-1)
			return
		}
		t = <-streamTasks
		idleWorkers.Add(-1)
	}
}

// headersTooLarge answers a request whose header list passed
// MaxHeaderBytes (which HPACK decoding stopped keeping), as net/http does,
// and tells the Server's Refused.
type headersTooLarge struct{ c *conn }

var tooLargeBody = []byte("<h1>HTTP Error 431</h1><p>Request Header Field(s) Too Large</p>")

func (h headersTooLarge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	w.Write(tooLargeBody)
	if refused := h.c.srv.Refused; refused != nil {
		refused(h.c.ctx, h.c.nc.RemoteAddr(), r.Method, r.RequestURI, http.StatusRequestHeaderFieldsTooLarge, int64(len(tooLargeBody)))
	}
}

// runStream runs st's handler and ends its response. The handler is
// counted out of running in the same hold of mu that sends its stream's
// END_STREAM (finish, or the write that reaches the declared length: see
// endedLocked): a client that opens a stream as soon as it reads
// another's end must never find it still counted.
func (c *conn) runStream(st *stream, req *http.Request, h http.Handler) {
	ok := false
	defer func() {
		if !ok {
			c.panicked(recover())
			c.mu.Lock()
			c.refuseStreamLocked(st.id, http2.ErrCodeInternal)
			st.returnedLocked()
			c.mu.Unlock()
		}
		st.cancel()
		c.handlers.Done()
	}()
	h.ServeHTTP(&st.rw, req)
	st.rw.finish()
	ok = true
}

// endedLocked is called in the hold of mu that wrote the response's last
// frame (END_STREAM): when the handler returns, or earlier, when a write
// reaches the declared Content-Length. The stream closes at once, and its
// handler, which sends nothing more, stops counting in running: a client
// may open a stream as soon as that frame reaches it, and must find room
// for it. (After a write that reached the declared length, both counters
// went down only when the handler returned, having logged its request: a
// client that kept MaxConcurrentStreams open had hundreds of streams in
// 10,000 refused for files over 16 KiB.)
func (st *stream) endedLocked() {
	st.returnedLocked()
	if st.sentEnd {
		return
	}
	st.sentEnd = true
	if !st.gotEnd {
		// The answer is whole before the request: the client may stop
		// sending it (RFC 9113 §8.1).
		st.c.refuseStreamLocked(st.id, http2.ErrCodeNo)
		return
	}
	st.c.closeStreamLocked(st)
}

// returnedLocked stops counting st's handler in running.
func (st *stream) returnedLocked() {
	if !st.returned {
		st.returned = true
		st.c.running--
	}
}

// newRequest makes the http.Request of a HEADERS frame, or says with
// which code to reset its stream (RFC 9113 §8.3.1 and §8.2.2).
func (c *conn) newRequest(ctx context.Context, f *http2.MetaHeadersFrame) (*http.Request, http2.ErrCode) {
	var method, scheme, authority, path string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":authority":
			authority = hf.Value
		case ":path":
			path = hf.Value
		default: // :protocol (RFC 8441), which this server never allows
			return nil, http2.ErrCodeProtocol
		}
	}
	// RFC 9110 §9.1: a method is a token (which HTTP/1 checks too).
	if !httpguts.ValidHeaderFieldName(method) {
		return nil, http2.ErrCodeProtocol
	}
	fields := f.RegularFields()
	header := make(http.Header, len(fields))
	values := make([]string, len(fields)) // one allocation for every value
	for i, hf := range fields {
		key := c.canonical(hf.Name)
		switch key {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade":
			return nil, http2.ErrCodeProtocol
		case "Te":
			if hf.Value != "trailers" {
				return nil, http2.ErrCodeProtocol
			}
		}
		values[i] = hf.Value
		if vv, ok := header[key]; ok {
			header[key] = append(vv, hf.Value)
		} else {
			header[key] = values[i : i+1 : i+1]
		}
	}
	if cookies := header["Cookie"]; len(cookies) > 1 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	req := &http.Request{
		Method:     method,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       authority,
		RemoteAddr: c.remoteAddr,
		TLS:        c.tls,
		Body:       http.NoBody,
	}
	if method == http.MethodConnect {
		if scheme != "" || path != "" || authority == "" {
			return nil, http2.ErrCodeProtocol
		}
		req.URL, req.RequestURI = &url.URL{Host: authority}, authority
	} else {
		// RFC 9113 §8.3.1: an http or https request's :path is in
		// origin form, or "*" for OPTIONS.
		if scheme != "https" && scheme != "http" || path == "" || path[0] != '/' && (path != "*" || method != http.MethodOptions) {
			return nil, http2.ErrCodeProtocol
		}
		u, err := url.ParseRequestURI(path)
		if err != nil {
			return nil, http2.ErrCodeProtocol
		}
		req.URL, req.RequestURI = u, path
	}
	if !validHost(req, header["Host"]) {
		return nil, http2.ErrCodeProtocol
	}
	req.ContentLength = -1
	if f.StreamEnded() {
		req.ContentLength = 0
	}
	if v := header["Content-Length"]; len(v) > 0 {
		n, err := strconv.ParseUint(v[0], 10, 63)
		if err != nil || len(v) > 1 || f.StreamEnded() && n != 0 {
			// A length the body, empty, cannot have is malformed too
			// (RFC 9113 §8.1.1).
			return nil, http2.ErrCodeProtocol
		}
		req.ContentLength = int64(n)
	}
	return req.WithContext(ctx), http2.ErrCodeNo
}

// validHost sets req.Host from the Host header when :authority gave none,
// and reports whether the request's host is valid: a host and port
// without userinfo (RFC 9113 §8.3.1), named once, by a Host header equal
// to :authority if both are sent, as x/net's server and HTTP/1 require.
func validHost(req *http.Request, host []string) bool {
	switch {
	case len(host) > 1:
		return false
	case len(host) == 1 && req.Host == "":
		req.Host = host[0]
	case len(host) == 1 && host[0] != req.Host:
		return false
	}
	return httpguts.ValidHostHeader(req.Host) && strings.IndexByte(req.Host, '@') < 0
}

// canonical is a header name's canonical form (HTTP/2 sends them in
// lower case), remembered for the connection's next requests.
func (c *conn) canonical(name string) string {
	if s, ok := commonCanonical[name]; ok {
		return s
	}
	if s, ok := c.canon[name]; ok {
		return s
	}
	s := textproto.CanonicalMIMEHeaderKey(name)
	if c.canon == nil {
		c.canon = make(map[string]string)
	}
	if len(c.canon) < 64 {
		c.canon[name] = s
	}
	return s
}

var commonCanonical, commonLower = func() (map[string]string, map[string]string) {
	canon, lower := map[string]string{}, map[string]string{}
	for _, s := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
		"Age", "Authorization", "Cache-Control", "Content-Disposition", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Location", "Content-Range", "Content-Type",
		"Cookie", "Date", "Etag", "Expect", "Expires", "From", "Host", "If-Match",
		"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Last-Modified",
		"Link", "Location", "Max-Forwards", "Origin", "Priority", "Proxy-Authenticate",
		"Proxy-Authorization", "Range", "Referer", "Refresh", "Retry-After", "Server",
		"Set-Cookie", "Strict-Transport-Security", "Te", "Trailer", "User-Agent", "Vary", "Via",
		"Www-Authenticate", "X-Content-Type-Options", "X-Forwarded-For", "X-Frame-Options",
		"Referrer-Policy", "Content-Security-Policy", "Permissions-Policy", "Cross-Origin-Resource-Policy",
		"Cross-Origin-Opener-Policy", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User",
		"Upgrade-Insecure-Requests", "Dnt", "Pragma",
	} {
		l := strings.ToLower(s)
		canon[l], lower[s] = s, l
	}
	return canon, lower
}()

// lowerName is a response header's name on the wire.
func lowerName(key string) string {
	if s, ok := commonLower[key]; ok {
		return s
	}
	return strings.ToLower(key)
}

// errBodyClosed is what a body's Read returns once its handler closed it
// or its stream closed.
var errBodyClosed = errors.New("h2: request body closed")

// pipe is a request's body: what the client sent and the handler has not
// read. It holds at most the stream's window (what the server let the
// client send), and gives back to the client what the handler reads.
type pipe struct {
	st     *stream
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	window int32 // what the client may still send
	err    error // io.EOF once wholly received; the reset's error
	closed bool  // the handler closed it, or its stream closed
}

// put adds a DATA frame's payload (n bytes with its padding) under the
// connection's mu.
// It reports whether the data was kept (false: the handler closed the
// body, and the connection's window is the caller's to give back). Kept,
// only the data stays taken from the window until the handler reads it:
// the caller gives the padding back to the client at once.
func (p *pipe) put(data []byte, n int32, end bool) (kept bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > p.window {
		return false, http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	if end && p.err == nil {
		p.err = io.EOF
	}
	if p.closed {
		p.window -= n
		return false, nil
	}
	p.window -= int32(len(data))
	p.buf = append(p.buf, data...)
	p.cond.Broadcast()
	return true, nil
}

func (p *pipe) end() {
	p.mu.Lock()
	if p.err == nil {
		p.err = io.EOF
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.err == nil || p.err == io.EOF && len(p.buf) > 0 {
		p.err = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// close drops what is unread and reports how much that was.
func (p *pipe) close() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := int32(len(p.buf))
	p.buf, p.closed = nil, true
	if p.err == nil {
		p.err = errBodyClosed
	}
	p.cond.Broadcast()
	return left
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	for len(p.buf) == 0 && p.err == nil {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		err := p.err
		p.mu.Unlock()
		return 0, err
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	p.window += int32(n)
	p.mu.Unlock()
	c := p.st.c
	c.mu.Lock()
	c.giveBackLocked(p.st, int32(n))
	c.mu.Unlock()
	return n, nil
}

// Close is the handler's: what the client sends on is dropped (and given
// back to the connection's window as it arrives).
func (p *pipe) Close() error {
	c := p.st.c
	c.mu.Lock()
	if left := p.close(); left > 0 {
		c.giveBackLocked(nil, left)
	}
	c.mu.Unlock()
	return nil
}
