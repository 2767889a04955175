package proxy

import (
	"net/http"
	"sync"

	"depot/internal/accesslog"
)

// logged wraps h to write one combined line per request to s.opts.Log.
// The entry is built from the method, target, protocol, status and size
// only: the client's address, referer and user agent are never read.
func (s *Server) logged(h http.Handler) http.Handler {
	pool := sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		lw := &logWriter{ResponseWriter: w}
		h.ServeHTTP(lw, r)
		if lw.status == 0 {
			lw.status = http.StatusOK
		}
		e := accesslog.Entry{
			Time:      start,
			Request:   r.Method + " " + r.RequestURI + " " + r.Proto,
			Status:    lw.status,
			BodyBytes: lw.bytes,
		}
		bp := pool.Get().(*[]byte)
		*bp = accesslog.AppendCombined((*bp)[:0], &e)
		s.opts.Log.Write(*bp)
		pool.Put(bp)
	})
}

// logWriter records the status and body size of a response.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
