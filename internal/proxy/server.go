package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strings"
	"sync"
	"time"

	"depot/internal/allowlist"
	"depot/internal/config"
	"depot/internal/outbound"
	"depot/internal/unixsock"
)

// ShutdownGrace is how long Serve lets requests and tunnels in flight
// finish after its context is done, before it closes them.
const ShutdownGrace = 8 * time.Second

// Options are a Server's dependencies. The zero Options is valid.
type Options struct {
	// Log receives one combined-format line per request, without client
	// addresses, when the configuration sets log = true. It is never
	// written otherwise.
	Log io.Writer
	// Errors receives the detail of upstream failures when log = true,
	// without client addresses. nil discards them.
	Errors io.Writer
	// Resolver resolves destination names when there is no upstream. With
	// a SOCKS upstream it is never asked about a destination. nil means
	// the system's.
	Resolver *net.Resolver
	// Outbound records where the proxy connects: the SOCKS server
	// ("proxy-upstream") or each destination ("proxy-direct"), by day,
	// never a client. nil records nothing.
	Outbound *outbound.Record
	// Now is the clock for log lines; nil means time.Now.
	Now func() time.Time
	// Decision, if set, is told of every allowlist decision on a client's
	// request (true: allowed), for the metrics. It learns nothing else.
	Decision func(allowed bool)
}

// Server is one updates proxy listener.
type Server struct {
	cfg   config.Proxy
	opts  Options
	allow allowlist.List
	// dialer reaches destinations: directly, or through tor's SOCKS
	// port, which receives host names unresolved.
	dialer outbound.ContextDialer
	fwd    *httputil.ReverseProxy
	idle   time.Duration

	ln    net.Listener
	slots *slots
	srv   *http.Server

	mu      sync.Mutex
	tunnels map[net.Conn]struct{}
	wg      sync.WaitGroup // tunnels in flight
}

// New builds a proxy from a validated [proxy] table. It binds nothing.
func New(cfg config.Proxy, opts Options) (*Server, error) {
	if !cfg.Enabled() {
		return nil, errors.New("proxy: [proxy] has no listen address")
	}
	list, err := allowlist.ParseList(cfg.Allow)
	if err != nil {
		return nil, fmt.Errorf("proxy.allow%w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Errors == nil || !cfg.Log {
		opts.Errors = io.Discard
	}
	if !cfg.Log {
		opts.Log = nil // a request has no path to a log
	}
	s := &Server{
		cfg:     cfg,
		opts:    opts,
		allow:   list,
		idle:    time.Duration(cfg.IdleTimeout),
		tunnels: map[net.Conn]struct{}{},
	}
	s.dialer = &outbound.Dialer{Purpose: outbound.ProxyDirect, Record: opts.Outbound,
		Timeout: time.Duration(cfg.DialTimeout), Resolver: opts.Resolver}
	if cfg.Upstream != "" {
		addr, err := config.ParseUpstream(cfg.Upstream)
		if err != nil {
			return nil, fmt.Errorf("proxy.upstream: %w", err)
		}
		// The SOCKS client sends a name as a domain name (ATYP 3), so
		// tor resolves it at the exit; only the SOCKS server's own
		// address, an IP literal, is dialled directly.
		up := &outbound.Dialer{Purpose: outbound.ProxyUpstream, Record: opts.Outbound, Timeout: time.Duration(cfg.DialTimeout)}
		if s.dialer, err = outbound.SOCKS5(addr, up); err != nil {
			return nil, fmt.Errorf("proxy.upstream: %w", err)
		}
	}
	tr := outbound.NewTransport(outbound.ProxyDirect, opts.Outbound, time.Duration(cfg.DialTimeout))
	tr.DialContext = s.dial // the allowlist again, then s.dialer
	tr.ForceAttemptHTTP2 = false
	tr.MaxIdleConns = 64
	tr.MaxIdleConnsPerHost = 8
	tr.IdleConnTimeout = s.idle
	tr.DisableCompression = true // pass Accept-Encoding and bodies through untouched
	s.fwd = &httputil.ReverseProxy{
		// Rewrite (rather than Director) makes ReverseProxy drop the
		// client's Forwarded and X-Forwarded-* and add none of its own.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = pr.In.URL
			// RFC 9112 §3.2.2: with an absolute-form target, Host is
			// the target's authority, whatever the client's Host said.
			pr.Out.Host = ""
			keepForwarded(pr.Out.Header)
		},
		Transport:    tr,
		ErrorHandler: s.upstreamError,
		BufferPool:   &bufferPool{},
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	var h http.Handler = http.HandlerFunc(s.handle)
	if s.opts.Log != nil {
		h = s.logged(h)
	}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Duration(cfg.HeaderTimeout),
		IdleTimeout:       s.idle,
		MaxHeaderBytes:    int(cfg.MaxHeaderBytes),
		ConnState:         s.connState,
		// OPTIONS * reaches the handler, which refuses it (400) and
		// closes, rather than net/http's 200 on a kept connection.
		DisableGeneralOptionsHandler: true,
		// net/http's messages name the client ("http: panic serving
		// 10.137.0.12:..."): they go nowhere.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return s, nil
}

// Listen binds the listen address. A unix socket left by a dead previous
// run is replaced; any other file at its path is an error.
func (s *Server) Listen() error {
	var ln net.Listener
	var err error
	if path, ok := strings.CutPrefix(s.cfg.Listen, "unix:"); ok {
		ln, err = unixsock.Listen(path, 0)
	} else {
		ln, err = net.Listen("tcp", s.cfg.Listen)
	}
	if err != nil {
		return fmt.Errorf("proxy.listen %s: %w", s.cfg.Listen, err)
	}
	// Connections beyond the cap take an idle one's slot, or wait.
	s.slots = newSlots(ln, s.cfg.MaxConnections)
	s.ln = s.slots
	return nil
}

func (s *Server) connState(c net.Conn, state http.ConnState) {
	if s.slots != nil {
		s.slots.connState(c, state)
	}
}

// Close releases the listener bound by Listen when Serve will not run
// (another listener failed to bind: start all or nothing).
func (s *Server) Close() error {
	if s.ln == nil {
		return nil
	}
	err := s.ln.Close()
	if path, ok := strings.CutPrefix(s.cfg.Listen, "unix:"); ok {
		os.Remove(path)
	}
	return err
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx is done, then stops accepting and gives requests
// and tunnels in flight ShutdownGrace to finish before closing them. It
// returns a serving error, or nil after a shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("proxy: Serve called before Listen")
	}
	errc := make(chan error, 1)
	go func() {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if serr := s.srv.Shutdown(sctx); serr != nil {
		s.srv.Close()
	}
	tunnelsDone := make(chan struct{})
	go func() { s.wg.Wait(); close(tunnelsDone) }()
	select {
	case <-tunnelsDone:
	case <-sctx.Done():
		s.mu.Lock()
		for c := range s.tunnels {
			c.Close()
		}
		s.mu.Unlock()
		<-tunnelsDone
	}
	s.fwd.Transport.(*http.Transport).CloseIdleConnections()
	if path, ok := strings.CutPrefix(s.cfg.Listen, "unix:"); ok {
		os.Remove(path)
	}
	return err
}

// forwarded are the request headers a destination receives: what apt,
// dnf (libcurl) and yum send and a repository needs, conditional and range
// requests included. Everything else a client, or a proxy in front of
// depot's, adds is dropped: Via, Forwarded, X-Forwarded-*, X-Real-IP,
// Client-IP, CF-Connecting-IP and every other header that names a client,
// a machine or a hop, and cookies, Referer, From, Accept-Language.
var forwarded = map[string]bool{
	"Accept":              true,
	"Accept-Encoding":     true,
	"Authorization":       true, // a private repository's credentials, meant for it
	"Cache-Control":       true,
	"If-Match":            true,
	"If-Modified-Since":   true,
	"If-None-Match":       true,
	"If-Range":            true,
	"If-Unmodified-Since": true,
	"Pragma":              true,
	"Range":               true,
	"User-Agent":          true,
}

// keepForwarded deletes from h every header not in forwarded. Header keys
// are canonical: net/http canonicalises what it reads.
func keepForwarded(h http.Header) {
	for k := range h {
		if !forwarded[k] {
			delete(h, k)
		}
	}
}

// bufferPool reuses ReverseProxy's 32 KiB copy buffers across requests.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// errDenied is the dialer's own refusal: belt and braces behind the
// handler's check, so that no code path can reach an unlisted destination.
var errDenied = errors.New("destination not in proxy.allow")

// dial connects to an allowed destination, handing the name as received
// to the dialer (to tor, unresolved).
func (s *Server) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	t, err := allowlist.ParseAuthority(addr, 0)
	if err != nil || !s.allow.Allows(t) {
		return nil, errDenied
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.DialTimeout))
	defer cancel()
	c, err := s.dialer.DialContext(ctx, "tcp", t.HostPort())
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: s.idle}, nil
}
