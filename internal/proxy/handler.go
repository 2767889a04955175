package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"depot/internal/allowlist"
)

// handle answers one request: CONNECT opens a tunnel, an absolute-form
// GET or HEAD is forwarded, anything else gets a short plain-text error.
// Every check happens before any name is resolved or socket opened.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		s.connect(w, r)
		return
	}
	// RFC 9112 §3.2.2: requests to a proxy use absolute-form. An
	// origin-form request means the client took the proxy for a server.
	if !r.URL.IsAbs() || strings.HasPrefix(r.RequestURI, "/") {
		plain(w, http.StatusBadRequest, "depot proxy is a forward proxy: configure it as the HTTP proxy and request absolute URLs (GET http://host/path)")
		return
	}
	if r.URL.Scheme != "http" {
		plain(w, http.StatusBadRequest, "depot proxy forwards http:// URLs; for https, clients use CONNECT")
		return
	}
	if r.URL.User != nil {
		plain(w, http.StatusBadRequest, "URLs with user information are not forwarded")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, CONNECT")
		plain(w, http.StatusMethodNotAllowed, "the updates proxy forwards GET and HEAD only")
		return
	}
	if r.Header.Get("Upgrade") != "" {
		plain(w, http.StatusBadRequest, "protocol upgrades are not forwarded")
		return
	}
	t, err := allowlist.ParseAuthority(r.URL.Host, 80)
	if err != nil {
		plain(w, http.StatusBadRequest, "the request's host is not a host name or IP address")
		return
	}
	if !s.allowed(t) {
		deny(w, t)
		return
	}
	s.fwd.ServeHTTP(w, r)
}

// connect opens a tunnel (RFC 9110 §9.3.6) to an allowed host:port.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	// The target is authority-form: host and port, nothing else.
	t, err := allowlist.ParseAuthority(r.RequestURI, 0)
	if err != nil {
		plain(w, http.StatusBadRequest, "CONNECT needs host:port")
		return
	}
	if !s.allowed(t) {
		deny(w, t)
		return
	}
	up, err := s.dial(r.Context(), "tcp", t.HostPort())
	if err != nil {
		s.upstreamError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	client, brw, err := rc.Hijack()
	if err != nil {
		up.Close()
		plain(w, http.StatusInternalServerError, "cannot open a tunnel on this connection")
		return
	}
	s.track(client, true)
	defer s.track(client, false)
	defer client.Close()
	defer up.Close()
	// Hijack leaves whatever deadline the server had set.
	client.SetDeadline(timeZero)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after its request (an eager TLS ClientHello)
	// may already sit in the server's buffer.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	n := s.pipe(client, up)
	if lw, ok := w.(*logWriter); ok {
		lw.status, lw.bytes = http.StatusOK, n
	}
}

func (s *Server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.wg.Add(1)
		s.tunnels[c] = struct{}{}
	} else {
		delete(s.tunnels, c)
		s.wg.Done()
	}
}

// allowed decides whether a client may reach t, and counts the decision
// when Options.Decision is set.
func (s *Server) allowed(t allowlist.Target) bool {
	ok := s.allow.Allows(t)
	if s.opts.Decision != nil {
		s.opts.Decision(ok)
	}
	return ok
}

// deny answers 403 naming the destination and the key that would allow it.
func deny(w http.ResponseWriter, t allowlist.Target) {
	plain(w, http.StatusForbidden, fmt.Sprintf("depot proxy: %s is not allowed; add it to allow in the [proxy] table of depot's configuration", t.HostPort()))
}

// upstreamError answers a failed dial or response: 504 for a timeout, 403
// for the dialer's own refusal, else 502. The detail goes to Errors (only
// when logging is on), never to the client.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	fmt.Fprintf(s.opts.Errors, "depot proxy: %s %s: %v\n", r.Method, r.URL.Redacted(), err)
	var ne net.Error
	switch {
	case errors.Is(err, errDenied):
		plain(w, http.StatusForbidden, "depot proxy: destination not allowed")
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		plain(w, http.StatusGatewayTimeout, "depot proxy: the destination did not answer in time")
	case errors.Is(err, context.Canceled):
		// The client went away: nobody to answer.
	default:
		plain(w, http.StatusBadGateway, "depot proxy: cannot reach the destination")
	}
}

// plain writes a short text/plain answer and closes the connection: a
// client that sent something refused gets no second try on it.
func plain(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
