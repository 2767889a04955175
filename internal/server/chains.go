package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"depot/internal/accesslog"
	"depot/internal/errorlog"
	"depot/internal/metrics"
)

// table is the current virtual-host table, swapped whole on reload.
type table = atomic.Pointer[sites]

// newClearnet returns the handler chain of a clearnet listener: every
// request gets one nginx combined line in access, and every failure one
// nginx-style line, with the client address, in errors. With m non-nil,
// every request is also counted by site, method and status class (never
// by anything the client chose freely).
func newClearnet(t *table, access, errors io.Writer, now func() time.Time, m *metrics.Metrics) *clearnetHandler {
	return &clearnetHandler{t: t, access: access, errors: errors, now: now, pid: os.Getpid(), metrics: m}
}

type clearnetHandler struct {
	t       *table
	access  io.Writer
	errors  io.Writer
	now     func() time.Time
	pid     int
	metrics *metrics.Metrics // nil: not counted
	edge    edge             // set once, before serving
}

// connID is the number of r's connection (the "*N" of the error log,
// unique in the process as nginx's connection numbers are, and shared by
// every request of the connection), or 0 (left out of the line) when it
// has none, as in tests that call the handler directly.
func connID(ctx context.Context) uint64 {
	if ci := infoOf(ctx); ci != nil {
		return ci.id
	}
	return 0
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// recorderPool keeps recorders, which escape to the heap as the site's
// ResponseWriter, from costing an allocation per request.
var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

func (h *clearnetHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqLine := requestLineOf(r)
	if markHandled(r, reqLine) {
		w.Header().Set("Connection", "close")
	}
	var start time.Time
	if h.metrics != nil {
		start = h.now()
	}
	rec := recorderPool.Get().(*recorder)
	*rec = recorder{ResponseWriter: w}
	defer func() {
		*rec = recorder{}
		recorderPool.Put(rec)
	}()
	if h.edge.hsts != nil {
		// RFC 6797, section 7.1: on every response over a secure transport.
		// The value's slice is shared, as site.serve's headers are.
		rec.Header()["Strict-Transport-Security"] = h.edge.hsts
	}
	var err error
	st := h.t.Load()
	s := st.lookup(r.Host)
	switch {
	case h.edge.acme != nil && h.edge.acme.IsChallenge(r):
		h.edge.acme.ServeChallenge(rec, r) // before the redirect: RFC 8555, section 8.3 wants plain HTTP
	case s == nil:
		writeError(rec, http.StatusNotFound)
		err = &fileError{status: http.StatusNotFound, detail: "no site for host"}
	case h.edge.redirect:
		h.edge.redirectHTTPS(rec, r)
	default:
		err = s.serve(rec, r, false)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	h.log(r, reqLine, s, st.minimalErrors, rec, err, start)
}

// log writes the access line of a request, and its error line if it
// failed. It is apart from ServeHTTP so that the stack of the handler
// goroutine (a new one for each HTTP/2 stream) stays small while it
// answers: growing a stack costs a copy of it.
func (h *clearnetHandler) log(r *http.Request, reqLine requestLine, s *site, minimalErrors bool, rec *recorder, err error, start time.Time) {
	now := h.now()
	bp := linePool.Get().(*[]byte)
	line := (*bp)[:0]
	e := accesslog.Entry{
		RemoteAddr: clientAddr(r),
		Time:       now,
		Method:     reqLine.method,
		URI:        reqLine.uri,
		Proto:      reqLine.proto,
		Status:     rec.status,
		BodyBytes:  rec.bytes,
		Referer:    r.Header.Get("Referer"),
		UserAgent:  r.Header.Get("User-Agent"),
	}
	line = accesslog.AppendCombined(line, &e)
	_, _ = h.access.Write(line)
	if h.metrics != nil {
		label := metrics.NoSite
		if s != nil && len(s.cfg.Hosts) > 0 {
			label = s.cfg.Hosts[0]
		}
		h.metrics.Site(label).Observe(r.Method, rec.status, rec.bytes, now.Sub(start))
	}
	level := errorlog.Error
	if err == nil && errors.Is(rec.werr, os.ErrDeadlineExceeded) {
		// errSendTimeout, or an HTTP/2 stream's send timeout.
		// nginx's words and level for its send_timeout.
		err, level = errClientTimedOut, errorlog.Info
	}
	// log_not_found = false: a 404 is in the access log only.
	if err != nil && !(s != nil && rec.status == http.StatusNotFound && s.cfg.LogNotFound != nil && !*s.cfg.LogNotFound) {
		server := ""
		if s != nil && len(s.cfg.Hosts) > 0 {
			server = s.cfg.Hosts[0]
		}
		entry := errorlog.Entry{
			Time: now, Level: level, PID: h.pid, ConnID: connID(r.Context()),
			Message: err.Error(), Client: e.RemoteAddr, Server: server,
			Request: reqLine.String(), Host: r.Host,
		}
		if minimalErrors {
			entry.Request, entry.Host = "", ""
		}
		line = errorlog.Append(line[:0], &entry)
		_, _ = h.errors.Write(line)
	}
	*bp = line
	linePool.Put(bp)
}

var errClientTimedOut = errors.New("client timed out (110: Connection timed out) while sending response to client")

// requestLine is the request line as received, in its three parts, which
// the access log writes without joining them first.
type requestLine struct{ method, uri, proto string }

func requestLineOf(r *http.Request) requestLine {
	return requestLine{r.Method, r.RequestURI, r.Proto}
}

func (l requestLine) String() string { return l.method + " " + l.uri + " " + l.proto }

func (l requestLine) len() int { return len(l.method) + 1 + len(l.uri) + 1 + len(l.proto) }

// hasPrefix reports whether the line starts with p.
func (l requestLine) hasPrefix(p []byte) bool {
	for _, part := range [...]string{l.method, " ", l.uri, " ", l.proto} {
		n := min(len(p), len(part))
		if string(p[:n]) != part[:n] {
			return false
		}
		p = p[n:]
	}
	return len(p) == 0
}

// clientAddr is the remote address without its port.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// recorder notes the status and body size for the access log. It keeps the
// underlying writer's ReadFrom reachable so that file bodies still go out
// by sendfile.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	werr   error // the first write error (a send timeout, a client gone)
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	if err != nil && r.werr == nil {
		r.werr = err
	}
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(r.ResponseWriter, src)
	}
	r.bytes += n
	if err != nil && r.werr == nil {
		r.werr = err
	}
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
