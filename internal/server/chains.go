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

func (h *clearnetHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqLine := requestLine(r)
	if markHandled(r, reqLine) {
		w.Header().Set("Connection", "close")
	}
	var start time.Time
	if h.metrics != nil {
		start = h.now()
	}
	rec := &recorder{ResponseWriter: w}
	var err error
	s := h.t.Load().lookup(r.Host)
	if s == nil {
		writeError(rec, http.StatusNotFound)
		err = &fileError{status: http.StatusNotFound, detail: "no site for host"}
	} else {
		err = s.serve(rec, r, false)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}

	now := h.now()
	bp := linePool.Get().(*[]byte)
	line := (*bp)[:0]
	e := accesslog.Entry{
		RemoteAddr: clientAddr(r),
		Time:       now,
		Request:    reqLine,
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
	if err == nil && errors.Is(rec.werr, errSendTimeout) {
		// nginx's words and level for its send_timeout.
		err, level = errClientTimedOut, errorlog.Info
	}
	if err != nil {
		server := ""
		if s != nil && len(s.cfg.Hosts) > 0 {
			server = s.cfg.Hosts[0]
		}
		line = errorlog.Append(line[:0], &errorlog.Entry{
			Time: now, Level: level, PID: h.pid, ConnID: connID(r.Context()),
			Message: err.Error(), Client: e.RemoteAddr, Server: server,
			Request: reqLine, Host: r.Host,
		})
		_, _ = h.errors.Write(line)
	}
	*bp = line
	linePool.Put(bp)
}

var errClientTimedOut = errors.New("client timed out (110: Connection timed out) while sending response to client")

// requestLine rebuilds the request line as received.
func requestLine(r *http.Request) string {
	return r.Method + " " + r.RequestURI + " " + r.Proto
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
